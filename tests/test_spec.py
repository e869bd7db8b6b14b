"""The spec file (SPEC 4): loading, validation errors, atomic save and exact round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtf.errors import ExitCode, InputError
from rtf.spec import (
    InputRef,
    PipelineSpec,
    dump_spec,
    load_spec,
    save_spec,
    spec_json_schema,
)


def _write(tmp_path: Path, data: Any, name: str = "spec.yaml") -> Path:
    (tmp_path / "a.py").write_text(
        "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"
    )
    (tmp_path / "b.py").write_text(
        "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"
    )
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _good() -> dict[str, Any]:
    return {
        "version": 1,
        "pipeline": "p",
        "workspace": ".rtf",
        "python": None,
        "scripts": {
            "A": {
                "script_path": "a.py",
                "mode": "main",
                "depends_on": [],
                "input_paths": {"DATA": "data/A"},
                "output_paths": {"out": ".rtf/outputs/A/out"},
                "environ_vars": {"X": "1"},
                "job_args": {"job_type": "training"},
                "timeout": None,
            },
            "B": {
                "script_path": "b.py",
                "depends_on": ["A"],
                "input_paths": {"inp": {"from": "A", "output": "out"}},
                "output_paths": {"res": ".rtf/outputs/B/res"},
            },
        },
    }


def _error(tmp_path: Path, data: Any) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as err:
        load_spec(path)
    assert err.value.exit_code == ExitCode.INVALID_INPUT
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_load_resolves_relative_paths_against_the_spec_folder(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, _good()))
    assert spec.base_dir == tmp_path.resolve()
    assert spec.resolve("a.py") == tmp_path.resolve() / "a.py"
    assert spec.resolve("/abs/x") == Path("/abs/x")
    ref = spec.scripts["B"].input_paths["inp"]
    assert isinstance(ref, InputRef) and (ref.from_, ref.output) == ("A", "out")
    assert spec.order() == ["A", "B"]
    assert spec.dependencies("B") == ["A"]


def test_round_trip_is_exact(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, _good()))
    out = save_spec(spec, tmp_path / "copy.yaml")
    again = load_spec(out)
    assert again.model_dump() == spec.model_dump()
    assert dump_spec(again) == dump_spec(spec)
    # The file is plain YAML in SPEC 4's field order.
    data = yaml.safe_load(out.read_text())
    assert list(data) == ["version", "pipeline", "dag", "config", "workspace", "python", "scripts"]
    assert data["scripts"]["B"]["input_paths"]["inp"] == {"from": "A", "output": "out"}


def test_save_is_atomic_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(_write(tmp_path, _good()))
    target = tmp_path / "saved.yaml"
    target.write_text("old content\n")

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_spec(spec, target)
    assert target.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".saved")] == []


def test_env_values_become_strings(tmp_path: Path) -> None:
    data = _good()
    data["scripts"]["A"]["environ_vars"] = {"R": 0.7, "N": 3, "B": True, "S": "x"}
    spec = load_spec(_write(tmp_path, data))
    assert spec.scripts["A"].environ_vars == {"R": "0.7", "N": "3", "B": "true", "S": "x"}


def test_relative_references_imply_dependencies(tmp_path: Path) -> None:
    data = _good()
    data["scripts"]["B"]["depends_on"] = []
    spec = load_spec(_write(tmp_path, data))
    assert spec.dependencies("B") == ["A"]
    assert spec.order() == ["A", "B"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["scripts"]["A"].update({"timout": 3}), "unknown key 'timout'"),
        (lambda d: d.update({"workspce": "x"}), "unknown key 'workspce'"),
        (lambda d: d.update({"version": 2}), "unknown spec version 2"),
        (lambda d: d["scripts"]["A"].update({"mode": "docker"}), "unknown mode 'docker'"),
        (lambda d: d["scripts"]["B"].update({"depends_on": ["Z"]}), "unknown step 'Z'"),
        (lambda d: d["scripts"]["A"].update({"depends_on": ["A"]}), "cannot depend on itself"),
        (lambda d: d["scripts"]["A"].update({"depends_on": ["B"]}), "dependency cycle among: A, B"),
        (
            lambda d: d["scripts"]["B"]["input_paths"].update(
                {"inp": {"from": "Q", "output": "out"}}
            ),
            "unknown step 'Q'",
        ),
        (
            lambda d: d["scripts"]["B"]["input_paths"].update(
                {"inp": {"from": "A", "output": "nope"}}
            ),
            "step 'A' has no output 'nope' (outputs: out)",
        ),
        (
            lambda d: d["scripts"]["A"].update({"script_path": "missing.py"}),
            "script file not found",
        ),
        (lambda d: d["scripts"]["A"].update({"timeout": -1}), "timeout must be 0 or more seconds"),
        (
            lambda d: d["scripts"]["B"].update({"output_paths": {"res": ".rtf/outputs/A/out"}}),
            "already an output of A.out",
        ),
        (lambda d: d["scripts"]["A"].pop("script_path"), "required key missing"),
        (lambda d: d.update({"scripts": {}}), "no scripts to run"),
        (lambda d: d["scripts"]["A"]["input_paths"].update({"DATA": "  "}), "empty path"),
    ],
)
def test_each_invalid_spec_is_one_clear_error(tmp_path: Path, mutate: Any, expected: str) -> None:
    data = _good()
    mutate(data)
    message = _error(tmp_path, data)
    assert expected in message


def test_unknown_key_error_names_the_step_and_suggests(tmp_path: Path) -> None:
    data = _good()
    data["scripts"]["A"]["environ_var"] = {"X": "1"}
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as err:
        load_spec(path)
    assert "scripts.A.environ_var" in str(err.value)
    assert err.value.hint == "did you mean 'environ_vars'?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nscripts: [a\n", "invalid YAML"),
        ("- just\n- a list\n", "a spec file is a mapping"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "YAML tag not allowed"),
    ],
)
def test_malformed_spec_files(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_json_schema_has_descriptions() -> None:
    schema = spec_json_schema()
    json.dumps(schema)
    script = schema["$defs"]["ScriptSpec"]
    assert "description" in script["properties"]["input_paths"]
    assert script["additionalProperties"] is False
    assert set(schema["properties"]) >= {"version", "scripts", "python", "workspace"}
    assert PipelineSpec.model_fields["scripts"].description
