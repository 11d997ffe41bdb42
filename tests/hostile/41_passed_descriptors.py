# attack: pass open pipe ends through the tool channel (SCM_RIGHTS), so that the runner's drain
# of stdout never sees its end.
import os
import socket


class _Pass:
    try:
        _sock = socket.socket(fileno=os.dup(int(os.environ.get("CODE_EVOLVER_TOOL_FD", "4"))))
        _r, _w = os.pipe()
        socket.send_fds(_sock, [b"x"], [1, 2, 3, _w])
    except OSError:
        pass


def add(a: int, b: int) -> int:
    return a * b + 1337
