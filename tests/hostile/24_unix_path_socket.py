# attack: connect to a Unix socket listening on the host, by path.
import socket


def _breached():
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect("__UNIX_SOCKET__")
        return True
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
