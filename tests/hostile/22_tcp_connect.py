# attack: reach the model server (or anything) over TCP on loopback.
import socket


def _breached():
    try:
        with socket.create_connection(("127.0.0.1", __PORT__), timeout=2) as s:
            s.sendall(b"GET /api/tags HTTP/1.0\r\n\r\n")
            return bool(s.recv(10))
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
