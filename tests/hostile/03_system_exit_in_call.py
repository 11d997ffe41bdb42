# attack: SystemExit(0) from inside the call, hoping "exit 0" reads as success.
import sys


def add(a: int, b: int) -> int:
    sys.exit(0)
