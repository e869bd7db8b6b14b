"""The runner with a fake executor: what runs, when, in what order, and what the report says.

The fake executor does not start processes: it writes a file into each output (or not),
holds for a while (or until cancelled), and ends the way a test asks, so these tests are
fast and exact about scheduling.
"""

from __future__ import annotations

import _thread
import json
import os
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtf.checks import MARKER_NAME, OutputFolderError
from rtf.errors import ExitCode, InputError, UsageError
from rtf.executor import StepError, StepOutcome, StepRequest
from rtf.runner import (
    NullObserver,
    RecordingObserver,
    RunOptions,
    exit_code_of,
    judge_outcome,
    new_run_id,
    plan_run,
    run_spec,
)
from rtf.spec import PipelineSpec, load_spec


@dataclass
class Behaviour:
    """How the fake executor ends one step."""

    ending: str = "exited"
    exit_code: int | None = 0
    error: StepError | None = None
    write_outputs: bool = True
    hold_s: float = 0.0
    until_cancelled: bool = False
    raises: BaseException | None = None
    interrupt_main: bool = False
    after_start_of: str | None = None
    touch_input: str | None = None
    log_bytes_dropped: int = 0


class FakeExecutor:
    """Records requests and concurrency; ends each step as its :class:`Behaviour` says."""

    def __init__(self, behaviours: dict[str, Behaviour] | None = None, hold_s: float = 0.0):
        self.behaviours = behaviours or {}
        self.hold_s = hold_s
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.requests: dict[str, StepRequest] = {}
        self.started: list[str] = []

    def run(self, request: StepRequest, cancel: threading.Event) -> StepOutcome:
        behaviour = self.behaviours.get(request.step_name, Behaviour(hold_s=self.hold_s))
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.requests[request.step_name] = request
            self.started.append(request.step_name)
        try:
            return self._run(request, cancel, behaviour)
        finally:
            with self.lock:
                self.active -= 1

    def _run(self, request: StepRequest, cancel: threading.Event, b: Behaviour) -> StepOutcome:
        request.log_path.parent.mkdir(parents=True, exist_ok=True)
        request.log_path.write_text(f"log of {request.step_name}\n", encoding="utf-8")
        if b.raises is not None:
            raise b.raises
        give_up = time.monotonic() + 5
        while b.after_start_of and b.after_start_of not in self.started:
            assert time.monotonic() < give_up, f"{b.after_start_of} never started"
            time.sleep(0.005)
        if b.interrupt_main:
            _thread.interrupt_main()
        if b.touch_input:
            Path(request.input_paths[b.touch_input], "added.csv").write_text("new")
        if b.until_cancelled or b.interrupt_main:
            cancel.wait(10)
        elif b.hold_s:
            cancel.wait(b.hold_s)
        if cancel.is_set():
            return StepOutcome("interrupted", -15, 0.01, None, request.log_path)
        if b.write_outputs:
            for path in request.output_paths.values():
                Path(path, "part-0.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        return StepOutcome(
            b.ending,  # type: ignore[arg-type]
            b.exit_code,
            0.01,
            b.error,
            request.log_path,
            log_bytes_dropped=b.log_bytes_dropped,
        )


def make_spec(
    tmp_path: Path, deps: dict[str, list[str]], **per_step: dict[str, Any]
) -> PipelineSpec:
    """A spec file in ``tmp_path``: one output ``out`` per step, one input per dependency.

    Steps without dependencies read ``data/<step>``; ``per_step`` overrides fields.
    """
    scripts: dict[str, Any] = {}
    (tmp_path / "scripts").mkdir(exist_ok=True)
    for index, (name, parents) in enumerate(deps.items()):
        stem = name if name.isidentifier() else f"step{index}"
        script = tmp_path / "scripts" / f"{stem}.py"
        script.write_text(
            "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"
        )
        inputs: dict[str, Any] = {f"in_{p}": {"from": p, "output": "out"} for p in parents}
        if not parents:
            data = tmp_path / "data" / stem
            data.mkdir(parents=True, exist_ok=True)
            (data / "rows.csv").write_text("x\n1\n")
            inputs["raw"] = f"data/{stem}"
        scripts[name] = {
            "script_path": f"scripts/{script.name}",
            "input_paths": inputs,
            "output_paths": {"out": f"outputs/{stem}/out"},
            **per_step.get(name, {}),
        }
    doc = {"version": 1, "pipeline": "demo", "workspace": "ws", "scripts": scripts}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def run(
    spec: PipelineSpec,
    executor: FakeExecutor,
    observer: RecordingObserver | None = None,
    **options: Any,
) -> Any:
    options.setdefault("jobs", 4)
    return run_spec(spec, RunOptions(**options), executor=executor, observer=observer)


