"""Run one pipeline script inside the pipeline's own Python; rtf starts this file by path.

Usage: ``python _launcher.py REQUEST.json`` (run one script), or ``python _launcher.py --serve``
(a fork server: reads one JSON job a line on stdin and runs each in a forked child, see
:func:`serve`).

This file must stay importable by any Python 3.8 or newer with nothing but the standard
library: it runs in the pipeline's virtual environment, where rtf is not installed. It never
imports rtf, and its syntax stays 3.8-compatible (annotations are only strings here).

The request names the script, how to call it (``main`` or ``cli`` mode), its paths, environment
variables and job arguments, and where to write the outcome. The outcome is written as JSON
to ``result_path`` whatever happens, except when the script ends the process itself
(``os._exit``, a signal): then there is no result file and the caller goes by the exit code.
"""

from __future__ import annotations

import os
import sys


def _drop_own_folder() -> None:
    """Take this file's folder off ``sys.path`` so scripts cannot import rtf's modules by name."""
    here = os.path.normcase(os.path.realpath(os.path.dirname(os.path.abspath(__file__))))
    sys.path[:] = [
        entry
        for entry in sys.path
        if os.path.normcase(os.path.realpath(entry or os.curdir)) != here
    ]


if __name__ == "__main__":  # pragma: no cover - exercised through real subprocesses
    # Before any other import: this folder holds rtf's modules, whose names could shadow
    # standard-library or pipeline modules.
    _drop_own_folder()

import json  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing costs start-up time in every step
    from collections.abc import Mapping, Sequence
    from types import TracebackType
    from typing import Any

_THIS_FILE = os.path.normcase(os.path.realpath(__file__))
_BASE_PATH = list(sys.path)  # before any script's folder is added


def _import_std(name: str) -> None:
    """Import a standard-library module late, without a script's folder shadowing it."""
    if name in sys.modules:
        return
    saved = list(sys.path)
    sys.path[:] = _BASE_PATH
    try:
        __import__(name)
    finally:
        sys.path[:] = saved


class _Request:
    """The request file, checked just enough to run."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.mode = str(data["mode"])
        if self.mode not in ("main", "cli"):
            raise ValueError(f"mode must be 'main' or 'cli', not {self.mode!r}")
        self.script_path = str(data["script_path"])
        self.input_paths = _str_map(data.get("input_paths") or {})
        self.output_paths = _str_map(data.get("output_paths") or {})
        self.environ_vars = _str_map(data.get("environ_vars") or {})
        self.job_args: dict[str, Any] = dict(data.get("job_args") or {})
        cli_flags = data.get("cli_flags")
        self.cli_flags = None if cli_flags is None else _str_map(cli_flags)
        self.switch_flags = [str(name) for name in data.get("switch_flags") or []]
        self.sys_path = [str(entry) for entry in data.get("sys_path") or []]
        self.result_path = str(data["result_path"])


def _str_map(value: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): str(item) for key, item in value.items()}


def build_cli_args(
    job_args: Mapping[str, Any],
    cli_flags: Mapping[str, str] | None,
    switch_flags: Sequence[str],
) -> list[str]:
    """The command-line words for the job args, in their order.

    With ``cli_flags`` (dest -> declared option string) only the declared ones are passed;
    without, every job arg becomes ``--name value``. A switch (``store_true``) is the bare flag
    when truthy and nothing when falsy. ``None`` values are left out, so the script's own
    default applies. Lists and dicts are passed as JSON, everything else as ``str(value)``.
    """
    switches = set(switch_flags)
    words: list[str] = []
    for name, value in job_args.items():
        if cli_flags is None:
            flag = "--" + name
        elif name in cli_flags:
            flag = cli_flags[name]
        else:
            continue
        if name in switches:
            if value:
                words.append(flag)
            continue
        if value is None:
            continue
        if isinstance(value, (list, tuple, dict)):
            words.extend([flag, json.dumps(value)])
        else:
            words.extend([flag, str(value)])
    return words


def _is_machinery(filename: str) -> bool:
    """Frames that belong to this launcher or to Python's import/run machinery."""
    if filename.startswith("<frozen "):
        return True
    real = os.path.normcase(os.path.realpath(filename))
    if real == _THIS_FILE:
        return True
    runpy = sys.modules.get("runpy")  # only imported when a cli-mode script ran through it
    runpy_file = getattr(runpy, "__file__", None)
    return bool(runpy_file) and real == os.path.normcase(os.path.realpath(str(runpy_file)))


