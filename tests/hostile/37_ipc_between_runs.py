# attack: state that outlives the run (SysV shared memory, semaphores, message queues), to pass
# a baseline's answers to a later run.
import ctypes


def _breached():
    libc = ctypes.CDLL(None, use_errno=True)
    ok = False
    if libc.shmget(0x5EED, 4096, 0o1666) >= 0:  # IPC_CREAT | 0666
        ok = True
    if libc.semget(0x5EED, 1, 0o1666) >= 0:
        ok = True
    if libc.msgget(0x5EED, 0o1666) >= 0:
        ok = True
    return ok


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
