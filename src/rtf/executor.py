"""How one step runs: a request in, an outcome out (no scheduling here).

The runner decides what runs and when; an :class:`Executor` only runs one script and says how
it ended. :class:`LocalExecutor` starts ``python _launcher.py request.json`` in a process group
of its own, with the step's working folder as current directory, stdin at end-of-file, and
stdout and stderr merged into the step's log. A timeout or a cancel ends the whole group
(SIGTERM, then SIGKILL after a grace period); whatever is left of the group when the script
ends is killed too, so no process outlives its step.

A failing script is not an exception here: it is an outcome, with the exception the launcher
recorded (type, message, ``file:line`` in the script) when there is one.
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

REQUEST_NAME = ".rtf-request.json"
RESULT_NAME = ".rtf-result.json"
TRUNCATION_NOTE = b"[rtf: log truncated; further output dropped]\n"

Ending = Literal["exited", "timed_out", "interrupted", "launch_failed"]
_ENDING_NOTES: dict[str, bytes] = {
    "timed_out": b"[rtf: timed out; the step's processes were ended]\n",
    "interrupted": b"[rtf: interrupted; the step's processes were ended]\n",
}


@dataclass(frozen=True)
class StepError:
    """The exception a script ended with, as the launcher recorded it."""

    type: str
    message: str
    location: str | None
    traceback: str | None = None


@dataclass(frozen=True)
class StepRequest:
    """Everything needed to run one script once."""

    step_name: str
    script_path: Path
    mode: Literal["main", "cli"]
    input_paths: Mapping[str, str]
    output_paths: Mapping[str, str]
    environ_vars: Mapping[str, str]
    job_args: Mapping[str, Any]
    python: str
    workdir: Path
    log_path: Path
    timeout: float | None = None
    source_dir: Path | None = None
    cli_flags: Mapping[str, str] | None = None
    switch_flags: frozenset[str] = frozenset()
    grace_s: float = 5.0
    max_log_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class StepOutcome:
    """How one run of a script ended.

    ``exit_code`` is the process return code (negative: killed by that signal), ``None`` when
    the process never started. ``error`` is the exception the script raised, when the launcher
    could record one; for ``os._exit`` or a signal it is ``None`` and the exit code tells.
    """

    ending: Ending
    exit_code: int | None
    duration_s: float
    error: StepError | None
    log_path: Path
    log_bytes_dropped: int = 0


class Executor(Protocol):
    """Runs one step; ``cancel`` set from another thread ends it as ``interrupted``."""

    def run(self, request: StepRequest, cancel: threading.Event) -> StepOutcome: ...


EXECUTOR_ENV = "RTF_EXECUTOR"
"""``local`` runs every step in a fresh interpreter (:class:`LocalExecutor`); anything else, or
nothing, uses the fork servers (:class:`~rtf.forkserver.ForkServerExecutor`)."""


def default_executor() -> Executor:
    """The executor ``rtf run`` uses: fork servers, unless ``RTF_EXECUTOR=local``."""
    if os.environ.get(EXECUTOR_ENV, "").strip().lower() == "local":
        return LocalExecutor()
    from rtf.forkserver import ForkServerExecutor

    return ForkServerExecutor()


def launcher_path() -> Path:
    """The launcher file shipped inside the installed package."""
    return Path(__file__).resolve().with_name("_launcher.py")


def build_launch_request(request: StepRequest, result_path: Path) -> dict[str, Any]:
    """The JSON the launcher reads: paths, values and flags for one script."""
    script = Path(request.script_path).absolute()
    sys_path = [str(script.parent)]
    if request.source_dir is not None:
        source = str(Path(request.source_dir).absolute())
        if source not in sys_path:
            sys_path.append(source)
    return {
        "mode": request.mode,
        "script_path": str(script),
        "input_paths": {str(k): str(v) for k, v in request.input_paths.items()},
        "output_paths": {str(k): str(v) for k, v in request.output_paths.items()},
        "environ_vars": {str(k): str(v) for k, v in request.environ_vars.items()},
        "job_args": dict(request.job_args),
        "cli_flags": None if request.cli_flags is None else dict(request.cli_flags),
        "switch_flags": sorted(request.switch_flags),
        "sys_path": sys_path,
        "result_path": str(result_path),
    }


def step_env(request: StepRequest) -> dict[str, str]:
    """The environment a step's process gets: rtf's own, the step's env vars, unbuffered output."""
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in request.environ_vars.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def write_step_files(request: StepRequest) -> tuple[Path, dict[str, Any]]:
    """Create the step's working and log folders and write its launch request.

    Returns (the request file, its payload); any stale result file is removed first, so a
    result read after the step is this run's. Raises OSError when the folders cannot be made.
    """
    workdir = Path(request.workdir).absolute()  # the script runs there: no relative paths
    workdir.mkdir(parents=True, exist_ok=True)
    Path(request.log_path).parent.mkdir(parents=True, exist_ok=True)
    result_file = workdir / RESULT_NAME
    result_file.unlink(missing_ok=True)
    payload = build_launch_request(request, result_file)
    request_file = workdir / REQUEST_NAME
    request_file.write_text(json.dumps(payload, default=str), encoding="utf-8")
    return request_file, payload


