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
        raise InputError.at(path, None, "expected a JSON object of step configs")
    if "configuration" in data:
        return _from_merged(data, path)
    steps: dict[str, StepConfig] = {}
    for name, fields in data.items():
        if str(name).startswith("__") or name == "metadata":
            continue
        if not isinstance(fields, dict):
            raise InputError.at(
                path,
                name,
                f"expected an object of fields for step {name!r}",
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
    shared = conf.get("shared") or {}
    specific = conf.get("specific") or {}
    for key, value in (("shared", shared), ("specific", specific)):
        if not isinstance(value, dict):
            raise InputError.at(path, f"configuration.{key}", "expected an object")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InputError.at(path, "metadata", "expected an object")
    types = metadata.get("config_types") or {}
    if not isinstance(types, dict):
        raise InputError.at(path, "metadata.config_types", "expected an object of step -> class")
    # Older merged files keep processing fields apart; they apply to the steps listed there.
    raw_processing = conf.get("processing")
    processing: dict[str, Any] = raw_processing if isinstance(raw_processing, dict) else {}
    proc_shared = processing.get("processing_shared") or {}
    proc_specific = processing.get("processing_specific") or {}
    base = clean_value(shared)
    names = list(dict.fromkeys([*types, *specific, *proc_specific]))
    steps: dict[str, StepConfig] = {}
    for name in names:
        if str(name).startswith("__"):
            continue
        own = specific.get(name, {})
        if not isinstance(own, dict):
            raise InputError.at(
                path, f"configuration.specific.{name}", "expected an object of fields"
            )
        fields = dict(base)
        if name in proc_specific and isinstance(proc_specific[name], dict):
            fields.update(clean_value(proc_shared) if isinstance(proc_shared, dict) else {})
            fields.update(clean_value(proc_specific[name]))
        fields.update(clean_value(own))
        cls = types.get(name)
        steps[name] = StepConfig(
            name, _class_of(own, cls if isinstance(cls, str) else None), fields
        )
    return PipelineConfig(path, steps)


def _class_of(fields: Mapping[str, Any], declared: str | None) -> str | None:
    if declared:
        return declared
    marker = fields.get("__model_type__")
    return marker if isinstance(marker, str) else None


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Load a pipeline config JSON (merged cursus form or flat form)."""
    p = Path(path)
    return build_pipeline_config(load_data_file(p, "config file"), p)
