"""The public Python API: :class:`InteractiveRuntimeTestingFactory`.

The factory is what notebooks and test code use directly, and what the terminal wizard drives.
It sits on the same core as the commands: :func:`rtf.discovery.discover` finds the scripts and
prefills what can be known (SPEC 2.4, 2.5), :mod:`rtf.build` turns choices into a spec (SPEC 4),
and :func:`rtf.runner.run_spec` runs it (SPEC 5).

Scripts are addressed by step name (``XGBoostTraining``) or by script name
(``xgboost_training``); when one script serves several steps, the step name is required.
Every script is in one of three states:

``configured``
    configured by the user with :meth:`~InteractiveRuntimeTestingFactory.configure_script_testing`;
``auto_configured``
    nothing is left to ask: every value is prefilled, every input is wired to an upstream
    output or finds data at its default path (``<data-root>/<step>/<input>``);
``pending``
    something only the user can answer (a missing data folder, an env var with no value, an
    input two upstream outputs could feed, a script file not found).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

from rtf.build import Choices, Layout, build_script_spec, build_spec, default_choices
from rtf.checks import holds_data
from rtf.dag import Dag, closest, load_dag
from rtf.discovery import (
    Discovery,
    ScriptInfo,
    discover,
    is_auto_configurable,
)
from rtf.errors import InputError
from rtf.prefill import Wire, as_env_string

if TYPE_CHECKING:
    from rtf.report import RunReport
    from rtf.runner import RunOptions
    from rtf.spec import InputRef, PipelineSpec, ScriptSpec

__all__ = ["ConfigurationError", "InteractiveRuntimeTestingFactory"]

Status = Literal["configured", "auto_configured", "pending"]

#: An input: a path, or the output of an upstream step as ``{"from": STEP, "output": NAME}``.
InputArg: TypeAlias = Union[str, "os.PathLike[str]", Mapping[str, str], Wire, "InputRef"]
#: ``...`` (or ``{...}``) in place of a mapping means "keep what rtf prefilled".
Placeholder: TypeAlias = Union[EllipsisType, "set[EllipsisType]", "frozenset[EllipsisType]"]


class ConfigurationError(ValueError):
    """A configuration cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.problems = list(problems)