def read_result(path: Path) -> tuple[bool, StepError | None]:
    """Read the launcher's result file: (found, error). A missing or corrupt file is not found."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, None
    if not isinstance(data, dict):
        return False, None
    if data.get("status") != "exception":
        return True, None
    raw = data.get("error")
    if not isinstance(raw, dict):
        return True, None

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    return True, StepError(
        type=text("type") or "Exception",
        message=text("message") or "",
        location=text("location"),
        traceback=text("traceback"),
    )


def tail_log(path: Path, lines: int = 20, max_bytes: int = 64 * 1024) -> list[str]:
    """The last ``lines`` lines of a log, read from at most its last ``max_bytes`` bytes.

    Undecodable bytes become U+FFFD; a line redrawn with carriage returns (a progress bar)
    shows only its last state. A missing log has no lines.
    """
    if lines <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - max(1, max_bytes))
            handle.seek(max(0, start - 1))
            data = handle.read()
    except OSError:
        return []
    cut = start > 0 and not data.startswith(b"\n")  # the window starts inside a line
    if start > 0:
        data = data[1:]
    parts = data.decode("utf-8", errors="replace").split("\n")
    if cut and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    shown = []
    for part in parts:
        segments = [seg for seg in part.split("\r") if seg]
        shown.append(segments[-1] if segments else "")
    return shown[-lines:]


class _LogPump:
    """Copies the merged stdout/stderr pipe into the log file, up to a byte cap.

    Past the cap one note line is written and the rest is read and counted but dropped, so a
    flooding script never blocks on a full pipe and never fills the disk.
    """

    def __init__(self, pipe: IO[bytes], log: IO[bytes], cap: int) -> None:
        self._pipe = pipe
        self._log = log
        self._cap = max(0, cap)
        self._written = 0
        self._last = b"\n"
        self._full = False
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="rtf-log-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, wait_s: float = 2.0) -> None:
        """Wait for the end of the output; stop reading after ``wait_s`` if a stray holds it."""
        self._thread.join(wait_s)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        self._pipe.close()

    def note(self, line: bytes) -> None:
        """Add one line of rtf's own to the log, on a line of its own."""
        self._log.write((b"" if self._last == b"\n" else b"\n") + line)
        self._last = b"\n"

    def _pump(self) -> None:
        fd = self._pipe.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(timeout=0.1):
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        if self._full:
            self.dropped += len(chunk)
            return
        part = chunk[: self._cap - self._written]
        if part:
            try:
                self._log.write(part)
            except OSError:  # the disk is full or gone: keep draining, stop writing
                self._full = True
                self.dropped += len(chunk)
                return
            self._written += len(part)
            self._last = part[-1:]
        if len(part) < len(chunk):
            self._full = True
            self.dropped += len(chunk) - len(part)
            with contextlib.suppress(OSError):
                self.note(TRUNCATION_NOTE)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _has_exited(pid: int) -> bool:
    """Whether the child has ended, without reaping it (its id stays reserved)."""
    try:
        state = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return state is not None and state.si_pid == pid


