"""``rtf list-scripts``, ``rtf inspect`` and ``rtf schema`` through the real command line.

Most tests use typer's CliRunner on ``rtf.cli.app``; a few run ``python -m rtf`` in a real
subprocess to check exit codes and stderr as a user's shell sees them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_CONFIG, SAMPLE_DAG, MakePipeline, SampleCopy
from typer.testing import CliRunner

from rtf.cli import app
from rtf.dag import load_dag
from rtf.errors import ExitCode

pytestmark = pytest.mark.usefixtures("isolated_cache")

DOC_KEYS = {"dag", "config", "scripts", "skipped"}
SCRIPT_KEYS = {
    "step_name",
    "script_name",
    "entry_point",
    "entry_point_field",
    "source_dir",
    "script_path",
    "found",
    "mode",
    "inputs",
    "outputs",
    "environ_vars",
    "job_args",
    "wiring",
    "auto_configurable",
    "problems",
}
SKIPPED_KEYS = {"step_name", "reason", "detail"}
SAMPLE_SCRIPTS = {
    "TabularPreprocessing_training",
    "TabularPreprocessing_calibration",
    "XGBoostTraining",
    "XGBoostModelEval_calibration",
    "ModelCalibration_calibration",
    "Package",
    "Payload",
}
SAMPLE_SKIPPED = {
    "CradleDataLoading_training": "no_entry_point",
    "CradleDataLoading_calibration": "no_entry_point",
    "Registration": "inference_handler",
}


def invoke(*args: str | Path) -> Any:
    runner = CliRunner(env={"COLUMNS": "220", "NO_COLOR": "1"})
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result: Any, code: int) -> str:
    """The run failed with ``code`` and said so in exactly one line on stderr."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rtf: error: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return str(lines[0])