def _trimmed(tb: TracebackType | None) -> TracebackType | None:
    """Skip the launcher's own leading frames, so the traceback starts in the user's code."""
    current = tb
    while current is not None and _is_machinery(current.tb_frame.f_code.co_filename):
        current = current.tb_next
    return current


def _location(exc: BaseException, script_path: str) -> str | None:
    """``file:line`` of the deepest frame in the script, else in its folder, else anywhere."""
    _import_std("traceback")
    import traceback

    script = os.path.normcase(os.path.realpath(script_path))
    folder = os.path.dirname(script)
    if (
        isinstance(exc, SyntaxError)
        and exc.filename
        and exc.lineno
        and os.path.normcase(os.path.realpath(exc.filename)) == script
    ):
        return f"{os.path.basename(script_path)}:{exc.lineno}"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not _is_machinery(frame.filename)
    ]
    in_folder = []
    for frame in frames:
        real = os.path.normcase(os.path.realpath(frame.filename))
        if real == script:
            in_folder.append((0, frame))
        elif real.startswith(folder + os.sep):
            in_folder.append((1, frame))
    for rank in (0, 1):
        ranked = [frame for kind, frame in in_folder if kind == rank]
        if ranked:
            return f"{os.path.basename(ranked[-1].filename)}:{ranked[-1].lineno}"
    if frames:
        return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
    return None


def describe_error(exc: BaseException, script_path: str) -> dict[str, Any]:
    """The ``error`` object of the result file for an exception the script raised."""
    _import_std("traceback")
    import traceback

    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not hide the error itself
        message = f"<unprintable {type(exc).__name__}>"
    text = "".join(traceback.format_exception(type(exc), exc, _trimmed(exc.__traceback__)))
    return {
        "type": type(exc).__name__,
        "message": message,
        "location": _location(exc, script_path),
        "traceback": text,
    }


class _NoMain(AttributeError):
    """Reported as an ``AttributeError``: the script has no ``main``."""


