"""The public Python API: ``InteractiveRuntimeTestingFactory`` on real files and real runs.

Every test works on copies in tmp_path: the bundled sample (its DAG, config, scripts and test
data) or a small pipeline written by :func:`mini_pipeline`. Runs start real processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

import rtf
from rtf import (
    InteractiveRuntimeTestingFactory,
    PipelineSpec,
    RunOptions,
    ScriptExecutionSpec,
    load_dag,
    load_spec,
)
from rtf.api import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_STEPS = [
    "TabularPreprocessing_training",
    "XGBoostTraining",
    "Payload",
    "TabularPreprocessing_calibration",
    "XGBoostModelEval_calibration",
    "ModelCalibration_calibration",
    "Package",
]
SAMPLE_SCRIPT_EDGES = {
    "TabularPreprocessing_training->XGBoostTraining",
    "TabularPreprocessing_calibration->XGBoostModelEval_calibration",
    "XGBoostTraining->XGBoostModelEval_calibration",
    "XGBoostModelEval_calibration->ModelCalibration_calibration",
    "ModelCalibration_calibration->Package",
    "XGBoostTraining->Package",
    "XGBoostTraining->Payload",
}
REQUIREMENT_KEYS = {"name", "description", "required", "example_path", "current_path"}
VALUE_KEYS = {"name", "description", "required", "default_value", "source", "current_value"}


@pytest.fixture(autouse=True)
def _no_analysis_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTF_NO_CACHE", "1")


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled sample copied to tmp_path (test data beside the config), as the cwd."""
    ignore = shutil.ignore_patterns(".rtf", "__pycache__")
    shutil.copytree(ROOT / "sample_dags", tmp_path / "sample_dags", ignore=ignore)
    shutil.copytree(ROOT / "sample_configs", tmp_path / "sample_configs", ignore=ignore)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sample_factory(**kwargs: Any) -> InteractiveRuntimeTestingFactory:
    return InteractiveRuntimeTestingFactory(
        "sample_dags/xgboost_e2e.yaml", "sample_configs/xgboost_e2e/config.json", **kwargs
    )


A_SCRIPT = """
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    raw = (Path(input_paths["raw"]) / "raw.txt").read_text()
    out = Path(output_paths["data"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "{name}.txt").write_text(raw + " by {name}\\n")
"""
C_SCRIPT = """
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    text = "".join(p.read_text() for p in sorted(Path(input_paths["data"]).glob("?.txt")))
    if environ_vars["MUST"] == "fail":
        raise RuntimeError("asked to fail")
    out = Path(output_paths["result"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "c.txt").write_text(text + environ_vars["MUST"] + "\\n")
"""
D_SCRIPT = """
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    text = (Path(input_paths["in"]) / "c.txt").read_text()
    out = Path(output_paths["out"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "d.txt").write_text(text.upper())
"""


def mini_pipeline(root: Path) -> tuple[Path, Path]:
    """A -> C <- B, C -> D. A and B both output ``data``, which C reads: an ambiguous input.

    C also reads the env var MUST, which nothing prefills; D's file is not where the config
    says (it is in ``elsewhere/d.py``). Returns (dag path, config path).
    """
    scripts = root / "pipe" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "a.py").write_text(A_SCRIPT.format(name="a"))
    (scripts / "b.py").write_text(A_SCRIPT.format(name="b"))
    (scripts / "c.py").write_text(C_SCRIPT)
    for step in ("A", "B"):
        raw = root / "pipe" / "test_data" / step / "raw"
        raw.mkdir(parents=True)
        (raw / "raw.txt").write_text("made")
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "d.py").write_text(D_SCRIPT)
    config = {
        step: {"processing_entry_point": entry, "source_dir": "scripts"}
        for step, entry in (("A", "a.py"), ("B", "b.py"), ("C", "c.py"), ("D", "d_moved.py"))
    }
    config["Load"] = {"job_type": "training"}
    config_path = root / "pipe" / "config.json"
    config_path.write_text(json.dumps(config))
    dag_path = root / "pipe" / "dag.yaml"
    dag_path.write_text(
        yaml.safe_dump(
            {
                "name": "mini",
                "nodes": ["Load", "A", "B", "C", "D"],
                "edges": [["Load", "A"], ["A", "C"], ["B", "C"], ["C", "D"]],
            }
        )
    )
    return dag_path, config_path


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InteractiveRuntimeTestingFactory:
    monkeypatch.chdir(tmp_path)
    dag, config = mini_pipeline(tmp_path)
    return InteractiveRuntimeTestingFactory(dag, config, tmp_path / "ws")


