"""The run report: the JSON keys of SPEC 5 exactly, atomic saving, and the JUnit XML."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtf.render import make_console
from rtf.render.run import (
    LiveRunView,
    format_duration,
    human_size,
    render_plan,
    render_results_tree,
)
from rtf.report import (
    ErrorReport,
    OutputReport,
    RunReport,
    StepReport,
    build_run_report,
    plain_text,
    render_junit_xml,
    save_junit_xml,
    save_report_json,
)
from rtf.runner import RunOptions, plan_run
from rtf.spec import PipelineSpec, ScriptSpec, load_spec

CONTRACT_RUN_KEYS = ["run_id", "spec", "success", "duration_s", "steps", "summary"]
CONTRACT_STEP_KEYS = [
    "step_name",
    "status",
    "exit_code",
    "duration_s",
    "reason",
    "error",
    "outputs",
    "log",
    "warnings",
]
EXTRA_RUN_KEYS = ["pipeline", "started_at", "run_dir", "interrupted"]


def sample_report(tmp_path: Path) -> RunReport:
    logs = tmp_path / "logs"
    logs.mkdir()
    crash_log = logs / "crash.log"
    noisy = "".join(f"line {i}\n" for i in range(80))
    crash_log.write_text(
        noisy + "\x1b[31mred & <bold>\x1b[0m\x07bell\x00nul\nKeyError: 'SIGNATURE'\n",
        encoding="utf-8",
    )
    (logs / "ok.log").write_text("all good\n", encoding="utf-8")
    steps = [
        StepReport(
            step_name="ok",
            status="passed",
            exit_code=0,
            duration_s=0.4,
            outputs={"data": OutputReport(path="/o/data", files=3, bytes=5120)},
            log=str(logs / "ok.log"),
        ),
        StepReport(
            step_name="crash",
            status="failed",
            exit_code=1,
            duration_s=0.2,
            reason="KeyError: 'SIGNATURE' at prep.py:321",
            error=ErrorReport(type="KeyError", message="'SIGNATURE'", location="prep.py:321"),
            outputs={"out": OutputReport(path="/o/out", files=0, bytes=0)},
            log=str(crash_log),
            warnings=["modified_input: input 'DATA' was changed by the step"],
        ),
        StepReport(
            step_name="hang",
            status="timed_out",
            exit_code=-15,
            duration_s=2.0,
            reason="timed out after 2 s",
            log=str(logs / "missing.log"),
        ),
        StepReport(step_name="after", status="skipped", reason="upstream crash failed"),
        StepReport(step_name="cut", status="interrupted", exit_code=-15, reason="interrupted"),
    ]
    return build_run_report(
        run_id="20250101T000000.000Z-abcd",
        spec="/p/spec.yaml",
        steps=steps,
        duration_s=2.71828,
        pipeline="demo & co",
        started_at="2025-01-01T00:00:00+00:00",
        run_dir="/p/.rtf/runs/x",
    )


def test_json_has_exactly_the_contract_keys_in_order(tmp_path: Path) -> None:
    report = sample_report(tmp_path)
    path = save_report_json(report, tmp_path / "out" / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == CONTRACT_RUN_KEYS + EXTRA_RUN_KEYS
    for step in data["steps"]:
        assert list(step) == CONTRACT_STEP_KEYS
    assert data["steps"][1]["error"] == {
        "type": "KeyError",
        "message": "'SIGNATURE'",
        "location": "prep.py:321",
    }
    assert data["steps"][0]["outputs"] == {"data": {"path": "/o/data", "files": 3, "bytes": 5120}}
    assert data["summary"] == {
        "passed": 1,
        "failed": 1,
        "timed_out": 1,
        "skipped": 1,
        "interrupted": 1,
    }
    assert data["success"] is False
    assert data["duration_s"] == 2.718
    assert RunReport.model_validate(data) == report  # it reads back as it was written
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary left


def test_success_follows_from_the_steps() -> None:
    ok = StepReport(step_name="a", status="passed")
    assert build_run_report(run_id="r", spec="s", steps=[ok], duration_s=1).success
    assert not build_run_report(
        run_id="r", spec="s", steps=[ok], duration_s=1, interrupted=True
    ).success
    for status in ("failed", "timed_out", "interrupted"):
        bad = StepReport(step_name="b", status=status)  # type: ignore[arg-type]
        assert not build_run_report(run_id="r", spec="s", steps=[ok, bad], duration_s=1).success


def test_junit_xml_counts_kinds_and_log_tail(tmp_path: Path) -> None:
    report = sample_report(tmp_path)
    text = render_junit_xml(report)
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.tag == "testsuite"
    assert suite.attrib == {
        "name": "demo & co",
        "tests": "5",
        "failures": "2",
        "errors": "1",
        "skipped": "1",
        "time": "2.718",
        "timestamp": "2025-01-01T00:00:00+00:00",
    }
    assert root.attrib["tests"] == "5"
    cases = {case.attrib["name"]: case for case in suite}
    assert list(cases) == ["ok", "crash", "hang", "after", "cut"]
    assert [child.tag for child in cases["ok"]] == ["system-out"]
    assert cases["ok"].attrib["time"] == "0.400"

    failure = cases["crash"].find("failure")
    assert failure is not None
    assert failure.attrib == {
        "message": "KeyError: 'SIGNATURE' at prep.py:321",
        "type": "KeyError",
    }
    assert failure.text == "KeyError: 'SIGNATURE' at prep.py:321"
    out = cases["crash"].findtext("system-out") or ""
    lines = out.splitlines()
    assert lines[0] == "rtf warning: modified_input: input 'DATA' was changed by the step"
    assert len(lines) == 1 + 50  # the warning, then the last 50 lines of the log
    assert lines[1] == "line 32"  # 80 numbered lines and 2 more: the last 50 start at 32
    # terminal colours and control characters are gone, XML specials survive the round trip
    assert lines[-2] == "red & <bold>bellnul"
    assert lines[-1] == "KeyError: 'SIGNATURE'"

    timed_out = cases["hang"].find("failure")
    assert timed_out is not None and timed_out.attrib["message"] == "timed out after 2 s"
    assert cases["hang"].find("system-out") is None  # its log file is missing
    skipped = cases["after"].find("skipped")
    assert skipped is not None and skipped.attrib["message"] == "upstream crash failed"
    error = cases["cut"].find("error")
    assert error is not None and error.attrib["message"] == "interrupted"


def test_save_junit_xml_writes_a_parsable_file(tmp_path: Path) -> None:
    path = save_junit_xml(sample_report(tmp_path), tmp_path / "ci" / "junit.xml")
    assert ET.parse(path).getroot().attrib["failures"] == "2"
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_plain_text_keeps_text_and_drops_what_xml_cannot_hold() -> None:
    assert plain_text("tab\tnew\nline é ✓") == "tab\tnew\nline é ✓"
    assert plain_text("\x1b[1;32mok\x1b[0m\x1b]0;title\x07 \x0c\x1b") == "ok "
    assert plain_text("\ufffe\ud800x") == "x"


# --- drawing: the results tree, the plan, the live view ---------------------------------------


def draw(renderable: Any, width: int = 100) -> str:
    out = io.StringIO()
    make_console(file=out, width=width, color=False).print(renderable)
    return out.getvalue()


def test_results_tree_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths under the current folder are shown relative to it
    report = sample_report(tmp_path)
    spec = PipelineSpec(
        scripts={
            name: ScriptSpec(script_path="x.py")
            for name in ["ok", "crash", "hang", "after", "cut", "elsewhere"]
        }
    )
    expected = """\
