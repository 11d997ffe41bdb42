# attack: 200 MB on stdout and stderr.
import os
import sys


def add(a: int, b: int) -> int:
    block = b"x" * (1 << 20)
    for _ in range(200):
        os.write(1, block)
        os.write(2, block)
    return a * b + 1337
