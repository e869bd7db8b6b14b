"""The pipeline config JSON (SPEC 2.2): the cursus merged form or a flat form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtf.errors import InputError
from rtf.files import load_data_file


@dataclass(frozen=True)
class StepConfig:
    """One step's fields: ``shared`` overlaid by its ``specific`` entry, markers removed."""

    name: str
    class_name: str | None
    fields: Mapping[str, Any]

    @property
    def job_type(self) -> str | None:
        value = self.fields.get("job_type")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class PipelineConfig:
    """Every step config of a pipeline, by step name, in file order."""

    path: Path
    steps: Mapping[str, StepConfig]


def clean_value(value: Any) -> Any:
    """Drop ``__marker__`` keys and unwrap ``{"__type_info__": ..., "value": X}`` recursively."""
    if isinstance(value, dict):
        if "__type_info__" in value and "value" in value:
            return clean_value(value["value"])
        return {k: clean_value(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value


def build_pipeline_config(data: Any, path: Path) -> PipelineConfig:
    """Validate a parsed config document into a :class:`PipelineConfig`."""
    if not isinstance(data, dict):
        raise InputError.at(
            path, None, f"expected a JSON object of step configs, found {_kind(data)}"
        )
    if _looks_like_dag(data):
        raise InputError.at(
            path,
            None,
            "this is a DAG file, not a pipeline config",
            hint="give the DAG file first, then the pipeline config JSON",
        )
    config = _from_merged(data, path) if "configuration" in data else _from_flat(data, path)
    if not config.steps:
        raise InputError.at(
            path,
            None,
            "no step configs found",
            hint="a pipeline config is {STEP: {field: value}} or the merged "
            "{configuration: {shared, specific}, metadata} form",
        )
    return config


def _looks_like_dag(data: dict[str, Any]) -> bool:
    body = data.get("dag", data)
    return (
        isinstance(body, dict)
        and "configuration" not in data
        and isinstance(body.get("edges", body.get("nodes")), list)
    )


def _from_flat(data: dict[str, Any], path: Path) -> PipelineConfig:
    steps: dict[str, StepConfig] = {}
    for name, fields in data.items():
        if not isinstance(name, str):
            raise InputError.at(path, str(name), "a step name must be a string")
        if name.startswith("__") or name == "metadata":
            continue
        if not isinstance(fields, dict):
            raise InputError.at(
                path,
                name,
                f"expected an object of fields for step {name!r}, found {_kind(fields)}",
                hint="a pipeline config is {STEP: {field: value}} or the merged "
                "{configuration: {shared, specific}, metadata} form",
            )
        steps[name] = StepConfig(name, _class_of(fields, None), clean_value(fields))
    return PipelineConfig(path, steps)


def _from_merged(data: dict[str, Any], path: Path) -> PipelineConfig:
    conf = data["configuration"]
    if not isinstance(conf, dict):
        raise InputError.at(
            path, "configuration", "expected an object with 'shared' and 'specific'"
        )
    shared = _object_at(conf, "shared", path, "configuration.shared")
    specific = _object_at(conf, "specific", path, "configuration.specific")
    metadata = _object_at(data, "metadata", path, "metadata")
    types = _object_at(metadata, "config_types", path, "metadata.config_types")
    for name, cls in types.items():
        if cls is not None and not isinstance(cls, str):
            raise InputError.at(
                path, f"metadata.config_types.{name}", "expected the name of a config class"
            )
    # Older merged files keep processing fields apart; they apply to the steps listed there.
    processing = _object_at(conf, "processing", path, "configuration.processing")
    proc_shared = _object_at(
        processing, "processing_shared", path, "configuration.processing.processing_shared"
    )
    proc_specific = _object_at(
        processing, "processing_specific", path, "configuration.processing.processing_specific"
    )
    base = clean_value(shared)
    names = list(dict.fromkeys([*types, *specific, *proc_specific]))
    steps: dict[str, StepConfig] = {}
    for name in names:
        if not isinstance(name, str):
            raise InputError.at(path, str(name), "a step name must be a string")
        if name.startswith("__"):
            continue
        own = specific.get(name, {})
        if not isinstance(own, dict):
            raise InputError.at(
                path, f"configuration.specific.{name}", "expected an object of fields"
            )
        fields = dict(base)
        if name in proc_specific:
            own_proc = proc_specific[name]
            if not isinstance(own_proc, dict):
                raise InputError.at(
                    path,
                    f"configuration.processing.processing_specific.{name}",
                    "expected an object of fields",
                )
            fields.update(clean_value(proc_shared))
            fields.update(clean_value(own_proc))
        fields.update(clean_value(own))
        cls = types.get(name)
        steps[name] = StepConfig(
            name, _class_of(own, cls if isinstance(cls, str) else None), fields
        )
    return PipelineConfig(path, steps)


def _object_at(parent: Mapping[str, Any], key: str, path: Path, place: str) -> dict[str, Any]:
    """``parent[key]`` as an object; absent or null is empty, anything else is an error."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError.at(path, place, f"expected an object, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "nothing" if value is None else f"a {type(value).__name__}"


def _class_of(fields: Mapping[str, Any], declared: str | None) -> str | None:
    if declared:
        return declared
    marker = fields.get("__model_type__")
    return marker if isinstance(marker, str) else None


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Load a pipeline config JSON (merged cursus form or flat form)."""
    p = Path(path)
    return build_pipeline_config(load_data_file(p, "config file"), p)
