"""``python -m rtf wizard`` as a person meets it: in a real pseudo-terminal (pexpect), and with
no terminal at all. The bundled sample is copied to tmp_path and the wizard runs there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
ARGS = [
    "-m",
    "rtf",
    "wizard",
    "sample_dags/xgboost_e2e.yaml",
    "sample_configs/xgboost_e2e/config.json",
]
TIMEOUT = 60  # generous: the machine may be busy

# (text that shows the question, what to type) for pressing Enter everywhere, in order
QUESTIONS: list[tuple[str, str | None]] = [
    ("DATA: where is the test data", "\r"),
    ("processed_data: which folder", "\r"),
    ("Keep these env vars and job args?", "\r"),
    ("DATA: where is the test data", "\r"),
    ("processed_data: which folder", "\r"),
    ("Keep these env vars and job args?", "\r"),
    ("inference_scripts_input: where is the test data", "\r"),
    ("packaged_model: which folder", "\r"),
    ("Keep these env vars and job args?", "\r"),
    ("Save this spec to rtf-spec.yaml?", "\r"),
    ("Run the 7 scripts now?", "\r"),
]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "sample_dags", tmp_path / "sample_dags")
    shutil.copytree(
        REPO / "sample_configs",
        tmp_path / "sample_configs",
        ignore=shutil.ignore_patterns("spec.yaml", ".rtf", "__pycache__"),
    )
    return tmp_path


def environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TERM="xterm",
        NO_COLOR="1",
        COLUMNS="120",
        LINES="40",
        PROMPT_TOOLKIT_NO_CPR="1",  # nobody answers cursor-position requests in a pty
        PYTHONPATH=str(REPO / "src"),
        RTF_CACHE_DIR=str(tmp_path / ".cache"),
    )
    return env


def spawn(root: Path, *extra: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        [*ARGS, *extra],
        cwd=str(root),
        env=environment(root),
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    return child


def answer(child: pexpect.spawn, questions: list[tuple[str, str | None]]) -> int:
    """Wait for each question and press its key; return how many were answered."""
    asked = 0
    for text, key in questions:
        child.expect_exact(text)
        if key is not None:
            child.send(key)
            asked += 1
    return asked


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return int(child.exitstatus)


def test_enter_everywhere_saves_the_spec_and_runs_it_green(sample: Path) -> None:
    child = spawn(sample)
    # first, a path that does not exist: refused as typed, with the reason, and asked again
    child.expect_exact(QUESTIONS[0][0])
    child.send("\x15nope\r")  # Ctrl-U clears the prefilled default
    child.expect_exact("no such file or folder: nope")
    child.send("\x15sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA\r")
    answer(child, QUESTIONS[1:])
    child.expect_exact("7 passed")
    assert finish(child) == 0
    spec = (sample / "rtf-spec.yaml").read_text()
    assert "TabularPreprocessing_training:" in spec
    assert not (sample / "rtf-spec.yaml.partial.yaml").exists()
    reports = list((sample / ".rtf" / "runs").glob("*/report.json"))
    assert len(reports) == 1
    assert '"success": true' in reports[0].read_text()


def interrupt_half_way(sample: Path) -> None:
    child = spawn(sample)
    answer(child, QUESTIONS[:3])  # the first script is answered
    child.expect_exact("DATA: where is the test data")  # the second one asks
    child.send("\x03")
    child.expect_exact("rtf: cancelled")
    assert finish(child) == 130


def test_ctrl_c_half_way_exits_130_and_keeps_the_answers(sample: Path) -> None:
    interrupt_half_way(sample)
    partial = sample / "rtf-spec.yaml.partial.yaml"
    assert "TabularPreprocessing_training:" in partial.read_text()
    assert "TabularPreprocessing_calibration" not in partial.read_text()
    assert not (sample / "rtf-spec.yaml").exists()


def test_resume_asks_only_what_is_left_and_finishes(sample: Path) -> None:
    interrupt_half_way(sample)
    child = spawn(sample, "--resume")
    child.expect_exact("answered in the earlier session")
    asked = answer(child, QUESTIONS[3:])
    child.expect_exact("7 passed")
    assert finish(child) == 0
    assert asked == len(QUESTIONS) - 3
    assert (sample / "rtf-spec.yaml").exists()
    assert not (sample / "rtf-spec.yaml.partial.yaml").exists()


def test_no_terminal_is_exit_4_with_a_hint(sample: Path) -> None:
    done = subprocess.run(
        [sys.executable, *ARGS],
        cwd=sample,
        env=environment(sample),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 4
    assert done.stderr.strip().endswith("(hint: pass --defaults or --answers FILE)")
    assert "Traceback" not in done.stderr
    assert not (sample / "rtf-spec.yaml").exists()


def test_defaults_with_no_terminal_saves_and_runs_green(sample: Path) -> None:
    done = subprocess.run(
        [sys.executable, *ARGS, "--defaults"],
        cwd=sample,
        env=environment(sample),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert "xgboost_complete_e2e: 7 passed" in done.stdout
    assert "scripts:" in (sample / "rtf-spec.yaml").read_text()