def list_json(*args: str | Path) -> dict[str, Any]:
    result = invoke("list-scripts", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# -- list-scripts on the sample ----------------------------------------------------------------


def test_sample_table_shows_7_scripts_and_3_skipped_with_reasons() -> None:
    result = invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "xgboost_complete_e2e: 7 scripts, 3 skipped" in out
    for step in SAMPLE_SCRIPTS:
        assert step in out
    assert out.count("skipped: no_entry_point") == 2
    assert out.count("skipped: inference_handler") == 1
    assert "CradleDataLoading_training: no_entry_point: config 'CradleDataLoading_training'" in out
    assert "Registration: inference_handler: only an inference_entry_point" in out
    assert "input_path ← TabularPreprocessing_training.processed_data" in out
    assert "7 scripts · 4 auto-configured · 3 skipped" in out
    assert f"Next: rtf wizard {SAMPLE_DAG} {SAMPLE_CONFIG}" in out
    assert result.stderr == ""


def test_sample_json_is_exactly_the_contract_shape() -> None:
    doc = list_json(SAMPLE_DAG, SAMPLE_CONFIG)
    assert set(doc) == DOC_KEYS
    assert doc["dag"] == str(SAMPLE_DAG)
    assert doc["config"] == str(SAMPLE_CONFIG)
    assert {s["step_name"] for s in doc["scripts"]} == SAMPLE_SCRIPTS
    assert {s["step_name"]: s["reason"] for s in doc["skipped"]} == SAMPLE_SKIPPED
    for entry in doc["scripts"]:
        assert set(entry) == SCRIPT_KEYS
        assert entry["found"] is True
        assert entry["mode"] == "main"
        assert Path(entry["script_path"]).is_absolute()
        assert Path(entry["script_path"]).is_file()
        assert entry["problems"] == []
        for use in entry["inputs"] + entry["outputs"]:
            assert set(use) == {"name", "required"}
        assert set(entry["wiring"]) == {u["name"] for u in entry["inputs"]}
        for wire in entry["wiring"].values():
            assert wire is None or set(wire) == {"step", "output"}
        assert all(isinstance(v, str) for v in entry["environ_vars"].values())
    for entry in doc["skipped"]:
        assert set(entry) == SKIPPED_KEYS
        assert entry["detail"]


def test_sample_json_lists_every_node_once_in_topological_order() -> None:
    doc = list_json(SAMPLE_DAG, SAMPLE_CONFIG)
    order = load_dag(SAMPLE_DAG).topological_order()
    scripts = [s["step_name"] for s in doc["scripts"]]
    skipped = [s["step_name"] for s in doc["skipped"]]
    assert sorted(scripts + skipped) == sorted(order)
    assert scripts == [n for n in order if n in scripts]
    assert skipped == [n for n in order if n in skipped]


def test_sample_json_values_match_the_spec_example() -> None:
    doc = list_json(SAMPLE_DAG, SAMPLE_CONFIG)
    tp = next(s for s in doc["scripts"] if s["step_name"] == "TabularPreprocessing_training")
    assert tp["script_name"] == "tabular_preprocessing"
    assert tp["entry_point"] == "tabular_preprocessing.py"
    assert tp["entry_point_field"] == "processing_entry_point"
    assert tp["source_dir"] == "scripts"
    assert tp["inputs"] == [{"name": "DATA", "required": True}]
    assert tp["outputs"] == [{"name": "processed_data", "required": True}]
    assert tp["environ_vars"]["LABEL_FIELD"] == "is_abuse"
    assert tp["environ_vars"]["TRAIN_RATIO"] == "0.7"
    assert tp["job_args"] == {"job_type": "training"}
    assert tp["wiring"] == {"DATA": None}
    assert tp["auto_configurable"] is False
    calib = next(s for s in doc["scripts"] if s["step_name"] == "ModelCalibration_calibration")
    assert calib["wiring"] == {
        "evaluation_data": {"step": "XGBoostModelEval_calibration", "output": "eval_output"}
    }
    assert calib["environ_vars"]["CALIBRATION_METHOD"] == "isotonic"
    assert calib["environ_vars"]["IS_BINARY"] == "true"


def test_json_dag_file_gives_the_same_answer(sample_copy: SampleCopy) -> None:
    from_yaml = list_json(sample_copy.dag, sample_copy.config)
    from_json = list_json(sample_copy.dag_json, sample_copy.config)
    assert from_yaml["scripts"] == from_json["scripts"]
    assert from_yaml["skipped"] == from_json["skipped"]


# -- where DAG and CONFIG come from ------------------------------------------------------------


def test_spec_option_takes_dag_and_config_from_the_spec(
    sample_copy: SampleCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    doc = list_json("--spec", sample_copy.config_dir / "spec.yaml")
    assert doc["dag"] == str(sample_copy.dag)  # "../../" tidied away
    assert doc["config"] == str(sample_copy.config)
    assert len(doc["scripts"]) == 7


def test_no_arguments_reads_rtf_spec_yaml_here(
    sample_copy: SampleCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(sample_copy.config_dir / "spec.yaml", sample_copy.config_dir / "rtf-spec.yaml")
    monkeypatch.chdir(sample_copy.config_dir)
    doc = list_json()
    assert Path(doc["config"]).resolve() == sample_copy.config.resolve()
    assert Path(doc["dag"]).resolve() == sample_copy.dag.resolve()
    assert len(doc["skipped"]) == 3


def test_no_arguments_and_no_spec_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_error_line(invoke("list-scripts"), ExitCode.USAGE)
    assert "no DAG and CONFIG given, and no rtf-spec.yaml in this folder" in line
    assert "hint: rtf list-scripts DAG CONFIG, or --spec FILE" in line


def test_only_the_dag_is_a_usage_error() -> None:
    line = one_error_line(invoke("list-scripts", SAMPLE_DAG), ExitCode.USAGE)
    assert "missing CONFIG" in line


def test_both_arguments_and_spec_is_a_usage_error(sample_copy: SampleCopy) -> None:
    result = invoke(
        "list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, "--spec", sample_copy.config_dir / "spec.yaml"
    )
    assert "not both" in one_error_line(result, ExitCode.USAGE)


def test_a_spec_without_dag_and_config(tmp_path: Path) -> None:
    spec = tmp_path / "rtf-spec.yaml"
    spec.write_text("version: 1\nscripts:\n  S: {script_path: s.py}\n")
    line = one_error_line(invoke("list-scripts", "--spec", spec), ExitCode.INVALID_INPUT)
    assert f"{spec}:dag: the spec does not say which DAG and config it came from" in line


def test_a_missing_spec_file(tmp_path: Path) -> None:
    line = one_error_line(invoke("list-scripts", "--spec", tmp_path / "nope.yaml"), 3)
    assert "nope.yaml: spec file not found" in line


def test_unknown_option_is_exit_2() -> None:
    result = invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, "--bogus")
    assert result.exit_code == ExitCode.USAGE
    assert "No such option" in result.stderr


def test_bad_format_is_exit_2() -> None:
    result = invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, "--format", "xml")
    assert result.exit_code == ExitCode.USAGE


def test_source_root_finds_scripts_elsewhere(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout" / "src" / "pkg" / "steps"
    checkout.mkdir(parents=True)
    (checkout / "rtf_cli_test_prep.py").write_text(
        "def main(input_paths, output_paths, environ_vars, job_args):\n"
        "    return input_paths['data'], output_paths['out']\n"
    )
    p = make_pipeline(
        ["Prep"],
        [],
        {"Prep": {"processing_entry_point": "rtf_cli_test_prep.py", "source_dir": "x"}},
    )
    without = list_json(p.dag, p.config)["scripts"][0]
    assert without["found"] is False
    assert "not found" in without["problems"][0]
    table = invoke("list-scripts", p.dag, p.config)
    assert table.exit_code == 0
    assert "file not found" in table.stdout
    assert "Prep: script file rtf_cli_test_prep.py not found" in table.stdout
    found = list_json(p.dag, p.config, "--source-root", tmp_path / "checkout")["scripts"][0]
    assert found["found"] is True
    assert found["script_path"] == str(checkout / "rtf_cli_test_prep.py")
    assert found["inputs"] == [{"name": "data", "required": True}]


def test_source_root_that_is_not_a_folder(tmp_path: Path) -> None:
    result = invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, "--source-root", tmp_path / "none")
    assert "--source-root is not a folder" in one_error_line(result, ExitCode.INVALID_INPUT)


def test_ambiguous_script_is_shown(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "checkout" / sub).mkdir(parents=True)
        (tmp_path / "checkout" / sub / "rtf_twice.py").write_text("def main(a, b, c, d): pass\n")
    p = make_pipeline(["S"], [], {"S": {"processing_entry_point": "rtf_twice.py"}})
    result = invoke("list-scripts", p.dag, p.config, "--source-root", tmp_path / "checkout")
    assert result.exit_code == 0
    assert "ambiguous: 2 files" in result.stdout
    assert "2 files named rtf_twice.py under the source roots" in result.stdout


def test_names_with_markup_characters_print_as_they_are(make_pipeline: MakePipeline) -> None:
    p = make_pipeline(["[bold]Prep[/x]"], [], {"Other": {}})
    result = invoke("list-scripts", p.dag, p.config)
    assert result.exit_code == 0, result.stderr
    assert "[bold]Prep[/x]" in result.stdout


# -- every input error: one line, the file and the place, exit 3 -------------------------------

DAG_ERRORS = [
    ("bad.yaml", "nodes: [A, B\nedges: []\n", ":2:"),
    ("bad.json", '{"nodes": ["A",}', ":1:"),
    ("tag.yaml", 'nodes: !!python/object/apply:os.system ["echo hi"]\n', ":1:8:"),
    ("types.yaml", "nodes: 5\n", ":nodes:"),
    ("unknown.yaml", "nodes: [Alpha, Beta]\nedges: [[Alpha, Betta]]\n", ":edges[0][1]:"),
    ("dup.yaml", "nodes: [A, B, A]\n", ":nodes[2]:"),
    ("self.yaml", "edges: [[A, A]]\n", ":edges[0]:"),
    ("cycle.yaml", "edges: [[A, B], [B, C], [C, A]]\n", ":edges: cycle:"),
    ("utf.yaml", b"nodes: [\xff]\n", ":1:9:"),
]


@pytest.mark.parametrize(("name", "text", "place"), DAG_ERRORS)
def test_dag_errors_are_one_line_exit_3(
    tmp_path: Path, name: str, text: str | bytes, place: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    line = one_error_line(invoke("list-scripts", path, SAMPLE_CONFIG), ExitCode.INVALID_INPUT)
    assert line.startswith(f"rtf: error: {path}{place}"), line


def test_unknown_node_error_suggests_the_closest_name(tmp_path: Path) -> None:
    path = tmp_path / "dag.yaml"
    path.write_text("nodes: [Alpha, Beta]\nedges: [[Alpha, Betta]]\n")
    line = one_error_line(invoke("list-scripts", path, SAMPLE_CONFIG), 3)
    assert line.endswith("unknown node 'Betta' (hint: did you mean 'Beta'?)")


def test_missing_and_folder_dag(tmp_path: Path) -> None:
    missing = one_error_line(invoke("list-scripts", tmp_path / "no.yaml", SAMPLE_CONFIG), 3)
    assert missing == f"rtf: error: {tmp_path / 'no.yaml'}: DAG file not found"
    (tmp_path / "dir.yaml").mkdir()
    folder = one_error_line(invoke("list-scripts", tmp_path / "dir.yaml", SAMPLE_CONFIG), 3)
    assert folder == f"rtf: error: {tmp_path / 'dir.yaml'}: expected a DAG file, found a folder"


def test_config_error_names_the_place(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"configuration": {"specific": {"A": []}}}))
    line = one_error_line(invoke("list-scripts", SAMPLE_DAG, config), 3)
    assert line.startswith(f"rtf: error: {config}:configuration.specific.A: ")


