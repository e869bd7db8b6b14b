"""Running a spec (SPEC 5): which steps run, when, and how each one ended.

The runner decides *what* runs and *when*; an :class:`~rtf.executor.Executor` decides *how* one
script runs. Progress goes to a :class:`RunObserver`; nothing here prints.

- :func:`plan_run` picks the steps (``--only``, ``--from``), resolves every path, and makes
  every check that can be made before a script starts: unknown step names, outputs touching
  inputs, output folders rtf may not empty, upstream outputs a partial run needs but that are
  not on disk, a missing interpreter. It changes nothing on disk.
- :func:`run_spec` prepares the output folders and the run folder, then runs the plan with up
  to ``jobs`` steps at once. A step starts as soon as every dependency passed and a worker is
  free. A failed or timed-out step's dependents (transitively) are skipped with
  ``upstream X failed``; other branches go on, unless ``fail_fast``: then the running steps
  are interrupted and nothing new starts.

Ctrl-C (``KeyboardInterrupt`` in the main thread, which only ever waits with a timeout) sets
the cancel event: every running step's process group is ended and the step is
``interrupted``, steps not started are skipped (``interrupted``), the partial report is
written, and :func:`run_spec` **returns** the report with ``interrupted=True`` (it does not
raise); the command maps that to exit code 130. SIGTERM and SIGHUP are handled the same way
while a run is in progress, so no script outlives rtf.

Observer methods are always called from the thread that called :func:`run_spec`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rtf.errors import InputError, UsageError

if TYPE_CHECKING:
    from rtf.executor import Executor, StepOutcome
    from rtf.report import RunReport, StepReport, StepStatus
    from rtf.spec import PipelineSpec

WAKE_S = 0.1
"""How often the main thread wakes up while waiting, so Ctrl-C is handled at once."""
REASON_MAX = 200


# --- options and plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    """What the user asked of one run."""

    only: list[str] | None = None
    from_step: str | None = None
    jobs: int | None = None
    """Steps at once; ``None`` = the CPU count."""
    timeout: float | None = None
    """Seconds, for steps without a timeout of their own; ``None`` or 0 = no limit."""
    fail_fast: bool = False
    dry_run: bool = False
    grace_s: float = 5.0
    """Seconds between SIGTERM and SIGKILL when a step is stopped."""
    run_id: str | None = None


@dataclass(frozen=True)
class PlannedInput:
    """One input of a planned step: a path, fed by an upstream output or given as is."""

    path: Path
    from_step: str | None = None
    from_output: str | None = None


@dataclass(frozen=True)
class PlannedStep:
    """One step that will run, with every path resolved."""

    name: str
    script_path: Path
    mode: Literal["main", "cli"]
    dependencies: tuple[str, ...]
    inputs: Mapping[str, PlannedInput]
    outputs: Mapping[str, Path]
    environ_vars: Mapping[str, str]
    job_args: Mapping[str, Any]
    timeout: float | None
    source_dir: Path | None = None


@dataclass(frozen=True)
class RunPlan:
    """Which steps run, in which order, and which are left out (and why)."""

    pipeline: str
    spec_path: Path
    workspace: Path
    python: str
    jobs: int
    steps: tuple[PlannedStep, ...]
    excluded: Mapping[str, str] = field(default_factory=dict)
    """Steps of the spec that will not run -> why (``not in --only``, ...)."""
    fail_fast: bool = False
    grace_s: float = 5.0
    run_dir: Path | None = None
    """The run's folder, once the run has one (not in a dry run)."""

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def step(self, name: str) -> PlannedStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


# --- observers --------------------------------------------------------------------------------


class RunObserver(Protocol):
    """Told about a run's progress; every call comes from the thread running the spec."""

    def on_plan(self, plan: RunPlan) -> None: ...

    def on_step_start(self, step: str) -> None: ...

    def on_step_end(self, step_report: StepReport) -> None: ...

    def on_run_end(self, report: RunReport) -> None: ...


class NullObserver:
    """Ignores everything."""

    def on_plan(self, plan: RunPlan) -> None:
        pass

    def on_step_start(self, step: str) -> None:
        pass

    def on_step_end(self, step_report: StepReport) -> None:
        pass

    def on_run_end(self, report: RunReport) -> None:
        pass