def configure_mini(factory: InteractiveRuntimeTestingFactory, must: str = "ok") -> None:
    factory.configure_script_testing(
        "C",
        expected_inputs={"data": {"from": "A", "output": "data"}},
        environment_variables={"MUST": must},
    )
    factory.configure_script_testing("D", script_path="elsewhere/d.py")


def statuses_of(report: dict[str, Any]) -> dict[str, str]:
    return {s["step_name"]: s["status"] for s in report["steps"]}


def rtf_run_cli(spec: Path, json_out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtf", "run", "--spec", str(spec), "--json", str(json_out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=spec.parent,
    )


# --------------------------------------------------------------------------------------------
# The issue's example, as written
# --------------------------------------------------------------------------------------------


def test_the_issue_example_runs_as_written(sample: Path) -> None:
    from rtf import InteractiveRuntimeTestingFactory, load_dag

    factory = InteractiveRuntimeTestingFactory(
        load_dag("sample_dags/xgboost_e2e.yaml"),
        "sample_configs/xgboost_e2e/config.json",
        workspace_dir=".rtf",
    )  # dag: a path or a loaded DAG
    scripts = factory.get_scripts_requiring_testing()  # validated scripts only, DAG order
    pending = factory.get_pending_script_configurations()  # still needing an answer
    auto = factory.get_auto_configured_scripts()  # nothing left to ask
    req = factory.get_script_testing_requirements("xgboost_training")
    spec = factory.configure_script_testing(
        "xgboost_training", expected_inputs={...}, expected_outputs={...}
    )
    summary = factory.get_testing_factory_summary()  # counts and per-script status
    saved = factory.save_spec("rtf-spec.yaml")  # the same spec file as the wizard writes
    results = factory.execute_dag_guided_testing()  # runs through the run engine

    assert scripts == SAMPLE_STEPS  # no phantom: Cradle*, Registration are skipped
    assert set(factory.discovery.skipped) == {
        "CradleDataLoading_training",
        "CradleDataLoading_calibration",
        "Registration",
    }
    assert pending == []  # the sample's test data sits at every default input path
    assert auto == SAMPLE_STEPS

    assert {
        "script_name",
        "step_name",
        "script_path",
        "source_dir",
        "expected_inputs",
        "expected_outputs",
        "environment_variables",
        "job_arguments",
        "auto_configurable",
    } <= set(req)
    assert (req["script_name"], req["step_name"]) == ("xgboost_training", "XGBoostTraining")
    assert req["script_path"] == str(
        sample / "sample_configs/xgboost_e2e/scripts/xgboost_training.py"
    )
    assert req["auto_configurable"] is True
    inputs = {i["name"]: i for i in req["expected_inputs"]}
    assert all(set(i) >= REQUIREMENT_KEYS for i in req["expected_inputs"])
    assert all(set(o) >= REQUIREMENT_KEYS for o in req["expected_outputs"])
    assert inputs["input_path"]["required"] is True
    assert inputs["input_path"]["wired_from"] == {
        "step": "TabularPreprocessing_training",
        "output": "processed_data",
    }
    assert inputs["hyperparameters_s3_uri"]["required"] is False
    env = {e["name"]: e for e in req["environment_variables"]}
    assert all(set(e) >= VALUE_KEYS for e in req["environment_variables"])
    assert env["LABEL_FIELD"]["default_value"] == "is_abuse"
    assert env["LABEL_FIELD"]["source"] == "config:label_name"
    jobs = {j["name"]: j for j in req["job_arguments"]}
    assert jobs["hyperparameters"]["source"] == "config:hyperparameters"

    assert isinstance(spec, ScriptExecutionSpec)
    assert spec.input_paths["input_path"].model_dump(by_alias=True) == {
        "from": "TabularPreprocessing_training",
        "output": "processed_data",
    }
    assert set(spec.output_paths) == {"model_output", "evaluation_output"}

    assert summary["total_scripts"] == 7
    assert (summary["manually_configured"], summary["auto_configured"]) == (1, 6)
    assert summary["script_configurations"]["XGBoostTraining"]["status"] == "configured"

    assert saved == sample / "rtf-spec.yaml"
    on_disk = load_spec(saved)
    assert list(on_disk.scripts) == SAMPLE_STEPS
    assert on_disk.dag == "sample_dags/xgboost_e2e.yaml"

    assert results["pipeline_success"] is True, results["errors"]
    assert results["errors"] == []
    assert set(results["script_results"]) == set(SAMPLE_STEPS)
    assert all(r["status"] == "passed" for r in results["script_results"].values())
    assert results["execution_order"] == on_disk.order()
    assert set(results["data_flow_results"]) == SAMPLE_SCRIPT_EDGES
    for flow in results["data_flow_results"].values():
        assert flow["success"] is True, flow
        assert flow["wired"] and all(w["files"] > 0 and w["bytes"] > 0 for w in flow["wired"])
    info = results["interactive_factory_info"]
    assert (info["total_scripts"], info["manually_configured"], info["auto_configured"]) == (
        7,
        1,
        6,
    )
    assert info["script_configurations"]["Package"] == {"status": "auto_configured"}
    assert (sample / ".rtf" / "outputs" / "Package" / "packaged_model").is_dir()
    assert not (ROOT / "sample_configs" / "xgboost_e2e" / ".rtf" / "outputs" / "Package").exists()


