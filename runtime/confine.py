"""The confinement a forked run applies to itself: a seccomp filter (built once, installed per
run), and, without the jail, landlock file rules and a private network namespace. Imported by
warm_runner.py; nothing here runs generated code.
"""

import ctypes
import os
import platform
import struct
import sys

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80


# --- seccomp ---------------------------------------------------------------------------------
# What a node never needs: debugging other processes, mounts and namespaces, kernel keys, BPF,
# modules, reboot, clock and host names, io_uring (its own syscall path), handle-based opens.
_DENIED = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
            "kcmp": 312, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
            "mount_setattr": 442, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
            "fsmount": 432, "fspick": 433, "unshare": 272, "setns": 308, "bpf": 321, "keyctl": 250,
            "add_key": 248, "request_key": 249, "kexec_load": 246, "kexec_file_load": 320,
            "reboot": 169, "init_module": 175, "finit_module": 313, "delete_module": 176,
            "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164, "clock_settime": 227,
            "clock_adjtime": 305, "adjtimex": 159, "sethostname": 170, "setdomainname": 171,
            "perf_event_open": 298, "userfaultfd": 323, "open_by_handle_at": 304,
            "name_to_handle_at": 303, "iopl": 172, "ioperm": 173, "quotactl": 179, "syslog": 103,
            "lookup_dcookie": 212, "fanotify_init": 300, "io_uring_setup": 425,
            "io_uring_enter": 426, "io_uring_register": 427, "vhangup": 153, "migrate_pages": 256,
            "move_pages": 279, "uselib": 134, "_sysctl": 156,
            # SysV IPC and POSIX message queues outlive a process: no state may pass between runs.
            "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
        },
        56,  # clone
        435,  # clone3
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
            "kcmp": 272, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
            "mount_setattr": 442, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
            "fsmount": 432, "fspick": 433, "unshare": 97, "setns": 268, "bpf": 280, "keyctl": 219,
            "add_key": 217, "request_key": 218, "kexec_load": 104, "kexec_file_load": 294,
            "reboot": 142, "init_module": 105, "finit_module": 273, "delete_module": 106,
            "swapon": 224, "swapoff": 225, "acct": 89, "settimeofday": 170, "clock_settime": 112,
            "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161, "setdomainname": 162,
            "perf_event_open": 241, "userfaultfd": 282, "open_by_handle_at": 265,
            "name_to_handle_at": 264, "quotactl": 60, "syslog": 116, "lookup_dcookie": 18,
            "fanotify_init": 262, "io_uring_setup": 425, "io_uring_enter": 426,
            "io_uring_register": 427, "vhangup": 58, "migrate_pages": 238, "move_pages": 239,
            "shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180,
        },
        220,  # clone
        435,  # clone3
    ),
}


def _seccomp_program():
    """The BPF filter for this machine's architecture, or None where no table exists."""
    table = _DENIED.get(platform.machine())
    if table is None:
        return None
    arch, denied, clone_nr, clone3_nr = table
    ld_w_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill, eperm, enosys = 0x7FFF0000, 0x80000000, 0x00050000 | 1, 0x00050000 | 38
    prog = [
        (ld_w_abs, 0, 0, 4),  # arch
        (jeq, 1, 0, arch),
        (ret, 0, 0, kill),  # another ABI (i386 through int 0x80): killed
        (ld_w_abs, 0, 0, 0),  # syscall number
    ]
    if arch == 0xC000003E:
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # the x32 ABI
    for nr in sorted(set(denied.values())):
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, eperm)]
    # clone3 hides its flags in memory: ENOSYS makes libc fall back to clone, whose flags we see.
    prog += [(jeq, 0, 1, clone3_nr), (ret, 0, 0, enosys)]
    prog += [
        (jeq, 0, 3, clone_nr),
        (ld_w_abs, 0, 0, 16),  # clone's flags (low 32 bits of args[0])
        (jset, 0, 1, _NAMESPACE_FLAGS),
        (ret, 0, 0, eperm),
        (ret, 0, 0, allow),
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog), len(prog)


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_FILTER = None  # built once in the runner; each forked run only installs it


def _filter():
    global _FILTER  # pylint: disable=global-statement
    if _FILTER is None:
        program = _seccomp_program()
        if program is None:
            raise OSError(0, f"no seccomp table for {platform.machine()}")
        code, count = program
        buf = ctypes.create_string_buffer(code, len(code))
        prog = _Prog(count, ctypes.addressof(buf))
        _FILTER = (buf, prog, ctypes.byref(prog))  # the buffer and struct must outlive the pointer
    return _FILTER


def apply_seccomp():
    _, _, pointer = _filter()
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, pointer, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


# --- landlock (only without the jail) ----------------------------------------------------------
def landlock_abi():
    abi = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return abi if abi > 0 else 0


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER = 1 << 13
_FS_TRUNCATE = 1 << 14
_FS_IOCTL_DEV = 1 << 15
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1


def apply_landlock(abi, read_only, read_write, deny_tcp):
    """Restricts this process: files only under the given paths; TCP denied when asked."""
    fs_all = _FS_ALL_V1
    if abi >= 2:
        fs_all |= _FS_REFER
    if abi >= 3:
        fs_all |= _FS_TRUNCATE
    if abi >= 5:
        fs_all |= _FS_IOCTL_DEV
    attr = _RulesetAttr(fs_all, (_NET_BIND_TCP | _NET_CONNECT_TCP) if (deny_tcp and abi >= 4) else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else 8
    ruleset = _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    read_access = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    try:
        for paths, access in ((read_only, read_access), (read_write, fs_all)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = access
                    if not os.path.isdir(path):
                        allowed &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
                    rule = _PathBeneathAttr(allowed & fs_all, fd)
                    if _libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                        raise OSError(ctypes.get_errno(), "landlock_add_rule " + path)
                finally:
                    os.close(fd)
        if _libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def new_network_namespace():
    """True when this process now has a network namespace of its own (loopback down, no routes)."""
    if _libc.unshare(_CLONE_NEWNET) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        try:
            with open("/proc/self/setgroups", "w", encoding="ascii") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w", encoding="ascii") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w", encoding="ascii") as f:
                f.write(f"{gid} {gid} 1")
        except OSError:
            pass
        return True
    return False


def _read_only_paths():
    paths = {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/dev", "/proc", RUNTIME_DIR}
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        paths.add(p)
        paths.add(os.path.realpath(p))
    for p in sys.path:
        if p and os.path.isdir(p):
            paths.add(p)
    return sorted(p for p in paths if os.path.exists(p))