def test_two_candidate_configs_is_exit_3(make_pipeline: MakePipeline) -> None:
    p = make_pipeline(["package"], [], {"Package": {}, "PACKAGE": {}})
    line = one_error_line(invoke("list-scripts", p.dag, p.config), 3)
    assert "'Package' and 'PACKAGE'" in line


# -- internal errors ---------------------------------------------------------------------------


def boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


def test_a_bug_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rtf.discovery.find_scripts", boom)
    line = one_error_line(invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG), ExitCode.INTERNAL)
    assert line == (
        "rtf: error: internal error: RuntimeError: boom "
        "(hint: rerun with --debug for the traceback)"
    )


def test_debug_lets_the_bug_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rtf.discovery.find_scripts", boom)
    result = invoke("--debug", "list-scripts", SAMPLE_DAG, SAMPLE_CONFIG)
    assert result.exit_code == ExitCode.INTERNAL  # still 70, not a "step failed" 1
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise RuntimeError("boom")' in result.stderr
    # and the next run without --debug is back to one line
    after = invoke("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG)
    assert after.exit_code == ExitCode.INTERNAL


# -- inspect -----------------------------------------------------------------------------------

PACKAGE_PY = SAMPLE_CONFIG.parent / "scripts" / "package.py"


def test_inspect_table() -> None:
    result = invoke("inspect", PACKAGE_PY)
    assert result.exit_code == 0, result.stderr
    assert "mode" in result.stdout and "main" in result.stdout
    assert "model_input, calibration_model (optional), inference_scripts_input" in result.stdout
    assert "packaged_model" in result.stdout


def test_inspect_json() -> None:
    result = invoke("inspect", PACKAGE_PY, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["script_path"] == str(PACKAGE_PY)
    assert doc["mode"] == "main"
    assert [(u["name"], u["required"]) for u in doc["inputs"]] == [
        ("model_input", True),
        ("calibration_model", False),
        ("inference_scripts_input", True),
    ]
    assert {"outputs", "environ_vars", "job_args", "cli_flags", "problems", "notes"} <= set(doc)


def test_inspect_script_with_env_and_job_args(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(
        "import os\n"
        "def main(input_paths, output_paths, environ_vars, job_args):\n"
        "    a = environ_vars.get('RATIO', '0.5')\n"
        "    b = os.environ['TOKEN_[x]']\n"
        "    return job_args.job_type, input_paths['in'], output_paths['out']\n"
    )
    result = invoke("inspect", script)
    assert result.exit_code == 0, result.stderr
    assert "RATIO = '0.5' (optional)" in result.stdout
    assert "TOKEN_[x]" in result.stdout
    assert "job_type" in result.stdout


def test_inspect_syntax_error_is_a_problem_with_its_line(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("x = 1\ndef main(:\n")
    result = invoke("inspect", script, "--format", "json")
    assert result.exit_code == 0
    assert any("syntax error at line 2" in p for p in json.loads(result.stdout)["problems"])
    table = invoke("inspect", script)
    assert "syntax error at line 2" in table.stdout


def test_inspect_errors(tmp_path: Path) -> None:
    missing = one_error_line(invoke("inspect", tmp_path / "nope.py"), ExitCode.INVALID_INPUT)
    assert missing == f"rtf: error: {tmp_path / 'nope.py'}: script file not found"
    folder = one_error_line(invoke("inspect", tmp_path), ExitCode.INVALID_INPUT)
    assert folder == f"rtf: error: {tmp_path}: expected a Python file, found a folder"
    assert invoke("inspect").exit_code == ExitCode.USAGE


# -- schema ------------------------------------------------------------------------------------


def test_schema_is_a_json_schema_with_descriptions() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    props = schema["properties"]
    assert {"version", "dag", "config", "scripts"} <= set(props)
    assert all(prop.get("description") for prop in props.values())
    script_def = next(d for name, d in schema["$defs"].items() if name == "ScriptSpec")
    assert all(p.get("description") for p in script_def["properties"].values())


# -- real processes ----------------------------------------------------------------------------


def rtf(
    *args: str | Path, cwd: Path | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    command = (
        [sys.executable, "-c", code, *map(str, args)]
        if code
        else [sys.executable, "-m", "rtf", *map(str, args)]
    )
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_process_sample_json() -> None:
    proc = rtf("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (len(doc["scripts"]), len(doc["skipped"])) == (7, 3)
    assert proc.stderr == ""


def test_process_invalid_dag_is_exit_3_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "dag.yaml"
    bad.write_text('nodes: !!python/object/apply:os.system ["echo hi"]\n')
    proc = rtf("list-scripts", bad, SAMPLE_CONFIG)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"rtf: error: {bad}:1:8: invalid YAML: YAML tag not allowed")
    assert "hi" not in proc.stdout
    assert "Traceback" not in proc.stderr


def test_process_usage_errors_are_exit_2(tmp_path: Path) -> None:
    proc = rtf("list-scripts", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("rtf: error: no DAG and CONFIG given")
    assert rtf("no-such-command").returncode == 2


def test_process_inspect_missing_is_exit_3(tmp_path: Path) -> None:
    proc = rtf("inspect", tmp_path / "x.py")
    assert proc.returncode == 3
    assert proc.stderr == f"rtf: error: {tmp_path / 'x.py'}: script file not found\n"


BUGGY = (
    "import sys, rtf.discovery\n"
    "def boom(*a, **k):\n"
    "    raise RuntimeError('boom')\n"
    "rtf.discovery.find_scripts = boom\n"
    "from rtf.__main__ import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_process_bug_exit_70_and_debug_traceback() -> None:
    plain = rtf("list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, code=BUGGY)
    assert plain.returncode == 70
    assert plain.stderr.splitlines() == [
        "rtf: error: internal error: RuntimeError: boom "
        "(hint: rerun with --debug for the traceback)"
    ]
    debug = rtf("--debug", "list-scripts", SAMPLE_DAG, SAMPLE_CONFIG, code=BUGGY)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: boom" in debug.stderr


def test_guessed_names_are_marked_in_json(make_pipeline: MakePipeline) -> None:
    p = make_pipeline(
        ["S"],
        [],
        {"S": {"processing_entry_point": "s.py"}},
        {"s.py": "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"},
    )
    entry = list_json(p.dag, p.config)["scripts"][0]
    assert entry["inputs"] == [{"name": "data_input", "required": True, "guessed": True}]
    assert entry["outputs"] == [{"name": "data_output", "required": True, "guessed": True}]
    table = invoke("list-scripts", p.dag, p.config)
    assert "(guessed)" in table.stdout