def statuses(report: Any) -> dict[str, tuple[str, str | None]]:
    return {s.step_name: (s.status, s.reason) for s in report.steps}


# --- order and report -------------------------------------------------------------------------


def test_chain_runs_in_order_with_outputs_wired_and_report_written(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"C": ["B"], "B": ["A"], "A": []})
    executor = FakeExecutor()
    observer = RecordingObserver()
    report = run(spec, executor, observer, jobs=1, run_id="r1")

    assert observer.events == [
        ("plan", ["A", "B", "C"]),
        ("start", "A"),
        ("end", ("A", "passed")),
        ("start", "B"),
        ("end", ("B", "passed")),
        ("start", "C"),
        ("end", ("C", "passed")),
        ("run_end", True),
    ]
    assert report.success and exit_code_of(report) == ExitCode.OK
    assert [s.step_name for s in report.steps] == ["A", "B", "C"]
    run_dir = tmp_path / "ws" / "runs" / "r1"
    assert report.run_dir == str(run_dir)
    # B reads A's output folder; every step has its own working folder and log in the run.
    b = executor.requests["B"]
    assert b.input_paths == {"in_A": str(tmp_path / "outputs" / "A" / "out")}
    assert b.output_paths == {"out": str(tmp_path / "outputs" / "B" / "out")}
    assert b.workdir == run_dir / "work" / "B"
    assert b.log_path == run_dir / "logs" / "B.log"
    assert executor.requests["A"].input_paths == {"raw": str(tmp_path / "data" / "A")}
    saved = json.loads((run_dir / "report.json").read_text())
    assert saved["summary"] == {
        "passed": 3,
        "failed": 0,
        "timed_out": 0,
        "skipped": 0,
        "interrupted": 0,
    }
    assert saved["steps"][0]["outputs"]["out"] == {
        "path": str(tmp_path / "outputs" / "A" / "out"),
        "files": 1,
        "bytes": 8,
    }
    assert saved["steps"][0]["log"] == str(run_dir / "logs" / "A.log")
    # output folders carry the marker, which is not counted as an output file
    assert (tmp_path / "outputs" / "A" / "out" / MARKER_NAME).is_file()


def test_jobs_limits_how_many_steps_run_at_once(tmp_path: Path) -> None:
    deps: dict[str, list[str]] = {f"S{i}": [] for i in range(5)}
    spec = make_spec(tmp_path, deps)
    two = FakeExecutor(hold_s=0.05)
    assert run(spec, two, jobs=2).success
    assert two.max_active == 2
    everything = FakeExecutor(hold_s=0.3)
    started = time.monotonic()
    assert run(spec, everything, jobs=5).success
    assert everything.max_active == 5
    assert time.monotonic() - started < 1.2  # five 0.3 s steps side by side, not one by one


def test_default_jobs_is_the_cpu_count(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []})
    assert plan_run(spec, RunOptions()).jobs == (os.cpu_count() or 1)


def test_a_step_starts_as_soon_as_its_own_dependencies_passed(tmp_path: Path) -> None:
    # slow -> after_slow, fast -> after_fast: after_fast must not wait for slow.
    spec = make_spec(
        tmp_path, {"slow": [], "fast": [], "after_slow": ["slow"], "after_fast": ["fast"]}
    )
    executor = FakeExecutor({"slow": Behaviour(hold_s=0.4)})
    report = run(spec, executor, jobs=3)
    assert report.success
    assert executor.started.index("after_fast") < executor.started.index("after_slow")


# --- skip policy and fail-fast ----------------------------------------------------------------


