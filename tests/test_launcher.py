"""The launcher: the standard-library-only file that runs one script in the pipeline's Python.

Most tests start it by path in a real subprocess, exactly as the executor does, and read the
result file it writes; a few call its functions in this process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from rtf import _launcher
from rtf.executor import launcher_path


def write_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    """The 1-based number of the line holding ``marker`` (a comment in a test script)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def request_for(script: Path, tmp_path: Path, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "mode": "main",
        "script_path": str(script),
        "input_paths": {},
        "output_paths": {},
        "environ_vars": {},
        "job_args": {},
        "cli_flags": None,
        "switch_flags": [],
        "sys_path": [str(script.parent)],
        "result_path": str(tmp_path / "result.json"),
    }
    request.update(fields)
    return request


def launch(
    script: Path, tmp_path: Path, **fields: Any
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """Run the launcher by path on a request; return the process and the result file (if any)."""
    request = request_for(script, tmp_path, **fields)
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(launcher_path()), str(request_file)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result_path = Path(request["result_path"])
    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else None
    return proc, result


# --- main mode ------------------------------------------------------------------------------


def test_main_mode_calls_main_with_paths_env_and_namespace(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    write_script(scripts, "helper_values.py", "VALUE = 'from the sibling module'\n")
    script = write_script(
        scripts,
        "train_step.py",
        """
        import argparse
        import json
        import os
        import pickle
        from dataclasses import dataclass
        from pathlib import Path

        import helper_values


        @dataclass
        class Row:
            x: int


        def main(input_paths, output_paths, environ_vars, job_args):
            out = Path(output_paths["model"])
            out.mkdir(parents=True, exist_ok=True)
            report = {
                "name": __name__,
                "input": Path(input_paths["data"]).read_text(),
                "env": os.environ["RTF_T_REGION"],
                "env_arg": environ_vars["RTF_T_REGION"],
                "is_namespace": isinstance(job_args, argparse.Namespace),
                "job_args": vars(job_args),
                "helper": helper_values.VALUE,
                "pickled": pickle.loads(pickle.dumps(Row(5))).x,
                "argv": __import__("sys").argv,
            }
            (out / "report.json").write_text(json.dumps(report))


        if __name__ == "__main__":
            raise SystemExit("the launcher must not run the script as __main__ in main mode")
        """,
    )
    data = tmp_path / "data.txt"
    data.write_text("rows", encoding="utf-8")
    proc, result = launch(
        script,
        tmp_path,
        input_paths={"data": str(data)},
        output_paths={"model": str(tmp_path / "out")},
        environ_vars={"RTF_T_REGION": "eu-west-1"},
        job_args={"job_type": "training", "epochs": 3, "layers": [8, 4]},
    )
    assert proc.returncode == 0, proc.stderr
    assert result == {"status": "ok", "exit_code": 0, "error": None}
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report == {
        "name": "train_step",
        "input": "rows",
        "env": "eu-west-1",
        "env_arg": "eu-west-1",
        "is_namespace": True,
        "job_args": {"job_type": "training", "epochs": 3, "layers": [8, 4]},
        "helper": "from the sibling module",
        "pickled": 5,
        "argv": [str(script)],
    }


def test_main_mode_logs_info_lines_unless_the_script_configured_logging(tmp_path: Path) -> None:
    quiet = write_script(
        tmp_path,
        "quiet_logger.py",
        """
        import logging

        logger = logging.getLogger("quiet_logger")


        def main(input_paths, output_paths, environ_vars, job_args):
            logger.info("rows read: %d", 12)
            logger.debug("not shown at INFO")
        """,
    )
    proc, result = launch(quiet, tmp_path)
    assert result is not None and result["status"] == "ok"
    assert "INFO quiet_logger: rows read: 12" in proc.stderr
    assert "not shown" not in proc.stderr

    own = write_script(
        tmp_path,
        "own_logging.py",
        """
        import logging

        logging.basicConfig(level=logging.WARNING, format="OWN %(message)s")


        def main(input_paths, output_paths, environ_vars, job_args):
            logging.getLogger("own").info("hidden by the script's own level")
            logging.getLogger("own").warning("kept")
        """,
    )
    proc, result = launch(own, tmp_path)
    assert result is not None and result["status"] == "ok"
    assert proc.stderr.strip() == "OWN kept"


def test_source_dir_is_importable_and_launcher_folder_is_not(tmp_path: Path) -> None:
    source = tmp_path / "src_pkg"
    write_script(source, "shared_util.py", "ANSWER = 42\n")
    script = write_script(
        tmp_path / "scripts",
        "probe.py",
        """
        import json
        import sys
        from pathlib import Path

        import shared_util


        def main(input_paths, output_paths, environ_vars, job_args):
            found = {}
            for name in ("executor", "checks", "errors", "_launcher"):
                try:
                    module = __import__(name)
                except ImportError:
                    found[name] = None
                else:
                    found[name] = getattr(module, "__file__", "?")
            Path(output_paths["probe"]).write_text(json.dumps(
                {"found": found, "path": sys.path, "answer": shared_util.ANSWER}
            ))
        """,
    )
    out = tmp_path / "probe.json"
    proc, result = launch(
        script,
        tmp_path,
        output_paths={"probe": str(out)},
        sys_path=[str(script.parent), str(source)],
    )
    assert proc.returncode == 0, proc.stderr
    assert result is not None and result["status"] == "ok"
    probe = json.loads(out.read_text())
    assert probe["found"] == {"executor": None, "checks": None, "errors": None, "_launcher": None}
    assert probe["answer"] == 42
    assert probe["path"][:2] == [str(script.parent), str(source)]
    own_folder = os.path.realpath(launcher_path().parent)
    assert all(os.path.realpath(entry or ".") != own_folder for entry in probe["path"])


def test_missing_main_is_an_attribute_error(tmp_path: Path) -> None:
    script = write_script(tmp_path, "no_entry.py", "VALUE = 1\n")
    proc, result = launch(script, tmp_path)
    assert proc.returncode == 1
    assert result is not None and result["status"] == "exception"
    assert result["error"]["type"] == "AttributeError"
    assert "no_entry.py defines no main()" in result["error"]["message"]
    assert "defines no main()" in proc.stderr


# --- cli mode -------------------------------------------------------------------------------

CLI_SCRIPT = """
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--job-type", dest="job_type", required=True)
parser.add_argument("--count", type=int, default=1)
parser.add_argument("--verbose", action="store_true")
parser.add_argument("--quiet", action="store_true")
parser.add_argument("--columns", type=json.loads)
parser.add_argument("--threshold", default="unset")
args = parser.parse_args()
with open(os.environ["RTF_T_OUT"], "w") as handle:
    json.dump({"args": vars(args), "argv": sys.argv[1:], "name": __name__}, handle)
"""


def test_cli_mode_passes_declared_flags_and_switches(tmp_path: Path) -> None:
    script = write_script(tmp_path / "scripts", "cli_step.py", CLI_SCRIPT)
    out = tmp_path / "cli.json"
    proc, result = launch(
        script,
        tmp_path,
        mode="cli",
        environ_vars={"RTF_T_OUT": str(out)},
        job_args={
            "job_type": "validation",
            "count": 3,
            "verbose": True,
            "quiet": False,
            "columns": ["a", "b"],
            "threshold": None,
            "not_declared": "would make argparse fail",
        },
        cli_flags={
            "job_type": "--job-type",
            "count": "--count",
            "verbose": "--verbose",
            "quiet": "--quiet",
            "columns": "--columns",
            "threshold": "--threshold",
        },
        switch_flags=["verbose", "quiet"],
    )
    assert proc.returncode == 0, proc.stderr
    assert result == {"status": "ok", "exit_code": 0, "error": None}
    seen = json.loads(out.read_text())
    assert seen["name"] == "__main__"
    assert seen["argv"] == [
        "--job-type",
        "validation",
        "--count",
        "3",
        "--verbose",
        "--columns",
        '["a", "b"]',
    ]
    assert seen["args"] == {
        "job_type": "validation",
        "count": 3,
        "verbose": True,
        "quiet": False,
        "columns": ["a", "b"],
        "threshold": "unset",
    }


def test_cli_mode_argparse_error_is_an_exit_with_code_2(tmp_path: Path) -> None:
    script = write_script(tmp_path, "cli_step.py", CLI_SCRIPT)
    proc, result = launch(
        script,
        tmp_path,
        mode="cli",
        environ_vars={"RTF_T_OUT": str(tmp_path / "unused.json")},
        job_args={"count": 2},
        cli_flags={"count": "--count"},
    )
    assert proc.returncode == 2
    assert result == {"status": "exit", "exit_code": 2, "error": None}
    assert "--job-type" in proc.stderr  # argparse names the missing option


def test_build_cli_args_without_declared_flags_passes_every_job_arg() -> None:
    words = _launcher.build_cli_args(
        {"job_type": "training", "rate": 0.5, "on": True, "off": False, "opts": {"k": 1}},
        None,
        ["on", "off"],
    )
    assert words == ["--job_type", "training", "--rate", "0.5", "--on", "--opts", '{"k": 1}']


def test_build_cli_args_with_declared_flags_uses_their_spelling() -> None:
    words = _launcher.build_cli_args(
        {"job_type": "training", "extra": "x", "flag": True},
        {"job_type": "--job-type", "flag": "-f"},
        ["flag"],
    )
    assert words == ["--job-type", "training", "-f"]


# --- errors ---------------------------------------------------------------------------------


def test_exception_in_a_stdlib_call_points_at_the_script_line(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "parse_step.py",
        """
        import json


        def load(text):
            return json.loads(text)  # MARK-CALL


        def main(input_paths, output_paths, environ_vars, job_args):
            load("{not json")
        """,
    )
    proc, result = launch(script, tmp_path)
    assert proc.returncode == 1
    assert result is not None and result["status"] == "exception"
    error = result["error"]
    assert error["type"] == "JSONDecodeError"
    assert error["message"].startswith("Expecting property name")
    assert error["location"] == f"parse_step.py:{line_of(script, 'MARK-CALL')}"
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert "_launcher.py" not in error["traceback"]
    assert "json/decoder.py" in error["traceback"].replace(os.sep, "/")
    assert "JSONDecodeError" in proc.stderr  # the traceback also lands in the log


def test_exception_in_a_helper_module_points_at_the_script_line(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "feature_helpers.py",
        """
        def signature(row):
            return row["SIGNATURE"]
        """,
    )
    script = write_script(
        tmp_path,
        "tabular_preprocessing.py",
        """
        import feature_helpers


        def main(input_paths, output_paths, environ_vars, job_args):
            row = {"ID": 1}
            return feature_helpers.signature(row)  # MARK-HELPER
        """,
    )
    proc, result = launch(script, tmp_path)
    assert proc.returncode == 1
    assert result is not None
    error = result["error"]
    assert (error["type"], error["message"]) == ("KeyError", "'SIGNATURE'")
    assert error["location"] == f"tabular_preprocessing.py:{line_of(script, 'MARK-HELPER')}"
    assert "feature_helpers.py" in error["traceback"]


def test_import_error_at_top_level_is_reported(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "needs_lib.py",
        """
        import os
        import rtf_no_such_module_anywhere  # MARK-IMPORT


        def main(input_paths, output_paths, environ_vars, job_args):
            pass
        """,
    )
    proc, result = launch(script, tmp_path)
    assert proc.returncode == 1
    assert result is not None
    assert result["error"]["type"] == "ModuleNotFoundError"
    assert "rtf_no_such_module_anywhere" in result["error"]["message"]
    assert result["error"]["location"] == f"needs_lib.py:{line_of(script, 'MARK-IMPORT')}"


@pytest.mark.parametrize("mode", ["main", "cli"])
def test_syntax_error_in_the_script_is_reported_with_its_line(tmp_path: Path, mode: str) -> None:
    script = write_script(
        tmp_path,
        "broken.py",
        """
        import os


        def main(input_paths, output_paths:  # MARK-SYNTAX
            pass
        """,
    )
    proc, result = launch(script, tmp_path, mode=mode)
    assert proc.returncode == 1
    assert result is not None and result["status"] == "exception"
    assert result["error"]["type"] == "SyntaxError"
    assert result["error"]["location"] == f"broken.py:{line_of(script, 'MARK-SYNTAX')}"
    assert "SyntaxError" in proc.stderr
    assert "_launcher.py" not in result["error"]["traceback"]
    assert "runpy" not in proc.stderr and "importlib" not in proc.stderr


@pytest.mark.parametrize(
    ("statement", "code", "stderr_text"),
    [
        ("sys.exit()", 0, ""),
        ("sys.exit(0)", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('config is missing the region')", 1, "config is missing the region"),
    ],
)
def test_system_exit_becomes_the_exit_code(
    tmp_path: Path, statement: str, code: int, stderr_text: str
) -> None:
    script = write_script(
        tmp_path,
        "quits.py",
        f"""
        import sys


        def main(input_paths, output_paths, environ_vars, job_args):
            {statement}
        """,
    )
    proc, result = launch(script, tmp_path)
    assert proc.returncode == code
    assert result == {"status": "exit", "exit_code": code, "error": None}
    assert stderr_text in proc.stderr
    if not stderr_text:
        assert proc.stderr == ""


def test_os_exit_leaves_no_result_file(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "hard_exit.py",
        """
        import os


        def main(input_paths, output_paths, environ_vars, job_args):
            os._exit(7)
        """,
    )
    proc, result = launch(script, tmp_path)
    assert proc.returncode == 7
    assert result is None


def test_unreadable_request_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "request.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(launcher_path()), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "cannot read the request" in proc.stderr


# --- in this process (the same code, without a subprocess) ---------------------------------


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Let the launcher change sys.path, sys.argv and the environment, and undo it after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.delenv("RTF_T_INPROC", raising=False)
    return monkeypatch


def run_in_process(script: Path, tmp_path: Path, **fields: Any) -> tuple[int, dict[str, Any]]:
    request_file = tmp_path / "request.json"
    request = request_for(script, tmp_path, **fields)
    request_file.write_text(json.dumps(request), encoding="utf-8")
    try:
        code = _launcher.main([str(request_file)])
    finally:
        sys.modules.pop(script.stem, None)
    return code, json.loads(Path(request["result_path"]).read_text(encoding="utf-8"))


def test_in_process_ok_sets_environment_and_path(
    tmp_path: Path, isolated: pytest.MonkeyPatch
) -> None:
    script = write_script(
        tmp_path / "s",
        "rtf_inproc_ok.py",
        """
        import os


        def main(input_paths, output_paths, environ_vars, job_args):
            assert os.environ["RTF_T_INPROC"] == "yes"
            assert job_args.n == 2
        """,
    )
    code, result = run_in_process(
        script, tmp_path, environ_vars={"RTF_T_INPROC": "yes"}, job_args={"n": 2}
    )
    assert (code, result) == (0, {"status": "ok", "exit_code": 0, "error": None})
    assert sys.path[0] == str(script.parent)


def test_in_process_exception_keyboard_interrupt_and_exit_message(
    tmp_path: Path, isolated: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = write_script(
        tmp_path / "a",
        "rtf_inproc_fail.py",
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            raise ValueError("bad column")  # MARK-RAISE
        """,
    )
    code, result = run_in_process(failing, tmp_path)
    assert code == 1
    assert result["error"]["type"] == "ValueError"
    assert result["error"]["message"] == "bad column"
    assert result["error"]["location"] == f"rtf_inproc_fail.py:{line_of(failing, 'MARK-RAISE')}"

    stopped = write_script(
        tmp_path / "b",
        "rtf_inproc_stop.py",
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            raise KeyboardInterrupt
        """,
    )
    code, result = run_in_process(stopped, tmp_path)
    assert code == 130
    assert result["error"]["type"] == "KeyboardInterrupt"

    quits = write_script(
        tmp_path / "c",
        "rtf_inproc_quit.py",
        "import sys\nsys.exit('stop here')\n",
    )
    code, result = run_in_process(quits, tmp_path, mode="cli")
    assert (code, result["status"]) == (1, "exit")
    assert "stop here" in capsys.readouterr().err


def test_in_process_bad_usage_and_unwritable_result(
    tmp_path: Path, isolated: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _launcher.main([]) == 2
    bad_mode = tmp_path / "bad_mode.json"
    bad_mode.write_text(json.dumps(request_for(tmp_path / "x.py", tmp_path, mode="batch")))
    assert _launcher.main([str(bad_mode)]) == 2
    script = write_script(tmp_path / "d", "rtf_inproc_nowrite.py", "def main(**kw):\n    pass\n")
    request = request_for(script, tmp_path, result_path=str(tmp_path / "missing" / "r.json"))
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request))
    try:
        assert _launcher.main([str(request_file)]) == 0
    finally:
        sys.modules.pop(script.stem, None)
    err = capsys.readouterr().err
    assert "usage: _launcher.py REQUEST.json" in err
    assert "mode must be 'main' or 'cli'" in err
    assert "cannot write" in err


def test_location_falls_back_to_the_folder_then_anywhere(tmp_path: Path) -> None:
    helper = write_script(tmp_path, "rtf_loc_helper.py", "def boom():\n    raise OSError('x')\n")
    namespace: dict[str, Any] = {}
    exec(compile(helper.read_text(), str(helper), "exec"), namespace)
    with pytest.raises(OSError) as caught:
        namespace["boom"]()
    # The script itself is not in the traceback: the deepest frame in its folder wins.
    assert _launcher.describe_error(caught.value, str(tmp_path / "main.py"))["location"] == (
        "rtf_loc_helper.py:2"
    )
    # Nothing in the script's folder: the deepest frame anywhere.
    elsewhere = _launcher.describe_error(caught.value, str(tmp_path / "sub" / "main.py"))
    assert elsewhere["location"] == "rtf_loc_helper.py:2"
    # No frame at all.
    assert _launcher.describe_error(ValueError("v"), str(helper))["location"] is None

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert _launcher.describe_error(Unprintable(), "s.py")["message"] == "<unprintable Unprintable>"


# --- the file itself ------------------------------------------------------------------------


def test_launcher_is_python_3_8_syntax_and_standard_library_only() -> None:
    source = launcher_path().read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would need rtf installed"
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Match):
            raise AssertionError("match statements need Python 3.10")
    assert imported, "the walk found the imports"
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    assert "from __future__ import annotations" in source
