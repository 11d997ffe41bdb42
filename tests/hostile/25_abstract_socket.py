# attack: connect to an abstract Unix socket on the host (no path, network-namespace scoped).
import socket


def _breached():
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect("\0__ABSTRACT__")
        return True
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