def test_run_reports_what_rtf_run_reports_for_the_same_spec(sample: Path) -> None:
    factory = sample_factory()
    report = factory.run(RunOptions(jobs=2))
    spec = sample / "rtf-spec.yaml"
    assert report.spec == str(spec)
    api = statuses_of(report.model_dump(mode="json"))
    assert api == dict.fromkeys(SAMPLE_STEPS, "passed")

    cli = rtf_run_cli(spec, sample / "out.json")
    assert cli.returncode == 0, cli.stderr
    assert statuses_of(json.loads((sample / "out.json").read_text())) == api


def test_a_failing_run_matches_rtf_run_and_data_flow_says_why(
    mini: InteractiveRuntimeTestingFactory, tmp_path: Path
) -> None:
    configure_mini(mini, must="fail")
    results = mini.execute_dag_guided_testing(jobs=2)

    assert results["pipeline_success"] is False
    statuses = {s: r["status"] for s, r in results["script_results"].items()}
    assert statuses == {"A": "passed", "B": "passed", "C": "failed", "D": "skipped"}
    c = results["script_results"]["C"]
    assert c["success"] is False
    assert c["error"]["type"] == "RuntimeError"
    assert c["error"]["message"] == "asked to fail"
    assert any(e.startswith("C: failed") for e in results["errors"])
    assert any(e.startswith("D: skipped") for e in results["errors"])
    flows = results["data_flow_results"]
    assert set(flows) == {"A->C", "B->C", "C->D"}  # Load has no script: its edge is left out
    assert flows["A->C"]["wired"][0]["files"] == 1
    assert flows["A->C"]["success"] is False and "C failed" in flows["A->C"]["reason"]
    assert "no input of C is wired to an output of B" in flows["B->C"]["reason"]
    assert flows["C->D"]["success"] is False
    assert "does not exist" in flows["C->D"]["reason"] or "is empty" in flows["C->D"]["reason"]

    cli = rtf_run_cli(Path(results["spec_path"]), tmp_path / "out.json")
    assert cli.returncode == 1
    assert statuses_of(json.loads((tmp_path / "out.json").read_text())) == statuses


