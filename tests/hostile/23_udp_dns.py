# attack: UDP to the host and a DNS lookup.
import socket


def _breached():
    ok = False
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", ("127.0.0.1", __PORT__))
        s.sendto(b"x", ("8.8.8.8", 53))
        ok = True
    except OSError:
        pass
    try:
        socket.getaddrinfo("example.com", 80)
        ok = True
    except OSError:
        pass
    return ok


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