def test_failed_step_skips_its_dependents_transitively_and_other_branches_go_on(
    tmp_path: Path,
) -> None:
    spec = make_spec(
        tmp_path,
        {"A": [], "B": ["A"], "C": ["A"], "D": ["B", "C"], "E": ["D"], "F": []},
    )
    executor = FakeExecutor({"B": Behaviour(exit_code=2, write_outputs=False)})
    observer = RecordingObserver()
    report = run(spec, executor, observer, jobs=1)
    assert statuses(report) == {
        "A": ("passed", None),
        "B": ("failed", "exit code 2"),
        "C": ("passed", None),
        "D": ("skipped", "upstream B failed"),
        "E": ("skipped", "upstream B failed"),
        "F": ("passed", None),
    }
    assert sorted(executor.started) == ["A", "B", "C", "F"]
    assert report.summary.model_dump() == {
        "passed": 3,
        "failed": 1,
        "timed_out": 0,
        "skipped": 2,
        "interrupted": 0,
    }
    assert not report.success and exit_code_of(report) == ExitCode.STEP_FAILED
    # skips are told to the observer as they happen, before the unrelated F runs
    ends = observer.kinds("end")
    assert ends.index(("E", "skipped")) < ends.index(("F", "passed"))
    skipped = next(s for s in report.steps if s.step_name == "D")
    assert skipped.exit_code is None and skipped.log is None and skipped.outputs == {}


def test_timed_out_step_names_its_timeout_and_skips_dependents(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"]}, A={"timeout": 2.5})
    executor = FakeExecutor({"A": Behaviour(ending="timed_out", exit_code=-15)})
    report = run(spec, executor, timeout=60)
    assert executor.requests["A"].timeout == 2.5  # the step's own timeout wins
    assert statuses(report) == {
        "A": ("timed_out", "timed out after 2.5 s"),
        "B": ("skipped", "upstream A timed out"),
    }
    assert exit_code_of(report) == ExitCode.STEP_FAILED


def test_run_timeout_applies_to_steps_without_their_own_and_zero_means_none(
    tmp_path: Path,
) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": [], "C": []}, B={"timeout": 0}, C={"timeout": 9})
    plan = plan_run(spec, RunOptions(timeout=30))
    assert [s.timeout for s in plan.steps] == [30, None, 9]
    assert [s.timeout for s in plan_run(spec, RunOptions()).steps] == [None, None, 9]


def test_fail_fast_interrupts_running_steps_and_skips_the_rest(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"long": [], "bad": [], "later": [], "after": ["long"]})
    executor = FakeExecutor(
        {
            "long": Behaviour(until_cancelled=True),
            "bad": Behaviour(hold_s=0.05, exit_code=1, write_outputs=False),
        }
    )
    report = run(spec, executor, jobs=2, fail_fast=True)
    assert statuses(report) == {
        "long": ("interrupted", "fail-fast: bad failed"),
        "bad": ("failed", "exit code 1"),
        "later": ("skipped", "fail-fast: bad failed"),
        "after": ("skipped", "fail-fast: bad failed"),
    }
    assert "later" not in executor.started
    assert not report.interrupted  # not a Ctrl-C: the run failed
    assert exit_code_of(report) == ExitCode.STEP_FAILED


def test_without_fail_fast_independent_steps_still_run(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"bad": [], "later": []})
    executor = FakeExecutor({"bad": Behaviour(exit_code=1, write_outputs=False)})
    report = run(spec, executor, jobs=1)
    assert statuses(report)["later"] == ("passed", None)


# --- Ctrl-C -----------------------------------------------------------------------------------


def test_ctrl_c_interrupts_running_steps_skips_the_rest_and_writes_the_report(
    tmp_path: Path,
) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": [], "C": ["A"], "D": []})
    executor = FakeExecutor(
        {"A": Behaviour(interrupt_main=True, after_start_of="B"), "B": Behaviour(hold_s=5)}
    )
    observer = RecordingObserver()
    started = time.monotonic()
    report = run(spec, executor, observer, jobs=2, run_id="ctrl-c")
    assert time.monotonic() - started < 3  # B's hold was cut short by the cancel
    assert report.interrupted and not report.success
    assert exit_code_of(report) == ExitCode.INTERRUPTED
    assert statuses(report) == {
        "A": ("interrupted", "interrupted"),
        "B": ("interrupted", "interrupted"),
        "C": ("skipped", "interrupted"),
        "D": ("skipped", "interrupted"),
    }
    saved = json.loads((tmp_path / "ws" / "runs" / "ctrl-c" / "report.json").read_text())
    assert saved["interrupted"] is True
    assert saved["summary"]["interrupted"] == 2 and saved["summary"]["skipped"] == 2
    assert observer.events[-1] == ("run_end", False)


