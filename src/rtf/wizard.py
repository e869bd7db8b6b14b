"""The wizard: ask only what a person must answer, save the spec, offer to run it.

The wizard drives an :class:`~rtf.api.InteractiveRuntimeTestingFactory` (discovery, defaults
and spec building live there, once) and asks through a :class:`~rtf.prompts.Prompter`; it
imports neither questionary nor typer, and draws through ``rtf.render.wizard``.

Answers come, for each value, from the first of: the partial answers of an earlier session
(``--resume``: a step found there is done), the answers file (``--answers``), the prompter.
Both files share one YAML format (see :func:`load_answers`)::

    run: true                      # optional: run the spec once saved
    steps:
      TabularPreprocessing_training:
        script_path: scripts/tabular_preprocessing.py   # only where the file is not found
        inputs:
          DATA: test_data/TabularPreprocessing_training/DATA
          # or an upstream output:  {from: OtherStep, output: processed_data}
        outputs: {processed_data: out/processed}
        environ_vars: {LABEL_FIELD: is_abuse, FRAMEWORK_VERSION: null}   # null: unset it
        job_args: {job_type: training}

Relative paths in such a file are relative to the file's folder. What a step leaves out keeps
its prefilled value; a value nobody can prefill and the file does not give is an error (exit 3)
that lists every such value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtf.checks import holds_data
from rtf.errors import InputError
from rtf.prefill import Wire
from rtf.prompts import MissingAnswer, Prompter, Validator

if TYPE_CHECKING:
    from rich.console import Console

    from rtf.api import InteractiveRuntimeTestingFactory
    from rtf.spec import PipelineSpec

ANSWER_KEYS = ("script_path", "inputs", "outputs", "environ_vars", "job_args")
QUIT_CHOICE = "Quit without saving (the answers so far are kept)"


def partial_path(out: Path) -> Path:
    """Where the answers of an unfinished session are kept: ``<out>.partial.yaml``."""
    return out.with_name(out.name + ".partial.yaml")


# --- answers ------------------------------------------------------------------------------------


@dataclass
class StepAnswers:
    """The answers for one step. Paths are absolute."""

    script_path: Path | None = None
    inputs: dict[str, Path | Wire] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    environ_vars: dict[str, str | None] = field(default_factory=dict)
    job_args: dict[str, Any] = field(default_factory=dict)

    def to_data(self, base: Path) -> dict[str, Any]:
        """The step as it is written to an answers file whose folder is ``base``."""
        data: dict[str, Any] = {}
        if self.script_path is not None:
            data["script_path"] = _rel(self.script_path, base)
        if self.inputs:
            data["inputs"] = {
                k: ({"from": v.step, "output": v.output} if isinstance(v, Wire) else _rel(v, base))
                for k, v in self.inputs.items()
            }
        if self.outputs:
            data["outputs"] = {k: _rel(v, base) for k, v in self.outputs.items()}
        if self.environ_vars:
            data["environ_vars"] = dict(self.environ_vars)
        if self.job_args:
            data["job_args"] = dict(self.job_args)
        return data


@dataclass
class Answers:
    """An answers file (or the partial answers of an earlier session), read and checked."""

    path: Path
    steps: dict[str, StepAnswers] = field(default_factory=dict)
    run: bool | None = None


def _rel(path: Path, base: Path) -> str:
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if rel.startswith(os.path.join("..", "..", "..")) else rel


def _place(*parts: str) -> str:
    return ".".join(parts)


def _closest_hint(name: str, known: Any) -> str | None:
    from rtf.dag import closest

    near = closest(name, list(known))
    return f"did you mean {near!r}?" if near else None


def load_answers(path: Path) -> Answers:
    """Read an answers file (YAML or JSON); every problem names the file and the place."""
    from rtf.files import load_data_file

    data = load_data_file(path, "answers file")
    answers = Answers(path=path)
    if data is None:
        return answers
    if not isinstance(data, dict):
        raise InputError.at(path, None, "an answers file is a mapping with 'steps' (and 'run')")
    for key in data:
        if key not in ("steps", "run"):
            raise InputError.at(
                path,
                str(key),
                f"unknown key {key!r}",
                hint=_closest_hint(str(key), ["steps", "run"]),
            )
    run = data.get("run")
    if run is not None and not isinstance(run, bool):
        raise InputError.at(path, "run", f"expected true or false, found {run!r}")
    answers.run = run
    steps = data.get("steps") or {}
    if not isinstance(steps, dict):
        raise InputError.at(path, "steps", "expected a mapping of step name to answers")
    base = path.absolute().parent
    for step, body in steps.items():
        answers.steps[str(step)] = _parse_step(path, base, str(step), body)
    return answers


def _parse_step(path: Path, base: Path, step: str, body: Any) -> StepAnswers:
    where = _place("steps", step)
    if body is None:
        return StepAnswers()
    if not isinstance(body, dict):
        raise InputError.at(path, where, "expected a mapping with " + ", ".join(ANSWER_KEYS))
    out = StepAnswers()
    for key, value in body.items():
        place = _place(where, str(key))
        if key not in ANSWER_KEYS:
            raise InputError.at(
                path, place, f"unknown key {key!r}", hint=_closest_hint(str(key), ANSWER_KEYS)
            )
        if key == "script_path":
            out.script_path = _path_value(path, base, place, value)
            continue
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InputError.at(path, place, "expected a mapping of name to value")
        for name, item in value.items():
            item_place = _place(place, str(name))
            if key == "inputs":
                if isinstance(item, dict):
                    out.inputs[str(name)] = _wire_value(path, item_place, item)
                else:
                    out.inputs[str(name)] = _path_value(path, base, item_place, item)
            elif key == "outputs":
                out.outputs[str(name)] = _path_value(path, base, item_place, item)
            elif key == "environ_vars":
                out.environ_vars[str(name)] = _env_value(item)
            else:
                out.job_args[str(name)] = item
    return out


def _path_value(path: Path, base: Path, place: str, value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError.at(path, place, f"expected a path, found {value!r}")
    p = Path(value.strip()).expanduser()
    return p if p.is_absolute() else base / p


def _wire_value(path: Path, place: str, value: Mapping[Any, Any]) -> Wire:
    keys = set(value)
    if keys != {"from", "output"} or not all(isinstance(v, str) for v in value.values()):
        raise InputError.at(path, place, "an upstream output is written {from: STEP, output: NAME}")
    return Wire(str(value["from"]), str(value["output"]))


def _env_value(value: Any) -> str | None:
    """Env vars are strings; ``null`` unsets one; other values are written as config values."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def save_answers(path: Path, steps: Mapping[str, StepAnswers]) -> None:
    """Write the answers so far (atomically) in the answers-file format."""
    import yaml

    from rtf.files import write_atomic

    base = path.absolute().parent
    data = {"steps": {name: answers.to_data(base) for name, answers in steps.items()}}
    header = (
        "# rtf wizard: answers so far. Continue with: rtf wizard DAG CONFIG --resume\n"
        "# The same format is accepted by --answers FILE.\n"
    )
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    write_atomic(path, header + text)


