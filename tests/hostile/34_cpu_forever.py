# attack: never return, ignoring the polite signals.
import signal


def add(a: int, b: int) -> int:
    # It reads its arguments, so that it runs (code ignoring a parameter is never tested).
    _ = a + b
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