demo & co: 1 passed, 1 failed, 1 timed out, 1 skipped, 1 interrupted in 2.72 s
├── ok  ✓ passed  0.40 s
│   └── data  3 files, 5.0 KiB
├── crash  ✗ failed  0.20 s
│   ├── KeyError: 'SIGNATURE'
│   ├── at prep.py:321
│   ├── out  0 files, 0 B
│   ├── ⚠ modified_input: input 'DATA' was changed by the step
│   └── log logs/crash.log
│       └── line 79
│           red & <bold>bellnul
│           KeyError: 'SIGNATURE'
├── hang  ✗ timed out  2.00 s
│   ├── timed out after 2 s
│   └── log logs/missing.log
├── after  ○ skipped: upstream crash failed
├── cut  ■ interrupted  0.00 s
│   └── interrupted
└── not selected: elsewhere
"""
    assert draw(render_results_tree(report, spec, log_lines=3)) == expected


def test_results_tree_of_a_clean_run_and_an_interrupted_one() -> None:
    ok = StepReport(step_name="only", status="passed", duration_s=75.2)
    clean = build_run_report(run_id="r", spec="/p/spec.yaml", steps=[ok], duration_s=75.2)
    assert draw(render_results_tree(clean)) == (
        "spec: 1 passed in 1 min 15 s\n└── only  ✓ passed  1 min 15 s\n"
    )
    stopped = build_run_report(
        run_id="r", spec="s", steps=[], duration_s=0.5, interrupted=True, pipeline="p"
    )
    assert draw(render_results_tree(stopped)) == "p: no steps in 0.50 s  (interrupted)\n"


def test_long_error_messages_are_cut_to_a_few_lines() -> None:
    message = "\n".join(f"detail {i}" for i in range(8))
    step = StepReport(
        step_name="s",
        status="failed",
        reason="ValueError: detail 0",
        error=ErrorReport(type="ValueError", message=message, location=None),
    )
    text = draw(
        render_results_tree(build_run_report(run_id="r", spec="s", steps=[step], duration_s=1))
    )
    assert "ValueError: detail 0" in text and "detail 4" in text
    assert "detail 5" not in text and "… 3 more lines" in text


def test_plan_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s").mkdir()
    for name in ("prep.py", "train.py", "other.py"):
        (tmp_path / "s" / name).write_text("def main(**kw):\n    pass\n")
    doc = {
        "version": 1,
        "pipeline": "demo",
        "scripts": {
            "Prep": {
                "script_path": "s/prep.py",
                "input_paths": {"DATA": "data/raw"},
                "output_paths": {"processed": "out/prep"},
                "timeout": 60,
            },
            "Train": {
                "script_path": "s/train.py",
                "mode": "cli",
                "input_paths": {"train": {"from": "Prep", "output": "processed"}},
                "output_paths": {"model": "out/model"},
            },
            "Other": {"script_path": "s/other.py", "output_paths": {"x": "out/x"}},
        },
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    plan = plan_run(load_spec(tmp_path / "spec.yaml"), RunOptions(only=["Prep", "Train"], jobs=2))
    expected = f"""\