def test_a_passing_mini_run_feeds_every_wired_edge(mini: InteractiveRuntimeTestingFactory) -> None:
    configure_mini(mini, must="ok")
    results = mini.execute_dag_guided_testing(jobs=1)
    assert results["pipeline_success"] is True
    flows = results["data_flow_results"]
    assert flows["A->C"]["success"] is True
    assert flows["C->D"]["success"] is True
    assert flows["C->D"]["wired"][0]["input"] == "in"
    assert flows["B->C"]["success"] is False  # C chose A's output: B fed nothing
    out = mini.workspace_dir / "outputs" / "D" / "out" / "d.txt"
    assert out.read_text() == "MADE BY A\nOK\n"


# --------------------------------------------------------------------------------------------
# Construction and errors
# --------------------------------------------------------------------------------------------


def test_dag_as_a_path_or_a_loaded_dag_gives_the_same_scripts(sample: Path) -> None:
    by_path = sample_factory()
    loaded = InteractiveRuntimeTestingFactory(
        load_dag("sample_dags/xgboost_e2e.yaml"), "sample_configs/xgboost_e2e/config.json"
    )
    assert by_path.get_scripts_requiring_testing() == loaded.get_scripts_requiring_testing()
    assert by_path.discovery.dag.source == sample / "sample_dags" / "xgboost_e2e.yaml"


def test_a_missing_config_raises_file_not_found_with_the_exact_message(sample: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        InteractiveRuntimeTestingFactory("sample_dags/xgboost_e2e.yaml", "nope/config.json")
    assert str(err.value) == "Configuration file not found: nope/config.json"


def test_a_missing_dag_file_raises_file_not_found(sample: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"DAG file not found: nope\.yaml"):
        InteractiveRuntimeTestingFactory("nope.yaml", "sample_configs/xgboost_e2e/config.json")


def test_an_unknown_script_names_the_closest_one(sample: Path) -> None:
    factory = sample_factory()
    for method in (
        factory.get_script_testing_requirements,
        factory.configure_script_testing,
        factory.resolve_step,
        factory.is_configured,
        factory.get_configuration,
    ):
        with pytest.raises(ValueError) as err:
            method("xgboost_trainig")
        message = str(err.value)
        assert message.startswith("Script 'xgboost_trainig' not found in validated scripts")
        assert "did you mean 'xgboost_training'?" in message


def test_a_node_without_a_script_says_why(sample: Path) -> None:
    with pytest.raises(ValueError) as err:
        sample_factory().resolve_step("Registration")
    assert str(err.value).startswith("Script 'Registration' not found in validated scripts")
    assert "inference_handler" in str(err.value)


def test_one_script_serving_two_steps_needs_the_step_name(sample: Path) -> None:
    factory = sample_factory()
    for method in (factory.resolve_step, factory.get_script_testing_requirements):
        with pytest.raises(ValueError) as err:
            method("tabular_preprocessing")
        message = str(err.value)
        assert "TabularPreprocessing_training" in message
        assert "TabularPreprocessing_calibration" in message
        assert "give the step name" in message
    req = factory.get_script_testing_requirements("TabularPreprocessing_calibration")
    assert req["script_name"] == "tabular_preprocessing"
    jobs = {j["name"]: j["current_value"] for j in req["job_arguments"]}
    assert jobs["job_type"] == "calibration"
    spec = factory.configure_script_testing(
        "TabularPreprocessing_training", environment_variables={"TRAIN_RATIO": 0.8}
    )
    assert spec.environ_vars["TRAIN_RATIO"] == "0.8"
    other = factory.get_configuration("TabularPreprocessing_calibration")
    assert other is not None and other.environ_vars["TRAIN_RATIO"] == "0.7"


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("XGBoostTraining", "XGBoostTraining"),
        ("xgboost_training", "XGBoostTraining"),
        ("xgboost_training.py", "XGBoostTraining"),
        ("xgboosttraining", "XGBoostTraining"),
        ("package", "Package"),
    ],
)
def test_scripts_are_addressed_by_step_or_script_name(sample: Path, name: str, step: str) -> None:
    assert sample_factory().resolve_step(name) == step


