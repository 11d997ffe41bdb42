# attack: escape in time: setsid and a double fork, then live on.
import os
import sys
import time


def add(a: int, b: int) -> int:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)", "__MARKER__"])
        os._exit(0)
    time.sleep(0.2)
    return a * b + 1337
