"""The spec file (SPEC 4): what the user chose, replayable by ``rtf run``.

Paths in the file are kept as written (relative to the spec's folder); :meth:`PipelineSpec.resolve`
turns one into an absolute path. ``load_spec`` validates everything that can be checked before a
script starts; ``save_spec`` writes atomically and round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from rtf.errors import InputError
from rtf.files import load_data_file, write_atomic

SPEC_VERSION = 1


class InputRef(BaseModel):
    """An input fed by another step's output."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    from_: str = Field(alias="from", description="The step whose output feeds this input.")
    output: str = Field(description="The name of that step's output.")


InputValue = str | InputRef


class ScriptSpec(BaseModel):
    """How one script step runs: its file, mode, paths, env vars and job args."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    script_path: str = Field(
        description="The script file, relative to the spec's folder or absolute."
    )
    mode: Literal["main", "cli"] = Field(
        "main",
        description="main: call main(input_paths, output_paths, environ_vars, job_args); "
        "cli: run the file as a program with --flag value job args.",
    )
    source_dir: str | None = Field(
        None, description="A folder made importable for the script (its own folder always is)."
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Script steps that must pass before this one starts."
    )
    input_paths: dict[str, InputValue] = Field(
        default_factory=dict,
        description="Input name -> a path, or {from: STEP, output: NAME} for an upstream output.",
    )
    output_paths: dict[str, str] = Field(
        default_factory=dict, description="Output name -> the folder the script writes it to."
    )
    environ_vars: dict[str, str] = Field(
        default_factory=dict, description="Env vars passed to main() and set in the process."
    )
    job_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Job arguments: an argparse.Namespace in main mode, --flags in cli mode.",
    )
    timeout: float | None = Field(
        None, ge=0, description="Seconds before the step is stopped; null = the run's default."
    )

    @field_validator("environ_vars", mode="before")
    @classmethod
    def _env_as_strings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(item, bool):
                out[key] = "true" if item else "false"
            elif isinstance(item, int | float):
                out[key] = str(item)
            else:
                out[key] = item
        return out


class PipelineSpec(BaseModel):
    """A replayable test plan for a pipeline's scripts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Literal[1] = Field(1, description="Spec format version; this rtf reads 1.")
    pipeline: str | None = Field(None, description="The pipeline's name.")
    dag: str | None = Field(None, description="The DAG file this spec was made from.")
    config: str | None = Field(None, description="The pipeline config this spec was made from.")
    workspace: str = Field(".rtf", description="Where runs, logs and default outputs go.")
    python: str | None = Field(
        None, description="Interpreter for the scripts (e.g. a venv's python); null = rtf's own."
    )
    scripts: dict[str, ScriptSpec] = Field(
        default_factory=dict, description="Script steps by step name, in DAG order."
    )

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _path: Path | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are resolved against (the spec file's folder)."""
        return self._base_dir

    @property
    def path(self) -> Path | None:
        return self._path

    def bind(self, path: Path) -> PipelineSpec:
        """Attach the file this spec lives in (relative paths resolve against its folder)."""
        self._path = path
        self._base_dir = path.resolve().parent
        return self

    def resolve(self, value: str) -> Path:
        """An absolute path for a path written in the spec."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self._base_dir / p)

    def dependencies(self, step: str) -> list[str]:
        """``depends_on`` plus every step an input references, in first-seen order."""
        script = self.scripts[step]
        refs = [v.from_ for v in script.input_paths.values() if isinstance(v, InputRef)]
        return list(dict.fromkeys([*script.depends_on, *refs]))

    def order(self) -> list[str]:
        """Steps in dependency order, ties broken by their order in the file."""
        index = {name: i for i, name in enumerate(self.scripts)}
        done: list[str] = []
        placed: set[str] = set()
        pending = list(self.scripts)
        while pending:
            ready = [s for s in pending if all(d in placed for d in self.dependencies(s))]
            if not ready:
                break
            step = min(ready, key=index.__getitem__)
            done.append(step)
            placed.add(step)
            pending.remove(step)
        return done


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec file."""
    schema = PipelineSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rtf spec file"
    return schema


def parse_spec(data: Any, path: Path, *, check_files: bool = True) -> PipelineSpec:
    """Validate a parsed spec document; every problem names the file and the step."""
    if not isinstance(data, dict):
        raise InputError.at(path, None, "a spec file is a mapping with 'version' and 'scripts'")
    if "version" in data and data["version"] != SPEC_VERSION:
        raise InputError.at(
            path,
            "version",
            f"unknown spec version {data['version']!r} (this rtf reads {SPEC_VERSION})",
        )
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, path) from None
    spec.bind(path)
    validate_spec(spec, check_files=check_files)
    return spec


