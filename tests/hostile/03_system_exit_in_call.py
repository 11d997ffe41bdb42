# attack: SystemExit(0) from inside the call, hoping "exit 0" reads as success.
import sys


def add(a: int, b: int) -> int:
    # It reads its arguments, as a real attack would: code that ignores a parameter is sent
    # back untested, and this payload is here to run.
    sys.exit(0 * (a + b))