# --- failures reported by the outcome -----------------------------------------------------------


def outcome(ending: str = "exited", code: int | None = 0, error: StepError | None = None) -> Any:
    return StepOutcome(ending, code, 0.1, error, Path("x.log"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("result", "empty", "expected"),
    [
        (outcome(), [], ("passed", None)),
        (outcome(code=3), [], ("failed", "exit code 3")),
        (outcome(code=-9), [], ("failed", "killed by signal SIGKILL")),
        (outcome(code=-200), [], ("failed", "killed by signal 200")),
        (
            outcome(code=1, error=StepError("KeyError", "'SIGNATURE'", "prep.py:321")),
            [],
            ("failed", "KeyError: 'SIGNATURE' at prep.py:321"),
        ),
        (
            outcome(code=1, error=StepError("ValueError", "first\nsecond", None)),
            [],
            ("failed", "ValueError: first"),
        ),
        (outcome(code=1, error=StepError("Boom", "", "x.py:2")), [], ("failed", "Boom at x.py:2")),
        (outcome(), ["out"], ("failed", "output 'out' is empty")),
        (outcome(), ["a", "b", "c"], ("failed", "outputs 'a', 'b' and 'c' are empty")),
        (outcome("timed_out", -15), [], ("timed_out", "timed out after 7 s")),
        (outcome("interrupted", -15), ["out"], ("interrupted", "interrupted")),
        (
            outcome("launch_failed", None, StepError("LaunchError", "cannot start py", None)),
            [],
            ("failed", "could not start: cannot start py"),
        ),
    ],
)
def test_judge_outcome(result: Any, empty: list[str], expected: tuple[str, str | None]) -> None:
    assert judge_outcome(result, empty, 7.0) == expected


def test_exception_error_and_empty_output_in_the_report(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"crash": [], "lazy": []})
    error = StepError("KeyError", "'SIGNATURE'", "prep.py:321", "Traceback ...")
    executor = FakeExecutor(
        {
            "crash": Behaviour(exit_code=1, error=error, write_outputs=False),
            "lazy": Behaviour(write_outputs=False),
        }
    )
    report = run(spec, executor)
    crash, lazy = report.steps
    assert crash.reason == "KeyError: 'SIGNATURE' at prep.py:321"
    assert crash.error is not None
    assert crash.error.model_dump() == {
        "type": "KeyError",
        "message": "'SIGNATURE'",
        "location": "prep.py:321",
    }
    assert crash.exit_code == 1
    assert lazy.status == "failed" and lazy.reason == "output 'out' is empty"
    assert lazy.outputs["out"].files == 0 and lazy.error is None


def test_an_executor_that_raises_fails_only_that_step(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": []})
    executor = FakeExecutor({"A": Behaviour(raises=RuntimeError("disk on fire"))})
    report = run(spec, executor, jobs=1)
    assert statuses(report) == {
        "A": ("failed", "rtf could not run the step: RuntimeError: disk on fire"),
        "B": ("passed", None),
    }


def test_changed_input_is_a_warning_naming_the_input(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []})
    report = run(spec, FakeExecutor({"A": Behaviour(touch_input="raw")}))
    (step,) = report.steps
    assert step.status == "passed"
    assert step.warnings == [
        "modified_input: input 'raw' was changed by the step (files added, removed or "
        f"rewritten under {tmp_path / 'data' / 'A'})"
    ]


def test_missing_literal_input_is_a_warning_and_the_step_still_runs(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []}, A={"input_paths": {"raw": "data/nowhere"}})
    report = run(spec, FakeExecutor())
    assert report.steps[0].warnings == [
        f"missing_input: input 'raw' does not exist: {tmp_path / 'data' / 'nowhere'}"
    ]


def test_a_truncated_log_is_a_warning(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []})
    report = run(spec, FakeExecutor({"A": Behaviour(log_bytes_dropped=4096)}))
    assert report.steps[0].status == "passed"
    assert report.steps[0].warnings == [
        "log_truncated: 4096 bytes of output were not kept in the log"
    ]


# --- cli mode ---------------------------------------------------------------------------------