# --------------------------------------------------------------------------------------------
# States: configured, auto-configured, pending
# --------------------------------------------------------------------------------------------


def test_scripts_without_data_are_pending_and_block_every_run(sample: Path) -> None:
    empty = sample / "no-data"
    empty.mkdir()
    factory = sample_factory(data_root=empty)
    pending = ["TabularPreprocessing_training", "TabularPreprocessing_calibration", "Package"]
    assert factory.get_pending_script_configurations() == pending
    assert "TabularPreprocessing_training" not in factory.get_auto_configured_scripts()
    assert factory.is_configured("TabularPreprocessing_training") is False
    assert factory.get_configuration("TabularPreprocessing_training") is None
    assert factory.get_configuration_status("Payload") == "auto_configured"
    req = factory.get_script_testing_requirements("TabularPreprocessing_training")
    assert req["auto_configurable"] is False and req["status"] == "pending"
    summary = factory.get_testing_factory_summary()
    assert (summary["pending"], summary["ready_for_testing"]) == (3, False)
    assert summary["pending_scripts"] == pending
    missing = summary["script_configurations"]["TabularPreprocessing_training"]["missing"]
    assert missing == [
        f"input 'DATA': path does not exist: {empty}/TabularPreprocessing_training/DATA"
    ]

    for action in (factory.execute_dag_guided_testing, factory.build_spec, factory.save_spec):
        with pytest.raises(ValueError) as err:
            action()
        assert "TabularPreprocessing_training" in str(err.value)
        assert "TabularPreprocessing_calibration" in str(err.value)
    assert isinstance(err.value, ConfigurationError)
    assert len(err.value.problems) == 3
    assert not (sample / "rtf-spec.yaml").exists()
    assert not (sample / ".rtf" / "runs").exists()

    data = sample / "sample_configs/xgboost_e2e/test_data"
    for step in pending[:2]:
        factory.configure_script_testing(step, expected_inputs={"DATA": data / step / "DATA"})
    factory.configure_script_testing(
        "Package",
        expected_inputs={"inference_scripts_input": data / "Package/inference_scripts_input"},
    )
    assert factory.get_pending_script_configurations() == []
    assert factory.is_configured("TabularPreprocessing_training") is True
    assert factory.get_configuration_status("TabularPreprocessing_training") == "configured"
    built = factory.build_spec()
    assert isinstance(built, PipelineSpec)
    assert built.scripts["TabularPreprocessing_training"].input_paths["DATA"] == (
        "sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA"
    )


def test_an_ambiguous_input_offers_the_choices_and_must_be_answered(
    mini: InteractiveRuntimeTestingFactory,
) -> None:
    assert mini.get_scripts_requiring_testing() == ["A", "B", "C", "D"]
    assert mini.get_auto_configured_scripts() == ["A", "B"]
    assert mini.get_pending_script_configurations() == ["C", "D"]
    req = mini.get_script_testing_requirements("C")
    data = req["expected_inputs"][0]
    assert data["name"] == "data" and data["wired_from"] is None
    assert data["choices"] == [{"step": "A", "output": "data"}, {"step": "B", "output": "data"}]
    must = {e["name"]: e for e in req["environment_variables"]}["MUST"]
    assert must["required"] is True and must["current_value"] is None

    with pytest.raises(ConfigurationError) as err:
        mini.configure_script_testing("C")
    problems = err.value.problems
    assert any("'data' could come from several steps" in p for p in problems)
    assert any("env var 'MUST'" in p for p in problems)

    spec = mini.configure_script_testing(
        "C", input_paths={"data": {"from": "b", "output": "data"}}, environ_vars={"MUST": 1}
    )
    assert spec.input_paths["data"].model_dump(by_alias=True) == {"from": "B", "output": "data"}
    assert spec.environ_vars == {"MUST": "1"}
    assert spec.depends_on == ["A", "B"]
    req = mini.get_script_testing_requirements("C")
    assert req["expected_inputs"][0]["wired_from"] == {"step": "B", "output": "data"}
    assert req["expected_inputs"][0]["current_path"] == str(mini.workspace_dir / "outputs/B/data")
    must = {e["name"]: e for e in req["environment_variables"]}["MUST"]
    assert (must["current_value"], must["source"]) == ("1", "user")
    # configuring again keeps the earlier answers
    mini.configure_script_testing("C", job_arguments={"job_type": "training"})
    again = mini.get_configuration("C")
    assert again is not None and again.environ_vars == {"MUST": "1"}
    assert again.job_args == {"job_type": "training"}


