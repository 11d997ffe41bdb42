"""code-evolver's warm runner: a Python process started once that forks for every node run.

It removes interpreter start-up (and pytest's import) from each test and timing run. Each run is
confined in the forked child before any node code executes: its own session and process group
(killed whole on timeout), rlimits, a cleared environment, a fresh working directory, no network
(a new network namespace where permitted, else landlock's TCP rules) and landlock file rules
(read-only system and runtime paths, read-write only the run's own directory).

Protocol: one JSON object per line on stdin (a request), one per line on stdout (its outcome).
The first line out is a greeting that says which confinement this machine allows.
`--preload-pytest` imports pytest before forking (for test runs).
"""

import ctypes
import json
import os
import gc
import resource
import select
import signal
import sys
import time
import traceback

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
OUTPUT_LIMIT = 1 << 20

HAVE_PYTEST = False
if "--preload-pytest" in sys.argv:
    try:  # imported once here so forked test runs start warm
        import pytest  # noqa: F401

        HAVE_PYTEST = True
    except Exception:  # pragma: no cover - reported to the engine at start
        HAVE_PYTEST = False
else:
    import importlib.util

    HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000


def landlock_abi():
    _libc.syscall.restype = ctypes.c_long
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
                        # Rules on files may only hold file rights.
                        allowed &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
                    rule = _PathBeneathAttr(allowed & fs_all, fd)
                    if _libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                        raise OSError(ctypes.get_errno(), "landlock_add_rule " + path)
                finally:
                    os.close(fd)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS)")
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
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"{gid} {gid} 1")
        except OSError:
            pass
        return True
    return False