class RecordingObserver:
    """Keeps every event as ``(kind, value)``, for tests."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.plan: RunPlan | None = None
        self.report: RunReport | None = None

    def on_plan(self, plan: RunPlan) -> None:
        self.plan = plan
        self.events.append(("plan", plan.names))

    def on_step_start(self, step: str) -> None:
        self.events.append(("start", step))

    def on_step_end(self, step_report: StepReport) -> None:
        self.events.append(("end", (step_report.step_name, step_report.status)))

    def on_run_end(self, report: RunReport) -> None:
        self.report = report
        self.events.append(("run_end", report.success))

    def kinds(self, kind: str) -> list[Any]:
        return [value for k, value in self.events if k == kind]


# --- planning ---------------------------------------------------------------------------------


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the millisecond, then a short random part."""
    now = datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"


def _spec_file(spec: PipelineSpec) -> Path:
    return spec.path.resolve() if spec.path is not None else Path("<spec>")


def _unknown_step(spec: PipelineSpec, name: str, option: str) -> InputError:
    from rtf.dag import closest

    near = closest(name, spec.scripts)
    hint = f"did you mean {near!r}?" if near else "steps: " + ", ".join(spec.scripts)
    return InputError.at(_spec_file(spec), None, f"{option}: no step named {name!r}", hint=hint)


def _descendants(spec: PipelineSpec, roots: Sequence[str]) -> set[str]:
    children: dict[str, list[str]] = {name: [] for name in spec.scripts}
    for name in spec.scripts:
        for dep in spec.dependencies(name):
            children[dep].append(name)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(children[current])
    return seen


def _select(spec: PipelineSpec, options: RunOptions) -> tuple[list[str], dict[str, str]]:
    order = spec.order()
    only = list(dict.fromkeys(options.only or []))
    if only and options.from_step:
        raise UsageError("use --only or --from, not both")
    for name in only:
        if name not in spec.scripts:
            raise _unknown_step(spec, name, "--only")
    if options.from_step is not None and options.from_step not in spec.scripts:
        raise _unknown_step(spec, options.from_step, "--from")
    if only:
        chosen = set(only)
        why = "not in --only"
    elif options.from_step is not None:
        chosen = _descendants(spec, [options.from_step])
        why = f"not downstream of --from {options.from_step}"
    else:
        return order, {}
    return [s for s in order if s in chosen], {s: why for s in order if s not in chosen}


def _python(spec: PipelineSpec) -> str:
    """The interpreter the scripts run with; a missing one is an input error."""
    if spec.python is None:
        return sys.executable
    where = _spec_file(spec)
    if "/" in spec.python or os.sep in spec.python:
        path = spec.resolve(spec.python)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InputError.at(where, "python", f"interpreter not found: {path}")
        return str(path)
    found = shutil.which(spec.python)
    if found is None:
        raise InputError.at(where, "python", f"interpreter {spec.python!r} not found on PATH")
    return found


def _effective_timeout(own: float | None, default: float | None) -> float | None:
    value = own if own is not None else default
    return value if value else None  # 0 means no limit


