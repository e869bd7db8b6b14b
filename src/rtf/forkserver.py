"""Running steps through long-lived fork servers: one fresh process per step, no fresh Python.

Starting an interpreter costs tens of milliseconds per step; forking one that is already
started costs well under one. :class:`ForkServerExecutor` keeps ``python _launcher.py --serve``
processes (one per step running at once, per interpreter and start-up environment) and sends
each step to an idle one as one JSON line. The server forks a child that becomes the step's
process exactly as :class:`~rtf.executor.LocalExecutor` starts it: a session and process group
of its own, the step's working folder, exactly the step's environment, stdin at end-of-file,
stdout and stderr merged into a FIFO that this side drains into the log (same size cap). The
server imports no script code, so each child starts from the same clean state and whatever a
script imports dies with its child.

Timeout, cancel and leftovers are handled as by the local executor (SIGTERM to the group, a
grace period, SIGKILL; the group is killed when the script ends). A server that cannot be
started or that fails before the step's process exists is replaced: the step runs through a
:class:`~rtf.executor.LocalExecutor` instead, and the next step starts a new server.
:meth:`ForkServerExecutor.close` ends the idle servers (they exit at the end of their input,
which also happens whenever rtf itself ends).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from rtf.executor import (
    _ENDING_NOTES,
    REQUEST_NAME,
    RESULT_NAME,
    Ending,
    LocalExecutor,
    StepError,
    StepOutcome,
    StepRequest,
    _LogPump,
    _signal_group,
    build_launch_request,
    launcher_path,
    read_result,
)

FIFO_NAME = ".rtf-log.fifo"
_INTERPRETER_VARS = ("PYTHON", "LD_", "DYLD_")
"""Environment variables read when an interpreter starts: a server is only reused for steps
that agree on all of them, since changing them after start-up would change nothing."""


class ServerGone(Exception):
    """The fork server ended, or answered something that is not its protocol."""


class _Server:
    """One ``_launcher.py --serve`` process and its two pipes."""

    def __init__(self, python: str, launcher: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [python, str(launcher), "--serve"],
            env=env,
            cwd="/",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no terminal signal reaches it
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin = self.proc.stdin
        self._fd = self.proc.stdout.fileno()
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: dict[str, Any]) -> None:
        try:
            self._stdin.write(json.dumps(message, default=str).encode("utf-8") + b"\n")
            self._stdin.flush()
        except (OSError, ValueError) as exc:  # broken pipe, or closed already
            raise ServerGone(f"cannot write to the fork server: {exc}") from exc

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message, or ``None`` if none came within ``timeout`` seconds."""
        give_up = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while b"\n" not in self._buffer:
            left = None if give_up is None else max(0.0, give_up - time.monotonic())
            if not self._selector.select(left):
                if give_up is not None and time.monotonic() >= give_up:
                    return None
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except OSError as exc:
                raise ServerGone(f"cannot read from the fork server: {exc}") from exc
            if not chunk:
                raise ServerGone("the fork server ended")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise ServerGone(f"the fork server answered {line[:80]!r}") from exc
        if not isinstance(message, dict):
            raise ServerGone(f"the fork server answered {line[:80]!r}")
        return message

    def close(self, wait_s: float = 5.0) -> None:
        """End of input: the server exits; killed if it does not within ``wait_s``."""
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._release()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        self.proc.wait()
        self._release()

    def _release(self) -> None:
        self._selector.close()
        if self.proc.stdout is not None:
            with contextlib.suppress(OSError):
                self.proc.stdout.close()