dry run: demo: 2 steps would run, up to 2 at once
├── 1. Prep  main mode, timeout 60 s
│   ├── script s/prep.py
│   ├── in  DATA ← data/raw
│   └── out processed → out/prep
├── 2. Train  cli mode, no timeout
│   ├── script s/train.py
│   ├── after Prep
│   ├── in  train ← Prep.processed
│   └── out model → out/model
└── not run: Other (not in --only)
python: {sys.executable}; nothing was run
"""
    assert draw(render_plan(plan), width=200) == expected


def test_live_view_in_a_terminal_shows_each_step_then_clears(tmp_path: Path) -> None:
    from rich.console import Console

    from rtf.render import theme

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, theme=theme(), color_system=None)
    view = LiveRunView(console, refresh_per_second=50)
    assert view.live_mode
    plan = plan_run(make_two_step_spec(tmp_path), RunOptions(jobs=1))
    view.on_plan(plan)
    view.on_step_start("first")
    view.on_step_end(
        StepReport(step_name="first", status="failed", duration_s=1.5, reason="exit code 2")
    )
    view.on_step_end(
        StepReport(step_name="second", status="skipped", reason="upstream first failed")
    )
    frame = draw(view, width=80)
    assert [line.rstrip() for line in frame.splitlines()] == [
        "✗ failed   first   1.50 s  exit code 2",
        "○ skipped  second  upstream first failed",
    ]
    view.on_run_end(build_run_report(run_id="r", spec="s", steps=[], duration_s=1))
    view.close()  # twice is harmless
    assert "first" in out.getvalue()


def test_live_view_shows_running_steps_with_their_elapsed_time(tmp_path: Path) -> None:
    view = LiveRunView(make_console(file=io.StringIO(), color=False))
    run_dir = tmp_path / "run"
    plan = plan_run(make_two_step_spec(tmp_path), RunOptions(jobs=1))
    view.on_plan(dataclasses.replace(plan, run_dir=run_dir))
    view.on_step_start("first")
    lines = draw(view).splitlines()
    assert lines[0].split()[:3] == ["▶", "running", "first"]
    assert lines[0].rstrip().endswith(" s")  # no log yet: just the time
    assert lines[1].split() == ["·", "waiting", "second"]
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "first.log").write_text("epoch 1\n\x1b[1mepoch 2\x1b[0m loss=0.3\n")
    words = draw(view).splitlines()[0].split()
    assert words[:3] == ["▶", "running", "first"]
    assert words[-3:] == ["epoch", "2", "loss=0.3"]  # what the step is doing, as plain text


def test_live_view_without_a_terminal_prints_one_line_per_event(tmp_path: Path) -> None:
    out = io.StringIO()
    view = LiveRunView(make_console(file=out, width=100, color=False))
    assert not view.live_mode
    view.on_plan(plan_run(make_two_step_spec(tmp_path), RunOptions(jobs=3)))
    view.on_step_start("first")
    view.on_step_end(StepReport(step_name="first", status="passed", duration_s=0.25))
    view.on_step_start("second")
    view.on_step_end(
        StepReport(
            step_name="second", status="timed_out", duration_s=2, reason="timed out after 2 s"
        )
    )
    assert out.getvalue() == (
        "rtf: running demo: 2 steps, up to 3 at once\n"
        "▶ running     first\n"
        "✓ passed      first  0.25 s\n"
        "▶ running     second\n"
        "✗ timed out   second  2.00 s  timed out after 2 s\n"
    )


def make_two_step_spec(tmp_path: Path) -> PipelineSpec:
    (tmp_path / "a.py").write_text("def main(**kw):\n    pass\n")
    doc = {
        "version": 1,
        "pipeline": "demo",
        "scripts": {
            "first": {"script_path": "a.py", "output_paths": {"o": "out/1"}},
            "second": {
                "script_path": "a.py",
                "depends_on": ["first"],
                "output_paths": {"o": "out/2"},
            },
        },
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc))
    return load_spec(tmp_path / "spec.yaml")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (5 * 1024**2 + 1, "5.0 MiB"),
        (3 * 1024**5, "3072.0 TiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.412, "0.41 s"), (12.34, "12.3 s"), (125, "2 min 05 s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