def plan_run(spec: PipelineSpec, options: RunOptions) -> RunPlan:
    """Decide what runs and check everything that can be checked first; change nothing."""
    from rtf.checks import check_output_dirs, check_output_safety, measure_output
    from rtf.spec import InputRef, validate_spec

    validate_spec(spec, check_files=True)
    if options.jobs is not None and options.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {options.jobs}")
    if options.timeout is not None and options.timeout < 0:
        raise UsageError(f"--timeout must be 0 or more seconds, not {options.timeout:g}")
    where = _spec_file(spec)
    selected, excluded = _select(spec, options)
    python = _python(spec)
    chosen = set(selected)

    outputs_of = {
        name: {out: spec.resolve(value).absolute() for out, value in script.output_paths.items()}
        for name, script in spec.scripts.items()
    }
    # Every path given as an input is protected, except one inside an output folder: that
    # is a step's output wired by its path instead of by a reference.
    all_outputs = [path.resolve() for outs in outputs_of.values() for path in outs.values()]
    literal_inputs: dict[str, Path] = {}
    for name, script in spec.scripts.items():
        for inp, value in script.input_paths.items():
            if isinstance(value, InputRef):
                continue
            path = spec.resolve(value).absolute()
            if not any(path.resolve().is_relative_to(out) for out in all_outputs):
                literal_inputs[f"{name}.{inp}"] = path

    steps: list[PlannedStep] = []
    not_on_disk: list[str] = []
    for name in selected:
        script = spec.scripts[name]
        inputs: dict[str, PlannedInput] = {}
        for inp, value in script.input_paths.items():
            if isinstance(value, InputRef):
                path = outputs_of[value.from_][value.output]
                inputs[inp] = PlannedInput(path, value.from_, value.output)
                if value.from_ not in chosen and not measure_output(path).nonempty:
                    not_on_disk.append(f"{name}.{inp} needs {value.from_}.{value.output} ({path})")
            else:
                inputs[inp] = PlannedInput(spec.resolve(value).absolute())
        outputs = outputs_of[name]
        place = f"{where}:scripts.{name}"
        check_output_safety(outputs, {k: v.path for k, v in inputs.items()}, place)
        check_output_safety(outputs, literal_inputs, place)
        source_dir = spec.resolve(script.source_dir).absolute() if script.source_dir else None
        steps.append(
            PlannedStep(
                name=name,
                script_path=spec.resolve(script.script_path).absolute(),
                mode=script.mode,
                dependencies=tuple(d for d in spec.dependencies(name) if d in chosen),
                inputs=inputs,
                outputs=outputs,
                environ_vars=dict(script.environ_vars),
                job_args=dict(script.job_args),
                timeout=_effective_timeout(script.timeout, options.timeout),
                source_dir=source_dir,
            )
        )
    if not_on_disk:
        raise InputError(
            f"{where}: upstream outputs not on disk for a partial run: " + "; ".join(not_on_disk),
            hint="run those steps first, or include them in the run",
        )
    check_output_dirs(out for step in steps for out in step.outputs.values())
    jobs = options.jobs if options.jobs is not None else (os.cpu_count() or 1)
    return RunPlan(
        pipeline=spec.pipeline or where.stem,
        spec_path=where,
        workspace=spec.resolve(spec.workspace).absolute(),
        python=python,
        jobs=jobs,
        steps=tuple(steps),
        excluded=excluded,
        fail_fast=options.fail_fast,
        grace_s=options.grace_s,
    )


# --- one step ---------------------------------------------------------------------------------