def probe_isolation():
    """Asks a throwaway child what confinement this machine allows."""
    abi = landlock_abi()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        net = "namespace" if new_network_namespace() else "none"
        if net == "none" and abi >= 4:
            net = "landlock-tcp"
        ll = "none"
        if abi:
            try:
                apply_landlock(abi, ["/usr"], [], deny_tcp=False)
                ll = f"abi {abi}"
            except OSError as e:
                ll = f"unavailable ({e})"
        os.write(write, json.dumps({"network": net, "landlock": ll}).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while True:
        chunk = os.read(read, 4096)
        if not chunk:
            break
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    try:
        return json.loads(data.decode())
    except ValueError:
        return {"network": "none", "landlock": "none"}


_READ_ONLY_PATHS = None


def read_only_paths(extra):
    """System, Python and runtime paths a node may read (computed once per runner)."""
    global _READ_ONLY_PATHS  # pylint: disable=global-statement
    if _READ_ONLY_PATHS is None:
        _READ_ONLY_PATHS = _compute_read_only_paths()
    return sorted(set(_READ_ONLY_PATHS) | set(extra))


def _compute_read_only_paths():
    paths = {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/dev", "/proc", "/sys/devices/system/cpu", RUNTIME_DIR}
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        paths.add(p)
        paths.add(os.path.realpath(p))
    for p in sys.path:
        if p and os.path.isdir(p):
            paths.add(p)
    return sorted(p for p in paths if os.path.exists(p))


def set_limits(limits):
    mb = 1024 * 1024
    for name, res, scale in (
        ("as_mb", resource.RLIMIT_AS, mb),
        ("cpu_s", resource.RLIMIT_CPU, 1),
        ("fsize_mb", resource.RLIMIT_FSIZE, mb),
        ("nproc", resource.RLIMIT_NPROC, 1),
        ("nofile", resource.RLIMIT_NOFILE, 1),
    ):
        value = limits.get(name)
        if value:
            hard = value * scale
            if res == resource.RLIMIT_CPU:
                # SIGXCPU at the soft limit, SIGKILL one second later.
                resource.setrlimit(res, (hard, hard + 1))
            else:
                resource.setrlimit(res, (hard, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child(request, isolation):
    """Runs in the forked child: confine, then execute. Never returns."""
    code = 1
    try:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the runner
        os.setsid()
        cwd = request["cwd"]
        os.chdir(cwd)
        stdin_path = os.path.join(cwd, ".stdin")
        with open(stdin_path, "w", encoding="utf-8") as f:
            f.write(request.get("stdin") or "")
        fd_in = os.open(stdin_path, os.O_RDONLY)
        fd_out = os.open(os.path.join(cwd, ".stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(os.path.join(cwd, ".stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        for fd in (fd_in, fd_out, fd_err):
            os.close(fd)
        sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr

        ll = isolation.get("landlock", "none")
        if ll.startswith("abi "):
            abi = int(ll.split()[1])
            # Without a network namespace (made once for the whole runner), landlock denies TCP.
            deny_tcp = isolation.get("network") != "namespace"
            apply_landlock(abi, read_only_paths(request.get("read_paths", [])), [cwd, "/dev/null"], deny_tcp=deny_tcp)

        os.environ.clear()
        os.environ.update(request.get("env") or {})
        sys.path[:] = [cwd, RUNTIME_DIR] + [p for p in sys.path if p and p != RUNTIME_DIR]
        set_limits(request.get("limits") or {})

        kind = request.get("kind", "script")
        args = list(request.get("args") or [])
        if kind == "pytest":
            import pytest  # pylint: disable=import-outside-toplevel,redefined-outer-name

            sys.argv = ["pytest"] + args
            code = int(pytest.main(args))
        else:
            script = request["script"]
            sys.argv = [script] + args
            with open(script, "rb") as f:
                source = f.read()
            # Like `python script`: a fresh __main__ namespace.
            main_module = type(sys)("__main__")
            main_module.__file__ = script
            main_module.__builtins__ = __builtins__
            sys.modules["__main__"] = main_module
            try:
                exec(compile(source, script, "exec"), main_module.__dict__)  # pylint: disable=exec-used
                code = 0
            except SystemExit as e:
                if e.code is None:
                    code = 0
                elif isinstance(e.code, int):
                    code = e.code
                else:
                    print(e.code, file=sys.stderr)
                    code = 1
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code & 0xFF)


def read_output(path):
    try:
        with open(path, "rb") as f:
            data = f.read(OUTPUT_LIMIT + 1)
    except OSError:
        return ""
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    if len(data) > OUTPUT_LIMIT:
        text += "\n[output cut at 1 MiB]"
    return text


def wait_child(pid, timeout):
    """(status, rusage, timed_out); the child's whole process group is killed on timeout."""
    deadline = time.monotonic() + timeout
    timed_out = False
    pidfd = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        if pidfd is not None:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([pidfd], [], [], max(0.0, left))
            if not ready:
                timed_out = True
                break
            break
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            return status, usage, False
        if time.monotonic() >= deadline:
            timed_out = True
            break
        time.sleep(0.0005)
    if pidfd is not None:
        os.close(pidfd)
    if timed_out:
        for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    _, status, usage = os.wait4(pid, 0)
    return status, usage, timed_out


def handle(request, isolation):
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(request, isolation)
    status, usage, timed_out = wait_child(pid, float(request.get("timeout_s", 10)))
    wall = time.monotonic() - started
    # Anything the node left running in its group goes too.
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    exit_code = os.waitstatus_to_exitcode(status)
    cwd = request["cwd"]
    return {
        "id": request.get("id"),
        "exit_code": exit_code if exit_code >= 0 else None,
        "signal": -exit_code if exit_code < 0 else None,
        "timed_out": timed_out,
        "wall_ms": wall * 1000.0,
        "user_ms": usage.ru_utime * 1000.0,
        "sys_ms": usage.ru_stime * 1000.0,
        "max_rss_kb": usage.ru_maxrss,
        "stdout": read_output(os.path.join(cwd, ".stdout")),
        "stderr": read_output(os.path.join(cwd, ".stderr")),
    }


def main():
    isolation = probe_isolation()
    # One private network namespace for the runner: every forked run inherits it for free.
    if isolation.get("network") == "namespace" and not new_network_namespace():
        isolation["network"] = "landlock-tcp" if landlock_abi() >= 4 else "none"
    read_only_paths([])
    # Objects alive now are never collected in a child: fewer copied pages per fork.
    gc.freeze()
    hello = {"ready": True, "python": sys.version.split()[0], "executable": sys.executable, "pytest": HAVE_PYTEST}
    hello.update(isolation)
    out = sys.stdout
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            answer = handle(request, isolation)
        except Exception as e:  # a bad request must not kill the runner
            answer = {"id": None, "runner_error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
