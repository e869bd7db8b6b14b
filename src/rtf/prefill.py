"""Values rtf can know without asking (SPEC 2.5): env vars, job args and input wiring."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtf.discovery import Discovery, ScriptInfo

ENV_ALIASES: Mapping[str, str] = {
    "LABEL_FIELD": "label_name",
    "ID_FIELD": "id_name",
    "PYTHON_VERSION": "py_version",
}
ALWAYS_ENV = (
    "FRAMEWORK_VERSION",
    "PROCESSING_FRAMEWORK_VERSION",
    "LABEL_FIELD",
    "TRAIN_RATIO",
    "TEST_VAL_RATIO",
)

#: Input and output names that mean the same data. Each group is matched ignoring case, `_` and `-`.
WIRING_ALIASES: list[frozenset[str]] = [
    frozenset(
        {
            "modeloutput",
            "modelinput",
            "model",
            "modelartifacts",
            "modelartifactsinput",
            "modeldir",
            "modelpath",
            "modeldata",
        }
    ),
    frozenset(
        {
            "processeddata",
            "inputpath",
            "inputdata",
            "trainingdata",
            "data",
            "datainput",
            "dataoutput",
            "preprocesseddata",
        }
    ),
    frozenset(
        {
            "evaloutput",
            "evaluationdata",
            "evaluationoutput",
            "evalinput",
            "evaldata",
            "predictions",
            "predictionsinput",
        }
    ),
    frozenset(
        {"calibrationoutput", "calibrationmodel", "calibrationinput", "calibrationartifacts"}
    ),
    frozenset({"packagedmodel", "packagedmodelinput", "modelpackage"}),
    frozenset({"payloadsample", "payloadinput", "payloadsamples"}),
    frozenset({"metricsoutput", "metricsinput", "metrics"}),
]


@dataclass(frozen=True)
class Value:
    """A prefilled value and its source: ``config:<field>``, ``script default`` or ``user``."""

    value: Any
    source: str


@dataclass(frozen=True)
class Wire:
    """An input fed by an upstream step's output."""

    step: str
    output: str


@dataclass
class Prefill:
    """What rtf filled in for one script, and what is still open."""

    environ_vars: dict[str, Value] = field(default_factory=dict)
    job_args: dict[str, Value] = field(default_factory=dict)
    wiring: dict[str, Wire | None] = field(default_factory=dict)
    wiring_options: dict[str, list[Wire]] = field(default_factory=dict)
    open_env: list[str] = field(default_factory=list)
    open_job_args: list[str] = field(default_factory=list)
    open_inputs: list[str] = field(default_factory=list)

    @property
    def auto_configurable(self) -> bool:
        return not (self.open_env or self.open_job_args or self.open_inputs)


def as_env_string(value: Any) -> str:
    """How a config value becomes an env var: strings as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def normalize(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _alias_group(name: str) -> frozenset[str] | None:
    key = normalize(name)
    return next((g for g in WIRING_ALIASES if key in g), None)


def prefill_env(info: ScriptInfo) -> tuple[dict[str, Value], list[str]]:
    """Env vars from the step's merged config, then the script's defaults; and the open ones."""
    fields = info.config.fields
    lowered = {k.lower(): k for k in fields}
    out: dict[str, Value] = {}
    open_: list[str] = []

    def from_config(name: str) -> Value | None:
        for key in (lowered.get(name.lower()), ENV_ALIASES.get(name.upper())):
            if key is not None and fields.get(key) is not None:
                return Value(as_env_string(fields[key]), f"config:{key}")
        return None

    uses = info.analysis.environ_vars if info.analysis is not None else ()
    for use in uses:
        value = from_config(use.name)
        if value is None and use.default is not None:
            value = Value(use.default, "script default")
        if value is not None:
            out[use.name] = value
        elif use.required:
            open_.append(use.name)
    for name in ALWAYS_ENV:
        if name not in out:
            value = from_config(name)
            if value is not None:
                out[name] = value
    return out, open_


def prefill_job_args(info: ScriptInfo) -> tuple[dict[str, Value], list[str]]:
    """``job_type``, job args the script reads that the config has, and ``hyperparameters``."""
    fields = info.config.fields
    out: dict[str, Value] = {}
    open_: list[str] = []
    if fields.get("job_type") not in (None, ""):
        out["job_type"] = Value(fields["job_type"], "config:job_type")
    analysis = info.analysis
    read = list(analysis.job_args) if analysis is not None else []
    flags = {f.dest: f for f in analysis.cli_flags} if analysis is not None else {}
    for name in [*read, *flags]:
        if name in out:
            continue
        if name in fields and fields[name] is not None:
            out[name] = Value(fields[name], f"config:{name}")
        elif name in flags:
            flag = flags[name]
            if flag.required and flag.default is None:
                open_.append(name)
        elif info.mode == "main" and name not in open_:
            open_.append(name)
    if "hyperparameters" in fields and "hyperparameters" not in out:
        out["hyperparameters"] = Value(fields["hyperparameters"], "config:hyperparameters")
    return out, open_


def wire_inputs(
    discovery: Discovery, step: str
) -> tuple[dict[str, Wire | None], dict[str, list[Wire]]]:
    """Match each input of ``step`` to an upstream script output (SPEC 2.5 wiring rules)."""
    info = discovery.scripts[step]
    inputs = info.analysis.inputs if info.analysis is not None else ()
    upstream = discovery.upstream_scripts(step)
    offered: list[Wire] = []
    for up in upstream:
        up_info = discovery.scripts[up]
        for out in up_info.analysis.outputs if up_info.analysis is not None else ():
            offered.append(Wire(up, out.name))
    wiring: dict[str, Wire | None] = {}
    options: dict[str, list[Wire]] = {}
    for use in inputs:
        name = use.name
        levels = (
            [w for w in offered if w.output == name],
            [w for w in offered if normalize(w.output) == normalize(name)],
            [
                w
                for w in offered
                if (g := _alias_group(name)) is not None and normalize(w.output) in g
            ],
        )
        match = next((level for level in levels if level), [])
        if len(match) == 1:
            wiring[name] = match[0]
        else:
            wiring[name] = None
            if match:
                options[name] = match
    # The only output left feeds the only input left; a required input goes before optional ones.
    open_names = [n for n, w in wiring.items() if w is None and n not in options]
    required = {u.name for u in inputs if u.required}
    open_names = [n for n in open_names if n in required] or open_names
    used = {w for w in wiring.values() if w is not None}
    unused = [w for w in offered if w not in used]
    if len(open_names) == 1 and len(unused) == 1:
        wiring[open_names[0]] = unused[0]
    return wiring, options


def prefill_all(discovery: Discovery) -> None:
    """Fill ``ScriptInfo.prefill`` for every script of a discovery."""
    for step in discovery.script_steps():
        info = discovery.scripts[step]
        env, open_env = prefill_env(info)
        job, open_job = prefill_job_args(info)
        wiring, options = wire_inputs(discovery, step)
        required = {u.name for u in info.analysis.inputs if u.required} if info.analysis else set()
        open_inputs = [
            n for n, w in wiring.items() if w is None and (n in required or n in options)
        ]
        info.prefill = Prefill(env, job, wiring, options, open_env, open_job, open_inputs)