def test_a_script_not_found_is_pending_until_its_file_is_given(
    mini: InteractiveRuntimeTestingFactory, tmp_path: Path
) -> None:
    req = mini.get_script_testing_requirements("D")
    assert (req["found"], req["script_path"], req["expected_inputs"]) == (False, None, [])
    with pytest.raises(ConfigurationError) as err:
        mini.configure_script_testing("D")
    assert err.value.problems == [
        f"script file d_moved.py not found (looked in {len(mini.discovery.scripts['D'].tried)} "
        "places): pass script_path="
    ]
    with pytest.raises(ConfigurationError, match=r"script file not found: .*missing\.py"):
        mini.configure_script_testing("D", script_path="missing.py")

    spec = mini.configure_script_testing("D", script_path=tmp_path / "elsewhere" / "d.py")
    assert spec.script_path == "elsewhere/d.py"
    assert spec.input_paths["in"].model_dump(by_alias=True) == {"from": "C", "output": "result"}
    assert spec.output_paths == {"out": "ws/outputs/D/out"}
    req = mini.get_script_testing_requirements("D")
    assert req["found"] is True and req["mode"] == "main"
    assert [i["name"] for i in req["expected_inputs"]] == ["in"]


def test_locate_script_analyses_the_file_and_starts_afresh(
    mini: InteractiveRuntimeTestingFactory, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match=r"Script file not found: nowhere\.py"):
        mini.locate_script("D", "nowhere.py")
    info = mini.locate_script("D", tmp_path / "elsewhere" / "d.py")
    assert info.found and info.script_path == (tmp_path / "elsewhere" / "d.py").resolve()
    assert info.prefill is not None and info.prefill.wiring["in"] is not None
    assert mini.get_configuration_status("D") == "auto_configured"  # nothing left to ask
    assert mini.get_pending_script_configurations() == ["C"]
    mini.configure_script_testing(
        "C", expected_inputs={"data": {"from": "A", "output": "data"}}, environ_vars={"MUST": "x"}
    )
    assert mini.get_pending_script_configurations() == []


