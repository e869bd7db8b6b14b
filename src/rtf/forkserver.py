"""Running steps through long-lived fork servers: one fresh process per step, no fresh Python.

Starting an interpreter costs tens of milliseconds per step; forking one that is already
started costs well under one. :class:`ForkServerExecutor` keeps one ``python _launcher.py
--serve`` process per interpreter and start-up environment, and sends it each step as one JSON
line tagged with an id; the server runs any number of steps at once and tags its answers the
same way, which one reader thread per server hands to the waiting step. The server forks a
child that becomes the step's
process exactly as :class:`~rtf.executor.LocalExecutor` starts it: a session and process group
of its own, the step's working folder, exactly the step's environment, stdin at end-of-file,
stdout and stderr merged into a FIFO that this side drains into the log (same size cap). The
server imports no script code, so each child starts from the same clean state and whatever a
script imports dies with its child.

Timeout, cancel and leftovers are handled as by the local executor (SIGTERM to the group, a
grace period, SIGKILL; the group is killed when the script ends). A server that cannot be
started or that fails before the step's process exists is replaced: the step runs through a
:class:`~rtf.executor.LocalExecutor` instead, and the next step starts a new server. A server
dying while steps run fails those steps (their groups are killed) and nothing else.
:meth:`ForkServerExecutor.close` ends the idle servers (they exit at the end of their input,
which also happens whenever rtf itself ends).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from rtf.executor import (
    _ENDING_NOTES,
    RESULT_NAME,
    Ending,
    LocalExecutor,
    StepError,
    StepOutcome,
    StepRequest,
    _LogPump,
    _signal_group,
    launcher_path,
    read_result,
    step_env,
    write_step_files,
)

FIFO_NAME = ".rtf-log.fifo"
_INTERPRETER_VARS = ("PYTHON", "LD_", "DYLD_")
"""Environment variables read when an interpreter starts: a server is only reused for steps
that agree on all of them, since changing them after start-up would change nothing."""


class ServerGone(Exception):
    """The fork server ended, or answered something that is not its protocol."""


_GONE: dict[str, Any] = {}
"""Put in every waiting step's queue when the server's output ends or makes no sense."""


class _Server:
    """One ``_launcher.py --serve`` process running any number of steps at once.

    Requests are tagged with an id; one reader thread routes each answer to the queue of the
    step that sent the request, and one lock keeps requests from interleaving.
    """

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
        self._stdout = self.proc.stdout
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._queues: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}
        self._gone: str | None = None
        self.active = 0
        """Steps running on this server (counted by the executor, under its own lock)."""
        self._reader = threading.Thread(
            target=self._read_all, name=f"rtf-forkserver-{self.proc.pid}", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_all(self) -> None:
        why = "the fork server ended"
        try:
            for line in self._stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    why = f"the fork server answered {line[:80]!r}"
                    break
                with self._lock:
                    target = self._queues.get(message.get("id"))  # type: ignore[arg-type]
                if target is not None:
                    target.put(message)
        except (OSError, ValueError) as exc:  # closed under the reader by kill()
            why = f"cannot read from the fork server: {exc}"
        with self._lock:
            self._gone = why
            waiting = list(self._queues.values())
        for target in waiting:
            target.put(_GONE)

    def submit(self, job: dict[str, Any]) -> int:
        """Send one job; returns its id, whose answers :meth:`read` then returns."""
        answers: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        with self._lock:
            if self._gone is not None:
                raise ServerGone(self._gone)
            job_id = next(self._ids)
            self._queues[job_id] = answers
        line = json.dumps({"id": job_id, **job}, default=str).encode("utf-8") + b"\n"
        try:
            with self._write_lock:
                self._stdin.write(line)
                self._stdin.flush()
        except (OSError, ValueError) as exc:  # broken pipe, or closed already
            self.forget(job_id)
            raise ServerGone(f"cannot write to the fork server: {exc}") from exc
        return job_id

    def read(self, job_id: int, timeout: float | None) -> dict[str, Any] | None:
        """The job's next answer, or ``None`` if none came within ``timeout`` seconds."""
        with self._lock:
            answers = self._queues.get(job_id)
        if answers is None:
            raise ServerGone("no such job on this fork server")
        try:
            message = answers.get(timeout=None if timeout is None else max(0.0, timeout))
        except queue.Empty:
            return None
        if message is _GONE:
            answers.put(_GONE)  # every later read fails the same way
            raise ServerGone(self._gone or "the fork server ended")
        return message

    def forget(self, job_id: int) -> None:
        with self._lock:
            self._queues.pop(job_id, None)

    def close(self, wait_s: float = 5.0) -> None:
        """End of input: the server exits; killed if it does not within ``wait_s``."""
        with contextlib.suppress(OSError, ValueError), self._write_lock:
            self._stdin.close()
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._release()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(OSError, ValueError), self._write_lock:
            self._stdin.close()
        self.proc.wait()
        self._release()

    def _release(self) -> None:
        # The server is gone, so its output ends: the reader finishes on its own.
        if threading.current_thread() is not self._reader:
            self._reader.join(5.0)
        if not self._reader.is_alive():
            with contextlib.suppress(OSError):
                self._stdout.close()


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
        self._servers: dict[tuple[str, tuple[tuple[str, str], ...]], _Server] = {}
        self._retire: set[_Server] = set()  # running steps when close() was called
        self.fallbacks = 0
        """Steps that ran through the local executor because a server failed."""

    # --- the pool --------------------------------------------------------------------------

    def server_pids(self) -> list[int]:
        """Process ids of the servers this executor holds (idle or running steps)."""
        with self._lock:
            servers = [*self._servers.values(), *self._retire]
        return sorted(server.pid for server in servers)

    def close(self) -> None:
        """End the idle servers now, and the busy ones as their steps end. Reusable after."""
        with self._lock:
            idle = [s for s in self._servers.values() if s.active == 0]
            self._retire.update(s for s in self._servers.values() if s.active > 0)
            self._servers.clear()
        for server in idle:
            server.close()

    def _checkout(
        self, key: tuple[str, tuple[tuple[str, str], ...]], env: dict[str, str]
    ) -> _Server:
        """The server for ``key``, started if there is none; it counts one more step."""
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                base = dict(os.environ)
                base.update({k: v for k, v in env.items() if k.startswith(_INTERPRETER_VARS)})
                for name in [k for k in base if k.startswith(_INTERPRETER_VARS) and k not in env]:
                    del base[name]
                server = _Server(key[0], self.launcher, base)
                self._servers[key] = server
            server.active += 1
        return server

    def _checkin(self, server: _Server) -> None:
        with self._lock:
            server.active -= 1
            retire = server.active == 0 and server in self._retire
            if retire:
                self._retire.discard(server)
        if retire:
            server.close()

    def _discard(self, server: _Server) -> None:
        """The server failed: no new step goes to it, and it ends (its other steps fail)."""
        with self._lock:
            server.active -= 1
            self._retire.discard(server)
            for key, pooled in list(self._servers.items()):
                if pooled is server:
                    del self._servers[key]
        server.kill()

    # --- one step ----------------------------------------------------------------------------

    def run(self, request: StepRequest, cancel: threading.Event) -> StepOutcome:
        """Run one script to its end, its timeout, or ``cancel``; never raises for the script."""
        started = time.monotonic()
        workdir = Path(request.workdir).absolute()
        log_path = Path(request.log_path)
        fifo = workdir / FIFO_NAME
        try:
            # The same request file as the local executor's: the step can be rerun by hand.
            _, payload = write_step_files(request)
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
            log = open(log_path, "wb", buffering=0)  # noqa: SIM115 - closed by _run_on
        except OSError:  # the local executor reports what is wrong with the folder
            with contextlib.suppress(OSError):
                fifo.unlink(missing_ok=True)
            return self.fallback.run(request, cancel)
        if cancel.is_set():
            log.close()
            fifo.unlink(missing_ok=True)
            return StepOutcome("interrupted", None, time.monotonic() - started, None, log_path)

        env = step_env(request)
        key = _server_key(request.python, env)
        try:
            server = self._checkout(key, env)
        except OSError:  # cannot start the interpreter: the local executor says why
            log.close()
            fifo.unlink(missing_ok=True)
            return self.fallback.run(request, cancel)
        try:
            return self._run_on(server, request, cancel, env, payload, started, fifo, log)
        finally:
            fifo.unlink(missing_ok=True)

    def _run_on(
        self,
        server: _Server,
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
            job_id = server.submit(job)
        except ServerGone:
            answer: dict[str, Any] | None = None
        else:
            try:
                answer = server.read(job_id, self.start_timeout_s)
            except ServerGone:
                answer = None
        if answer is None or not isinstance(answer.get("pid"), int):
            os.close(write_fd)
            pipe.close()
            log.close()
            if answer is not None and "error" in answer:  # the server itself is fine
                server.forget(job_id)
                self._checkin(server)
            else:
                self._discard(server)
            with self._lock:
                self.fallbacks += 1
            return self.fallback.run(request, cancel)
        pid: int = answer["pid"]

        pump = _LogPump(pipe, log, request.max_log_bytes)
        pump.start()
        ending: Ending = "interrupted"  # if waiting itself is interrupted (Ctrl-C in this thread)
        status: int | None = None
        healthy = False
        try:
            ending, status = self._wait(server, job_id, pid, request, cancel, started)
            healthy = True
        except ServerGone:
            ending = "launch_failed"
        finally:
            if status is None:  # the server has not reaped it: its group id is still reserved
                _signal_group(pid, signal.SIGKILL)
                if healthy or ending == "interrupted":
                    with contextlib.suppress(ServerGone):
                        status = self._status(server, job_id, pid, self.start_timeout_s)
                healthy = status is not None
            os.close(write_fd)
            pump.finish(self.drain_s)
            with contextlib.suppress(OSError):
                if ending_note := _ENDING_NOTES.get(ending, b""):
                    pump.note(ending_note)
            log.close()
            server.forget(job_id)
            if healthy:
                self._checkin(server)
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
    def _status(server: _Server, job_id: int, pid: int, timeout: float | None) -> int | None:
        """The step's return code, if the server reports it within ``timeout``."""
        answer = server.read(job_id, timeout)
        if answer is None:
            return None
        status = answer.get("status")
        if answer.get("pid") != pid or not isinstance(status, int):
            raise ServerGone(f"the fork server answered {answer!r}")
        return status

    def _wait(
        self,
        server: _Server,
        job_id: int,
        pid: int,
        request: StepRequest,
        cancel: threading.Event,
        started: float,
    ) -> tuple[Ending, int | None]:
        deadline = None if request.timeout is None else started + request.timeout
        delay = 0.001
        while True:
            status = self._status(server, job_id, pid, delay)
            if status is not None:
                return "exited", status
            if cancel.is_set():
                return "interrupted", self._end_group(server, job_id, pid, request.grace_s)
            if deadline is not None and time.monotonic() >= deadline:
                return "timed_out", self._end_group(server, job_id, pid, request.grace_s)
            fine = time.monotonic() - started < self.fallback.fine_poll_for_s
            fine_poll = min(self.fallback.fine_poll_s, self.poll_s)
            delay = min(delay * 2, fine_poll if fine else self.poll_s)

    def _end_group(self, server: _Server, job_id: int, pid: int, grace_s: float) -> int | None:
        """SIGTERM to the group; SIGKILL if the script is still there after the grace period."""
        _signal_group(pid, signal.SIGTERM)
        status = self._status(server, job_id, pid, max(0.0, grace_s))
        if status is None:
            _signal_group(pid, signal.SIGKILL)
            status = self._status(server, job_id, pid, self.start_timeout_s)
        return status
