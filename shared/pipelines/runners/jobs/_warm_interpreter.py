"""A warm interpreter: imports the configured modules once, then forks a fresh child per job.

Runs under the image's mapped interpreter (standalone: no ``pipelines`` import). The driver
(``warm.py``) starts it with the fds of a listening Unix socket and of the read end of a pipe
whose write end only the driver holds, after the JSON list of modules to preload. It prints one line, ``ready`` or ``unsafe: <why>``,
then serves jobs until the pipe reports the driver gone, and then kills every job it started.

Per job the driver connects, sends one JSON line (argv, env, cwd, the host's opt/ml, network
isolation) with the job's stdout and stderr as passed fds, reads ``pid <n>``, and later
``exit <wait status>``. Closing the connection kills the job (SIGKILL to its process group): the
job dies with the driver's thread that waits for it, as a cold job does with its PDEATHSIG.

The processes mirror the cold launch (``setpriv --pdeathsig KILL unshare --mount --pid
--fork --kill-child --mount-proc sh -c launcher``):

- *session* (the pid reported, as ``unshare``): a new session, SIGKILL when this server dies,
  private mount and PID namespaces (and network when asked), ignores SIGTERM/SIGINT like
  ``unshare`` does and exits as its child did;
- *init* (PID 1 of the namespace, as the launcher's shell): mounts /proc and the job's opt/ml
  over /opt/ml, enters the working directory, waits for the job; when it ends the kernel ends
  everything left in the namespace;
- *job*: the environment replaced, every other fd closed, signals reset to a fresh
  interpreter's, random generators reseeded, then the script run as ``__main__``.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import threading
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
SANDBOX_FAILED_EXIT = 121  # as sandbox.py's launcher

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str, target: str, fstype: str | None, flags: int) -> None:
    _check(
        _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags, None),
        f"mount {source} on {target}",
    )


def _die_with_parent() -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def _exit_like(status: int) -> None:
    """End this process the way the child with wait ``status`` ended (as ``unshare`` does)."""
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _fail(message: str) -> None:
    os.write(2, f"pipelines-sandbox: {message}\n".encode())
    os._exit(SANDBOX_FAILED_EXIT)


class Server:
    def __init__(self, listener: int, driver: int, keep_alive: int = 0) -> None:
        """``driver``: the pipe whose end tells this server its driver is gone, or -1 when it
        is kept alive instead: then it ends after ``keep_alive`` seconds without a job."""
        self.listener = socket.socket(fileno=listener)
        self.driver = driver
        self.keep_alive = keep_alive
        self.selector = selectors.DefaultSelector()
        self.jobs: dict[int, tuple[socket.socket, int]] = {}  # pidfd -> (connection, pid)
        self.by_connection: dict[int, int] = {}  # connection fd -> pid

    def close_in_child(self) -> None:
        """Nothing of the server stays open in a job."""
        self.selector.close()
        for connection, _pid in self.jobs.values():
            connection.close()
        for pidfd in self.jobs:
            os.close(pidfd)
        self.listener.close()
        if self.driver >= 0:
            os.close(self.driver)

    def serve(self) -> dict[str, Any] | None:
        """Serve until the driver is gone (returns None); in a job's child, return its request."""
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        if self.driver >= 0:
            self.selector.register(self.driver, selectors.EVENT_READ, "driver")
        while True:
            events = self.selector.select(None if self.jobs or not self.keep_alive else self.keep_alive)
            if not events and not self.jobs:  # kept alive, and idle for keep_alive seconds
                self.retire()
                return None
            for key, _events in events:
                kind = key.data
                if kind == "driver":
                    self.shutdown()
                    return None
                if kind == "accept":
                    connection, _ = self.listener.accept()
                    job = self.start(connection)
                    if job is not None:
                        return job
                elif kind == "exited":
                    self.reap(key.fd)
                else:  # a job's connection: EOF (or anything) means its driver thread is gone
                    self.abandon(key.fileobj)  # type: ignore[arg-type]

    def start(self, connection: socket.socket) -> dict[str, Any] | None:
        message, fds, _flags, _address = socket.recv_fds(connection, 1 << 20, 2)
        request = json.loads(message.decode())
        if request.get("hello"):  # a driver looking for a kept-alive interpreter
            with contextlib.suppress(OSError):
                connection.sendall(f"ready {os.getpid()}\n".encode())
            connection.close()
            return None
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(fds[0], 1)
                os.dup2(fds[1], 2)
                for fd in fds:
                    os.close(fd)
                connection.close()
                self.close_in_child()
                return _session(request)
            except BaseException:
                traceback.print_exc()
                os._exit(SANDBOX_FAILED_EXIT)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.jobs[pidfd] = (connection, pid)
        self.by_connection[connection.fileno()] = pid
        self.selector.register(pidfd, selectors.EVENT_READ, "exited")
        self.selector.register(connection, selectors.EVENT_READ, "connection")
        connection.sendall(f"pid {pid}\n".encode())
        return None

    def reap(self, pidfd: int) -> None:
        connection, pid = self.jobs.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        self.by_connection.pop(connection.fileno(), None)
        self.selector.unregister(connection)
        with contextlib.suppress(OSError):
            connection.sendall(f"exit {status}\n".encode())
        connection.close()

    def abandon(self, connection: socket.socket) -> None:
        pid = self.by_connection.get(connection.fileno())
        if pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)

    def retire(self) -> None:
        """Stop being found (the socket's path goes first, so no driver connects meanwhile)."""
        with contextlib.suppress(OSError):
            path = self.listener.getsockname()
            if isinstance(path, str) and path:
                os.unlink(path)
        self.listener.close()

    def shutdown(self) -> None:
        for _connection, pid in list(self.jobs.values()):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _session(request: dict[str, Any]) -> dict[str, Any] | None:
    """The job's session leader: namespaces, then PID 1 of them; returns only in the job."""
    os.setsid()
    _die_with_parent()
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    flags = CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if request["isolate_network"] else 0)
    try:
        _check(_libc.unshare(flags), "unshare")
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
    except OSError as exc:
        _fail(f"cannot create the job's namespaces: {exc}")
    init = os.fork()
    if init == 0:
        return _init(request)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)
    _exit_like(os.waitpid(init, 0)[1])
    return None


