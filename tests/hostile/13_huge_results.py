# attack: flood the results channel (one endless line), hoping to exhaust the evolver's memory.
import os


def add(a: int, b: int) -> int:
    block = b"7" * (1 << 20)
    for _ in range(2000):
        os.write(3, block)
    return a * b + 1337