class InteractiveRuntimeTestingFactory:
    """Find a pipeline's real scripts, configure each one, save the spec and run it.

    Args:
        dag: the DAG, loaded (:func:`rtf.load_dag`) or as the path of its file.
        config_path: the pipeline config JSON.
        workspace_dir: where default outputs (``outputs/<step>/<output>``) and runs go;
            None: ``.rtf/`` beside the spec file.
        source_roots: folders searched for script files the config does not place exactly.
        data_root: where default input data is looked for (``<data_root>/<step>/<input>``);
            default: ``test_data/`` beside the config file.
        spec_path: where :meth:`save_spec` and :meth:`run` write the spec by default; the
            spec's relative paths are relative to its folder.

    Relative paths are taken relative to the current folder when the factory is made.

    Raises:
        FileNotFoundError: the config file (``Configuration file not found: <path>``) or the
            DAG file does not exist.
        rtf.errors.InputError: the DAG or config file is invalid (the message names the file
            and the place).
    """

    def __init__(
        self,
        dag: Dag | str | Path,
        config_path: str | Path,
        workspace_dir: str | Path | None = ".rtf",
        *,
        source_roots: Sequence[str | Path] = (),
        data_root: str | Path | None = None,
        spec_path: str | Path = "rtf-spec.yaml",
    ) -> None:
        config = Path(config_path)
        if not config.is_file():
            raise FileNotFoundError(f"Configuration file not found: {config_path}")
        if isinstance(dag, Dag):
            if dag.source is not None and not dag.source.is_absolute():
                dag = dataclasses.replace(dag, source=dag.source.absolute())
            dag_obj = dag
        else:
            if not Path(dag).is_file():
                raise FileNotFoundError(f"DAG file not found: {dag}")
            dag_obj = load_dag(Path(dag).absolute())
        self.discovery: Discovery = discover(
            dag_obj, config.absolute(), source_roots=[Path(r).absolute() for r in source_roots]
        )
        """The discovery result: every DAG node as a script or skipped, with what it reads."""
        self.spec_path = Path(spec_path).expanduser().absolute()
        """Where :meth:`save_spec` and :meth:`run` write the spec by default."""
        workspace = self.spec_path.parent / ".rtf" if workspace_dir is None else workspace_dir
        self.workspace_dir = Path(workspace).expanduser().absolute()
        """Where default outputs and runs go."""
        self.data_root = None if data_root is None else Path(data_root).expanduser().absolute()
        """Where default input data is looked for; None: ``test_data/`` beside the config."""
        self._choices: dict[str, Choices] = {}
        self._answered: dict[str, set[str]] = {}
        self._saved: set[Path] = set()
        self._saved_path: Path | None = None

    # ----------------------------------------------------------------------------------------
    # Which scripts, and in which state
    # ----------------------------------------------------------------------------------------

    @property
    def layout(self) -> Layout:
        """Where the spec, the default input data and the workspace are (absolute paths)."""
        return Layout.default(self.discovery, self.spec_path, self.data_root, self.workspace_dir)

    def get_scripts_requiring_testing(self) -> list[str]:
        """The step names of every DAG node that really has a script, in DAG order.

        Nodes without a script (data loading, registration, model-server handlers) are left
        out; :attr:`discovery` ``.skipped`` says why.
        """
        return self.discovery.script_steps()

    def get_pending_script_configurations(self) -> list[str]:
        """Steps still needing an answer from the user, in DAG order."""
        return [s for s in self.discovery.script_steps() if self._status(s) == "pending"]

    def get_auto_configured_scripts(self) -> list[str]:
        """Steps with nothing left to ask (and not configured by the user), in DAG order."""
        return [s for s in self.discovery.script_steps() if self._status(s) == "auto_configured"]

    def get_configuration_status(self, name: str) -> Status:
        """``configured``, ``auto_configured`` or ``pending`` for a script or step name."""
        return self._status(self.resolve_step(name))

    def is_configured(self, name: str) -> bool:
        """Whether the script will run without another answer (configured or auto-configured)."""
        return self.get_configuration_status(name) != "pending"

    def get_configuration(self, name: str) -> ScriptSpec | None:
        """The spec entry the script will run with, or None while it is pending."""
        step = self.resolve_step(name)
        if self._status(step) == "pending":
            return None
        return self._script_spec(step, self._current_choices(step))

    def resolve_step(self, name: str) -> str:
        """The step name for a step name or a script name.

        Raises:
            ValueError: no script has that name (the message names the closest one), the
                node has no script (the message says why), or the script serves several
                steps (the message lists them: pass one of those step names).
        """
        scripts = self.discovery.scripts
        if name in scripts:
            return name
        rules = (
            lambda i: i.script_name == name,
            lambda i: Path(i.entry_point).name == name,
            lambda i: i.step_name.lower() == name.lower(),
            lambda i: i.script_name.lower() == name.lower(),
        )
        for rule in rules:
            steps = [s for s, info in scripts.items() if rule(info)]
            if len(steps) == 1:
                return steps[0]
            if steps:
                listed = ", ".join(steps)
                raise ValueError(
                    f"Script '{name}' serves {len(steps)} steps ({listed}): "
                    "give the step name instead"
                )
        message = f"Script '{name}' not found in validated scripts"
        skipped = self.discovery.skipped.get(name)
        if skipped is not None:
            raise ValueError(
                f"{message}: DAG node '{name}' has no script ({skipped.reason}: {skipped.detail})"
            )
        names = [*scripts, *dict.fromkeys(i.script_name for i in scripts.values())]
        near = closest(name, names)
        hint = f"; did you mean '{near}'?" if near else ""
        raise ValueError(f"{message}{hint} (scripts: {', '.join(scripts) or 'none'})")

    # ----------------------------------------------------------------------------------------
    # What a script needs
    # ----------------------------------------------------------------------------------------

    def get_script_testing_requirements(self, name: str) -> dict[str, Any]:
        """What a script reads and what it will run with now.

        Returns a dict with ``script_name``, ``step_name``, ``script_path``, ``source_dir``,
        ``mode``, ``found``, ``problems`` (what discovery noticed), ``auto_configurable``,
        ``status`` and the lists:

        - ``expected_inputs`` / ``expected_outputs``: ``name``, ``description``, ``required``,
          ``example_path`` (the default path), ``current_path`` (the path it will use; for a
          wired input, the upstream output's folder), ``wired_from`` (``{'step', 'output'}`` or
          None) and ``choices`` (the upstream outputs that could feed an ambiguous input);
        - ``environment_variables`` / ``job_arguments``: ``name``, ``description``,
          ``required``, ``default_value`` (what rtf prefilled), ``current_value`` and
          ``source`` (where ``current_value`` came from: ``config:<field>``,
          ``script default`` or ``user``; None when there is no value).
        """
        step = self.resolve_step(name)
        info = self.discovery.scripts[step]
        choices = self._current_choices(step)
        defaults = default_choices(info, self.layout)
        return {
            "script_name": info.script_name,
            "step_name": step,
            "script_path": _str(choices.script_path),
            "source_dir": info.source_dir,
            "mode": info.mode,
            "found": info.found,
            "problems": list(info.problems),
            "expected_inputs": self._input_requirements(info, choices),
            "expected_outputs": self._output_requirements(info, choices),
            "environment_variables": self._value_requirements(info, choices, defaults, "env"),
            "job_arguments": self._value_requirements(info, choices, defaults, "job"),
            # Nothing left to ask (the rule list-scripts shows); ``status`` also counts a script
            # as auto-configured when its open inputs already hold data at their default paths.
            "auto_configurable": is_auto_configurable(info),
            "status": self._status(step),
        }

    def _input_requirements(self, info: ScriptInfo, choices: Choices) -> list[dict[str, Any]]:
        analysis, pre = info.analysis, info.prefill
        uses = {u.name: u for u in analysis.inputs} if analysis is not None else {}
        if analysis is not None and analysis.inputs_guessed:
            uses = {n: u for n, u in uses.items() if n in choices.input_paths}
        names = list(dict.fromkeys([*uses, *choices.input_paths]))
        out: list[dict[str, Any]] = []
        for name in names:
            use = uses.get(name)
            value = choices.input_paths.get(name)
            options = pre.wiring_options.get(name, []) if pre is not None else []
            parts = []
            if use is not None:
                how = f"input_paths[{name!r}]" if use.required else f"input_paths.get({name!r})"
                parts.append(f"read as {how}, line {use.line}")
                if analysis is not None and analysis.inputs_guessed:
                    parts = [f"name guessed ({name!r}): the script's reads were not found"]
            else:
                parts.append("given by you; the script was not seen reading it")
            if isinstance(value, Wire):
                parts.append(f"fed by {value.step}.{value.output}")
                current = _str(self._output_path(value))
            else:
                current = _str(value)
                if options:
                    parts.append(
                        "could come from " + " or ".join(f"{w.step}.{w.output}" for w in options)
                    )
            out.append(
                {
                    "name": name,
                    "description": "; ".join(parts),
                    "required": use.required if use is not None else False,
                    "example_path": str(self.layout.default_input(info.step_name, name)),
                    "current_path": current,
                    "wired_from": _wire_dict(value) if isinstance(value, Wire) else None,
                    "choices": [_wire_dict(w) for w in options],
                }
            )
        return out

    def _output_requirements(self, info: ScriptInfo, choices: Choices) -> list[dict[str, Any]]:
        analysis = info.analysis
        uses = {u.name: u for u in analysis.outputs} if analysis is not None else {}
        if analysis is not None and analysis.outputs_guessed:
            uses = {n: u for n, u in uses.items() if n in choices.output_paths}
        out: list[dict[str, Any]] = []
        for name in dict.fromkeys([*uses, *choices.output_paths]):
            use = uses.get(name)
            if use is None:
                description = "given by you; the script was not seen writing it"
            elif analysis is not None and analysis.outputs_guessed:
                description = f"name guessed ({name!r}): the script's writes were not found"
            else:
                description = f"written to output_paths[{name!r}], line {use.line}"
            out.append(
                {
                    "name": name,
                    "description": description,
                    "required": use.required if use is not None else False,
                    "example_path": str(self.layout.default_output(info.step_name, name)),
                    "current_path": _str(choices.output_paths.get(name)),
                    "wired_from": None,
                    "choices": [],
                }
            )
        return out

    def _value_requirements(
        self, info: ScriptInfo, choices: Choices, defaults: Choices, kind: Literal["env", "job"]
    ) -> list[dict[str, Any]]:
        analysis, pre = info.analysis, info.prefill
        described: dict[str, str] = {}
        required: dict[str, bool] = {}
        if kind == "env":
            current: Mapping[str, Any] = choices.environ_vars
            prefilled: Mapping[str, Any] = defaults.environ_vars
            for env in analysis.environ_vars if analysis is not None else ():
                if env.name in described:
                    continue
                text = f"read by the script, line {env.line}"
                if env.has_default:
                    text += f"; script default {env.default!r}"
                described[env.name] = text
                required[env.name] = env.required
        else:
            current, prefilled = choices.job_args, defaults.job_args
            flags = {f.dest: f for f in analysis.cli_flags} if analysis is not None else {}
            for attr in analysis.job_args if analysis is not None else ():
                described.setdefault(attr, f"read as job_args.{attr}")
            for dest, flag in flags.items():
                text = f"command-line flag {flag.flag}" + (f" ({flag.help})" if flag.help else "")
                described.setdefault(dest, text)
                required[dest] = flag.required and flag.default is None
            for name in pre.open_job_args if pre is not None else ():
                required[name] = True
        out: list[dict[str, Any]] = []
        for name in dict.fromkeys([*described, *prefilled, *current]):
            has = name in current
            source = choices.sources.get(f"{kind}:{name}") if has else None
            if has and source is None:
                source = "user"
            out.append(
                {
                    "name": name,
                    "description": described.get(name)
                    or ("set from the config" if name in prefilled else "set by you"),
                    "required": required.get(name, False),
                    "default_value": prefilled.get(name),
                    "current_value": current.get(name),
                    "source": source,
                }
            )
        return out

    # ----------------------------------------------------------------------------------------
    # Configuring
    # ----------------------------------------------------------------------------------------

    def configure_script_testing(
        self,
        name: str,
        *,
        expected_inputs: Mapping[str, InputArg | None] | Placeholder | None = None,
        expected_outputs: Mapping[str, str | os.PathLike[str] | None] | Placeholder | None = None,
        environment_variables: Mapping[str, Any] | Placeholder | None = None,
        job_arguments: Mapping[str, Any] | Placeholder | None = None,
        environ_vars: Mapping[str, Any] | Placeholder | None = None,
        job_args: Mapping[str, Any] | Placeholder | None = None,
        input_paths: Mapping[str, InputArg | None] | Placeholder | None = None,
        output_paths: Mapping[str, str | os.PathLike[str] | None] | Placeholder | None = None,
        script_path: str | os.PathLike[str] | None = None,
    ) -> ScriptSpec:
        """Configure one script; what is not given keeps its current (or prefilled) value.

        Args:
            name: the script name or step name.
            expected_inputs: input name -> a path, or ``{'from': STEP, 'output': NAME}`` to
                take an upstream step's output; None removes an optional input.
                ``input_paths`` is the same (give one of the two).
            expected_outputs: output name -> the folder the script writes it to.
                ``output_paths`` is the same.
            environment_variables: env var name -> value (non-strings become strings the way
                config values do); None removes it. ``environ_vars`` is the same.
            job_arguments: job argument name -> value; None removes it. ``job_args`` is the
                same.
            script_path: another file for the script (needed when discovery did not find it).

        ``...`` or ``{...}`` in place of a mapping keeps what rtf prefilled.

        Returns:
            The script's spec entry (paths relative to the spec file's folder).

        Raises:
            ConfigurationError: (a ValueError) listing every problem: unknown input or output
                names, input paths that do not exist, a required input folder that is empty,
                references to unknown steps or outputs, required values left without one, a
                script file that does not exist. Nothing is changed then.
            ValueError: the name matches no script or several (see :meth:`resolve_step`).
        """
        step = self.resolve_step(name)
        info = self.discovery.scripts[step]
        inputs = _one_of("expected_inputs", expected_inputs, "input_paths", input_paths)
        outputs = _one_of("expected_outputs", expected_outputs, "output_paths", output_paths)
        env = _one_of("environment_variables", environment_variables, "environ_vars", environ_vars)
        job = _one_of("job_arguments", job_arguments, "job_args", job_args)

        problems: list[str] = []
        undo: Callable[[], None] | None = None
        path = None if script_path is None else _abs(script_path)
        if (
            path is not None
            and path.is_file()
            and (info.script_path is None or path.resolve() != info.script_path.resolve())
        ):
            undo = self._relocate(step, path)
        base = self._current_choices(step) if undo is None else self._default_choices(step)
        choices = Choices(
            script_path=base.script_path,
            input_paths=dict(base.input_paths),
            output_paths=dict(base.output_paths),
            environ_vars=dict(base.environ_vars),
            job_args=dict(base.job_args),
            sources=dict(base.sources),
        )
        if path is not None and undo is None:
            choices.script_path = path  # the same file, or one that is not there: a problem
        answered = set(self._answered.get(step, ())) if undo is None else set()
        analysis = info.analysis
        if inputs is not None:
            known = None if analysis is None or analysis.inputs_guessed else analysis.inputs
            if known is None and analysis is not None:
                # The names were guessed: the user's names replace the guesses.
                for guess in analysis.inputs:
                    if guess.name not in inputs:
                        choices.input_paths.pop(guess.name, None)
            for key, value in inputs.items():
                if known is not None and key not in {u.name for u in known}:
                    problems.append(_unknown("input", key, [u.name for u in known]))
                    continue
                if value is None:
                    choices.input_paths.pop(key, None)
                    answered.add(key)
                    continue
                parsed = self._parse_input(step, key, value, problems)
                if parsed is not None:
                    choices.input_paths[key] = parsed
                    answered.add(key)
        if outputs is not None:
            known_out = None if analysis is None or analysis.outputs_guessed else analysis.outputs
            if known_out is None and analysis is not None:
                for guess in analysis.outputs:
                    if guess.name not in outputs:
                        choices.output_paths.pop(guess.name, None)
            for key, out_value in outputs.items():
                if known_out is not None and key not in {u.name for u in known_out}:
                    problems.append(_unknown("output", key, [u.name for u in known_out]))
                elif out_value is None:
                    choices.output_paths.pop(key, None)
                elif isinstance(out_value, str | os.PathLike) and str(out_value).strip():
                    choices.output_paths[key] = _abs(out_value)
                else:
                    problems.append(f"output {key!r}: expected a folder path, got {out_value!r}")
        for kind, given, target in (
            ("env", env, choices.environ_vars),
            ("job", job, choices.job_args),
        ):
            for key, item in (given or {}).items():
                if not isinstance(key, str) or not key:
                    problems.append(f"{_KIND[kind]} names must be non-empty strings: {key!r}")
                    continue
                if item is None:
                    target.pop(key, None)
                    choices.sources.pop(f"{kind}:{key}", None)
                    continue
                target[key] = as_env_string(item) if kind == "env" else item
                choices.sources[f"{kind}:{key}"] = "user"

        problems += self._problems(step, choices, answered)
        if problems:
            if undo is not None:
                undo()
            raise ConfigurationError(
                f"Cannot configure {_label(info)}:\n" + "\n".join(f"  - {p}" for p in problems),
                problems,
            )
        self._choices[step] = choices
        self._answered[step] = answered
        return self._script_spec(step, choices)

    def locate_script(self, name: str, script_path: str | os.PathLike[str]) -> ScriptInfo:
        """Point a script step at a file: for a script discovery did not find, or another file.

        The file is analysed (parsed, never run) and every prefilled value is worked out
        again, so its inputs, outputs, env vars and job args show in
        :meth:`get_script_testing_requirements`. The step's configuration starts afresh.
        Unlike ``configure_script_testing(name, script_path=...)``, nothing else is checked.

        Raises:
            FileNotFoundError: the file does not exist.
            ValueError: the name matches no script or several (see :meth:`resolve_step`).
        """
        step = self.resolve_step(name)
        path = _abs(script_path)
        if not path.is_file():
            raise FileNotFoundError(f"Script file not found: {script_path}")
        self._relocate(step, path)
        self._choices.pop(step, None)
        self._answered.pop(step, None)
        return self.discovery.scripts[step]

    def _parse_input(
        self, step: str, key: str, value: Any, problems: list[str]
    ) -> Path | Wire | None:
        from rtf.spec import InputRef

        ref: tuple[Any, Any] | None = None
        if isinstance(value, Wire):
            ref = (value.step, value.output)
        elif isinstance(value, InputRef):
            ref = (value.from_, value.output)
        elif isinstance(value, Mapping):
            extra = sorted(set(map(str, value)) - {"from", "output"})
            if extra or "from" not in value or "output" not in value:
                problems.append(
                    f"input {key!r}: a reference is {{'from': STEP, 'output': NAME}}, "
                    f"got {dict(value)!r}"
                )
                return None
            ref = (value["from"], value["output"])
        elif isinstance(value, str | os.PathLike):
            if not str(value).strip():
                problems.append(f"input {key!r}: empty path")
                return None
            return _abs(value)
        else:
            problems.append(
                f"input {key!r}: expected a path or {{'from': STEP, 'output': NAME}}, "
                f"got {type(value).__name__}"
            )
            return None
        source, output = ref
        if not isinstance(source, str) or not isinstance(output, str):
            problems.append(f"input {key!r}: 'from' and 'output' must be strings")
            return None
        try:
            up = self.resolve_step(source)
        except ValueError as exc:
            problems.append(f"input {key!r}: {exc}")
            return None
        if up == step:
            problems.append(f"input {key!r}: a step cannot read its own output")
            return None
        if step in self.discovery.dag.ancestors(up):
            problems.append(f"input {key!r}: {up} runs after {step} (it is downstream)")
            return None
        outputs = list(self._current_choices(up).output_paths)
        if output not in outputs:
            problems.append(
                f"input {key!r}: {_unknown('output', output, outputs, of=up)}".replace(
                    "unknown output", "no output", 1
                )
            )
            return None
        return Wire(up, output)

    def _problems(self, step: str, choices: Choices, answered: Iterable[str]) -> list[str]:
        """What keeps ``choices`` from running: every problem, one line each."""
        info = self.discovery.scripts[step]
        pre = info.prefill
        problems: list[str] = []
        answered = set(answered)
        if choices.script_path is None:
            tried = f" (looked in {len(info.tried)} places)" if info.tried else ""
            problems.append(f"script file {info.entry_point} not found{tried}: pass script_path=")
        elif not Path(choices.script_path).is_file():
            problems.append(f"script file not found: {choices.script_path}")
        required_in = set()
        required_out = set()
        if info.analysis is not None:
            # A guessed name may be removed: the script may read no input at all.
            if not info.analysis.inputs_guessed:
                required_in = {u.name for u in info.analysis.inputs if u.required}
            if not info.analysis.outputs_guessed:
                required_out = {u.name for u in info.analysis.outputs if u.required}
        for name in sorted(required_in - set(choices.input_paths)):
            problems.append(f"input {name!r} is required by the script: give it a path")
        for name in sorted(required_out - set(choices.output_paths)):
            problems.append(f"output {name!r} is written by the script: give it a folder")
        if pre is not None:
            for name, options in pre.wiring_options.items():
                if name not in answered and name in choices.input_paths:
                    shown = " or ".join(
                        f"{{'from': {w.step!r}, 'output': {w.output!r}}}" for w in options
                    )
                    problems.append(f"input {name!r} could come from several steps: give {shown}")
            for name in pre.open_env:
                if name not in choices.environ_vars:
                    problems.append(
                        f"env var {name!r} is read by the script and has no value: "
                        "give environment_variables={" + repr(name) + ": ...}"
                    )
            for name in pre.open_job_args:
                if name not in choices.job_args:
                    problems.append(
                        f"job argument {name!r} is read by the script and has no value: "
                        "give job_arguments={" + repr(name) + ": ...}"
                    )
        for name, value in choices.input_paths.items():
            if isinstance(value, Wire):
                continue
            if not value.exists():
                problems.append(f"input {name!r}: path does not exist: {value}")
            elif name in required_in and value.is_dir() and not holds_data(value):
                problems.append(f"input {name!r}: folder is empty: {value}")
        return problems

    # ----------------------------------------------------------------------------------------
    # Spec and summary
    # ----------------------------------------------------------------------------------------

    def get_testing_factory_summary(self) -> dict[str, Any]:
        """Counts and per-script status.

        Keys: ``pipeline``, ``total_scripts``, ``manually_configured``, ``auto_configured``,
        ``pending``, ``ready_for_testing``, ``pending_scripts``, ``skipped`` (node -> reason)
        and ``script_configurations`` (step -> ``status``, ``script_name``, ``script_path``,
        and for pending ones ``missing``: what is still needed).
        """
        configs: dict[str, dict[str, Any]] = {}
        counts = {"configured": 0, "auto_configured": 0, "pending": 0}
        for step in self.discovery.script_steps():
            info = self.discovery.scripts[step]
            status = self._status(step)
            counts[status] += 1
            entry: dict[str, Any] = {
                "status": status,
                "script_name": info.script_name,
                "script_path": _str(self._current_choices(step).script_path),
            }
            if status == "pending":
                entry["missing"] = self._problems(
                    step, self._current_choices(step), self._answered.get(step, ())
                )
            configs[step] = entry
        return {
            "pipeline": self.discovery.dag.name,
            "total_scripts": len(configs),
            "manually_configured": counts["configured"],
            "auto_configured": counts["auto_configured"],
            "pending": counts["pending"],
            "ready_for_testing": counts["pending"] == 0,
            "pending_scripts": [s for s, c in configs.items() if c["status"] == "pending"],
            "skipped": {n: s.reason for n, s in self.discovery.skipped.items()},
            "script_configurations": configs,
        }

    def build_spec(self) -> PipelineSpec:
        """The spec of every script: as configured, or auto-configured on the fly.

        Raises:
            ConfigurationError: (a ValueError) some scripts are still pending; the message
                lists each one and what it still needs.
        """
        self._ensure_ready()
        choices = {s: self._current_choices(s) for s in self.discovery.script_steps()}
        spec = build_spec(self.discovery, choices, self.layout)
        from rtf.spec import validate_spec

        try:
            validate_spec(spec, check_files=False)  # script files: checked with the choices
        except InputError as exc:
            raise ConfigurationError(str(exc), [str(exc)]) from None
        return spec

    def save_spec(self, path: str | Path | None = None, *, overwrite: bool = False) -> Path:
        """Write the spec (the same file the wizard writes) and return its path.

        ``path`` defaults to the factory's ``spec_path``; giving another one makes it the
        factory's ``spec_path`` (relative paths in the spec are relative to its folder).
        A file this factory did not write is replaced only with ``overwrite=True``.

        Raises:
            FileExistsError: the file exists, was not written by this factory, and
                ``overwrite`` is false.
            ConfigurationError: (a ValueError) some scripts are still pending.
        """
        target = self.spec_path if path is None else Path(path).expanduser().absolute()
        if target.exists() and target not in self._saved and not overwrite:
            raise FileExistsError(
                f"Spec file already exists: {target} (pass overwrite=True to replace it)"
            )
        previous = self.spec_path
        self.spec_path = target
        try:
            spec = self.build_spec()
        except BaseException:
            self.spec_path = previous
            raise
        from rtf.spec import save_spec

        save_spec(spec, target)
        self._saved.add(target)
        self._saved_path = target
        return target

    # ----------------------------------------------------------------------------------------
    # Running
    # ----------------------------------------------------------------------------------------

    def run(self, options: RunOptions | None = None, observer: Any = None) -> RunReport:
        """Save the spec (to ``spec_path``, or where it was last saved) and run it.

        The saved file is read back and run exactly as ``rtf run --spec FILE`` would; a
        failing script is a step status in the report, not an exception.

        Raises:
            ConfigurationError: (a ValueError) some scripts are still pending.
            FileExistsError: ``spec_path`` holds a file this factory did not write (call
                :meth:`save_spec` with ``overwrite=True`` first).
            rtf.errors.InputError: the run engine found a problem before any step started
                (e.g. a non-empty output folder rtf did not create).
        """
        from rtf.runner import RunOptions, run_spec
        from rtf.spec import load_spec

        path = self.save_spec(self._saved_path)
        return run_spec(load_spec(path), options or RunOptions(), observer=observer)

    def execute_dag_guided_testing(self, *, observer: Any = None, **options: Any) -> dict[str, Any]:
        """Run every script through the run engine and say how the data flowed.

        ``options`` are :class:`rtf.RunOptions` fields (``jobs``, ``timeout``,
        ``fail_fast``, ``only``, ...). Auto-configurable scripts are configured for you.

        Returns a dict with ``pipeline_success``, ``script_results`` (step -> the run
        report's step entry plus ``success`` and ``script_name``), ``data_flow_results``
        (``"UP->DOWN"`` for each DAG edge between two scripts -> ``success``: the wired
        upstream outputs existed, were non-empty, and the downstream step passed; with
        ``from_step``, ``to_step``, ``wired`` and ``reason``), ``execution_order``,
        ``errors``, ``run_id``, ``spec_path`` and ``interactive_factory_info``.

        Raises:
            ConfigurationError: (a ValueError) scripts are still pending; lists them.
        """
        from rtf.runner import RunOptions

        self._ensure_ready()
        summary = self.get_testing_factory_summary()
        run_options = RunOptions(**options)
        report = self.run(run_options, observer=observer)
        spec_path = self._saved_path
        assert spec_path is not None
        from rtf.spec import load_spec

        spec = load_spec(spec_path)
        steps = {s.step_name: s for s in report.steps}
        script_results: dict[str, Any] = {}
        errors: list[str] = []
        for name, step_report in steps.items():
            entry = step_report.model_dump(mode="json")
            entry["success"] = step_report.status == "passed"
            entry["script_name"] = self.discovery.scripts[name].script_name
            script_results[name] = entry
            if step_report.status != "passed":
                reason = step_report.reason or step_report.status
                errors.append(f"{name}: {step_report.status}: {reason}")
        return {
            "pipeline_success": report.success,
            "script_results": script_results,
            "data_flow_results": self._data_flow(spec, steps),
            "execution_order": spec.order(),
            "errors": errors,
            "run_id": report.run_id,
            "spec_path": str(spec_path),
            "interactive_factory_info": {
                "total_scripts": summary["total_scripts"],
                "manually_configured": summary["manually_configured"],
                "auto_configured": summary["auto_configured"],
                "script_configurations": {
                    s: {"status": c["status"]} for s, c in summary["script_configurations"].items()
                },
            },
        }

    def _data_flow(self, spec: PipelineSpec, steps: Mapping[str, Any]) -> dict[str, Any]:
        from rtf.spec import InputRef

        results: dict[str, Any] = {}
        scripts = self.discovery.scripts
        for up, down in self.discovery.dag.edges:
            if up not in scripts or down not in scripts:
                continue
            up_report, down_report = steps.get(up), steps.get(down)
            wired: list[dict[str, Any]] = []
            reasons: list[str] = []
            refs = spec.scripts[down].input_paths.items() if down in spec.scripts else []
            for input_name, value in refs:
                if not isinstance(value, InputRef) or value.from_ != up:
                    continue
                produced = up_report.outputs.get(value.output) if up_report is not None else None
                path = spec.resolve(spec.scripts[up].output_paths[value.output])
                files = produced.files if produced is not None else 0
                size = produced.bytes if produced is not None else 0
                exists = path.exists()
                wired.append(
                    {
                        "output": value.output,
                        "input": input_name,
                        "path": str(path),
                        "exists": exists,
                        "files": files,
                        "bytes": size,
                    }
                )
                if not exists:
                    reasons.append(f"output {value.output!r} of {up} does not exist")
                elif not files or not size:
                    reasons.append(f"output {value.output!r} of {up} is empty")
            if not wired:
                reasons.append(f"no input of {down} is wired to an output of {up}")
            down_status = down_report.status if down_report is not None else "not run"
            if down_status != "passed":
                why = f" ({down_report.reason})" if down_report and down_report.reason else ""
                reasons.append(f"{down} {down_status}{why}")
            results[f"{up}->{down}"] = {
                "from_step": up,
                "to_step": down,
                "wired": wired,
                "success": not reasons,
                "reason": "; ".join(reasons) or None,
            }
        return results

    # ----------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------

    def _current_choices(self, step: str) -> Choices:
        configured = self._choices.get(step)
        return configured if configured is not None else self._default_choices(step)

    def _default_choices(self, step: str) -> Choices:
        return default_choices(self.discovery.scripts[step], self.layout)

    def _relocate(self, step: str, path: Path) -> Callable[[], None]:
        """Point ``step`` at another script file: analyse it, prefill everything again.

        Returns a function that puts everything back as it was.
        """
        from rtf.analysis import analyze_script
        from rtf.prefill import prefill_all

        scripts = self.discovery.scripts
        saved = {
            s: (i.script_path, i.found, i.analysis, list(i.problems), i.prefill)
            for s, i in scripts.items()
        }
        info = scripts[step]
        analysis = analyze_script(path)
        info.script_path = path.resolve()
        info.found = True
        info.analysis = analysis
        info.problems = list(analysis.problems)
        prefill_all(self.discovery)

        def undo() -> None:
            for s, (script, found, old, problems, prefill) in saved.items():
                i = scripts[s]
                i.script_path, i.found, i.analysis, i.problems, i.prefill = (
                    script,
                    found,
                    old,
                    problems,
                    prefill,
                )

        return undo

    def _auto_configurable(self, step: str) -> bool:
        info = self.discovery.scripts[step]
        if not info.found or info.mode is None:
            return False
        return not self._problems(step, default_choices(info, self.layout), ())

    def _status(self, step: str) -> Status:
        if step in self._choices:
            return "configured"
        return "auto_configured" if self._auto_configurable(step) else "pending"

    def _ensure_ready(self) -> None:
        pending = self.get_pending_script_configurations()
        if not pending:
            return
        lines: list[str] = []
        for step in pending:
            info = self.discovery.scripts[step]
            for problem in self._problems(step, self._current_choices(step), ()) or [
                "the script could not be analysed: " + "; ".join(info.problems)
            ]:
                lines.append(f"{step}: {problem}")
        raise ConfigurationError(
            f"{len(pending)} script(s) still need configuration ({', '.join(pending)}); "
            "configure them with configure_script_testing():\n"
            + "\n".join(f"  - {line}" for line in lines),
            lines,
        )

    def _script_spec(self, step: str, choices: Choices) -> ScriptSpec:
        info = self.discovery.scripts[step]
        return build_script_spec(info, choices, self.discovery.upstream_scripts(step), self.layout)

    def _output_path(self, wire: Wire) -> Path | None:
        return self._current_choices(wire.step).output_paths.get(wire.output)