def _init(request: dict[str, Any]) -> dict[str, Any] | None:
    _die_with_parent()
    try:
        _mount("none", "/proc", None, MS_REC | MS_PRIVATE)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        _fail(f"cannot mount /proc: {exc}")
    try:
        _mount(request["host_ml"], "/opt/ml", None, MS_BIND)
    except OSError as exc:
        _fail(f"cannot bind {request['host_ml']} over /opt/ml: {exc}")
    try:
        os.chdir(request["cwd"])
    except OSError as exc:
        _fail(f"cannot enter the working directory {request['cwd']}: {exc}")
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)  # PID 1: the kernel drops signals it does not handle
    job = os.fork()
    if job == 0:
        return request
    _exit_like(os.waitpid(job, 0)[1])
    return None


def _as_fresh_interpreter(request: dict[str, Any]) -> str:
    """This process as ``python script args...`` started cold would be; returns the script."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for signum in (
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGQUIT,
        signal.SIGCHLD,
        signal.SIGUSR1,
        signal.SIGUSR2,
    ):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    env: dict[str, str] = request["env"]
    os.environ.clear()
    os.environ.update(env)
    _show_command_line(request["argv"])
    script, *arguments = request["argv"][1:]
    sys.argv = [script, *arguments]
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [os.path.dirname(os.path.realpath(script)), *extra, *BASE_PATH]
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    if env.get("PYTHONUNBUFFERED"):
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    # random reseeds itself after fork; numpy's global generator does not, and would hand every
    # job the same numbers.
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    return script


def _show_command_line(argv: list[str]) -> None:
    """Make ``/proc/self/cmdline`` (ps, pgrep, process finders) show the job's command, as a
    cold job's does: the job's argv is written over this interpreter's own, whose last argument
    the driver makes long enough for it (longer command lines are cut)."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start and arg_end (fields 48 and 49)
    room = end - start
    shown = b"\0".join(os.fsencode(a) for a in argv)[: room - 1]
    ctypes.memmove(start, shown.ljust(room, b"\0"), room)


def _run(request: dict[str, Any]) -> None:
    script = _as_fresh_interpreter(request)
    import runpy

    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:  # as the interpreter reports an uncaught exception: from the script down
        tb = exc.__traceback__
        while tb is not None and os.path.realpath(tb.tb_frame.f_code.co_filename) != os.path.realpath(script):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)  # None: a SyntaxError, shown alone
        code = 130 if isinstance(exc, KeyboardInterrupt) else 1
    _finish(code)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """Exit as the interpreter would, minus tearing every module down.

    Tearing down numpy, pandas and scikit-learn takes the better part of a second (each
    object's refcount write copies its page from the warm interpreter), which is the cold
    start's cost all over again. What a script can observe of the interpreter's exit is kept:
    non-daemon threads are joined, atexit handlers run, and every file still open is flushed,
    as its finalizer would when the interpreter closes it (``gc.get_objects`` sees only what the
    job made: the warm interpreter's objects are frozen).
    """
    import atexit
    import io

    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
        code = code or 1
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance reads obj.__class__, which a lazy stand-in may
        # refuse (shap's plotting placeholders raise ImportError without matplotlib)
        if issubclass(type(obj), io.IOBase) and not obj.closed:
            with contextlib.suppress(Exception):  # a broken pipe...: finalization would go on too
                obj.flush()
    os._exit(code)


def _preload(modules: list[str]) -> str | None:
    """Import the modules; the reason forking would be unsafe, or None."""
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            continue  # not in this image: jobs that need it import it themselves
    # A Python thread would be missing, holding whatever lock it held, in every job. Native
    # thread pools are another matter: OpenBLAS (numpy's) starts one at import and shuts it down
    # around fork (pthread_atfork), so the child builds its own.
    if threading.active_count() != 1:
        return "the preloaded modules started Python threads, and forking a threaded interpreter is unsafe"
    return None


BASE_PATH = [p for p in sys.path[1:]]  # without this file's folder


def main() -> None:
    modules = json.loads(sys.argv[1])
    unsafe = _preload(modules)
    print("ready" if unsafe is None else f"unsafe: {unsafe}", flush=True)
    if unsafe is not None:
        return
    # Everything imported so far moves out of the collector's reach: a job's collections (and
    # the open-file sweep in _finish) never touch, and so never copy, the warm interpreter's pages.
    gc.collect()
    gc.freeze()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    job = Server(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0).serve()
    if job is not None:
        _run(job)


if __name__ == "__main__":
    main()
