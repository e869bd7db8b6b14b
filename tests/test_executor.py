"""The local executor: real processes running small real scripts.

Timing-sensitive tests wait for a file the script writes once it is really running, instead
of sleeping, and assert durations only with generous margins, so a loaded machine does not
make them flaky.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rtf.executor import (
    RESULT_NAME,
    TRUNCATION_NOTE,
    LocalExecutor,
    StepError,
    StepOutcome,
    StepRequest,
    launcher_path,
    read_result,
    tail_log,
)

GRACE = 0.5


def write_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def make_request(tmp_path: Path, script: Path, **fields: Any) -> StepRequest:
    values: dict[str, Any] = {
        "step_name": script.stem,
        "script_path": script,
        "mode": "main",
        "input_paths": {},
        "output_paths": {},
        "environ_vars": {},
        "job_args": {},
        "python": sys.executable,
        "workdir": tmp_path / "run" / "work" / script.stem,
        "log_path": tmp_path / "run" / "logs" / f"{script.stem}.log",
        "timeout": 30.0,  # only a safety net: these scripts end on their own
        "grace_s": GRACE,
    }
    values.update(fields)
    return StepRequest(**values)


def run(request: StepRequest, cancel: threading.Event | None = None) -> StepOutcome:
    return LocalExecutor().run(request, cancel or threading.Event())


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id now belongs to someone else's process
        return False
    stat = Path(f"/proc/{pid}/stat")
    if not stat.parent.parent.is_dir():
        return True
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def gone_within(pid: int, seconds: float = 5.0) -> bool:
    give_up = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


def wait_for_file(path: Path, seconds: float = 20.0) -> str:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def cancel_when(path: Path, cancel: threading.Event, when: list[float]) -> threading.Thread:
    """Set ``cancel`` from another thread as soon as the script has written ``path``."""

    def watch() -> None:
        wait_for_file(path)
        when.append(time.monotonic())
        cancel.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# --- ordinary endings -----------------------------------------------------------------------


def test_main_mode_success_with_outputs_env_job_args_and_sibling_import(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    write_script(scripts, "step_helpers.py", "def double(x):\n    return 2 * x\n")
    script = write_script(
        scripts,
        "preprocess.py",
        """
        import json
        import os
        import sys
        from pathlib import Path

        import step_helpers


        def main(input_paths, output_paths, environ_vars, job_args):
            out = Path(output_paths["processed"])
            out.mkdir(parents=True, exist_ok=True)
            (out / "data.json").write_text(json.dumps({
                "rows": step_helpers.double(len(Path(input_paths["raw"]).read_text().split())),
                "label": os.environ["LABEL_FIELD"],
                "job_type": job_args.job_type,
                "cwd": os.getcwd(),
                "bytecode": os.environ.get("PYTHONDONTWRITEBYTECODE"),
            }))
            print("processed to stdout")
            print("warning to stderr", file=sys.stderr)
        """,
    )
    raw = tmp_path / "raw.txt"
    raw.write_text("a b c", encoding="utf-8")
    request = make_request(
        tmp_path,
        script,
        input_paths={"raw": str(raw)},
        output_paths={"processed": str(tmp_path / "out")},
        environ_vars={"LABEL_FIELD": "is_fraud"},
        job_args={"job_type": "training"},
    )
    outcome = run(request)
    assert outcome.ending == "exited"
    assert outcome.exit_code == 0
    assert outcome.error is None
    assert outcome.log_path == request.log_path
    assert outcome.log_bytes_dropped == 0
    assert 0 < outcome.duration_s < 30
    written = json.loads((tmp_path / "out" / "data.json").read_text())
    assert written == {
        "rows": 6,
        "label": "is_fraud",
        "job_type": "training",
        "cwd": str(request.workdir),
        "bytecode": "1",
    }
    log = request.log_path.read_text()
    assert "processed to stdout" in log and "warning to stderr" in log
    assert not (scripts / "__pycache__").exists()  # the pipeline's folder stays clean
    assert (request.workdir / ".rtf-request.json").is_file()


def test_cli_mode_flags_reach_argparse(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "cli_train.py",
        """
        import argparse
        import os
        from pathlib import Path

        parser = argparse.ArgumentParser()
        parser.add_argument("--job-type", dest="job_type", required=True)
        parser.add_argument("--fast", action="store_true")
        parser.add_argument("--slow", action="store_true")
        args = parser.parse_args()
        Path(os.environ["OUT_FILE"]).write_text(f"{args.job_type} {args.fast} {args.slow}")
        """,
    )
    out = tmp_path / "seen.txt"
    outcome = run(
        make_request(
            tmp_path,
            script,
            mode="cli",
            environ_vars={"OUT_FILE": str(out)},
            job_args={"job_type": "calibration", "fast": True, "slow": False},
            cli_flags={"job_type": "--job-type", "fast": "--fast", "slow": "--slow"},
            switch_flags=frozenset({"fast", "slow"}),
        )
    )
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert out.read_text() == "calibration True False"


def test_exception_is_reported_with_script_location(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "tabular_preprocessing.py",
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            columns = {"ID": 0}
            return columns["SIGNATURE"]
        """,
    )
    outcome = run(make_request(tmp_path, script))
    assert (outcome.ending, outcome.exit_code) == ("exited", 1)
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == ("KeyError", "'SIGNATURE'")
    assert outcome.error.location == "tabular_preprocessing.py:3"
    assert outcome.error.traceback is not None and "KeyError" in outcome.error.traceback
    assert "KeyError: 'SIGNATURE'" in outcome.log_path.read_text()