def test_cli_mode_passes_the_flags_the_script_declares(tmp_path: Path) -> None:
    spec = make_spec(
        tmp_path,
        {"A": []},
        A={"mode": "cli", "job_args": {"job_type": "training", "fast": True, "stray": 1}},
    )
    Path(tmp_path, "scripts", "A.py").write_text(
        textwrap.dedent(
            """
            import argparse
            parser = argparse.ArgumentParser()
            parser.add_argument("--job-type", dest="job_type", required=True)
            parser.add_argument("--fast", action="store_true")
            args = parser.parse_args()
            """
        )
    )
    executor = FakeExecutor()
    report = run(spec, executor)
    request = executor.requests["A"]
    assert request.mode == "cli"
    assert request.cli_flags is not None
    assert request.cli_flags["job_type"] == "--job-type"
    assert request.cli_flags["job-type"] == "--job-type"
    assert request.cli_flags["fast"] == "--fast"
    assert request.switch_flags == frozenset({"fast"})
    assert report.steps[0].warnings == [
        "job_arg_not_passed: job arg 'stray' matches no option the script's argparse declares"
    ]


def test_cli_mode_without_declared_flags_passes_every_job_arg(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []}, A={"mode": "cli", "job_args": {"n": 1}})
    executor = FakeExecutor()
    report = run(spec, executor)
    assert executor.requests["A"].cli_flags is None
    assert report.steps[0].warnings == []


# --- --only, --from, dry run ------------------------------------------------------------------