def test_a_guessed_input_is_asked_and_may_be_renamed_or_removed(
    make_pipeline: Any, main_script: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pipe = make_pipeline(
        ["Only"],
        [],
        {"Only": {"processing_entry_point": "only.py"}},
        {"only.py": main_script(outputs=["out"])},
    )
    factory = InteractiveRuntimeTestingFactory(pipe.dag, pipe.config)
    assert factory.get_pending_script_configurations() == ["Only"]
    req = factory.get_script_testing_requirements("Only")
    assert [i["name"] for i in req["expected_inputs"]] == ["data_input"]
    assert "guessed" in req["expected_inputs"][0]["description"]
    renamed = factory.configure_script_testing("Only", expected_inputs={"raw": tmp_path})
    assert renamed.input_paths == {"raw": "."}
    removed = factory.configure_script_testing("Only", expected_inputs={"raw": None})
    assert removed.input_paths == {}
    assert removed.output_paths == {"out": ".rtf/outputs/Only/out"}


# --------------------------------------------------------------------------------------------
# configure_script_testing: overrides and problems
# --------------------------------------------------------------------------------------------


def test_configure_overrides_env_vars_job_args_and_paths(sample: Path) -> None:
    factory = sample_factory()
    own_out = sample / "mine" / "model"
    spec = factory.configure_script_testing(
        "XGBoostTraining",
        expected_outputs={"model_output": own_out},
        environment_variables={
            "LABEL_FIELD": "label",
            "EXTRA": ["a", 1],
            "FRAMEWORK_VERSION": None,
        },
        job_arguments={"hyperparameters": {"num_round": 2}, "job_type": "training"},
    )
    assert spec.output_paths["model_output"] == "mine/model"
    assert spec.environ_vars == {
        "LABEL_FIELD": "label",
        "ID_FIELD": "order_id",
        "EXTRA": '["a", 1]',
    }
    assert spec.job_args == {"hyperparameters": {"num_round": 2}, "job_type": "training"}
    assert factory.get_configuration("xgboost_training") == spec

    req = factory.get_script_testing_requirements("XGBoostTraining")
    env = {e["name"]: e for e in req["environment_variables"]}
    assert (env["LABEL_FIELD"]["current_value"], env["LABEL_FIELD"]["source"]) == ("label", "user")
    assert env["LABEL_FIELD"]["default_value"] == "is_abuse"
    assert env["ID_FIELD"]["source"] == "config:id_name"
    assert env["FRAMEWORK_VERSION"]["current_value"] is None
    assert env["EXTRA"]["description"] == "set by you"
    outputs = {o["name"]: o for o in req["expected_outputs"]}
    assert outputs["model_output"]["current_path"] == str(own_out)
    assert outputs["model_output"]["example_path"] == str(
        sample / ".rtf/outputs/XGBoostTraining/model_output"
    )
    # the downstream input wired to that output now points at the new folder
    payload = factory.get_script_testing_requirements("Payload")
    assert payload["expected_inputs"][0]["current_path"] == str(own_out)

    with pytest.raises(TypeError, match="not both"):
        factory.configure_script_testing("Payload", environ_vars={}, environment_variables={})
    with pytest.raises(TypeError, match="mapping"):
        factory.configure_script_testing("Payload", job_args=["x"])  # type: ignore[arg-type]


def test_configure_collects_every_problem_and_changes_nothing(sample: Path) -> None:
    factory = sample_factory()
    factory.configure_script_testing("XGBoostModelEval_calibration", environ_vars={"X": "1"})
    before = factory.get_configuration("XGBoostModelEval_calibration")
    empty = sample / "empty"
    empty.mkdir()
    (empty / "zero.csv").write_text("")
    with pytest.raises(ConfigurationError) as err:
        factory.configure_script_testing(
            "XGBoostModelEval_calibration",
            expected_inputs={
                "model_inptu": "x",
                "processed_data": empty,
                "model_input": {"from": "XGBoostTrainig", "output": "model_output"},
            },
            expected_outputs={"eval_outptu": "x", "metrics_output": 3},
        )
    problems = err.value.problems
    assert len(problems) == 5, problems
    assert problems[0].startswith("unknown input 'model_inptu'")
    assert "did you mean 'model_input'?" in problems[0]
    assert problems[1].startswith("input 'model_input': Script 'XGBoostTrainig' not found")
    assert problems[2].startswith("unknown output 'eval_outptu'")
    assert problems[3] == "output 'metrics_output': expected a folder path, got 3"
    assert problems[4] == f"input 'processed_data': folder is empty: {empty}"
    assert "Cannot configure 'XGBoostModelEval_calibration' (xgboost_model_eval):" in str(err.value)
    assert factory.get_configuration("XGBoostModelEval_calibration") == before


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"input_path": "does/not/exist"}, "input 'input_path': path does not exist: "),
        ({"input_path": {"from": "Payload", "output": "payload_sample"}}, "downstream"),
        ({"input_path": {"from": "XGBoostTraining", "output": "model_output"}}, "its own output"),
        (
            {"input_path": {"from": "TabularPreprocessing_training", "output": "processed"}},
            "no output 'processed' of TabularPreprocessing_training",
        ),
        ({"input_path": {"from": "Package"}}, "a reference is {'from': STEP, 'output': NAME}"),
        ({"input_path": 7}, "expected a path or {'from': STEP, 'output': NAME}, got int"),
        ({"input_path": None}, "input 'input_path' is required by the script"),
    ],
)
def test_configure_rejects_bad_inputs(sample: Path, inputs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match="Cannot configure 'XGBoostTraining'") as err:
        sample_factory().configure_script_testing("XGBoostTraining", expected_inputs=inputs)
    assert problem in str(err.value)


