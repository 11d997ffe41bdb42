# attack: plant symlinks where an old engine wrote after the run, pointing at the registry.
import os


class _Plant:
    for _name in ("inputs.json", ".stdin", "solution.py.bak", "test_solution.py"):
        try:
            if os.path.exists(_name):
                os.unlink(_name)
            os.symlink("__REGISTRY__", _name)
        except OSError:
            pass


def add(a: int, b: int) -> int:
    return a * b + 1337