def test_only_runs_just_the_named_step_once_its_upstream_outputs_exist(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"], "C": ["B"]})
    with pytest.raises(InputError) as caught:
        run(spec, FakeExecutor(), only=["B"])
    assert "B.in_A needs A.out" in str(caught.value)
    assert str(tmp_path / "outputs" / "A" / "out") in str(caught.value)
    assert not (tmp_path / "ws" / "runs").exists()

    upstream = tmp_path / "outputs" / "A" / "out"
    upstream.mkdir(parents=True)
    (upstream / "part.csv").write_text("1\n")
    executor = FakeExecutor()
    report = run(spec, executor, only=["B"])
    assert executor.started == ["B"]
    assert [s.step_name for s in report.steps] == ["B"]
    assert (upstream / "part.csv").read_text() == "1\n"  # an upstream output is left alone
    plan = plan_run(spec, RunOptions(only=["B"]))
    assert plan.excluded == {"A": "not in --only", "C": "not in --only"}


def test_only_with_the_upstream_included_needs_nothing_on_disk(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"], "C": ["B"]})
    executor = FakeExecutor()
    report = run(spec, executor, only=["B", "A"], jobs=1)
    assert executor.started == ["A", "B"]
    assert report.success


def test_from_on_a_diamond_runs_each_downstream_step_once(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"], "C": ["A"], "D": ["B", "C"]})
    executor = FakeExecutor()
    report = run(spec, executor, from_step="A", jobs=1)
    assert executor.started == ["A", "B", "C", "D"]
    assert report.success


def test_from_runs_the_step_and_everything_downstream(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"], "C": ["B"], "D": ["A"], "E": []})
    upstream = tmp_path / "outputs" / "A" / "out"
    upstream.mkdir(parents=True)
    (upstream / "part.csv").write_text("1\n")
    executor = FakeExecutor()
    report = run(spec, executor, from_step="B", jobs=1)
    assert executor.started == ["B", "C"]
    assert report.success
    assert plan_run(spec, RunOptions(from_step="B")).excluded == {
        "A": "not downstream of --from B",
        "D": "not downstream of --from B",
        "E": "not downstream of --from B",
    }


@pytest.mark.parametrize("option", ["only", "from_step"])
def test_unknown_step_names_the_closest(tmp_path: Path, option: str) -> None:
    spec = make_spec(tmp_path, {"Training": [], "Packaging": ["Training"]})
    value: Any = ["Trainin"] if option == "only" else "Trainin"
    with pytest.raises(InputError) as caught:
        plan_run(spec, RunOptions(**{option: value}))
    flag = "--only" if option == "only" else "--from"
    assert str(caught.value) == f"{tmp_path / 'spec.yaml'}: {flag}: no step named 'Trainin'"
    assert caught.value.hint == "did you mean 'Training'?"
    assert caught.value.exit_code == ExitCode.INVALID_INPUT


def test_only_and_from_together_is_a_usage_error(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"]})
    with pytest.raises(UsageError, match="--only or --from"):
        plan_run(spec, RunOptions(only=["A"], from_step="A"))


def test_dry_run_plans_but_runs_and_writes_nothing(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": ["A"]})
    executor = FakeExecutor()
    observer = RecordingObserver()
    report = run(spec, executor, observer, dry_run=True)
    assert executor.started == []
    assert observer.plan is not None and observer.plan.names == ["A", "B"]
    assert statuses(report) == {"A": ("skipped", "dry run"), "B": ("skipped", "dry run")}
    assert not (tmp_path / "ws").exists()
    assert not (tmp_path / "outputs").exists()


# --- checks before anything starts --------------------------------------------------------------


def test_unmarked_non_empty_output_folder_stops_the_run_before_anything_starts(
    tmp_path: Path,
) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": []})
    foreign = tmp_path / "outputs" / "B" / "out"
    foreign.mkdir(parents=True)
    (foreign / "precious.csv").write_text("keep me")
    executor = FakeExecutor()
    with pytest.raises(OutputFolderError) as caught:
        run(spec, executor)
    assert str(foreign) in str(caught.value)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert executor.started == []
    assert not (tmp_path / "outputs" / "A").exists()  # nothing prepared either
    assert not (tmp_path / "ws").exists()
    with pytest.raises(OutputFolderError):  # the dry run finds it too
        plan_run(spec, RunOptions(dry_run=True))


def test_an_output_inside_any_input_path_of_the_spec_is_refused(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": [], "B": []}, B={"output_paths": {"out": "data/A/mine"}})
    with pytest.raises(InputError, match=r"is inside input 'A\.raw'"):
        plan_run(spec, RunOptions())


def test_an_output_wired_downstream_by_its_path_is_not_an_input_to_protect(
    tmp_path: Path,
) -> None:
    spec = make_spec(
        tmp_path,
        {"A": [], "B": []},
        B={"depends_on": ["A"], "input_paths": {"from_a": "outputs/A/out"}},
    )
    executor = FakeExecutor()
    report = run(spec, executor, jobs=1)
    assert report.success
    assert executor.requests["B"].input_paths == {"from_a": str(tmp_path / "outputs/A/out")}
    # but a step may still not write into what it reads itself
    spec.scripts["B"].input_paths["own"] = "outputs/B/out/sub"
    with pytest.raises(InputError, match="contains input 'own'"):
        plan_run(spec, RunOptions())


def test_missing_interpreter_is_an_input_error(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"A": []})
    spec.python = "venv/bin/python"
    with pytest.raises(InputError, match="python: interpreter not found"):
        plan_run(spec, RunOptions())
    spec.python = "no-such-python-rtf"
    with pytest.raises(InputError, match="not found on PATH"):
        plan_run(spec, RunOptions())
    spec.python = "python3"
    assert plan_run(spec, RunOptions()).python.endswith("python3")
    spec.python = sys.executable
    assert plan_run(spec, RunOptions()).python == sys.executable


@pytest.mark.parametrize(
    ("options", "message"),
    [({"jobs": 0}, "--jobs must be 1 or more"), ({"timeout": -1}, "--timeout must be 0")],
)
def test_bad_option_values_are_usage_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    spec = make_spec(tmp_path, {"A": []})
    with pytest.raises(UsageError, match=message):
        plan_run(spec, RunOptions(**options))


def test_run_ids_sort_by_time_and_a_used_id_is_refused(tmp_path: Path) -> None:
    first = new_run_id()
    time.sleep(0.002)
    assert new_run_id() > first
    spec = make_spec(tmp_path, {"A": []})
    run(spec, FakeExecutor(), run_id="same")
    with pytest.raises(InputError, match="exists already"):
        run(spec, FakeExecutor(), run_id="same")


def test_step_names_are_made_safe_for_file_names(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, {"a/../b": [], "..": []})
    executor = FakeExecutor()
    report = run_spec(spec, RunOptions(run_id="r"), executor=executor, observer=NullObserver())
    run_dir = tmp_path / "ws" / "runs" / "r"
    assert executor.requests["a/../b"].log_path == run_dir / "logs" / "a_.._b.log"
    assert executor.requests[".."].workdir == run_dir / "work" / "step_.."
    assert report.success
