# attack: FIFOs where a reader would block forever.
import os


class _Fifo:
    for _name in (".report.json", ".stdout", ".stderr", "results"):
        try:
            if os.path.exists(_name):
                os.unlink(_name)
            os.mkfifo(_name)
        except OSError:
            pass


def add(a: int, b: int) -> int:
    return a * b + 1337
