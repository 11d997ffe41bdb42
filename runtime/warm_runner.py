"""code-evolver's warm runner: a Python process started once that forks for every run.

It removes interpreter start-up from each test and timing run. The engine starts it inside a jail
(bubblewrap: its own user/pid/mount/network/IPC/UTS namespaces, read-only system and runtime, a
private /tmp) and it confines each forked run further before any node code executes: an
unprivileged uid (it drops root itself), no capabilities, no_new_privs, a seccomp filter, rlimits,
its own session, a fresh private run directory (forked_run.py: what the child does). Without
the jail (no bubblewrap, or the kernel refuses it) landlock and a network namespace stand in
where the kernel allows them, and the greeting says which layers are missing.

Nothing a run writes is ever read back from disk: the run gets its files and stdin over the
request, and its stdout, stderr and results come back over pipes, each bounded. A run's tool calls
come over a socket pair that only that run holds and are relayed to the engine. The verdict is not
computed here: "calls" runs return each call's result as plain JSON; the engine compares them with
the expected values, which never enter the jail.

Protocol: one JSON object per line on stdin (a request, or a tool answer during a run), one per
line on stdout (a tool call during a run, then the run's outcome). The first line out is a greeting
that says which confinement layers are active.
"""

import ctypes
import gc
import json
import os
import platform
import select
import shutil
import signal
import socket
import sys
import time

OUTPUT_LIMIT = 1 << 20  # stdout and stderr kept per run
RESULTS_LIMIT = 16 << 20  # the results channel; a run that writes more is killed
TOOL_MESSAGE_LIMIT = 1 << 20  # one call_tool request
REQUEST_LIMIT = 256 << 20  # one request from the engine (it carries the run's files)
NOBODY = 65534

from confine import (  # noqa: E402  pylint: disable=wrong-import-position
    _libc,
    _PR_SET_PDEATHSIG,
    _PR_SET_DUMPABLE,
    _PR_SET_NO_NEW_PRIVS,
    _DENIED,
    _filter,
    apply_seccomp,
    landlock_abi,
    apply_landlock,
    new_network_namespace,
)
from forked_run import IGNORED_SIGNALS, JAILED, child  # noqa: E402  pylint: disable=wrong-import-position


# --- the runner's own set-up -----------------------------------------------------------------
def outside_uid():
    """The uid this process has outside its user namespace (the one the host sees)."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as f:
            for line in f:
                inside, outside, count = (int(x) for x in line.split())
                uid = os.getuid()
                if inside <= uid < inside + count:
                    return outside + (uid - inside)
    except (OSError, ValueError):
        pass
    return os.getuid()


def drop_root():
    """In the jail a root evolver's runner becomes nobody: no capabilities, no host root files."""
    if os.getuid() != 0 or not JAILED:
        return
    os.chown("/tmp", NOBODY, NOBODY)  # the jail's private tmpfs, the runs' scratch space
    os.chmod("/tmp", 0o700)
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    # A change of uid clears the parent-death signal bubblewrap set: set it again, so the runner
    # (and its jail) never outlives the engine.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def probe_child(action):
    """Runs `action` in a throwaway child; its return value (a short string) or the error."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            text = action()
        except BaseException as e:  # pylint: disable=broad-exception-caught
            text = f"error: {e}"
        os.write(write, text.encode()[:4000])
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
    return data.decode(errors="replace")


def _seccomp_probe():
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"error: no_new_privs ({ctypes.get_errno()})"
    apply_seccomp()
    # The filter must deny what it says it denies.
    if _libc.syscall(_DENIED[platform.machine()][1]["sethostname"], b"x", 1) == 0:
        return "error: sethostname was not denied"
    return "filter"


def probe_layers():
    """What confines a run on this machine, layer by layer."""
    layers = {
        "jail": "bubblewrap" if JAILED else "none",
        "uid": os.getuid(),
        "outside_uid": outside_uid(),
        "pid_namespace": os.getpid() == 1,
        "mount_namespace": JAILED,
        "ipc_uts_namespaces": JAILED,
        "no_new_privs": True,
        "capabilities": "none" if os.getuid() != 0 else "root (not dropped)",
    }
    seccomp = probe_child(_seccomp_probe)
    layers["seccomp"] = seccomp if seccomp == "filter" else f"unavailable ({seccomp})"
    abi = landlock_abi()
    if JAILED:
        layers["network"] = "namespace"
        layers["landlock"] = f"abi {abi} (not needed in the jail)" if abi else "none (not needed in the jail)"
    else:
        net = probe_child(lambda: "namespace" if new_network_namespace() else "none")
        if net != "namespace" and abi >= 4:
            net = "landlock-tcp"
        layers["network"] = net
        if abi:
            try:
                ll = probe_child(
                    lambda: (_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), apply_landlock(abi, ["/usr"], [], False), f"abi {abi}")[2]
                )
            except OSError as e:
                ll = f"unavailable ({e})"
            layers["landlock"] = ll
        else:
            layers["landlock"] = "unavailable (kernel)"
    return layers


class Capture:
    """One pipe from the run, kept up to a limit; the rest is read and dropped."""

    def __init__(self, fd, limit):
        self.fd = fd
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0
        os.set_blocking(fd, False)

    def pump(self):
        """Reads what is there; False at end of file."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not chunk:
            return False
        room = self.limit - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)
        return True

    def text(self):
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[output cut at {self.limit >> 20} MiB: {self.dropped} more bytes dropped]"
        return text