class LocalExecutor:
    """Runs each step as ``python _launcher.py request.json`` in its own process group."""

    drain_s: float = 2.0
    """How long to wait for the end of the output once the step's processes are gone; only a
    process that escaped the group (a daemon in a session of its own) can hold it longer."""

    fine_poll_s: float = 0.005
    fine_poll_for_s: float = 1.0

    def __init__(self, launcher: Path | None = None, poll_s: float = 0.05) -> None:
        self.launcher = launcher if launcher is not None else launcher_path()
        self.poll_s = poll_s

    def run(self, request: StepRequest, cancel: threading.Event) -> StepOutcome:
        """Run one script to its end, its timeout, or ``cancel``; never raises for the script."""
        started = time.monotonic()
        workdir = Path(request.workdir).absolute()
        log_path = Path(request.log_path)
        result_file = workdir / RESULT_NAME
        try:
            request_file, _ = write_step_files(request)
            log = open(log_path, "wb", buffering=0)  # noqa: SIM115 - closed below
        except OSError as exc:
            message = f"cannot prepare the working folder {workdir}: {exc.strerror or exc}"
            return self._not_started(started, log_path, message, write_log=False)

        if cancel.is_set():
            log.close()
            return StepOutcome("interrupted", None, time.monotonic() - started, None, log_path)

        env = step_env(request)
        try:
            proc = subprocess.Popen(
                [request.python, str(self.launcher), str(request_file)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            log.close()
            message = f"cannot start {request.python}: {exc.strerror or exc}"
            return self._not_started(started, log_path, message, write_log=True)

        assert proc.stdout is not None
        pump = _LogPump(proc.stdout, log, request.max_log_bytes)
        pump.start()
        ending: Ending = "interrupted"  # if waiting itself is interrupted (Ctrl-C in this thread)
        try:
            ending = self._wait(proc, request, cancel, started)
        finally:
            # Whatever the ending, nothing of the group survives the step; the leader is
            # still unreaped here, so its id cannot have been reused for another group.
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            pump.finish(self.drain_s)
            with contextlib.suppress(OSError):
                if ending_note := _ENDING_NOTES.get(ending, b""):
                    pump.note(ending_note)
            log.close()
        _, error = read_result(result_file)
        return StepOutcome(
            ending=ending,
            exit_code=proc.returncode,
            duration_s=time.monotonic() - started,
            error=error,
            log_path=log_path,
            log_bytes_dropped=pump.dropped,
        )

    def _wait(
        self,
        proc: subprocess.Popen[bytes],
        request: StepRequest,
        cancel: threading.Event,
        started: float,
    ) -> Ending:
        deadline = None if request.timeout is None else started + request.timeout
        delay = 0.001
        while not _has_exited(proc.pid):
            if cancel.is_set():
                self._end_group(proc.pid, request.grace_s)
                return "interrupted"
            if deadline is not None and time.monotonic() >= deadline:
                self._end_group(proc.pid, request.grace_s)
                return "timed_out"
            cancel.wait(delay)
            # Short scripts are common: poll finely for their first second, then every poll_s.
            fine = time.monotonic() - started < self.fine_poll_for_s
            delay = min(delay * 2, min(self.fine_poll_s, self.poll_s) if fine else self.poll_s)
        return "exited"

    def _end_group(self, pid: int, grace_s: float) -> None:
        """SIGTERM to the group; SIGKILL if the script is still there after the grace period."""
        _signal_group(pid, signal.SIGTERM)
        give_up = time.monotonic() + max(0.0, grace_s)
        while not _has_exited(pid):
            if time.monotonic() >= give_up:
                _signal_group(pid, signal.SIGKILL)
                return
            time.sleep(min(0.01, self.poll_s))

    @staticmethod
    def _not_started(started: float, log_path: Path, message: str, write_log: bool) -> StepOutcome:
        if write_log:
            with contextlib.suppress(OSError):
                log_path.write_text(f"rtf: {message}\n", encoding="utf-8")
        return StepOutcome(
            ending="launch_failed",
            exit_code=None,
            duration_s=time.monotonic() - started,
            error=StepError("LaunchError", message, None),
            log_path=log_path,
        )
