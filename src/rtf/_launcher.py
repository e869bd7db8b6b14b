"""Run one pipeline script inside the pipeline's own Python; rtf starts this file by path.

Usage: ``python _launcher.py REQUEST.json``

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

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import runpy  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from types import TracebackType  # noqa: E402
from typing import Any  # noqa: E402

_THIS_FILE = os.path.normcase(os.path.realpath(__file__))
_RUNPY_FILE = os.path.normcase(os.path.realpath(runpy.__file__))


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
    return real in (_THIS_FILE, _RUNPY_FILE)


def _trimmed(tb: TracebackType | None) -> TracebackType | None:
    """Skip the launcher's own leading frames, so the traceback starts in the user's code."""
    current = tb
    while current is not None and _is_machinery(current.tb_frame.f_code.co_filename):
        current = current.tb_next
    return current


def _location(exc: BaseException, script_path: str) -> str | None:
    """``file:line`` of the deepest frame in the script, else in its folder, else anywhere."""
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
    import logging

    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def _run_main(request: _Request) -> None:
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
    runpy.run_path(request.script_path, run_name="__main__")


def _write_result(path: str, result: Mapping[str, Any]) -> None:
    """Write the outcome atomically: a temporary file next to it, then a rename."""
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(temp, path)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or replaced stream: nothing to flush
            stream.flush()


def _exit_status(exc: SystemExit) -> int:
    """The exit code Python itself would use for this ``SystemExit``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(Exception):  # stderr gone: the code is still 1
        sys.stderr.write(f"{code}\n")
    return 1


def run_request(request: _Request) -> dict[str, Any]:
    """Set up the process for the script, run it, and describe how it ended."""
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
    with contextlib.suppress(Exception):  # the script may have closed or replaced stderr
        sys.stderr.write(error["traceback"] or f"{error['type']}\n")
    return {"status": "exception", "exit_code": code, "error": error}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the request named on the command line; returns the process exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) != 1:
        sys.stderr.write("usage: _launcher.py REQUEST.json\n")
        return 2
    try:
        with open(words[0], encoding="utf-8") as handle:
            request = _Request(json.load(handle))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        sys.stderr.write(f"rtf launcher: cannot read the request {words[0]}: {exc}\n")
        return 2
    result = run_request(request)
    _flush()
    try:
        _write_result(request.result_path, result)
    except OSError as exc:
        sys.stderr.write(f"rtf launcher: cannot write {request.result_path}: {exc}\n")
    _flush()
    return int(result["exit_code"])


if __name__ == "__main__":  # pragma: no cover - exercised through real subprocesses
    sys.exit(main())