def _file_name(step: str) -> str:
    """A step name fit for a file name (no separators, no dot-only names)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", step)
    return safe if safe.strip(".") else f"step_{safe}"


def step_log_path(run_dir: Path, step: str) -> Path:
    """Where a step's stdout and stderr go in a run's folder."""
    return run_dir / "logs" / f"{_file_name(step)}.log"


def step_workdir(run_dir: Path, step: str) -> Path:
    """The working folder a step runs in."""
    return run_dir / "work" / _file_name(step)


def _cli_flags(script: Path) -> tuple[dict[str, str] | None, frozenset[str]]:
    """dest -> declared option (also under the option's own name), and the switches."""
    try:
        from rtf.analysis import analyze_script
    except ImportError:  # pragma: no cover - analysis ships with rtf
        return None, frozenset()
    flags = analyze_script(script).cli_flags
    if not flags:
        return None, frozenset()
    mapping: dict[str, str] = {}
    switches: set[str] = set()
    for flag in flags:
        names = {flag.dest, flag.flag.lstrip("-"), flag.flag.lstrip("-").replace("-", "_")}
        for name in names:
            mapping.setdefault(name, flag.flag)
            if flag.is_switch:
                switches.add(name)
    return mapping, frozenset(switches)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= REASON_MAX else line[: REASON_MAX - 3] + "..."


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _quoted(names: Sequence[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def judge_outcome(
    outcome: StepOutcome, empty_outputs: Sequence[str], timeout: float | None
) -> tuple[StepStatus, str | None]:
    """(status, reason) for an executor's outcome and the outputs left empty."""
    if outcome.ending == "interrupted":
        return "interrupted", "interrupted"
    if outcome.ending == "timed_out":
        return "timed_out", f"timed out after {timeout or 0:g} s"
    error = outcome.error
    if outcome.ending == "launch_failed":
        return "failed", f"could not start: {error.message if error else 'unknown reason'}"
    code = outcome.exit_code
    if code != 0:
        if error is not None:
            message = _first_line(error.message)
            text = f"{error.type}: {message}" if message else error.type
            return "failed", text + (f" at {error.location}" if error.location else "")
        if code is not None and code < 0:
            return "failed", f"killed by signal {_signal_name(-code)}"
        return "failed", f"exit code {code}"
    if empty_outputs:
        verb = "is" if len(empty_outputs) == 1 else "are"
        noun = "output" if len(empty_outputs) == 1 else "outputs"
        return "failed", f"{noun} {_quoted(empty_outputs)} {verb} empty"
    return "passed", None


def run_step(
    step: PlannedStep,
    plan: RunPlan,
    run_dir: Path,
    executor: Executor,
    cancel: threading.Event,
) -> StepReport:
    """Run one step through the executor, with the checks around it (SPEC 5, 7)."""
    from rtf.checks import changed_inputs, measure_output, snapshot_inputs
    from rtf.executor import StepRequest
    from rtf.report import ErrorReport, OutputReport, StepReport

    warnings: list[str] = []
    input_paths = {name: inp.path for name, inp in step.inputs.items()}
    for name, inp in step.inputs.items():
        if inp.from_step is None and not inp.path.exists():
            warnings.append(f"missing_input: input '{name}' does not exist: {inp.path}")
    cli_flags: dict[str, str] | None = None
    switches: frozenset[str] = frozenset()
    if step.mode == "cli":
        cli_flags, switches = _cli_flags(step.script_path)
        if cli_flags is not None:
            for arg in step.job_args:
                if arg not in cli_flags:
                    warnings.append(
                        f"job_arg_not_passed: job arg '{arg}' matches no option the "
                        "script's argparse declares"
                    )
    request = StepRequest(
        step_name=step.name,
        script_path=step.script_path,
        mode=step.mode,
        input_paths={k: str(v) for k, v in input_paths.items()},
        output_paths={k: str(v) for k, v in step.outputs.items()},
        environ_vars=dict(step.environ_vars),
        job_args=dict(step.job_args),
        python=plan.python,
        workdir=step_workdir(run_dir, step.name),
        log_path=step_log_path(run_dir, step.name),
        timeout=step.timeout,
        source_dir=step.source_dir,
        cli_flags=cli_flags,
        switch_flags=switches,
        grace_s=plan.grace_s,
    )
    before = snapshot_inputs(input_paths)
    outcome = executor.run(request, cancel)
    after = snapshot_inputs(input_paths)
    for name in changed_inputs(before, after):
        warnings.append(
            f"modified_input: input '{name}' was changed by the step "
            f"(files added, removed or rewritten under {input_paths[name]})"
        )
    if outcome.log_bytes_dropped:
        warnings.append(
            f"log_truncated: {outcome.log_bytes_dropped} bytes of output were not kept in the log"
        )
    stats = {name: measure_output(path) for name, path in step.outputs.items()}
    empty = [name for name, stat in stats.items() if not stat.nonempty]
    status, reason = judge_outcome(outcome, empty, step.timeout)
    error = outcome.error
    return StepReport(
        step_name=step.name,
        status=status,
        exit_code=outcome.exit_code,
        duration_s=round(outcome.duration_s, 3),
        reason=reason,
        error=(
            ErrorReport(type=error.type, message=error.message, location=error.location)
            if error is not None and status != "passed"
            else None
        ),
        outputs={
            name: OutputReport(path=stat.path, files=stat.files, bytes=stat.bytes)
            for name, stat in stats.items()
        },
        log=str(outcome.log_path) if Path(outcome.log_path).exists() else None,
        warnings=warnings,
    )


def _crashed_step(step: str, exc: BaseException) -> StepReport:
    """A step whose checks or executor raised (a bug): failed, and the run goes on."""
    from rtf.report import ErrorReport, StepReport

    message = str(exc) or type(exc).__name__
    return StepReport(
        step_name=step,
        status="failed",
        reason=f"rtf could not run the step: {type(exc).__name__}: {_first_line(message)}",
        error=ErrorReport(type=type(exc).__name__, message=message, location=None),
    )


def _skipped(step: str, reason: str) -> StepReport:
    from rtf.report import StepReport

    return StepReport(step_name=step, status="skipped", reason=reason)


# --- the run ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """While a run is in progress, SIGTERM and SIGHUP stop it as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    saved: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            saved[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, previous in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, previous)


class _Scheduler:
    """Starts ready steps on worker threads and gathers how they ended."""

    def __init__(
        self,
        plan: RunPlan,
        run_dir: Path,
        executor: Executor,
        observer: RunObserver,
    ) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.executor = executor
        self.observer = observer
        self.cancel = threading.Event()
        self.cancel_reason: str | None = None
        self.done: queue.Queue[str] = queue.Queue()
        self.results: dict[str, StepReport] = {}  # written by workers, one key each
        self.final: dict[str, StepReport] = {}
        self.pending: list[str] = plan.names
        self.running: dict[str, threading.Thread] = {}
        self.children: dict[str, list[str]] = {name: [] for name in plan.names}
        for step in plan.steps:
            for dep in step.dependencies:
                self.children[dep].append(step.name)

    # The loop. Only the main thread runs this; workers touch ``results`` and ``done`` only.

    def run(self) -> None:
        while self.pending or self.running:
            self._start_ready()
            if not self.running:
                # Nothing runs and nothing can start: only steps whose dependencies can never
                # pass are left (they were skipped already), so this is a safety net.
                for name in list(self.pending):
                    self._finish(_skipped(name, "dependencies did not pass"))
                break
            self._wait()

    def _start_ready(self) -> None:
        if self.cancel.is_set():
            return
        for name in list(self.pending):
            if len(self.running) >= self.plan.jobs:
                return
            step = self.plan.step(name)
            if all(self._passed(dep) for dep in step.dependencies):
                self.pending.remove(name)
                thread = threading.Thread(
                    target=self._work, args=(step,), name=f"rtf-step-{name}", daemon=True
                )
                self.running[name] = thread
                self.observer.on_step_start(name)
                thread.start()

    def _passed(self, name: str) -> bool:
        report = self.final.get(name)
        return report is not None and report.status == "passed"

    def _work(self, step: PlannedStep) -> None:
        try:
            report = run_step(step, self.plan, self.run_dir, self.executor, self.cancel)
        except BaseException as exc:  # never leave the main thread waiting for this step
            report = _crashed_step(step.name, exc)
        if report.status == "interrupted" and self.cancel_reason:
            report = report.model_copy(update={"reason": self.cancel_reason})
        self.results[step.name] = report
        self.done.put(step.name)

    def _wait(self) -> None:
        try:
            name: str | None = self.done.get(timeout=WAKE_S)
        except queue.Empty:
            name = None
        while name is not None:
            self._collect(name)
            try:
                name = self.done.get_nowait()
            except queue.Empty:
                name = None

    def _collect(self, name: str) -> None:
        thread = self.running.pop(name, None)
        if thread is None:
            return
        report = self.results[name]
        self._finish(report)
        if report.status in ("failed", "timed_out"):
            word = "failed" if report.status == "failed" else "timed out"
            for child in self._blocked_by(name):
                self._finish(_skipped(child, f"upstream {name} {word}"))
            if self.plan.fail_fast and not self.cancel.is_set():
                self.cancel_reason = f"fail-fast: {name} {word}"
                self.cancel.set()
                for other in list(self.pending):
                    self._finish(_skipped(other, self.cancel_reason))

    def _blocked_by(self, name: str) -> list[str]:
        """Pending steps downstream of ``name``, in plan order."""
        seen: set[str] = set()
        stack = list(self.children[name])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.children[current])
        return [s for s in self.pending if s in seen]

    def _finish(self, report: StepReport) -> None:
        if report.step_name in self.pending:
            self.pending.remove(report.step_name)
        self.final[report.step_name] = report
        self.observer.on_step_end(report)

    # Ctrl-C

    def interrupt(self) -> None:
        """End every running step and skip the rest; returns once no step runs."""
        if self.cancel_reason is None or not self.cancel.is_set():
            self.cancel_reason = "interrupted"
        self.cancel.set()
        for name in list(self.pending):
            self._finish(_skipped(name, "interrupted"))
        while self.running:
            try:
                for name, thread in list(self.running.items()):
                    if thread.ident is not None:  # started (joining one that is not raises)
                        thread.join(WAKE_S)
                    if thread.is_alive():
                        continue
                    self.running.pop(name)
                    report = self.results.get(name)
                    if report is None:  # the thread never got to start the step
                        report = _skipped(name, "interrupted")
                    self._finish(report)
            except KeyboardInterrupt:
                continue  # the steps are being ended already; keep waiting for them
        for name, report in list(self.results.items()):
            if name not in self.final:  # ended just as Ctrl-C came in
                self._finish(report)


def run_spec(
    spec: PipelineSpec,
    options: RunOptions,
    *,
    executor: Executor | None = None,
    observer: RunObserver | None = None,
) -> RunReport:
    """Run the spec's scripts and return the report (also written to the run folder).

    Raises :class:`~rtf.errors.InputError` (exit 3) for anything found before a step starts;
    nothing has run then. A failing script is a status in the report, not an exception. A
    Ctrl-C returns the partial report with ``interrupted=True``. With ``dry_run`` nothing is
    written or run: every planned step is reported skipped (``dry run``).
    """
    from rtf.report import build_run_report

    observer = observer if observer is not None else NullObserver()
    plan = plan_run(spec, options)
    run_id = options.run_id or new_run_id()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    if options.dry_run:
        observer.on_plan(plan)
        steps = [_skipped(name, "dry run") for name in plan.names]
        report = build_run_report(
            run_id=run_id,
            spec=str(plan.spec_path),
            steps=steps,
            duration_s=0.0,
            pipeline=plan.pipeline,
            started_at=started_at,
        )
        observer.on_run_end(report)
        return report

    if executor is None:
        from rtf.executor import default_executor

        executor = default_executor()
    try:
        return _run_planned(plan, run_id, started_at, started, executor, observer)
    finally:
        close = getattr(executor, "close", None)
        if callable(close):
            close()  # ends the fork servers, if the executor keeps any


def _run_planned(
    plan: RunPlan,
    run_id: str,
    started_at: str,
    started: float,
    executor: Executor,
    observer: RunObserver,
) -> RunReport:
    from rtf.checks import prepare_output_dirs
    from rtf.report import build_run_report, save_report_json

    run_dir = plan.workspace / "runs" / run_id
    if run_dir.exists():
        raise InputError(f"{run_dir}: a run with this id exists already")
    prepare_output_dirs(out for step in plan.steps for out in step.outputs.values())
    try:
        (run_dir / "logs").mkdir(parents=True)
        (run_dir / "work").mkdir()
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot create the run folder: {exc.strerror or exc}") from exc

    plan = replace(plan, run_dir=run_dir)
    scheduler = _Scheduler(plan, run_dir, executor, observer)
    interrupted = False
    with _termination_as_interrupt():
        observer.on_plan(plan)
        try:
            scheduler.run()
        except KeyboardInterrupt:
            interrupted = True
            scheduler.interrupt()
        steps = [scheduler.final.get(name) or _skipped(name, "interrupted") for name in plan.names]
        report = build_run_report(
            run_id=run_id,
            spec=str(plan.spec_path),
            steps=steps,
            duration_s=time.monotonic() - started,
            interrupted=interrupted,
            pipeline=plan.pipeline,
            started_at=started_at,
            run_dir=str(run_dir),
        )
        save_report_json(report, run_dir / "report.json")
        observer.on_run_end(report)
    return report


def exit_code_of(report: RunReport) -> int:
    """SPEC 6: 0 every step passed, 1 a step failed or timed out, 130 interrupted."""
    from rtf.errors import ExitCode

    if report.interrupted:
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.OK if report.success else ExitCode.STEP_FAILED)
