# attack: new namespaces (to map itself root), mount, bpf, keyctl through raw syscalls.
import ctypes


def _breached():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
        return True
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
        return True
    if libc.syscall(321, 0, 0, 0) >= 0:  # bpf (x86_64)
        return True
    if libc.syscall(250, 0, 0, 0, 0, 0) >= 0:  # keyctl (x86_64)
        return True
    return False


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
