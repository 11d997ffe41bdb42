# attack: read the evolver's memory and registry through the data dir's path.
import os


def _breached():
    data = os.path.dirname("__REGISTRY__")
    try:
        return len(os.listdir(data)) > 0
    except OSError:
        return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