class Control:
    """The runner's own channel to the engine: buffered lines on fd 0, written to stdout."""

    def __init__(self):
        self.buffer = bytearray()
        self.closed = False

    def read_line(self, block=True):
        while True:
            at = self.buffer.find(b"\n")
            if at >= 0:
                line = bytes(self.buffer[:at])
                del self.buffer[: at + 1]
                return line
            if self.closed or not block:
                return None
            chunk = os.read(0, 1 << 20)
            if not chunk:
                self.closed = True
                return None
            self.buffer += chunk
            if len(self.buffer) > REQUEST_LIMIT:
                self.buffer.clear()
                raise ValueError("a request over 256 MiB")

    def fill(self):
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self.closed = True
        self.buffer += chunk

    @staticmethod
    def send(obj):
        data = (json.dumps(obj) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(1, view)
            view = view[n:]


def kill_run(pid):
    """Every process of the run: in the jail the runner is pid 1 of its namespace, and kill(-1)
    reaches every other process in it (daemons included); without it, the run's process group."""
    if os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def reap_orphans():
    while True:
        try:
            got, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if got == 0:
            return


def _force_remove(path):
    def fix(func, target, _exc):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix)  # pylint: disable=deprecated-argument


UNCLEAN = [False]  # set when a run's leftovers could not be removed: the runner then exits


def clean_scratch(base, run_dir):
    try:
        _clean_scratch(base, run_dir)
    except BaseException:  # pylint: disable=broad-exception-caught
        UNCLEAN[0] = True


def _clean_scratch(base, run_dir):
    """The run's dir goes; in the jail, so does anything else it left in /tmp (what the jail
    itself put there, owned by another uid or read-only, stays)."""
    _force_remove(run_dir)
    if JAILED:
        for name in os.listdir(base):
            target = os.path.join(base, name)
            try:
                if os.lstat(target).st_uid != os.getuid() or os.path.ismount(target):
                    continue
            except OSError:
                continue
            if os.path.isdir(target) and not os.path.islink(target):
                _force_remove(target)
            else:
                try:
                    os.unlink(target)
                except OSError:
                    pass


def safe_name(name):
    return bool(name) and "/" not in name and "\0" not in name and name not in (".", "..")