def _step_env(request: StepRequest) -> dict[str, str]:
    """The environment the step's process gets, built as the local executor builds it."""
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in request.environ_vars.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _server_key(python: str, env: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return python, tuple(sorted((k, v) for k, v in env.items() if k.startswith(_INTERPRETER_VARS)))


class ForkServerExecutor:
    """Runs each step in a child forked by a long-lived launcher server (see the module doc)."""

    drain_s: float = LocalExecutor.drain_s
    start_timeout_s: float = 30.0
    """How long a server may take to start and fork the step's process."""

    def __init__(self, launcher: Path | None = None, poll_s: float = 0.05) -> None:
        self.launcher = launcher if launcher is not None else launcher_path()
        self.poll_s = poll_s
        self.fallback = LocalExecutor(self.launcher, poll_s)
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, tuple[tuple[str, str], ...]], list[_Server]] = {}
        self._busy: set[_Server] = set()
        self._retire: set[_Server] = set()  # busy when close() was called: closed once free
        self.fallbacks = 0
        """Steps that ran through the local executor because a server failed."""

    # --- the pool --------------------------------------------------------------------------

    def server_pids(self) -> list[int]:
        """Process ids of the servers this executor holds (idle or running a step)."""
        with self._lock:
            servers = [s for group in self._idle.values() for s in group] + list(self._busy)
        return sorted(server.pid for server in servers)

    def close(self) -> None:
        """End the idle servers now, and the busy ones as their steps end. Reusable after."""
        with self._lock:
            idle = [s for group in self._idle.values() for s in group]
            self._idle.clear()
            self._retire.update(self._busy)
        for server in idle:
            server.close()

    def _checkout(
        self, key: tuple[str, tuple[tuple[str, str], ...]], env: dict[str, str]
    ) -> _Server:
        with self._lock:
            group = self._idle.get(key)
            server = group.pop() if group else None
        if server is None:
            base = dict(os.environ)
            base.update({k: v for k, v in env.items() if k.startswith(_INTERPRETER_VARS)})
            for name in [k for k in base if k.startswith(_INTERPRETER_VARS) and k not in env]:
                del base[name]
            server = _Server(key[0], self.launcher, base)
        with self._lock:
            self._busy.add(server)
        return server

    def _checkin(self, key: tuple[str, tuple[tuple[str, str], ...]], server: _Server) -> None:
        with self._lock:
            self._busy.discard(server)
            retire = server in self._retire
            self._retire.discard(server)
            if not retire:
                self._idle.setdefault(key, []).append(server)
        if retire:
            server.close()

    def _discard(self, server: _Server) -> None:
        with self._lock:
            self._busy.discard(server)
            self._retire.discard(server)
        server.kill()

    # --- one step ----------------------------------------------------------------------------

    def run(self, request: StepRequest, cancel: threading.Event) -> StepOutcome:
        """Run one script to its end, its timeout, or ``cancel``; never raises for the script."""
        started = time.monotonic()
        workdir = Path(request.workdir).absolute()
        log_path = Path(request.log_path)
        result_file = workdir / RESULT_NAME
        fifo = workdir / FIFO_NAME
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            result_file.unlink(missing_ok=True)
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
            # The same request file as the local executor's: the step can be rerun by hand.
            payload = build_launch_request(request, result_file)
            (workdir / REQUEST_NAME).write_text(json.dumps(payload, default=str), "utf-8")
            log = open(log_path, "wb", buffering=0)  # noqa: SIM115 - closed by _run_on
        except OSError:  # the local executor reports what is wrong with the folder
            with contextlib.suppress(OSError):
                fifo.unlink(missing_ok=True)
            return self.fallback.run(request, cancel)
        if cancel.is_set():
            log.close()
            fifo.unlink(missing_ok=True)
            return StepOutcome("interrupted", None, time.monotonic() - started, None, log_path)

        env = _step_env(request)
        key = _server_key(request.python, env)
        try:
            server = self._checkout(key, env)
        except OSError:  # cannot start the interpreter: the local executor says why
            log.close()
            fifo.unlink(missing_ok=True)
            return self.fallback.run(request, cancel)
        try:
            return self._run_on(server, key, request, cancel, env, payload, started, fifo, log)
        finally:
            fifo.unlink(missing_ok=True)

    def _run_on(
        self,
        server: _Server,
        key: tuple[str, tuple[tuple[str, str], ...]],
        request: StepRequest,
        cancel: threading.Event,
        env: dict[str, str],
        payload: dict[str, Any],
        started: float,
        fifo: Path,
        log: IO[bytes],
    ) -> StepOutcome:
        workdir = Path(request.workdir).absolute()
        log_path = Path(request.log_path)
        result_file = workdir / RESULT_NAME
        # Both ends open here first: the child's open never blocks, and the log sees its end
        # only once this side's write end is closed too (after the step's processes are gone).
        read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        write_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(read_fd, True)
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        job = {
            "request": payload,
            "env": env,
            "cwd": str(workdir),
            "log": str(fifo),
        }
        try:
            server.send(job)
            answer = server.read(self.start_timeout_s)
            if answer is None or not isinstance(answer.get("pid"), int):
                raise ServerGone(f"the fork server answered {answer!r}")
            pid: int = answer["pid"]
        except ServerGone:
            os.close(write_fd)
            pipe.close()
            log.close()
            self._discard(server)
            with self._lock:
                self.fallbacks += 1
            return self.fallback.run(request, cancel)

        pump = _LogPump(pipe, log, request.max_log_bytes)
        pump.start()
        ending: Ending = "interrupted"  # if waiting itself is interrupted (Ctrl-C in this thread)
        status: int | None = None
        healthy = False
        try:
            ending, status = self._wait(server, pid, request, cancel, started)
            healthy = True
        except ServerGone:
            ending = "launch_failed"
        finally:
            if status is None:  # the server has not reaped it: its group id is still reserved
                _signal_group(pid, signal.SIGKILL)
                if healthy or ending == "interrupted":
                    with contextlib.suppress(ServerGone):
                        status = self._status(server, pid, self.start_timeout_s)
                healthy = status is not None
            os.close(write_fd)
            pump.finish(self.drain_s)
            with contextlib.suppress(OSError):
                if ending_note := _ENDING_NOTES.get(ending, b""):
                    pump.note(ending_note)
            log.close()
            if healthy:
                self._checkin(key, server)
            else:
                self._discard(server)
        if ending == "launch_failed":
            message = "the fork server running the step ended unexpectedly"
            with contextlib.suppress(OSError), open(log_path, "ab") as handle:
                handle.write(f"rtf: {message}\n".encode())
            return StepOutcome(
                ending="launch_failed",
                exit_code=None,
                duration_s=time.monotonic() - started,
                error=StepError("LaunchError", message, None),
                log_path=log_path,
                log_bytes_dropped=pump.dropped,
            )
        _, error = read_result(result_file)
        return StepOutcome(
            ending=ending,
            exit_code=status,
            duration_s=time.monotonic() - started,
            error=error,
            log_path=log_path,
            log_bytes_dropped=pump.dropped,
        )

    @staticmethod
    def _status(server: _Server, pid: int, timeout: float | None) -> int | None:
        """The step's return code, if the server reports it within ``timeout``."""
        answer = server.read(timeout)
        if answer is None:
            return None
        status = answer.get("status")
        if answer.get("pid") != pid or not isinstance(status, int):
            raise ServerGone(f"the fork server answered {answer!r}")
        return status

    def _wait(
        self,
        server: _Server,
        pid: int,
        request: StepRequest,
        cancel: threading.Event,
        started: float,
    ) -> tuple[Ending, int | None]:
        deadline = None if request.timeout is None else started + request.timeout
        delay = 0.001
        while True:
            status = self._status(server, pid, delay)
            if status is not None:
                return "exited", status
            if cancel.is_set():
                return "interrupted", self._end_group(server, pid, request.grace_s)
            if deadline is not None and time.monotonic() >= deadline:
                return "timed_out", self._end_group(server, pid, request.grace_s)
            fine = time.monotonic() - started < self.fallback.fine_poll_for_s
            fine_poll = min(self.fallback.fine_poll_s, self.poll_s)
            delay = min(delay * 2, fine_poll if fine else self.poll_s)

    def _end_group(self, server: _Server, pid: int, grace_s: float) -> int | None:
        """SIGTERM to the group; SIGKILL if the script is still there after the grace period."""
        _signal_group(pid, signal.SIGTERM)
        status = self._status(server, pid, max(0.0, grace_s))
        if status is None:
            _signal_group(pid, signal.SIGKILL)
            status = self._status(server, pid, self.start_timeout_s)
        return status