def _module_name(script_path: str) -> str:
    stem = os.path.splitext(os.path.basename(script_path))[0]
    return stem if stem and stem not in sys.modules else f"_rtf_script_{stem}"


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _configure_logging() -> None:
    """Send INFO and above to stderr (the step's log), unless the script set up logging itself.

    In main mode a script's ``if __name__ == "__main__":`` block, where logging is usually
    configured, does not run; without this its ``logger.info`` lines would be lost. A script
    that configured the root logger at import time keeps its own set-up.
    """
    _import_std("logging")
    import logging

    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def _run_main(request: _Request) -> None:
    import argparse
    import importlib.util

    name = _module_name(request.script_path)
    spec = importlib.util.spec_from_file_location(name, request.script_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {request.script_path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pickling and dataclasses look the module up by name
    spec.loader.exec_module(module)
    entry = getattr(module, "main", None)
    if not callable(entry):
        raise _NoMain(
            f"{os.path.basename(request.script_path)} defines no main() function; main mode "
            "calls main(input_paths=..., output_paths=..., environ_vars=..., job_args=...)"
        )
    _configure_logging()
    entry(
        input_paths=dict(request.input_paths),
        output_paths=dict(request.output_paths),
        environ_vars=dict(request.environ_vars),
        job_args=argparse.Namespace(**request.job_args),
    )


def _run_cli(request: _Request) -> None:
    args = build_cli_args(request.job_args, request.cli_flags, request.switch_flags)
    sys.argv = [request.script_path, *args]
    import runpy

    runpy.run_path(request.script_path, run_name="__main__")


def _write_result(path: str, result: Mapping[str, Any]) -> None:
    """Write the outcome atomically: a temporary file next to it, then a rename."""
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(temp, path)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib would cost start-up time
            stream.flush()
        except Exception:  # a closed or replaced stream: nothing to flush
            pass


def _exit_status(exc: SystemExit) -> int:
    """The exit code Python itself would use for this ``SystemExit``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:  # noqa: SIM105 - contextlib would cost start-up time
        sys.stderr.write(f"{code}\n")
    except Exception:  # stderr gone: the code is still 1
        pass
    return 1


def run_request(request: _Request) -> dict[str, Any]:
    """Set up the process for the script, run it, and describe how it ended."""
    for name in ("argparse", "importlib.util") if request.mode == "main" else ("runpy",):
        _import_std(name)  # before the script's folder goes on sys.path
    sys.path[0:0] = request.sys_path
    os.environ.update(request.environ_vars)
    sys.argv = [request.script_path]
    code = 1
    try:
        if request.mode == "main":
            _run_main(request)
        else:
            _run_cli(request)
    except SystemExit as exc:
        return {"status": "exit", "exit_code": _exit_status(exc), "error": None}
    except _NoMain as exc:
        error = {
            "type": "AttributeError",
            "message": str(exc),
            "location": None,
            "traceback": f"AttributeError: {exc}\n",
        }
    except BaseException as exc:  # everything the script raises is its outcome
        try:
            error = describe_error(exc, request.script_path)
        except Exception:  # describing must never cost the outcome itself
            error = {"type": type(exc).__name__, "message": "", "location": None, "traceback": None}
        code = 130 if isinstance(exc, KeyboardInterrupt) else 1
    else:
        return {"status": "ok", "exit_code": 0, "error": None}
    _flush()
    try:  # noqa: SIM105 - contextlib would cost start-up time
        sys.stderr.write(error["traceback"] or f"{error['type']}\n")
    except Exception:  # the script may have closed or replaced stderr
        pass
    return {"status": "exception", "exit_code": code, "error": error}


def _run_and_record(request: _Request) -> int:
    """Run the request, write its result file, and return the process exit code."""
    result = run_request(request)
    _flush()
    try:
        _write_result(request.result_path, result)
    except OSError as exc:
        sys.stderr.write(f"rtf launcher: cannot write {request.result_path}: {exc}\n")
    _flush()
    return int(result["exit_code"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the request named on the command line; returns the process exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--serve"]:
        return serve()
    if len(words) != 1:
        sys.stderr.write("usage: _launcher.py REQUEST.json\n")
        return 2
    try:
        with open(words[0], encoding="utf-8") as handle:
            request = _Request(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        sys.stderr.write(f"rtf launcher: cannot read the request {words[0]}: {exc}\n")
        return 2
    return _run_and_record(request)


# --- the fork server ----------------------------------------------------------------------


def _send(fd: int, message: Mapping[str, Any]) -> None:
    """One JSON line to rtf; lost quietly if rtf is gone (its steps are still reaped)."""
    data = (json.dumps(message) + "\n").encode("utf-8")
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:  # rtf ended: nobody reads the answers any more
        pass


def _exit_code(status: int) -> int:
    """A wait status as a return code: the exit status, or minus the signal that ended it."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _next_ended() -> tuple[int, int] | None:
    """Reap one ended child, if any, as ``(pid, return code)``; never blocks.

    The child is first seen without being reaped, so what is left of its process group is
    killed while the group id is still reserved for it; then it is reaped.
    """
    import signal

    waitid = getattr(os, "waitid", None)
    try:
        if waitid is None:  # no waitid here: the group is killed by the caller
            pid, status = os.waitpid(-1, os.WNOHANG)
            return (pid, _exit_code(status)) if pid else None
        info = waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is None or not info.si_pid:
            return None
        pid = info.si_pid
        try:  # noqa: SIM105 - contextlib would cost start-up time
            os.killpg(pid, signal.SIGKILL)
        except OSError:  # the group is empty already
            pass
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # no children at all
        return None
    return pid, _exit_code(status)


def _end_child(code: int) -> None:
    """End the forked child as Python's own exit would, without tearing the interpreter down.

    Waiting for the script's threads, the ``atexit`` functions and flushing are what an exit
    does that anyone can see; the tear-down itself only frees memory (and costs milliseconds).
    """
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
        import atexit

        atexit._run_exitfuncs()
    finally:
        _flush()
        os._exit(code & 0xFF)


def _child(
    request: _Request, env: Mapping[str, str], cwd: str, log: str, server_fds: Sequence[int]
) -> None:
    """In the forked child: become the step's process, run its script, and exit."""
    import signal

    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in server_fds:
            os.close(fd)
        os.setsid()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        os.chdir(cwd)
        fd = os.open(log, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.environ.clear()
        os.environ.update(env)
    except BaseException as exc:  # never fall back into the server's loop
        try:
            os.write(2, f"rtf launcher: cannot set up the step: {exc}\n".encode())
        finally:
            os._exit(2)
    code = 1
    try:
        code = _run_and_record(request)
    finally:
        _end_child(code)


def _on_child_ended(signum: int, frame: Any) -> None:
    """Nothing to do in the handler: the wake-up fd tells the loop to reap."""


def serve() -> int:
    """Fork one child per job read from stdin, several at once; returns at end of input.

    A job is one JSON line: ``{"id": I, "request": {...}, "env": {...}, "cwd": "...",
    "log": "..."}`` where ``log`` is a FIFO (or file) the child sends its stdout and stderr to.
    The server answers ``{"id": I, "pid": N}`` once the child exists (``{"id": I, "error":
    "..."}`` if it cannot be started) and ``{"id": I, "pid": N, "status": S}`` when it ended
    (``S`` as a return code: negative for a signal); answers for different jobs interleave.
    Each child starts from the server's state, which never holds script code: it runs in a
    session of its own, in ``cwd``, with exactly ``env`` as its environment and stdin at
    end-of-file. Ctrl-C in a terminal does not reach the server; rtf ends the steps itself and
    closes stdin to end the server, which returns once its running children have ended.
    Only what this loop needs is imported up front; what steps use (``argparse``, ``logging``,
    ``traceback``...) is imported once the server is first idle, and until then by each child.
    """
    import select
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto_in, proto_out = os.dup(0), os.dup(1)  # not inherited by programs a script starts
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    wake_in, wake_out = os.pipe()
    os.set_blocking(wake_in, False)
    os.set_blocking(wake_out, False)
    signal.signal(signal.SIGCHLD, _on_child_ended)
    signal.set_wakeup_fd(wake_out)
    server_fds = (proto_in, proto_out, wake_in, wake_out)
    running: dict[int, Any] = {}  # child pid -> job id
    pending = b""
    more = True
    warm = False
    while more or running:
        # The timeout only guards against a lost wake-up; SIGCHLD normally ends the wait.
        watched = [proto_in, wake_in] if more else [wake_in]
        ready, _, _ = select.select(watched, [], [], 1.0 if warm else 0.0)
        if not ready and not warm:
            # Idle for the first time: import what steps use, once here instead of in each
            # child. Not before, so the first steps are not kept waiting for it.
            for name in ("argparse", "importlib.util", "runpy", "traceback", "logging"):
                _import_std(name)
            warm = True
            continue
        if wake_in in ready:
            try:
                while os.read(wake_in, 512):
                    pass
            except BlockingIOError:
                pass
        ended = _next_ended() if running else None
        while ended is not None:
            pid, code = ended
            if pid in running:
                _send(proto_out, {"id": running.pop(pid), "pid": pid, "status": code})
            ended = _next_ended() if running else None
        if proto_in not in ready:
            continue
        chunk = os.read(proto_in, 65536)
        if not chunk:
            more = False
            continue
        pending += chunk
        while b"\n" in pending:
            line, _, pending = pending.partition(b"\n")
            job_id = None
            try:
                job = json.loads(line)
                job_id = job.get("id")
                request = _Request(job["request"])
                env = _str_map(job["env"])
                cwd, log = str(job["cwd"]), str(job["log"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                _send(proto_out, {"id": job_id, "error": f"bad job: {exc}"})
                continue
            _flush()
            try:
                pid = os.fork()
            except OSError as exc:
                _send(proto_out, {"id": job_id, "error": f"cannot fork: {exc}"})
                continue
            if pid == 0:
                _child(request, env, cwd, log, server_fds)  # never returns
            running[pid] = job_id
            _send(proto_out, {"id": job_id, "pid": pid})
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through real subprocesses
    sys.exit(main())