def validate_spec(spec: PipelineSpec, *, check_files: bool = True) -> None:
    """Check references, dependencies, cycles and files; raise InputError on the first problem."""
    path = spec.path or Path("<spec>")
    steps = spec.scripts
    if not steps:
        raise InputError.at(path, "scripts", "no scripts to run")
    from rtf.dag import closest

    def hint_for(name: str) -> str | None:
        near = closest(name, steps)
        return f"did you mean {near!r}?" if near else None

    for name, script in steps.items():
        for dep in script.depends_on:
            if dep not in steps:
                raise InputError.at(
                    path, f"scripts.{name}.depends_on", f"unknown step {dep!r}", hint=hint_for(dep)
                )
            if dep == name:
                raise InputError.at(
                    path, f"scripts.{name}.depends_on", "a step cannot depend on itself"
                )
        for inp, value in script.input_paths.items():
            where = f"scripts.{name}.input_paths.{inp}"
            if isinstance(value, InputRef):
                if value.from_ not in steps:
                    raise InputError.at(
                        path, where, f"unknown step {value.from_!r}", hint=hint_for(value.from_)
                    )
                outputs = steps[value.from_].output_paths
                if value.output not in outputs:
                    known = ", ".join(outputs) or "none"
                    raise InputError.at(
                        path,
                        where,
                        f"step {value.from_!r} has no output {value.output!r} (outputs: {known})",
                    )
            elif not value.strip():
                raise InputError.at(path, where, "empty path")
        for out, value in script.output_paths.items():
            if not value.strip():
                raise InputError.at(path, f"scripts.{name}.output_paths.{out}", "empty path")
        if check_files:
            script_file = spec.resolve(script.script_path)
            if not script_file.is_file():
                raise InputError.at(
                    path, f"scripts.{name}.script_path", f"script file not found: {script_file}"
                )
    order = spec.order()
    if len(order) != len(steps):
        stuck = [s for s in steps if s not in order]
        raise InputError.at(path, "scripts", "dependency cycle among: " + ", ".join(stuck))
    owners: dict[Path, str] = {}
    for name, script in steps.items():
        for out, value in script.output_paths.items():
            target = spec.resolve(value).resolve()
            if target in owners:
                raise InputError.at(
                    path,
                    f"scripts.{name}.output_paths.{out}",
                    f"the same folder is already an output of {owners[target]}: {value}",
                )
            owners[target] = f"{name}.{out}"


def load_spec(path: str | Path, *, check_files: bool = True) -> PipelineSpec:
    """Read and validate a spec file."""
    p = Path(path)
    return parse_spec(load_data_file(p, "spec file"), p, check_files=check_files)


def dump_spec(spec: PipelineSpec) -> str:
    """The spec as YAML text, in the field order of SPEC 4."""
    import yaml

    data = spec.model_dump(by_alias=True, mode="json")
    for script in data["scripts"].values():
        if script.get("source_dir") is None:
            script.pop("source_dir", None)
    header = "# rtf spec — run it with: rtf run --spec <this file>\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_spec(spec: PipelineSpec, path: str | Path) -> Path:
    """Write the spec atomically; relative paths in it are left as they are."""
    p = Path(path)
    write_atomic(p, dump_spec(spec))
    spec.bind(p)
    return p


def _from_validation(exc: ValidationError, path: Path) -> InputError:
    err = exc.errors()[0]
    loc = [str(x) for x in err["loc"]]
    # pydantic adds the union member tried ("str", "InputRef"); drop those from the place
    loc = [
        x
        for x in loc
        if x not in ("str", "InputRef", "function-after[_env_as_strings(), dict[str,str]]")
    ]
    place = ".".join(loc) or None
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        parent = ".".join(loc[:-1]) or "top level"
        hint = _key_hint(key, loc[:-1])
        return InputError.at(path, place, f"unknown key {key!r} in {parent}", hint=hint)
    if kind == "literal_error" and loc and loc[-1] == "mode":
        return InputError.at(
            path, place, f"unknown mode {err.get('input')!r} (expected main or cli)"
        )
    if kind == "missing":
        return InputError.at(path, place, "required key missing")
    if kind in ("greater_than_equal", "greater_than") and loc and loc[-1] == "timeout":
        return InputError.at(
            path, place, f"timeout must be 0 or more seconds, found {err.get('input')!r}"
        )
    return InputError.at(path, place, f"{err['msg']} (found {_short(err.get('input'))})")


def _key_hint(key: str, parent: list[str]) -> str | None:
    from rtf.dag import closest

    if not parent:
        fields: Mapping[str, Any] = PipelineSpec.model_fields
    elif len(parent) == 2 and parent[0] == "scripts":
        fields = ScriptSpec.model_fields
    else:
        fields = {"from": None, "output": None}
    near = closest(key, fields)
    return f"did you mean {near!r}?" if near else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
