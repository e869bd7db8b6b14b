"""``rtf run`` end to end: real scripts in real subprocesses, from a spec written by hand.

Every fault the run engine must survive is a small real script here: a crash (with its
``file:line``), ``sys.exit`` codes, ``os._exit``, a signal, a hang with a grandchild under a
timeout, an output flood, a read from stdin, empty outputs, outputs only in sub-folders, a
script that changes its own input, ``cli`` mode, an unmarked output folder, and Ctrl-C sent
to the rtf process. The bundled sample pipeline runs green, and independent steps run side
by side.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtf.commands_run import run_command
from rtf.render import make_console

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_configs" / "xgboost_e2e"


# --- helpers ----------------------------------------------------------------------------------


def write_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def write_spec(folder: Path, scripts: dict[str, dict[str, Any]], name: str = "spec.yaml") -> Path:
    """A spec as a person would write it from SPEC 4: paths relative to its folder."""
    doc = {"version": 1, "pipeline": "faults", "workspace": ".rtf", "python": None}
    doc["scripts"] = {
        step: {"output_paths": {"out": f"outputs/{step}"}, **fields}
        for step, fields in scripts.items()
    }
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def rtf(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtf", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
    )


def call_run(spec: Path, **options: Any) -> tuple[int, str, str]:
    """``run_command`` in this process (the scripts still run in subprocesses)."""
    out, err = io.StringIO(), io.StringIO()
    values: dict[str, Any] = {
        "only": [],
        "from_step": None,
        "jobs": 4,
        "timeout": None,
        "fail_fast": False,
        "dry_run": False,
        "json_out": None,
        "junit_out": None,
    }
    values.update(options)
    code = run_command(
        spec,
        console=make_console(file=out, width=120, color=False),
        err_console=make_console(file=err, width=120, color=False),
        **values,
    )
    return code, out.getvalue(), err.getvalue()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def gone_within(pids: list[int], seconds: float = 5.0) -> bool:
    give_up = time.monotonic() + seconds
    while any(alive(pid) for pid in pids):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


def kill_quietly(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_for_file(path: Path, seconds: float = 20.0) -> str:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        with contextlib.suppress(OSError):
            text = path.read_text().strip()
            if text:
                return text
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def by_step(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["step_name"]: step for step in report["steps"]}


# The fault scripts. ``out`` is always the step's only output.

WRITE_OUT = """
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    Path(output_paths["out"], "result.txt").write_text("ok")
"""

FAULTS: dict[str, str] = {
    "crash.py": """
        import json
        from pathlib import Path


        def load(environ_vars):
            return environ_vars["SIGNATURE"]  # the crash line


        def main(input_paths, output_paths, environ_vars, job_args):
            print("starting the crash step")
            load(environ_vars)
        """,
    "exit_early_ok.py": """
        import sys


        def main(input_paths, output_paths, environ_vars, job_args):
            print("nothing to do")
            sys.exit(0)
        """,
    "exit_zero_after_writing.py": """
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path(output_paths["out"], "done.txt").write_text("done")
            sys.exit(0)
        """,
    "exit_three.py": """
        import sys


        def main(input_paths, output_paths, environ_vars, job_args):
            sys.exit(3)
        """,
    "hard_exit.py": """
        import os


        def main(input_paths, output_paths, environ_vars, job_args):
            print("leaving without a word", flush=True)
            os._exit(7)
        """,
    "killed.py": """
        import os
        import signal


        def main(input_paths, output_paths, environ_vars, job_args):
            os.kill(os.getpid(), signal.SIGKILL)
        """,
    "hang.py": """
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            Path(environ_vars["PID_FILE"]).write_text(f"{os.getpid()} {child.pid}")
            time.sleep(120)
        """,
    "flood.py": """
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            line = "x" * 1023 + "\\n"
            for _ in range(12 * 1024):  # 12 MiB to stdout
                sys.stdout.write(line)
            sys.stdout.flush()
            Path(output_paths["out"], "done.txt").write_text("flooded")
        """,
    "stdin_reader.py": """
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            data = sys.stdin.read()  # at end of file at once: never waits for a terminal
            Path(output_paths["out"], "stdin.txt").write_text(f"read {len(data)} chars")
        """,
    "empty_output.py": """
        def main(input_paths, output_paths, environ_vars, job_args):
            print("forgot to write anything")
        """,
    "subfolders.py": """
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            for split in ("train", "val"):
                folder = Path(output_paths["out"], split)
                folder.mkdir()
                (folder / f"{split}.csv").write_text("a,b\\n1,2\\n")
        """,
    "changes_input.py": """
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            data = Path(input_paths["data"], "rows.csv")
            data.write_text(data.read_text() + "3\\n")
            Path(output_paths["out"], "copy.csv").write_text(data.read_text())
        """,
    "cli_step.py": """
        import argparse
        import json
        import os
        from pathlib import Path

        parser = argparse.ArgumentParser()
        parser.add_argument("--job-type", dest="job_type", required=True)
        parser.add_argument("--n-rows", type=int, default=1)
        parser.add_argument("--verbose", action="store_true")
        parser.add_argument("--dry", action="store_true")
        args = parser.parse_args()
        out = Path(os.environ["CLI_OUT"])
        (out / "args.json").write_text(json.dumps(vars(args)))
        """,
    "after_crash.py": WRITE_OUT,
}


def fault_spec(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    for name, body in FAULTS.items():
        write_script(scripts, name, body)
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("x\n1\n2\n")
    steps: dict[str, dict[str, Any]] = {
        name[:-3]: {"script_path": f"scripts/{name}"} for name in FAULTS
    }
    steps["after_crash"]["input_paths"] = {"upstream": {"from": "crash", "output": "out"}}
    steps["hang"].update(timeout=1, environ_vars={"PID_FILE": str(tmp_path / "hang.pid")})
    steps["changes_input"]["input_paths"] = {"data": "data"}
    steps["cli_step"].update(
        mode="cli",
        environ_vars={"CLI_OUT": str(tmp_path / "outputs" / "cli_step")},
        job_args={"job_type": "training", "n_rows": 5, "verbose": True, "dry": False},
    )
    return write_spec(tmp_path, steps)


# --- the faults -------------------------------------------------------------------------------


def test_every_fault_ends_as_its_own_status_and_the_run_survives(tmp_path: Path) -> None:
    spec = fault_spec(tmp_path)
    pid_file = tmp_path / "hang.pid"
    try:
        started = time.monotonic()
        proc = rtf(
            "run", "--spec", str(spec), "--jobs", "4", "--timeout", "30",
            "--json", "copies/report.json", "--junit-xml", "copies/junit.xml",
            cwd=tmp_path,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        pids = [int(p) for p in wait_for_file(pid_file).split()]
        assert gone_within(pids), "the hanging script or its grandchild outlived its step"
    finally:
        if pid_file.exists():
            kill_quietly([int(p) for p in pid_file.read_text().split()])
    assert proc.returncode == 1, proc.stderr
    assert elapsed < 20

    report = json.loads((tmp_path / "copies" / "report.json").read_text())
    steps = by_step(report)
    crash_line = line_of(tmp_path / "scripts" / "crash.py", "# the crash line")
    expected = {
        "crash": ("failed", 1, f"KeyError: 'SIGNATURE' at crash.py:{crash_line}"),
        "exit_early_ok": ("failed", 0, "output 'out' is empty"),
        "exit_zero_after_writing": ("passed", 0, None),
        "exit_three": ("failed", 3, "exit code 3"),
        "hard_exit": ("failed", 7, "exit code 7"),
        "killed": ("failed", -9, "killed by signal SIGKILL"),
        "hang": ("timed_out", -15, "timed out after 1 s"),
        "flood": ("passed", 0, None),
        "stdin_reader": ("passed", 0, None),
        "empty_output": ("failed", 0, "output 'out' is empty"),
        "subfolders": ("passed", 0, None),
        "changes_input": ("passed", 0, None),
        "cli_step": ("passed", 0, None),
        "after_crash": ("skipped", None, "upstream crash failed"),
    }
    actual = {n: (s["status"], s["exit_code"], s["reason"]) for n, s in steps.items()}
    assert actual == expected
    assert report["summary"] == {
        "passed": 6,
        "failed": 6,
        "timed_out": 1,
        "skipped": 1,
        "interrupted": 0,
    }
    assert report["success"] is False

    # the exception, from the launcher, not from parsing stderr
    assert steps["crash"]["error"] == {
        "type": "KeyError",
        "message": "'SIGNATURE'",
        "location": f"crash.py:{crash_line}",
    }
    crash_log = Path(steps["crash"]["log"]).read_text()
    assert "starting the crash step" in crash_log and "Traceback" in crash_log
    # the run folder holds the same report, the logs and the working folders
    run_dir = Path(report["run_dir"])
    assert run_dir.parent == tmp_path / ".rtf" / "runs"
    assert json.loads((run_dir / "report.json").read_text()) == report
    assert sorted(p.name for p in (run_dir / "work").iterdir()) == sorted(
        steps.keys() - {"after_crash"}
    )
    # os._exit: the output before it is in the log
    assert "leaving without a word" in Path(steps["hard_exit"]["log"]).read_text()
    # the flood: every byte kept (under the log cap), the step passed
    assert Path(steps["flood"]["log"]).stat().st_size >= 12 * 1024 * 1024
    assert (tmp_path / "outputs" / "stdin_reader" / "stdin.txt").read_text() == "read 0 chars"
    # outputs only in sub-folders count
    assert steps["subfolders"]["outputs"]["out"]["files"] == 2
    assert steps["subfolders"]["outputs"]["out"]["bytes"] == 16
    # a changed input is a warning naming it
    assert steps["changes_input"]["warnings"] == [
        "modified_input: input 'data' was changed by the step (files added, removed or "
        f"rewritten under {tmp_path / 'data'})"
    ]
    assert all(not s["warnings"] for n, s in steps.items() if n != "changes_input")
    # cli mode: job args became the flags argparse declares, switches bare or left out
    cli_args = json.loads((tmp_path / "outputs" / "cli_step" / "args.json").read_text())
    assert cli_args == {"job_type": "training", "n_rows": 5, "verbose": True, "dry": False}

    # JUnit copy: one testcase per step, the right counts
    suite = ET.parse(tmp_path / "copies" / "junit.xml").getroot()[0]
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["skipped"]) == (
        "14",
        "7",
        "1",
    )
    # the results tree on stdout names the failure's place; progress went to stderr
    assert f"at crash.py:{crash_line}" in proc.stdout
    assert "faults: 6 passed, 6 failed, 1 timed out, 1 skipped" in proc.stdout
    progress = [line.split() for line in proc.stderr.splitlines()]
    assert ["✗", "timed", "out", "hang"] in [words[:4] for words in progress]


def test_unmarked_output_folder_stops_the_run_with_exit_3_and_nothing_runs(
    tmp_path: Path,
) -> None:
    sentinel = tmp_path / "ran.txt"
    write_script(
        tmp_path / "scripts",
        "step.py",
        f"""
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path({str(sentinel)!r}).write_text("ran")
            Path(output_paths["out"], "x.txt").write_text("x")
        """,
    )
    spec = write_spec(
        tmp_path,
        {
            "first": {"script_path": "scripts/step.py"},
            "second": {"script_path": "scripts/step.py"},
        },
    )
    foreign = tmp_path / "outputs" / "second"
    foreign.mkdir(parents=True)
    (foreign / "precious.csv").write_text("not rtf's")
    proc = rtf("run", "--spec", str(spec), cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1
    assert str(foreign) in proc.stderr and "not created by rtf" in proc.stderr
    assert not sentinel.exists()
    assert not (tmp_path / ".rtf").exists()
    assert (foreign / "precious.csv").read_text() == "not rtf's"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_ends_every_step_writes_the_partial_report_and_exits_130(
    tmp_path: Path, sig: signal.Signals
) -> None:
    pid_file = tmp_path / "slow.pid"
    write_script(
        tmp_path / "scripts",
        "slow.py",
        f"""
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            Path({str(pid_file)!r}).write_text(f"{{os.getpid()}} {{child.pid}}")
            time.sleep(120)
        """,
    )
    write_script(tmp_path / "scripts", "next.py", WRITE_OUT)
    spec = write_spec(
        tmp_path,
        {
            "slow": {"script_path": "scripts/slow.py"},
            "next": {
                "script_path": "scripts/next.py",
                "input_paths": {"x": {"from": "slow", "output": "out"}},
            },
        },
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtf", "run", "--spec", str(spec), "--json", "copy.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        # a test runner started in the background may ignore SIGINT; rtf must not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pids: list[int] = []
    try:
        pids = [int(p) for p in wait_for_file(pid_file).split()]
        assert all(alive(pid) for pid in pids)
        proc.send_signal(sig)  # SIGTERM (a stopped CI job) ends the run the same way
        stdout, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 130, stderr
        assert gone_within(pids), "a script outlived rtf"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_quietly(pids)
    (report_file,) = (tmp_path / ".rtf" / "runs").glob("*/report.json")
    report = json.loads(report_file.read_text())
    assert report["interrupted"] is True and report["success"] is False
    assert {s["step_name"]: (s["status"], s["reason"]) for s in report["steps"]} == {
        "slow": ("interrupted", "interrupted"),
        "next": ("skipped", "interrupted"),
    }
    assert json.loads((tmp_path / "copy.json").read_text()) == report
    assert "interrupted" in stderr
    assert "slow" in stdout  # the results tree of the partial run


# --- the sample pipeline ----------------------------------------------------------------------


def test_sample_pipeline_runs_green_end_to_end_and_partial_runs_reuse_outputs(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "xgboost_e2e"
    shutil.copytree(SAMPLE, sample, ignore=shutil.ignore_patterns(".rtf", "__pycache__"))
    spec = sample / "spec.yaml"

    plan = rtf("run", "--spec", str(spec), "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "7 steps would run" in plan.stdout
    assert "input_path ← TabularPreprocessing_training.processed_data" in plan.stdout
    assert not (sample / ".rtf").exists()  # a dry run creates nothing

    proc = rtf("run", "--spec", str(spec), "--json", "full.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "full.json").read_text())
    assert report["summary"] == {
        "passed": 7,
        "failed": 0,
        "timed_out": 0,
        "skipped": 0,
        "interrupted": 0,
    }
    steps = by_step(report)
    assert list(steps) == [
        "TabularPreprocessing_training",
        "TabularPreprocessing_calibration",
        "XGBoostTraining",
        "XGBoostModelEval_calibration",
        "ModelCalibration_calibration",
        "Package",
        "Payload",
    ]
    assert all(not s["warnings"] for s in steps.values())  # the test data was left alone
    outputs = sample / ".rtf" / "outputs"
    assert steps["XGBoostTraining"]["outputs"]["model_output"]["path"] == str(
        outputs / "XGBoostTraining" / "model_output"
    )
    # data flowed: preprocessing split it, training modelled it, packaging bundled the model
    assert sorted(
        p.name for p in (outputs / "TabularPreprocessing_training" / "processed_data").iterdir()
    ) == [".rtf-output", "test", "train", "val"]
    assert (outputs / "XGBoostTraining" / "model_output" / "model.json").is_file()
    assert any((outputs / "Package" / "packaged_model").glob("*.tar.gz"))
    log = Path(steps["XGBoostTraining"]["log"]).read_text()
    assert "INFO xgboost_training: trained" in log  # the scripts' logger.info lines are kept

    again = rtf("run", "--spec", str(spec), "--only", "Payload", "--json", "one.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [s["step_name"] for s in json.loads((tmp_path / "one.json").read_text())["steps"]] == [
        "Payload"
    ]
    assert len(list((sample / ".rtf" / "runs").iterdir())) == 2


# --- parallel steps ---------------------------------------------------------------------------


def test_six_independent_one_second_steps_run_side_by_side(tmp_path: Path) -> None:
    write_script(
        tmp_path / "scripts",
        "sleeper.py",
        """
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            time.sleep(1)
            Path(output_paths["out"], "slept.txt").write_text("1 s")
        """,
    )
    spec = write_spec(
        tmp_path, {f"sleep_{i}": {"script_path": "scripts/sleeper.py"} for i in range(6)}
    )
    started = time.monotonic()
    code, out, _ = call_run(spec, jobs=6)
    elapsed = time.monotonic() - started
    assert code == 0, out
    assert "6 passed" in out
    assert elapsed < 4.5  # six in a row would take over 6 s


# --- in-process command -----------------------------------------------------------------------


def test_run_command_failures_exit_1_and_fail_fast_stops_the_rest(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    write_script(scripts, "crash.py", FAULTS["crash.py"])
    write_script(
        scripts,
        "slow.py",
        """
        import time


        def main(input_paths, output_paths, environ_vars, job_args):
            time.sleep(30)
        """,
    )
    write_script(scripts, "fine.py", WRITE_OUT)
    spec = write_spec(
        tmp_path,
        {
            "slow": {"script_path": "scripts/slow.py"},
            "crash": {"script_path": "scripts/crash.py"},
            "fine": {"script_path": "scripts/fine.py"},
        },
    )
    started = time.monotonic()
    code, out, err = call_run(spec, jobs=2, fail_fast=True, junit_out=tmp_path / "j.xml")
    assert code == 1
    assert time.monotonic() - started < 15  # slow was stopped, not waited for
    assert "fail-fast: crash failed" in out
    assert "KeyError: 'SIGNATURE'" in out
    suite = ET.parse(tmp_path / "j.xml").getroot()[0]
    assert (suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]) == (
        "1",
        "1",
        "1",
    )
    assert "▶ running" in err and "✗ failed" in err


def test_run_timeout_stops_a_hang_and_its_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "hang.pid"
    write_script(tmp_path / "scripts", "hang.py", FAULTS["hang.py"])
    spec = write_spec(
        tmp_path,
        {"hang": {"script_path": "scripts/hang.py", "environ_vars": {"PID_FILE": str(pid_file)}}},
    )
    try:
        started = time.monotonic()
        code, out, _ = call_run(spec, timeout=1.0)
        elapsed = time.monotonic() - started
        pids = [int(p) for p in wait_for_file(pid_file).split()]
        assert gone_within(pids, seconds=1.0)
    finally:
        if pid_file.exists():
            kill_quietly([int(p) for p in pid_file.read_text().split()])
    assert code == 1
    assert 1.0 <= elapsed < 8
    assert "timed out after 1 s" in out


# --- in a real terminal -----------------------------------------------------------------------


def test_live_view_in_a_terminal_then_the_results_tree(tmp_path: Path) -> None:
    import pexpect

    write_script(tmp_path / "scripts", "ok.py", WRITE_OUT)
    spec = write_spec(tmp_path, {"ok": {"script_path": "scripts/ok.py"}})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rtf", "run", "--spec", str(spec)],
        cwd=str(tmp_path),
        env={**os.environ, "TERM": "xterm", "NO_COLOR": "1"},
        encoding="utf-8",
        dimensions=(24, 100),
        timeout=30,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "")
    assert "faults: 1 passed" in screen
    assert "ok  ✓ passed" in screen


def test_ctrl_c_in_a_terminal_exits_130_and_leaves_no_process(tmp_path: Path) -> None:
    import pexpect

    pid_file = tmp_path / "slow.pid"
    write_script(
        tmp_path / "scripts",
        "slow.py",
        f"""
        import os
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path({str(pid_file)!r}).write_text(str(os.getpid()))
            time.sleep(120)
        """,
    )
    spec = write_spec(tmp_path, {"slow": {"script_path": "scripts/slow.py"}})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rtf", "run", "--spec", str(spec)],
        cwd=str(tmp_path),
        env={**os.environ, "TERM": "xterm", "NO_COLOR": "1"},
        encoding="utf-8",
        dimensions=(24, 100),
        timeout=30,
    )
    pid = 0
    try:
        pid = int(wait_for_file(pid_file))
        child.expect("running")
        child.sendintr()  # Ctrl-C typed at the terminal: SIGINT to its foreground group
        child.expect("interrupted")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
        assert gone_within([pid])
    finally:
        if child.isalive():
            child.terminate(force=True)
        if pid:
            kill_quietly([pid])


def test_run_command_dry_run_shows_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    write_script(tmp_path / "scripts", "ok.py", WRITE_OUT)
    spec = write_spec(tmp_path, {"ok": {"script_path": "scripts/ok.py"}})
    code, out, err = call_run(spec, dry_run=True, json_out=tmp_path / "r.json")
    assert code == 0
    assert "dry run: faults: 1 step would run" in out and "out → " in out
    assert err == ""
    assert not (tmp_path / ".rtf").exists() and not (tmp_path / "r.json").exists()


def test_run_command_copy_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    from rtf.errors import ExitCode, UsageError

    write_script(tmp_path / "scripts", "ok.py", WRITE_OUT)
    spec = write_spec(tmp_path, {"ok": {"script_path": "scripts/ok.py"}})
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError) as caught:
        call_run(spec, json_out=tmp_path / "taken")
    assert str(caught.value).startswith(f"--json {tmp_path / 'taken'}: cannot write the report")
    assert caught.value.exit_code == ExitCode.USAGE
    # the run itself happened and its own report is in the run folder
    (report_file,) = (tmp_path / ".rtf" / "runs").glob("*/report.json")
    assert json.loads(report_file.read_text())["success"] is True


def test_ctrl_c_before_any_step_started_is_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtf import runner
    from rtf.errors import ExitCode, Interrupted

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_spec", stopped)
    write_script(tmp_path / "scripts", "ok.py", WRITE_OUT)
    spec = write_spec(tmp_path, {"ok": {"script_path": "scripts/ok.py"}})
    with pytest.raises(Interrupted) as caught:
        call_run(spec)
    assert caught.value.exit_code == ExitCode.INTERRUPTED