# --- checks used as you type -------------------------------------------------------------------


def expand(text: str) -> Path:
    """A typed path, absolute (relative to the current folder)."""
    return Path(text.strip()).expanduser().absolute()


def show_path(path: str | Path) -> str:
    """A path as the user best reads it: relative to the current folder when close by."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        rel = os.path.relpath(p, Path.cwd())
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(p)
    return str(p) if rel.startswith(os.path.join("..", "..")) else rel


def check_input_path(text: str) -> bool | str:
    """An input must exist and hold data."""
    if not text.strip():
        return "enter the path of a file or folder with test data"
    p = expand(text)
    if not p.exists():
        return f"no such file or folder: {text.strip()}"
    if not holds_data(p):
        return f"{text.strip()} is empty: put some test data in it"
    return True


def check_optional_input_path(text: str) -> bool | str:
    """An optional input may be left empty (not used); otherwise it must hold data."""
    return True if not text.strip() else check_input_path(text)


def check_output_path(text: str) -> bool | str:
    """An output is a folder the script writes to (it may not exist yet)."""
    if not text.strip():
        return "enter a folder for this output"
    p = expand(text)
    if p.exists() and not p.is_dir():
        return f"{text.strip()} is a file; an output is a folder"
    return True


def check_script_path(text: str) -> bool | str:
    """A script is an existing Python file."""
    if not text.strip():
        return "enter the path of the script file"
    p = expand(text)
    if not p.is_file():
        return f"no such file: {text.strip()}"
    if p.suffix != ".py":
        return f"{text.strip()} is not a Python file (.py)"
    return True


def check_required(text: str) -> bool | str:
    return True if text.strip() else "a value is required"


def check_json(text: str) -> bool | str:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} (column {exc.colno})"
    return True


# --- the session --------------------------------------------------------------------------------


@dataclass
class WizardRequest:
    """What the user asked of the wizard (the CLI's options)."""

    dag: Path
    config: Path
    out: Path = Path("rtf-spec.yaml")
    source_roots: list[Path] = field(default_factory=list)
    data_root: Path | None = None
    workspace: Path | None = None
    answers: Path | None = None
    resume: bool = False
    run_now: bool | None = None
    force: bool = False


@dataclass
class WizardResult:
    """How a wizard session ended."""

    spec_path: Path
    spec: PipelineSpec
    run: bool
    questions: int


FactoryMaker = Callable[[WizardRequest], "InteractiveRuntimeTestingFactory"]


def make_factory(request: WizardRequest) -> InteractiveRuntimeTestingFactory:
    """The factory the wizard drives: discovery, prefilled values and spec building."""
    from rtf.api import InteractiveRuntimeTestingFactory

    for path, what in ((request.dag, "DAG file"), (request.config, "config file")):
        if path.is_dir():
            raise InputError.at(path, None, f"expected a {what}, found a folder")
        if not path.exists():
            raise InputError.at(path, None, f"{what} not found")
    try:
        return InteractiveRuntimeTestingFactory(
            request.dag,
            request.config,
            request.workspace or request.out.absolute().parent / ".rtf",
            source_roots=list(request.source_roots),
            data_root=request.data_root,
            spec_path=request.out,
        )
    except FileNotFoundError as exc:  # pragma: no cover - the checks above come first
        raise InputError(str(exc)) from None


class Wizard:
    """One wizard session: discover, ask per script, review, save; see :func:`run_wizard`."""

    def __init__(
        self,
        request: WizardRequest,
        prompter: Prompter,
        console: Console,
        *,
        factory_maker: FactoryMaker = make_factory,
    ) -> None:
        self.request = request
        self.prompter = prompter
        self.console = console
        self.factory_maker = factory_maker
        self.partial = partial_path(request.out)
        self.done: dict[str, StepAnswers] = {}
        self.missing: list[MissingAnswer] = []
        self.questions = 0
        self.answers: Answers | None = None
        self.keeps_partial = prompter.interactive or request.resume

    # -- every question goes through these, so they can be counted and collected --

    def _confirm(self, message: str, default: bool) -> bool:
        self.questions += 1
        return self.prompter.confirm(message, default)

    def _select(
        self, message: str, choices: list[str], default: str | None, key: str
    ) -> str | None:
        self.questions += 1
        try:
            return self.prompter.select(message, choices, default, key=key)
        except MissingAnswer as exc:
            self.missing.append(exc)
            return None

    def _text(
        self, message: str, default: str | None, validate: Validator | None, key: str
    ) -> str | None:
        self.questions += 1
        try:
            return self.prompter.text(message, default, validate, key=key)
        except MissingAnswer as exc:
            self.missing.append(exc)
            return None

    def _path(
        self,
        message: str,
        default: str | None,
        validate: Validator | None,
        key: str,
        *,
        only_directories: bool = False,
    ) -> str | None:
        self.questions += 1
        try:
            return self.prompter.path(message, default, validate, only_directories, key=key)
        except MissingAnswer as exc:
            self.missing.append(exc)
            return None

    # -- the flow --

    def run(self) -> WizardResult:
        request = self.request
        if request.answers is not None:
            self.answers = load_answers(request.answers)
        if not self.prompter.interactive and request.out.exists() and not request.force:
            raise InputError.at(
                request.out,
                None,
                "the spec file exists; it is not overwritten without --force",
                hint="pass --force to overwrite it, or --out FILE to save it elsewhere",
            )
        resumed = self._load_partial()
        self.factory = self.factory_maker(request)
        self._check_answers(self.answers)
        self._check_answers(resumed)
        self._show_discovery()
        steps = self.factory.discovery.script_steps()
        if not steps:
            raise InputError.at(
                request.config,
                None,
                "no DAG node has a script to test",
                hint="rtf list-scripts DAG CONFIG shows why each node is skipped",
            )
        for index, step in enumerate(steps, 1):
            if resumed is not None and step in resumed.steps:
                self._apply(step, resumed.steps[step], source=resumed.path)
                self.done[step] = resumed.steps[step]
                req = self.factory.get_script_testing_requirements(step)
                self.console.print(
                    _auto_line(req, index, len(steps), "answered in the earlier session")
                )
                continue
            self._configure(step, index, len(steps))
        if self.missing:
            self._fail_missing()
        spec = self._review_loop(steps)
        path = self._save(spec)
        run = self._decide_run(len(spec.scripts))
        return WizardResult(spec_path=path, spec=spec, run=run, questions=self.questions)

    def _load_partial(self) -> Answers | None:
        """The answers of an earlier session, when the user continues from them.

        A session that asks a person keeps its answers in the partial file after each script.
        One that asks nobody (``--defaults``, ``--answers``) leaves a partial file it did not
        use alone: it may hold a person's answers.
        """
        shown = show_path(self.partial)
        if not self.partial.exists():
            if self.request.resume:
                self.console.print(f"[warning]No saved answers in {shown}; starting afresh.[/]")
            return None
        resume = self.request.resume
        if not resume and self.prompter.interactive:
            resume = self._confirm(
                f"Answers from an earlier session are saved in {shown}. Continue from them?", True
            )
        if not resume:
            note = "replaced as you answer" if self.keeps_partial else "left as they are"
            self.console.print(
                f"[muted]Not using the earlier answers in {shown} (--resume continues from them);"
                f" they are {note}.[/]"
            )
            return None
        self.console.print(f"[info]Continuing from the answers saved in {shown}.[/]")
        return load_answers(self.partial)

    def _check_answers(self, answers: Answers | None) -> None:
        """Every step and name in an answers file must exist: a typo must not be ignored."""
        if answers is None:
            return
        discovery = self.factory.discovery
        for step, given in answers.steps.items():
            if step not in discovery.scripts:
                why = ""
                if step in discovery.skipped:
                    why = f" (the node is skipped: {discovery.skipped[step].reason})"
                raise InputError.at(
                    answers.path,
                    _place("steps", step),
                    f"no script step {step!r} in this pipeline{why}",
                    hint=_closest_hint(step, discovery.scripts),
                )
            analysis = discovery.scripts[step].analysis
            if analysis is None or given.script_path is not None:
                continue
            for kind, uses, guessed in (
                ("input", analysis.inputs, analysis.inputs_guessed),
                ("output", analysis.outputs, analysis.outputs_guessed),
            ):
                names = [u.name for u in uses]
                for name in given.inputs if kind == "input" else given.outputs:
                    if name not in names and not guessed:
                        raise InputError.at(
                            answers.path,
                            _place("steps", step, f"{kind}s", name),
                            f"{step} has no {kind} {name!r} (it has: {', '.join(names) or 'none'})",
                            hint=_closest_hint(name, names),
                        )
            for name, value in given.inputs.items():
                if isinstance(value, Wire):
                    self._check_wire(answers.path, step, name, value)

    def _check_wire(self, path: Path, step: str, name: str, wire: Wire) -> None:
        discovery = self.factory.discovery
        place = _place("steps", step, "inputs", name)
        up = discovery.scripts.get(wire.step)
        if up is None or wire.step == step:
            raise InputError.at(
                path,
                place,
                f"no other script step {wire.step!r} to take an output from",
                hint=_closest_hint(wire.step, [s for s in discovery.scripts if s != step]),
            )
        outputs = [u.name for u in up.analysis.outputs] if up.analysis else []
        if outputs and wire.output not in outputs:
            raise InputError.at(
                path,
                place,
                f"{wire.step} has no output {wire.output!r} (it has: {', '.join(outputs)})",
                hint=_closest_hint(wire.output, outputs),
            )

    def _show_discovery(self) -> None:
        from rtf.render.discovery import render_scripts_table, render_skip_details

        discovery = self.factory.discovery
        self.console.print(render_scripts_table(discovery))
        if discovery.skipped:
            self.console.print(render_skip_details(discovery), end="")

    def _configure(self, step: str, index: int, total: int, *, ask_all: bool = False) -> None:
        """Ask what is open for one step (everything with ``ask_all``) and hand it over."""
        from rtf.discovery import is_auto_configurable
        from rtf.render.wizard import render_requirements

        factory = self.factory
        info = factory.discovery.scripts[step]
        from_file = self.answers is not None and step in self.answers.steps
        given = self.answers.steps[step] if self.answers and from_file else StepAnswers()
        if is_auto_configurable(info) and not ask_all:
            if from_file:
                self._apply(step, given, source=self._answers_path())
            req = factory.get_script_testing_requirements(step)
            note = "auto-configured" + (", with the answers file" if from_file else "")
            self.console.print(_auto_line(req, index, total, note))
            return
        previous = self.done.get(step, StepAnswers())
        while True:
            before = len(self.missing)
            req = factory.get_script_testing_requirements(step)
            self.console.print(
                render_requirements(
                    req, mode=req.get("mode"), index=index, total=total, show_path=show_path
                )
            )
            chosen = StepAnswers(script_path=previous.script_path)
            script = self._ask_script(step, req, given, ask_all)
            if script is not None:
                chosen.script_path = script
                factory.locate_script(step, script)
                req = factory.get_script_testing_requirements(step)
                self.console.print(
                    render_requirements(
                        req, mode=req.get("mode"), index=index, total=total, show_path=show_path
                    )
                )
            elif not info.found and chosen.script_path is None:
                return  # no file: reported at the end with every other missing value
            chosen.environ_vars.update(previous.environ_vars)
            chosen.job_args.update(previous.job_args)
            self._ask_inputs(step, req, given, chosen, ask_all)
            self._ask_outputs(step, req, given, chosen)
            self._ask_values(step, req, given, chosen)
            if len(self.missing) > before:
                return  # reported at the end, with every other missing value
            try:
                self._apply(step, chosen, source=self._answers_path() if from_file else None)
                break
            except _Refused as refused:
                if not self.prompter.interactive:
                    raise InputError(f"{step}: " + "; ".join(refused.problems)) from None
                self.console.print(
                    f"[error]rtf cannot use these answers for {step}:[/]\n"
                    + "\n".join(f"  - {p}" for p in refused.problems)
                )
        self.done[step] = chosen
        if self.keeps_partial:
            save_answers(self.partial, self.done)

    def _ask_script(
        self, step: str, req: Mapping[str, Any], given: StepAnswers, ask_all: bool
    ) -> Path | None:
        """A new script file: where discovery found none, or (``ask_all``) to change it."""
        if given.script_path is not None:
            problem = check_script_path(str(given.script_path))
            if problem is not True:
                raise InputError.at(
                    self._answers_path(), _place("steps", step, "script_path"), str(problem)
                )
            return given.script_path
        info = self.factory.discovery.scripts[step]
        current = req.get("script_path")
        if current and not ask_all:
            return None
        key = f"{step}: script file {info.entry_point}"
        if info.candidates and not current:
            other = "Another file…"
            labels = [show_path(c) for c in info.candidates]
            picked = self._select(
                f"Which file is the script of {step}?",
                [*labels, other] if self.prompter.interactive else labels,
                None,
                key,
            )
            if picked is None:
                return None
            if picked != other:
                return info.candidates[labels.index(picked)].absolute()
        answer = self._path(
            f"Where is the script file of {step} ({info.entry_point})?",
            show_path(current) if current else None,
            check_script_path,
            key,
        )
        if answer is None:
            return None
        path = expand(answer)
        return None if current and path == Path(current).absolute() else path

    def _ask_inputs(
        self,
        step: str,
        req: Mapping[str, Any],
        given: StepAnswers,
        chosen: StepAnswers,
        ask_all: bool,
    ) -> None:
        pre = self.factory.discovery.scripts[step].prefill
        open_inputs = set(pre.open_inputs) if pre is not None else set()
        for item in req.get("expected_inputs", []):
            name = item["name"]
            key = f"{step}: input {name}"
            if name in given.inputs:
                value = given.inputs[name]
                if isinstance(value, Path):
                    problem = check_input_path(str(value))
                    if problem is not True:
                        raise InputError.at(
                            self._answers_path(),
                            _place("steps", step, "inputs", name),
                            str(problem),
                        )
                chosen.inputs[name] = value
                continue
            if name not in open_inputs and not ask_all:
                continue
            wired = item.get("wired_from")
            options = [Wire(c["step"], c["output"]) for c in item.get("choices") or []]
            if wired and Wire(wired["step"], wired["output"]) not in options:
                options.insert(0, Wire(wired["step"], wired["output"]))
            if options:
                labels = [f"{o.step}.{o.output}" for o in options]
                other = "A path on disk…"
                picked = self._select(
                    f"{name}: which upstream output feeds this input?",
                    [*labels, other] if self.prompter.interactive else labels,
                    labels[0] if wired else None,
                    key,
                )
                if picked is None:
                    continue
                if picked != other:
                    chosen.inputs[name] = options[labels.index(picked)]
                    continue
            current = None if wired else item.get("current_path")
            if item.get("required", True) or name in open_inputs:
                default = current or item.get("example_path")
                message = f"{name}: where is the test data for this input?"
                validate: Validator = check_input_path
            else:  # an optional input, asked only when the user reviews a script
                default = current
                message = f"{name} (optional; empty: not used): where is its test data?"
                validate = check_optional_input_path
            answer = self._path(message, show_path(default) if default else None, validate, key)
            if answer is not None and answer.strip():
                chosen.inputs[name] = expand(answer)

    def _ask_outputs(
        self, step: str, req: Mapping[str, Any], given: StepAnswers, chosen: StepAnswers
    ) -> None:
        for item in req.get("expected_outputs", []):
            name = item["name"]
            if name in given.outputs:
                problem = check_output_path(str(given.outputs[name]))
                if problem is not True:
                    raise InputError.at(
                        self._answers_path(), _place("steps", step, "outputs", name), str(problem)
                    )
                chosen.outputs[name] = given.outputs[name]
                continue
            default = item.get("current_path") or item.get("example_path")
            answer = self._path(
                f"{name}: which folder does this output go to?",
                show_path(default) if default else None,
                check_output_path,
                f"{step}: output {name}",
                only_directories=True,
            )
            if answer is not None:
                chosen.outputs[name] = expand(answer)

    def _ask_values(
        self, step: str, req: Mapping[str, Any], given: StepAnswers, chosen: StepAnswers
    ) -> None:
        """One yes/no for the prefilled env vars and job args; each one if the answer is no.

        A value the script needs and nobody prefilled is always asked. Only values the user
        changed are recorded (so the rest keep their source: the config, the script default).
        """
        chosen.environ_vars.update(given.environ_vars)
        chosen.job_args.update(given.job_args)
        items = [
            ("env", i)
            for i in req.get("environment_variables", [])
            if i["name"] not in given.environ_vars
        ] + [("job", i) for i in req.get("job_arguments", []) if i["name"] not in given.job_args]
        prefilled = [(k, i) for k, i in items if i.get("current_value") is not None]
        keep = True
        if prefilled:
            keep = self._confirm("Keep these env vars and job args?", True)
        for kind, item in items:
            name = item["name"]
            value = item.get("current_value")
            if value is None and not item.get("required"):
                continue
            if value is not None and keep:
                continue
            target: dict[str, Any] = chosen.environ_vars if kind == "env" else chosen.job_args
            structured = kind == "job" and value is not None and not isinstance(value, str)
            label = f"env var {name}" if kind == "env" else f"job arg --{name}"
            if structured:
                label += " (JSON)"
            elif value is not None and not item.get("required"):
                label += " (empty: unset)"
            shown = None if value is None else (json.dumps(value) if structured else str(value))
            validate: Validator | None = None
            if value is None or item.get("required"):
                validate = check_required
            if structured:
                validate = check_json
            key = f"{step}: {'env' if kind == 'env' else 'job arg'} {name}"
            answer = self._text(label, shown, validate, key)
            if answer is None or answer == shown:
                continue
            if structured:
                target[name] = json.loads(answer)
            else:
                target[name] = answer if answer.strip() else None

    def _answers_path(self) -> Path:
        return self.answers.path if self.answers else self.partial

    def _apply(self, step: str, answers: StepAnswers, *, source: Path | None) -> None:
        """Hand one step's answers to the factory.

        A refusal raises :class:`_Refused` for answers typed in this session, and an
        :class:`InputError` naming the file for answers read from a file.
        """
        from rtf.api import ConfigurationError

        inputs: dict[str, Any] = {
            k: ({"from": v.step, "output": v.output} if isinstance(v, Wire) else str(v))
            for k, v in answers.inputs.items()
        }
        try:
            if answers.script_path is not None:
                self.factory.locate_script(step, answers.script_path)
            self.factory.configure_script_testing(
                step,
                input_paths=inputs,
                output_paths={k: str(v) for k, v in answers.outputs.items()},
                environ_vars=dict(answers.environ_vars),
                job_args=dict(answers.job_args),
            )
        except (ConfigurationError, FileNotFoundError) as exc:
            problems = getattr(exc, "problems", None) or [str(exc)]
            if source is not None:
                raise InputError.at(source, _place("steps", step), "; ".join(problems)) from None
            raise _Refused(problems) from None

    def _fail_missing(self) -> None:
        count = len(self.missing)
        listed = "; ".join(str(m) for m in self.missing)
        mode = "--answers" if self.request.answers is not None else "--defaults"
        raise InputError(
            f"{mode}: {count} value{'s' if count != 1 else ''} with no usable default: {listed}",
            hint="give them in an --answers file, or run the wizard in a terminal",
        )

    def _review_loop(self, steps: list[str]) -> PipelineSpec:
        from rtf.api import ConfigurationError
        from rtf.render.wizard import render_review

        while True:
            try:
                spec = self.factory.build_spec()
            except ConfigurationError as exc:
                raise InputError("; ".join(exc.problems) or str(exc)) from None
            self.console.print(render_review(spec))
            if self._confirm(f"Save this spec to {show_path(self.request.out)}?", True):
                return spec
            change = [f"Change {step}" for step in steps]
            picked = self._select("What now?", [*change, QUIT_CHOICE], change[0], "review")
            if picked is None or picked == QUIT_CHOICE:
                raise KeyboardInterrupt
            step = steps[change.index(picked)]
            self._configure(step, steps.index(step) + 1, len(steps), ask_all=True)

    def _save(self, spec: PipelineSpec) -> Path:
        from rtf.render.wizard import render_saved

        out = self.request.out
        if (
            out.exists()
            and not self.request.force
            and not self._confirm(f"{show_path(out)} exists. Overwrite it?", False)
        ):
            answer = self._path(
                "Save the spec as", show_path(_free_name(out)), _check_new_spec, "spec file"
            )
            if answer is None:  # pragma: no cover - only a person is asked this
                raise KeyboardInterrupt
            out = expand(answer)
        path = self.factory.save_spec(out, overwrite=True)
        if self.keeps_partial:
            self.partial.unlink(missing_ok=True)
        self.console.print(render_saved(show_path(path), len(spec.scripts)))
        return path

    def _decide_run(self, scripts: int) -> bool:
        if self.request.run_now is not None:
            return self.request.run_now
        if self.answers is not None and self.answers.run is not None:
            return self.answers.run
        return self._confirm(f"Run the {scripts} scripts now?", True)


class _Refused(Exception):
    """The factory refused answers typed in this session."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _auto_line(req: Mapping[str, Any], index: int, total: int, note: str) -> Any:
    from rtf.render.wizard import render_auto_configured

    return render_auto_configured(req, index=index, total=total, note=note)


def _free_name(out: Path) -> Path:
    for i in range(2, 1000):
        candidate = out.with_name(f"{out.stem}-{i}{out.suffix}")
        if not candidate.exists():
            return candidate
    return out  # pragma: no cover


def _check_new_spec(text: str) -> bool | str:
    if not text.strip():
        return "enter a file name"
    p = expand(text)
    if p.exists():
        return f"{text.strip()} exists too"
    if p.suffix not in (".yaml", ".yml"):
        return "a spec file ends in .yaml or .yml"
    return True


def run_wizard(
    request: WizardRequest,
    prompter: Prompter,
    console: Console,
    *,
    factory_maker: FactoryMaker = make_factory,
) -> WizardResult:
    """Run one wizard session and return the saved spec and whether to run it now.

    Ctrl-C raises ``KeyboardInterrupt`` with the answers so far kept in the partial file.
    """
    return Wizard(request, prompter, console, factory_maker=factory_maker).run()