def handle(request, control, layers, base):
    run_id = request.get("id")
    run_dir = os.path.join(base, f"run-{run_id}")
    os.mkdir(run_dir, 0o700)
    for name, content in (request.get("files") or {}).items():
        if not safe_name(name):
            raise ValueError(f"bad file name {name!r}")
        with open(os.path.join(run_dir, name), "w", encoding="utf-8") as f:
            f.write(content)
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    results_r, results_w = os.pipe()
    tool_parent, tool_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        tool_parent.close()
        child(request, run_dir, layers, (stdin_r, stdout_w, stderr_w, results_w, tool_child.fileno()))
    for fd in (stdin_r, stdout_w, stderr_w, results_w):
        os.close(fd)
    tool_child.close()
    pidfd = os.pidfd_open(pid)
    timeout = float(request.get("timeout_s", 10))
    deadline = started + timeout
    captures = (Capture(stdout_r, OUTPUT_LIMIT), Capture(stderr_r, OUTPUT_LIMIT))
    results = Capture(results_r, RESULTS_LIMIT)
    outputs = {stdout_r: captures[0], stderr_r: captures[1], results_r: results}
    stdin_data = memoryview((request.get("stdin") or "").encode())
    os.set_blocking(stdin_w, False)
    tool_fd = tool_parent.fileno()
    tool_parent.setblocking(False)
    tool_buffer = bytearray()
    tool_open = True
    awaiting_answer = False
    timed_out = False
    overflow = None
    status = usage = None
    ended = None
    if not stdin_data:
        os.close(stdin_w)
        stdin_w = -1
    while True:
        readers = [pidfd] + list(outputs)
        if tool_open and not awaiting_answer:
            readers.append(tool_fd)
        if awaiting_answer:
            readers.append(0)
        writers = [stdin_w] if stdin_w >= 0 else []
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready_r, ready_w, _ = select.select(readers, writers, [], left)
        if stdin_w in ready_w:
            try:
                n = os.write(stdin_w, stdin_data[:65536])
                stdin_data = stdin_data[n:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                stdin_data = memoryview(b"")
            if not stdin_data:
                os.close(stdin_w)
                stdin_w = -1
        for fd in ready_r:
            if fd in outputs and not outputs[fd].pump():
                os.close(fd)
                del outputs[fd]
        if results.dropped:
            overflow = f"the run wrote more than {RESULTS_LIMIT >> 20} MiB of results"
            break
        if tool_fd in ready_r:
            try:
                chunk = tool_parent.recv(1 << 16)
            except BlockingIOError:
                chunk = None
            except OSError:
                chunk = b""
            if chunk == b"":
                tool_open = False
            elif chunk:
                tool_buffer += chunk
                at = tool_buffer.find(b"\n")
                if at < 0 and len(tool_buffer) > TOOL_MESSAGE_LIMIT:
                    _tool_reply(tool_parent, {"error": f"tool request over {TOOL_MESSAGE_LIMIT >> 20} MiB: refused, channel closed"})
                    tool_parent.shutdown(socket.SHUT_RDWR)
                    tool_open = False
                elif at >= 0:
                    line = bytes(tool_buffer[:at])
                    del tool_buffer[: at + 1]
                    try:
                        call = json.loads(line)
                        if not isinstance(call, dict):
                            raise ValueError("not an object")
                    except ValueError as e:
                        _tool_reply(tool_parent, {"error": f"bad tool request: {e}"})
                    else:
                        control.send({"tool_call": call, "run": run_id})
                        awaiting_answer = True
        if awaiting_answer and 0 in ready_r:
            control.fill()
            line = control.read_line(block=False)
            if line is not None:
                try:
                    answer = json.loads(line).get("tool_answer", {"error": "no answer"})
                except (ValueError, AttributeError):
                    answer = {"error": "the evolver sent a bad answer"}
                _tool_reply(tool_parent, answer)
                awaiting_answer = False
            elif control.closed:
                break
        if pidfd in ready_r:
            _, status, usage = os.wait4(pid, 0)
            ended = time.monotonic()
            break
    kill_run(pid)
    if status is None:
        _, status, usage = os.wait4(pid, 0)
        ended = time.monotonic()
    os.close(pidfd)
    # The tool channel goes first: descriptors a run passed through it must not keep a pipe open.
    tool_parent.close()
    # Every writer should be dead now: what is left in the pipes is read to its end, bounded in
    # size and in time (a writer that survives, say through a passed descriptor, is not waited on).
    drain_deadline = time.monotonic() + 1.0
    while outputs and time.monotonic() < drain_deadline:
        ready, _, _ = select.select(list(outputs), [], [], max(0.0, drain_deadline - time.monotonic()))
        for fd in ready:
            if not outputs[fd].pump():
                os.close(fd)
                del outputs[fd]
    for fd in list(outputs):
        os.close(fd)
    if stdin_w >= 0:
        os.close(stdin_w)
    reap_orphans()
    clean_scratch(base, run_dir)
    exit_code = os.waitstatus_to_exitcode(status)
    stderr = captures[1].text()
    if overflow:
        stderr += f"\n[{overflow}: the run was killed]"
    return {
        "id": run_id,
        "exit_code": exit_code if exit_code >= 0 else None,
        "signal": -exit_code if exit_code < 0 else None,
        "timed_out": timed_out,
        "wall_ms": (ended - started) * 1000.0,
        "user_ms": usage.ru_utime * 1000.0,
        "sys_ms": usage.ru_stime * 1000.0,
        "max_rss_kb": usage.ru_maxrss,
        "stdout": captures[0].text(),
        "stderr": stderr,
        "results": results.data.decode("utf-8", errors="replace"),
        "results_overflow": overflow is not None,
    }


def _tool_reply(sock, answer):
    data = (json.dumps(answer) + "\n").encode()
    sock.setblocking(True)
    sock.settimeout(1)  # a run that never reads its answers does not hold the runner
    try:
        sock.sendall(data)
    except OSError:
        pass
    sock.setblocking(False)


def main():
    # As pid 1 of the jail the runner receives only the signals it handles: it handles none (a
    # run's os.kill(1, SIGINT) would otherwise raise KeyboardInterrupt in it).
    for sig in IGNORED_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    drop_root()
    # Neither the runs nor anything else of this uid may read this process's memory or files.
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    try:
        _filter()
    except OSError:
        pass
    layers = probe_layers()
    if not JAILED and layers.get("network") == "namespace" and not new_network_namespace():
        layers["network"] = "landlock-tcp" if landlock_abi() >= 4 else "none"
    if JAILED:
        base = "/tmp"
    else:
        import tempfile  # pylint: disable=import-outside-toplevel

        base = tempfile.mkdtemp(prefix="ce-runs-")
    if os.getpid() == 1:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Objects alive now are never collected in a child: fewer copied pages per fork.
    gc.freeze()
    hello = {"ready": True, "python": sys.version.split()[0], "executable": sys.executable}
    hello.update(layers)
    control = Control()
    control.send(hello)
    try:
        while True:
            try:
                line = control.read_line()
            except ValueError as e:
                control.send({"id": None, "runner_error": str(e)})
                continue
            if line is None:
                break
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if "tool_answer" in request:
                    continue  # a late answer for a run that already ended
                answer = handle(request, control, layers, base)
            except BaseException as e:  # pylint: disable=broad-exception-caught
                answer = {"id": None, "runner_error": f"{type(e).__name__}: {e}"}
            control.send(answer)
            if answer.get("runner_error") or UNCLEAN[0]:
                break  # a runner that could not finish or clean up is replaced, not reused
    finally:
        if not JAILED:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