def test_an_optional_input_can_be_given_or_removed(sample: Path) -> None:
    factory = sample_factory()
    hyper = sample / "hyper"
    hyper.mkdir()
    (hyper / "hyperparameters.json").write_text('{"num_round": 3}')
    spec = factory.configure_script_testing(
        "XGBoostTraining", input_paths={"hyperparameters_s3_uri": str(hyper)}
    )
    assert spec.input_paths["hyperparameters_s3_uri"] == "hyper"
    spec = factory.configure_script_testing(
        "XGBoostTraining", input_paths={"hyperparameters_s3_uri": None}
    )
    assert "hyperparameters_s3_uri" not in spec.input_paths


# --------------------------------------------------------------------------------------------
# Saving and building
# --------------------------------------------------------------------------------------------


def test_save_spec_writes_what_build_spec_builds_and_guards_other_files(sample: Path) -> None:
    factory = sample_factory()
    first = factory.save_spec()
    assert first == sample / "rtf-spec.yaml"
    assert load_spec(first).model_dump() == factory.build_spec().model_dump()
    assert factory.save_spec() == first  # its own file: saved again without asking

    other = sample_factory()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        other.save_spec()
    assert other.save_spec(overwrite=True) == first

    nested = other.save_spec(sample / "specs" / "api.yaml")
    assert other.spec_path == nested
    loaded = load_spec(nested)  # relative paths follow the new folder
    assert loaded.dag == "../sample_dags/xgboost_e2e.yaml"
    assert loaded.scripts["Package"].output_paths["packaged_model"] == (
        "../.rtf/outputs/Package/packaged_model"
    )


def test_run_refuses_to_replace_a_spec_it_did_not_write(sample: Path) -> None:
    (sample / "rtf-spec.yaml").write_text("# someone's hand-made spec\n")
    with pytest.raises(FileExistsError):
        sample_factory().run(RunOptions(dry_run=True))
    assert (sample / "rtf-spec.yaml").read_text() == "# someone's hand-made spec\n"


def test_run_saves_the_current_configuration_each_time(sample: Path) -> None:
    factory = sample_factory(spec_path="plan.yaml")
    report = factory.run(RunOptions(dry_run=True, run_id="dry"))
    assert report.run_id == "dry"
    assert [s.status for s in report.steps] == ["skipped"] * 7
    factory.configure_script_testing("Payload", environ_vars={"DEFAULT_TEXT_VALUE": "x"})
    factory.run(RunOptions(dry_run=True))
    saved = load_spec(sample / "plan.yaml")
    assert saved.scripts["Payload"].environ_vars["DEFAULT_TEXT_VALUE"] == "x"


# --------------------------------------------------------------------------------------------
# The package's public names
# --------------------------------------------------------------------------------------------


def test_public_names_are_exported() -> None:
    for name in rtf.__all__:
        assert getattr(rtf, name) is not None, name
    assert rtf.ScriptExecutionSpec is rtf.spec.ScriptSpec
    assert "InteractiveRuntimeTestingFactory" in dir(rtf)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = rtf.nothing_here  # type: ignore[attr-defined]


def test_import_rtf_stays_cheap() -> None:
    probe = textwrap.dedent(
        """
        import json, sys
        heavy = ("pydantic", "rich", "questionary", "typer", "yaml", "prompt_toolkit")
        import rtf
        first = [m for m in heavy if m in sys.modules]
        from rtf import InteractiveRuntimeTestingFactory
        second = [m for m in heavy if m in sys.modules]
        print(json.dumps([first, second]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    first, second = json.loads(done.stdout)
    assert first == []
    assert "rich" not in second and "questionary" not in second and "typer" not in second
