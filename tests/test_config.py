"""The pipeline config loader (SPEC 2.2): the cursus merged form, the flat form, and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtf.config import clean_value, load_pipeline_config
from rtf.errors import ExitCode, InputError


def write_json(tmp_path: Path, doc: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_pipeline_config(path)
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))
    return info.value


MERGED: dict[str, Any] = {
    "configuration": {
        "shared": {
            "framework_version": "1.7-1",
            "source_dir": "dockers/xgb",
            "label_name": "is_abuse",
            "__comment__": "not a field",
        },
        "specific": {
            "TabularPreprocessing_training": {
                "__model_type__": "TabularPreprocessingConfig",
                "__model_module__": "cursus.steps.configs.config_tabular_preprocessing_step",
                "job_type": "training",
                "label_name": "target",
                "processing_entry_point": "tabular_preprocessing.py",
                "cat_field_list": {"__type_info__": "list", "value": ["a", "b"]},
                "hyperparameters": {
                    "__model_type__": "XGBoostModelHyperparameters",
                    "eta": 0.3,
                    "fields": {"__type_info__": "list", "value": ["x", {"k": 1, "__m__": 0}]},
                },
            },
            "Package": {"__model_type__": "PackageConfig", "processing_entry_point": "package.py"},
        },
    },
    "metadata": {
        "created_at": "2024-05-01T09:30:00",
        "config_types": {
            "TabularPreprocessing_training": "TabularPreprocessingConfig",
            "Package": "PackageConfig",
            "Registration": "RegistrationConfig",
        },
        "field_sources": {"framework_version": ["Package"]},
    },
}


def test_merged_form_overlays_specific_on_shared(tmp_path: Path) -> None:
    config = load_pipeline_config(write_json(tmp_path, MERGED))
    tp = config.steps["TabularPreprocessing_training"]
    assert tp.fields["label_name"] == "target"  # specific wins
    assert tp.fields["framework_version"] == "1.7-1"  # from shared
    assert tp.fields["source_dir"] == "dockers/xgb"
    assert tp.class_name == "TabularPreprocessingConfig"
    assert tp.job_type == "training"
    assert config.steps["Package"].fields["label_name"] == "is_abuse"
    assert config.steps["Package"].job_type is None


def test_markers_are_dropped_and_type_info_unwrapped(tmp_path: Path) -> None:
    tp = load_pipeline_config(write_json(tmp_path, MERGED)).steps["TabularPreprocessing_training"]
    assert not any(key.startswith("__") for key in tp.fields)
    assert tp.fields["cat_field_list"] == ["a", "b"]
    assert tp.fields["hyperparameters"] == {"eta": 0.3, "fields": ["x", {"k": 1}]}


def test_steps_come_from_config_types_and_specific_in_file_order(tmp_path: Path) -> None:
    config = load_pipeline_config(write_json(tmp_path, MERGED))
    assert list(config.steps) == ["TabularPreprocessing_training", "Package", "Registration"]
    registration = config.steps["Registration"]
    assert registration.class_name == "RegistrationConfig"
    assert registration.fields["framework_version"] == "1.7-1"  # shared only
    assert config.path == tmp_path / "config.json"


def test_class_from_model_type_marker_when_config_types_is_missing(tmp_path: Path) -> None:
    doc = {"configuration": {"specific": {"S": {"__model_type__": "FooConfig", "x": 1}}}}
    step = load_pipeline_config(write_json(tmp_path, doc)).steps["S"]
    assert step.class_name == "FooConfig"
    assert step.fields == {"x": 1}


def test_legacy_processing_section_applies_to_its_steps(tmp_path: Path) -> None:
    doc = {
        "configuration": {
            "shared": {"a": 1},
            "processing": {
                "processing_shared": {"processing_source_dir": "scripts", "a": 2},
                "processing_specific": {"P": {"processing_entry_point": "p.py"}},
            },
            "specific": {"P": {"job_type": "training"}, "T": {"training_entry_point": "t.py"}},
        },
        "metadata": {"config_types": {"P": "PConfig", "T": "TConfig"}},
    }
    steps = load_pipeline_config(write_json(tmp_path, doc)).steps
    assert steps["P"].fields == {
        "a": 2,
        "processing_source_dir": "scripts",
        "processing_entry_point": "p.py",
        "job_type": "training",
    }
    assert steps["T"].fields == {"a": 1, "training_entry_point": "t.py"}


def test_flat_form(tmp_path: Path) -> None:
    doc = {
        "__version__": "1",
        "metadata": {"anything": True},
        "A": {"__model_type__": "AConfig", "job_type": "training", "x": 0.5},
        "B": {"y": {"__type_info__": "list", "value": [1, 2]}},
    }
    config = load_pipeline_config(write_json(tmp_path, doc))
    assert list(config.steps) == ["A", "B"]
    assert config.steps["A"].class_name == "AConfig"
    assert config.steps["A"].fields == {"job_type": "training", "x": 0.5}
    assert config.steps["B"].fields == {"y": [1, 2]}
    assert config.steps["B"].class_name is None


def test_the_sample_config_loads() -> None:
    repo = Path(__file__).resolve().parent.parent
    config = load_pipeline_config(repo / "sample_configs" / "xgboost_e2e" / "config.json")
    assert len(config.steps) == 11
    calib = config.steps["ModelCalibration_calib_step"]
    assert calib.class_name == "ModelCalibrationConfig"
    assert calib.job_type == "calibration"
    assert calib.fields["framework_version"] == "1.7-1"


def test_clean_value_keeps_plain_values() -> None:
    assert clean_value({"a": [1, {"__x__": 1, "b": None}]}) == {"a": [1, {"b": None}]}
    assert clean_value({"__type_info__": "datetime", "value": "2024-01-01"}) == "2024-01-01"
    assert clean_value("s") == "s"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "place", "problem"),
    [
        ([1, 2], None, "expected a JSON object of step configs, found a list"),
        ({"configuration": [1]}, "configuration", "expected an object"),
        ({"configuration": {"shared": []}}, "configuration.shared", "found a list"),
        ({"configuration": {"specific": "x"}}, "configuration.specific", "found a string"),
        (
            {"configuration": {"specific": {"A": 3}}},
            "configuration.specific.A",
            "expected an object of fields",
        ),
        ({"configuration": {"specific": {}}, "metadata": 5}, "metadata", "found a number"),
        (
            {"configuration": {"specific": {"A": {}}}, "metadata": {"config_types": []}},
            "metadata.config_types",
            "found a list",
        ),
        (
            {"configuration": {"specific": {"A": {}}}, "metadata": {"config_types": {"A": 1}}},
            "metadata.config_types.A",
            "expected the name of a config class",
        ),
        (
            {"configuration": {"processing": {"processing_specific": {"A": []}}}},
            "configuration.processing.processing_specific.A",
            "expected an object of fields",
        ),
        ({"A": {"x": 1}, "B": 7}, "B", "expected an object of fields for step 'B'"),
        ({}, None, "no step configs found"),
        ({"configuration": {"shared": {"a": 1}}}, None, "no step configs found"),
        ({"nodes": ["A"], "edges": []}, None, "this is a DAG file, not a pipeline config"),
        ({"dag": {"nodes": ["A"], "edges": []}}, None, "this is a DAG file"),
    ],
)
def test_errors_name_the_place(tmp_path: Path, doc: Any, place: str | None, problem: str) -> None:
    path = write_json(tmp_path, doc)
    err = load_error(path)
    prefix = f"{path}:{place}: " if place else f"{path}: "
    assert str(err).startswith(prefix), str(err)
    assert problem in str(err)


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "A": {"x": 1,}\n}\n', encoding="utf-8")
    err = load_error(path)
    assert str(err).startswith(f"{path}:2:")
    assert "invalid JSON" in str(err)


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    assert str(load_error(path)) == f"{path}: config file not found"


def test_non_utf8_config(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"A": {"x": "caf\xe9"}}')
    assert "not UTF-8 text" in str(load_error(path))


def test_yaml_config_with_a_non_string_step_name(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("1: {x: 1}\n", encoding="utf-8")
    assert "a step name must be a string" in str(load_error(path))


def test_merged_marker_steps_are_ignored(tmp_path: Path) -> None:
    doc = {"configuration": {"specific": {"__meta__": {}, "A": {"x": 1}}}}
    assert list(load_pipeline_config(write_json(tmp_path, doc)).steps) == ["A"]


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "true/false"), (1.5, "a number"), ("x", "a string"), ([1], "a list")],
)
def test_wrong_type_names_what_was_found(tmp_path: Path, value: Any, kind: str) -> None:
    doc = {"configuration": {"specific": {"A": {}}, "processing": {"processing_shared": value}}}
    err = load_error(write_json(tmp_path, doc))
    assert ":configuration.processing.processing_shared: " in str(err)
    assert str(err).endswith(f"expected an object, found {kind}")
