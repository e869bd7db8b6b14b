"""From a discovery and the user's choices to a spec (SPEC 2.5 default paths, SPEC 4)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtf.discovery import Discovery, ScriptInfo
from rtf.errors import InputError
from rtf.prefill import Wire
from rtf.spec import InputRef, PipelineSpec, ScriptSpec


@dataclass
class Layout:
    """Where things go: the spec's folder, the data root and the workspace (absolute)."""

    spec_path: Path
    data_root: Path
    workspace: Path

    @classmethod
    def default(
        cls,
        discovery: Discovery,
        spec_path: Path,
        data_root: Path | None = None,
        workspace: Path | None = None,
    ) -> Layout:
        spec_path = spec_path.absolute()
        return cls(
            spec_path=spec_path,
            data_root=(
                data_root or discovery.config.path.absolute().parent / "test_data"
            ).absolute(),
            workspace=(workspace or spec_path.parent / ".rtf").absolute(),
        )

    @property
    def spec_dir(self) -> Path:
        return self.spec_path.parent

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the spec's folder when that reads well, else absolute."""
        p = Path(path)
        p = p if p.is_absolute() else Path.cwd() / p
        try:
            rel = os.path.relpath(p, self.spec_dir)
        except ValueError:  # pragma: no cover - another drive on Windows
            return str(p)
        return rel if not rel.startswith(("../../../..",)) else str(p)

    def default_input(self, step: str, name: str) -> Path:
        return self.data_root / step / name

    def default_output(self, step: str, name: str) -> Path:
        return self.workspace / "outputs" / step / name


@dataclass
class Choices:
    """What a script will run with: prefilled by rtf, changed by the user. Paths are absolute."""

    script_path: Path | None = None
    input_paths: dict[str, Path | Wire] = field(default_factory=dict)
    output_paths: dict[str, Path] = field(default_factory=dict)
    environ_vars: dict[str, str] = field(default_factory=dict)
    job_args: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # "env:NAME" / "job:NAME" -> source


def default_choices(info: ScriptInfo, layout: Layout) -> Choices:
    """Every value rtf can fill in for a script, open inputs at their default data paths."""
    pre = info.prefill
    assert pre is not None
    choices = Choices(script_path=info.script_path)
    analysis = info.analysis
    required = {u.name for u in analysis.inputs if u.required} if analysis else set()
    for name, wire in pre.wiring.items():
        if wire is not None:
            choices.input_paths[name] = wire
            continue
        default = layout.default_input(info.step_name, name)
        if name in required or name in pre.wiring_options or default.exists():
            choices.input_paths[name] = default
    for use in analysis.outputs if analysis else ():
        choices.output_paths[use.name] = layout.default_output(info.step_name, use.name)
    for name, value in pre.environ_vars.items():
        choices.environ_vars[name] = str(value.value)
        choices.sources[f"env:{name}"] = value.source
    for name, value in pre.job_args.items():
        choices.job_args[name] = value.value
        choices.sources[f"job:{name}"] = value.source
    return choices


def missing_values(info: ScriptInfo, choices: Choices) -> list[str]:
    """What a script still lacks to run: ``STEP: env LABEL_FIELD`` and the like."""
    pre = info.prefill
    out: list[str] = []
    if choices.script_path is None or not Path(choices.script_path).is_file():
        out.append(f"{info.step_name}: script file ({info.entry_point} not found)")
    if pre is not None:
        out += [f"{info.step_name}: env {n}" for n in pre.open_env if n not in choices.environ_vars]
        out += [
            f"{info.step_name}: job arg {n}" for n in pre.open_job_args if n not in choices.job_args
        ]
        out += [
            f"{info.step_name}: input {n} (choose one of: "
            + ", ".join(f"{w.step}.{w.output}" for w in opts)
            + ")"
            for n, opts in pre.wiring_options.items()
            if not isinstance(choices.input_paths.get(n), Wire | Path)
        ]
    return out


def build_script_spec(
    info: ScriptInfo, choices: Choices, deps: list[str], layout: Layout
) -> ScriptSpec:
    """The spec entry of one script from its choices (paths written relative to the spec)."""
    if choices.script_path is None:
        raise InputError(f"{info.step_name}: no script file", hint="give the script's path")
    inputs: dict[str, str | InputRef] = {}
    for name, value in choices.input_paths.items():
        if isinstance(value, Wire):
            inputs[name] = InputRef(**{"from": value.step, "output": value.output})
        else:
            inputs[name] = layout.rel(value)
    wired = [v.step for v in choices.input_paths.values() if isinstance(v, Wire)]
    return ScriptSpec(
        script_path=layout.rel(choices.script_path),
        mode=info.mode or "main",
        depends_on=list(dict.fromkeys([*deps, *wired])),
        input_paths=inputs,
        output_paths={k: layout.rel(v) for k, v in choices.output_paths.items()},
        environ_vars=dict(choices.environ_vars),
        job_args=dict(choices.job_args),
    )


def build_spec(
    discovery: Discovery, choices: Mapping[str, Choices], layout: Layout
) -> PipelineSpec:
    """The whole spec, scripts in DAG order; the scripts absent from ``choices`` are left out."""
    scripts: dict[str, ScriptSpec] = {}
    for step in discovery.script_steps():
        if step not in choices:
            continue
        deps = [d for d in discovery.upstream_scripts(step) if d in choices]
        scripts[step] = build_script_spec(discovery.scripts[step], choices[step], deps, layout)
    spec = PipelineSpec(
        pipeline=discovery.dag.name,
        dag=layout.rel(discovery.dag.source) if discovery.dag.source else None,
        config=layout.rel(discovery.config.path),
        workspace=layout.rel(layout.workspace),
        scripts=scripts,
    )
    spec.bind(layout.spec_path)
    return spec