_KIND = {"env": "env var", "job": "job argument"}


def _label(info: ScriptInfo) -> str:
    if info.script_name == info.step_name:
        return f"'{info.step_name}'"
    return f"'{info.step_name}' ({info.script_name})"


def _one_of(first: str, a: Any, second: str, b: Any) -> Mapping[str, Any] | None:
    a, b = _given(a), _given(b)
    if a is not None and b is not None:
        raise TypeError(f"give {first}= or {second}=, not both")
    value = a if a is not None else b
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f"{first}= expects a mapping of name -> value, got {type(value).__name__}")
    return value


def _given(value: Any) -> Any:
    """None for "not given": None, ``...`` or ``{...}``."""
    if value is None or value is Ellipsis:
        return None
    if isinstance(value, set | frozenset) and value == {Ellipsis}:
        return None
    return value


def _unknown(kind: str, name: str, known: Sequence[str], of: str | None = None) -> str:
    near = closest(name, known)
    where = f" of {of}" if of else ""
    listed = ", ".join(known) or "none"
    hint = f"; did you mean {near!r}?" if near else ""
    return f"unknown {kind} {name!r}{where} (the script's {kind}s: {listed}){hint}"


def _abs(value: str | os.PathLike[str]) -> Path:
    return Path(value).expanduser().absolute()


def _str(value: Path | None) -> str | None:
    return None if value is None else str(value)


def _wire_dict(wire: Wire) -> dict[str, str]:
    return {"step": wire.step, "output": wire.output}