def test_exit_codes_and_no_error_for_sys_exit(tmp_path: Path) -> None:
    for statement, code in (("sys.exit(0)", 0), ("sys.exit(3)", 3), ("sys.exit('no data')", 1)):
        script = write_script(
            tmp_path / f"s{code}",
            f"quit_{code}.py",
            f"import sys\n\n\ndef main(**kwargs):\n    {statement}\n",
        )
        outcome = run(make_request(tmp_path, script))
        assert (outcome.ending, outcome.exit_code, outcome.error) == ("exited", code, None)
    assert "no data" in outcome.log_path.read_text()


def test_os_exit_has_no_result_file_and_no_error(tmp_path: Path) -> None:
    script = write_script(
        tmp_path, "bail.py", "import os\n\n\ndef main(**kwargs):\n    os._exit(7)\n"
    )
    request = make_request(tmp_path, script)
    outcome = run(request)
    assert (outcome.ending, outcome.exit_code, outcome.error) == ("exited", 7, None)
    assert not (request.workdir / RESULT_NAME).exists()


def test_killed_by_a_signal_has_a_negative_exit_code(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "crash.py",
        """
        import os
        import signal


        def main(**kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    outcome = run(make_request(tmp_path, script))
    assert (outcome.ending, outcome.exit_code, outcome.error) == ("exited", -signal.SIGKILL, None)


def test_reading_stdin_gets_end_of_file_at_once(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "reads_stdin.py",
        """
        import sys
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            Path(output_paths["out"]).write_text(repr(sys.stdin.read()))
        """,
    )
    out = tmp_path / "stdin.txt"
    outcome = run(make_request(tmp_path, script, output_paths={"out": str(out)}, timeout=20.0))
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert out.read_text() == "''"


# --- ending a step --------------------------------------------------------------------------

HANGS_WITH_GRANDCHILD = """
import os
import subprocess
import time
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    child = subprocess.Popen(["sleep", "60"])
    Path(os.environ["PID_FILE"]).write_text(str(child.pid))
    time.sleep(60)
"""


def test_timeout_ends_the_whole_group(tmp_path: Path) -> None:
    script = write_script(tmp_path, "hangs.py", HANGS_WITH_GRANDCHILD)
    pid_file = tmp_path / "grandchild.pid"
    request = make_request(tmp_path, script, timeout=1.0, environ_vars={"PID_FILE": str(pid_file)})
    outcome = run(request)
    assert outcome.ending == "timed_out"
    assert outcome.exit_code == -signal.SIGTERM  # Python ends at once on SIGTERM
    assert 1.0 <= outcome.duration_s < 1.0 + GRACE + 5.0
    assert outcome.log_path.read_text().endswith(
        "[rtf: timed out; the step's processes were ended]\n"
    )
    grandchild = int(wait_for_file(pid_file, seconds=0.1))
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)


def test_cancel_from_another_thread_interrupts_and_ends_the_group(tmp_path: Path) -> None:
    script = write_script(tmp_path, "hangs.py", HANGS_WITH_GRANDCHILD)
    pid_file = tmp_path / "grandchild.pid"
    cancel = threading.Event()
    when: list[float] = []
    watcher = cancel_when(pid_file, cancel, when)
    outcome = run(make_request(tmp_path, script, environ_vars={"PID_FILE": str(pid_file)}), cancel)
    watcher.join(5)
    assert outcome.ending == "interrupted"
    assert outcome.exit_code == -signal.SIGTERM
    assert outcome.log_path.read_text() == "[rtf: interrupted; the step's processes were ended]\n"
    assert time.monotonic() - when[0] < GRACE + 5.0
    grandchild = int(pid_file.read_text())
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)


def test_a_script_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "stubborn.py",
        """
        import os
        import signal
        import time
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            Path(os.environ["READY"]).write_text("ready")
            time.sleep(60)
        """,
    )
    ready = tmp_path / "ready"
    cancel = threading.Event()
    when: list[float] = []
    cancel_when(ready, cancel, when)
    outcome = run(make_request(tmp_path, script, environ_vars={"READY": str(ready)}), cancel)
    ended_after = time.monotonic() - when[0]
    assert outcome.ending == "interrupted"
    assert outcome.exit_code == -signal.SIGKILL
    assert GRACE * 0.9 <= ended_after < GRACE + 5.0


def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = write_script(
        tmp_path, "never.py", f"def main(**kwargs):\n    open({str(marker)!r}, 'w').close()\n"
    )
    cancel = threading.Event()
    cancel.set()
    outcome = run(make_request(tmp_path, script), cancel)
    assert (outcome.ending, outcome.exit_code, outcome.error) == ("interrupted", None, None)
    assert not marker.exists()


def test_a_grandchild_left_running_after_success_is_killed(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "leaves_child.py",
        """
        import os
        import subprocess
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            child = subprocess.Popen(["sleep", "60"])  # shares our stdout pipe
            Path(os.environ["PID_FILE"]).write_text(str(child.pid))
        """,
    )
    pid_file = tmp_path / "grandchild.pid"
    outcome = run(make_request(tmp_path, script, environ_vars={"PID_FILE": str(pid_file)}))
    assert (outcome.ending, outcome.exit_code, outcome.error) == ("exited", 0, None)
    assert outcome.duration_s < 10  # neither the child nor its hold on the log kept us
    grandchild = int(pid_file.read_text())
    try:
        assert gone_within(grandchild)
    finally:
        kill_quietly(grandchild)


def test_a_process_escaping_the_group_does_not_hold_the_step(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "daemonizes.py",
        """
        import os
        import subprocess
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            child = subprocess.Popen(["sleep", "30"], start_new_session=True)
            Path(os.environ["PID_FILE"]).write_text(str(child.pid))
            print("started a daemon")
        """,
    )
    pid_file = tmp_path / "escaped.pid"
    executor = LocalExecutor()
    executor.drain_s = 0.3
    try:
        outcome = executor.run(
            make_request(tmp_path, script, environ_vars={"PID_FILE": str(pid_file)}),
            threading.Event(),
        )
        assert (outcome.ending, outcome.exit_code) == ("exited", 0)
        assert outcome.duration_s < 10
        assert "started a daemon" in outcome.log_path.read_text()
    finally:
        if pid_file.exists():
            kill_quietly(int(pid_file.read_text()))


# --- the log --------------------------------------------------------------------------------


def test_an_output_flood_is_capped_without_blocking(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "floods.py",
        """
        import sys


        def main(**kwargs):
            line = b"x" * 1023 + b"\\n"
            for _ in range(20 * 1024):
                sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
        """,
    )
    cap = 1024 * 1024
    outcome = run(make_request(tmp_path, script, max_log_bytes=cap))
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert outcome.log_bytes_dropped == 19 * 1024 * 1024
    log = outcome.log_path.read_bytes()
    assert len(log) == cap + len(TRUNCATION_NOTE)
    assert log.endswith(b"x\n" + TRUNCATION_NOTE)


def test_a_cap_inside_a_line_puts_the_note_on_its_own_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, "short.py", "def main(**kwargs):\n    print('abcdef')\n")
    outcome = run(make_request(tmp_path, script, max_log_bytes=3))
    assert outcome.log_bytes_dropped == len("def\n")
    assert outcome.log_path.read_bytes() == b"abc\n" + TRUNCATION_NOTE


def test_tail_log_copes_with_binary_garbage_and_progress_bars(tmp_path: Path) -> None:
    log = tmp_path / "garbage.log"
    log.write_bytes(
        bytes(range(256)) * 40
        + b"\n\xff\xfe broken \xc3( utf-8\n"
        + b"epoch 1\r 50%\r100%\n"
        + b"last line without newline"
    )
    lines = tail_log(log, lines=3)
    assert lines == ["\ufffd\ufffd broken \ufffd( utf-8", "100%", "last line without newline"]
    assert all(isinstance(line, str) for line in tail_log(log, lines=50))
    # A window smaller than the file drops a line it cuts, and keeps one it starts at.
    assert tail_log(log, lines=50, max_bytes=40) == ["last line without newline"]
    assert tail_log(log, lines=50, max_bytes=43) == ["100%", "last line without newline"]
    assert tail_log(log, lines=0) == []
    assert tail_log(tmp_path / "missing.log") == []


# --- not starting ---------------------------------------------------------------------------


def test_missing_python_is_launch_failed(tmp_path: Path) -> None:
    script = write_script(tmp_path, "fine.py", "def main(**kwargs):\n    pass\n")
    missing = str(tmp_path / "venv" / "bin" / "python")
    request = make_request(tmp_path, script, python=missing)
    outcome = run(request)
    assert outcome.ending == "launch_failed"
    assert outcome.exit_code is None
    assert outcome.error == StepError(
        "LaunchError", f"cannot start {missing}: No such file or directory", None
    )
    assert "cannot start" in request.log_path.read_text()


def test_python_that_is_not_executable_is_launch_failed(tmp_path: Path) -> None:
    script = write_script(tmp_path, "fine.py", "def main(**kwargs):\n    pass\n")
    fake = tmp_path / "python"
    fake.write_text("not a program")
    fake.chmod(0o644)
    outcome = run(make_request(tmp_path, script, python=str(fake)))
    assert outcome.ending == "launch_failed"
    assert outcome.error is not None
    assert outcome.error.message == f"cannot start {fake}: Permission denied"


def test_unusable_workdir_is_launch_failed(tmp_path: Path) -> None:
    script = write_script(tmp_path, "fine.py", "def main(**kwargs):\n    pass\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the working folder should go")
    outcome = run(make_request(tmp_path, script, workdir=blocker / "work"))
    assert outcome.ending == "launch_failed"
    assert outcome.error is not None
    assert outcome.error.message.startswith(f"cannot prepare the working folder {blocker}")


def test_read_result_ignores_corrupt_files(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    assert read_result(result) == (False, None)
    result.write_text("{truncated")
    assert read_result(result) == (False, None)
    result.write_text("[1, 2]")
    assert read_result(result) == (False, None)
    result.write_text(json.dumps({"status": "exception", "error": "not an object"}))
    assert read_result(result) == (True, None)
    result.write_text(json.dumps({"status": "exception", "error": {"type": 3, "message": "m"}}))
    assert read_result(result) == (True, StepError("Exception", "m", None, None))


def test_launcher_path_is_the_packaged_file() -> None:
    path = launcher_path()
    assert path.name == "_launcher.py" and path.is_file()
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2 and "usage" in proc.stderr


# --- several steps at once, as the runner does ---------------------------------------------


def test_steps_run_in_parallel_threads_keep_their_logs_apart(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "chatty.py",
        """
        import os
        import time


        def main(input_paths, output_paths, environ_vars, job_args):
            for _ in range(50):
                print("from", os.environ["WHO"])
                time.sleep(0.002)
        """,
    )
    executor = LocalExecutor()
    outcomes: dict[str, StepOutcome] = {}

    def one(who: str) -> None:
        request = make_request(
            tmp_path,
            script,
            step_name=who,
            environ_vars={"WHO": who},
            workdir=tmp_path / "work" / who,
            log_path=tmp_path / "logs" / f"{who}.log",
        )
        outcomes[who] = executor.run(request, threading.Event())

    threads = [threading.Thread(target=one, args=(f"step{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["step0", "step1", "step2", "step3"]
    for who, outcome in outcomes.items():
        assert (outcome.ending, outcome.exit_code) == ("exited", 0)
        assert outcome.log_path.read_text().splitlines() == [f"from {who}"] * 50


def test_relative_workdir_and_script_paths_are_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_script(tmp_path / "scripts", "rel.py", "def main(**kwargs):\n    print('ran')\n")
    outcome = run(
        make_request(
            tmp_path,
            Path("scripts/rel.py"),
            workdir=Path("work"),
            log_path=Path("rel.log"),
            source_dir=Path("scripts"),
        )
    )
    assert (outcome.ending, outcome.exit_code) == ("exited", 0)
    assert (tmp_path / "rel.log").read_text() == "ran\n"
    assert (tmp_path / "work" / RESULT_NAME).is_file()
