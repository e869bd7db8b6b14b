"""The bundled sample pipeline: real scripts, real data, wired as its spec says.

The scripts are loaded from their files and their `main` is called in-process,
step after step in the spec's order, with every output under tmp_path. The
sample's test data is only read, never written.
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_configs" / "xgboost_e2e"
SCRIPTS = SAMPLE / "scripts"
TEST_DATA = SAMPLE / "test_data"
SPEC_FILE = SAMPLE / "spec.yaml"
CONFIG_FILE = SAMPLE / "config.json"
DAG_YAML = ROOT / "sample_dags" / "xgboost_e2e.yaml"
DAG_JSON = ROOT / "sample_dags" / "xgboost_e2e.json"
MARKER = ".rtf-output"
PIPELINE_SCRIPTS = [
    "tabular_preprocessing",
    "xgboost_training",
    "xgboost_model_eval",
    "model_calibration",
    "package",
    "payload",
]
ENV_ALIASES = {"label_name": "LABEL_FIELD", "id_name": "ID_FIELD", "py_version": "PYTHON_VERSION"}
ENTRY_FIELDS = (
    "processing_entry_point",
    "training_entry_point",
    "script_path",
    "inference_entry_point",
)

Outputs = dict[str, dict[str, Path]]


def load_script(name: str) -> ModuleType:
    """Import a sample script from its file, under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"rtf_sample_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # keep the sample tree clean
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


def call_main(name: str, inputs: dict[str, Any], outputs: dict[str, Any], **kwargs: Any) -> Any:
    """Call a script's main with string paths; kwargs: environ_vars and job_args."""
    return load_script(name).main(
        input_paths={key: str(value) for key, value in inputs.items()},
        output_paths={key: str(value) for key, value in outputs.items()},
        environ_vars=kwargs.get("environ_vars", {}),
        job_args=argparse.Namespace(**kwargs.get("job_args", {})),
    )


def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return spec


def run_sample_spec(workspace: Path) -> tuple[Outputs, dict[str, Any]]:
    """Run every script of the sample spec in order; outputs go under `workspace`."""
    outputs: Outputs = {}
    results: dict[str, Any] = {}
    for step, entry in load_spec()["scripts"].items():
        assert set(entry["depends_on"]) <= set(outputs), f"{step} runs before its dependencies"
        inputs = {
            name: outputs[ref["from"]][ref["output"]] if isinstance(ref, dict) else SAMPLE / ref
            for name, ref in entry["input_paths"].items()
        }
        step_outputs = {name: workspace / rel for name, rel in entry["output_paths"].items()}
        for folder in step_outputs.values():  # as rtf leaves them: existing, with a marker
            folder.mkdir(parents=True)
            (folder / MARKER).write_text("", encoding="utf-8")
        results[step] = call_main(
            Path(entry["script_path"]).stem,
            inputs,
            step_outputs,
            environ_vars=entry["environ_vars"],
            job_args=entry["job_args"],
        )
        for name, folder in step_outputs.items():
            written = [p for p in folder.rglob("*") if p.is_file() and p.name != MARKER]
            assert any(p.stat().st_size > 0 for p in written), f"{step}: output {name} is empty"
            assert (folder / MARKER).exists(), f"{step} removed the marker in {name}"
        outputs[step] = step_outputs
    return outputs, results


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def training_rows() -> int:
    total = 0
    for shard in sorted((TEST_DATA / "TabularPreprocessing_training" / "DATA").iterdir()):
        data = shard.read_bytes()
        text = gzip.decompress(data).decode() if shard.suffix == ".gz" else data.decode()
        total += len(list(csv.DictReader(io.StringIO(text))))
    return total


def tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_sample_pipeline_runs_end_to_end(tmp_path: Path) -> None:
    before = tree_digest(TEST_DATA)
    out, results = run_sample_spec(tmp_path)
    assert tree_digest(TEST_DATA) == before, "a script wrote under the sample's test data"

    # Preprocessing: every row lands in exactly one split, with the label share kept.
    counts = results["TabularPreprocessing_training"]
    assert set(counts) == {"train", "val", "test"}
    assert sum(counts.values()) == training_rows() == 520
    processed = out["TabularPreprocessing_training"]["processed_data"]
    shares = {}
    for split, count in counts.items():
        rows = read_csv(processed / split / f"{split}_processed_data.csv")
        assert len(rows) == count
        shares[split] = sum(int(row["is_abuse"]) for row in rows) / count
    assert max(shares.values()) - min(shares.values()) < 0.03
    assert abs(counts["train"] / 520 - 0.7) < 0.01
    calibration_dir = out["TabularPreprocessing_calibration"]["processed_data"]
    assert sorted(p.name for p in calibration_dir.iterdir()) == [MARKER, "calibration"]
    assert results["TabularPreprocessing_calibration"] == {"calibration": 360}

    # Training learned the signal, and wrote the model files.
    metrics = results["XGBoostTraining"]
    assert metrics["val"]["auc"] > 0.7 and metrics["test"]["auc"] > 0.7
    model_dir = out["XGBoostTraining"]["model_output"]
    model = json.loads((model_dir / "model.json").read_text())
    assert len(model["trees"]) == 40
    assert model["cat_field_list"] == ["payment_method"]
    columns = (model_dir / "feature_columns.txt").read_text().splitlines()
    assert columns[0] == "0,order_amount" and columns[-1] == "5,payment_method"

    # Evaluation on the calibration data.
    eval_metrics = json.loads(
        (out["XGBoostModelEval_calibration"]["metrics_output"] / "metrics.json").read_text()
    )
    assert eval_metrics["auc_roc"] > 0.7
    assert eval_metrics["count"] == 360
    predictions = read_csv(
        out["XGBoostModelEval_calibration"]["eval_output"] / "eval_predictions.csv"
    )
    assert list(predictions[0]) == ["order_id", "is_abuse", "prob_class_0", "prob_class_1"]
    assert len(predictions) == 360
    assert all(
        abs(float(r["prob_class_0"]) + float(r["prob_class_1"]) - 1) < 1e-5 for r in predictions
    )

    # Isotonic calibration: monotone, and no worse than the raw scores on its own data.
    calibration = out["ModelCalibration_calibration"]
    calibration_model = json.loads(
        (calibration["calibration_output"] / "calibration_model.json").read_text()
    )
    assert calibration_model["method"] == "isotonic"
    assert calibration_model["y_values"] == sorted(calibration_model["y_values"])
    assert calibration_model["x_thresholds"] == sorted(calibration_model["x_thresholds"])
    calibrated = read_csv(calibration["calibrated_data"] / "calibrated_predictions.csv")
    ordered = sorted(calibrated, key=lambda r: float(r["prob_class_1"]))
    values = [float(r["calibrated_prob_class_1"]) for r in ordered]
    assert values == sorted(values)
    report = results["ModelCalibration_calibration"]
    assert report["calibrated"]["brier_score"] <= report["uncalibrated"]["brier_score"]

    # Package: model files, calibration and inference code; no marker file.
    members = tar_members(out["Package"]["packaged_model"] / "model.tar.gz")
    assert sorted(members) == [
        "calibration/calibration_model.json",
        "code/inference.py",
        "feature_columns.txt",
        "hyperparameters.json",
        "model.json",
    ]

    # Payload: one request per content type, both parse and name every field.
    payloads = tar_members(out["Payload"]["payload_sample"] / "payload.tar.gz")
    assert sorted(payloads) == ["payload_application_json_0.json", "payload_text_csv_0.csv"]
    request = json.loads(payloads["payload_application_json_0.json"])
    assert request["order_amount"] == 0.0 and request["payment_method"] == "DEFAULT_TEXT"
    assert len(request) == 6
    csv_body = payloads["payload_text_csv_0.csv"].decode()
    assert next(csv.reader(io.StringIO(csv_body))) == ["0.0"] * 5 + ["DEFAULT_TEXT"]

    # The registered handler serves the packaged model with the generated payload.
    unpacked = tmp_path / "unpacked"
    for name, data in members.items():
        (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
        (unpacked / name).write_bytes(data)
    handler = load_script("inference_handler")
    served = handler.model_fn(str(unpacked))
    assert served["calibration"]["method"] == "isotonic"
    for body, content_type in ((csv_body, "text/csv"), (json.dumps(request), "application/json")):
        scores = handler.predict_fn(handler.input_fn(body, content_type), served)
        assert len(scores) == 1 and 0.0 <= scores[0]["calibrated-score"] <= 1.0
        response = json.loads(handler.output_fn(scores, "application/json"))
        assert response["predictions"] == scores


def test_sample_pipeline_is_deterministic(tmp_path: Path) -> None:
    first, first_results = run_sample_spec(tmp_path / "one")
    second, second_results = run_sample_spec(tmp_path / "two")
    assert first_results == second_results
    for step in ("Package", "Payload"):
        (name,) = first[step]
        assert tree_digest(first[step][name]) == tree_digest(second[step][name])


# --- the scripts fail loudly on bad input ------------------------------------


def preprocess(data_dir: Path, out_dir: Path, job_type: str = "training") -> Any:
    return call_main(
        "tabular_preprocessing",
        {"DATA": data_dir},
        {"processed_data": out_dir},
        environ_vars={"LABEL_FIELD": "is_abuse"},
        job_args={"job_type": job_type},
    )


def test_preprocessing_names_a_missing_label_column(tmp_path: Path) -> None:
    data = tmp_path / "DATA"
    data.mkdir()
    (data / "part.csv").write_text("order_id,amount,label\n1,2.0,0\n2,3.0,1\n")
    with pytest.raises(ValueError, match=r"label column 'is_abuse' not found"):
        preprocess(data, tmp_path / "out")


def test_preprocessing_rejects_an_empty_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "DATA"
    data.mkdir()
    (data / MARKER).write_text("")  # hidden files are not data
    with pytest.raises(FileNotFoundError, match="no CSV shards"):
        preprocess(data, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        preprocess(tmp_path / "missing", tmp_path / "out")


def test_preprocessing_rejects_a_header_without_rows(tmp_path: Path) -> None:
    data = tmp_path / "DATA"
    data.mkdir()
    (data / "part.csv").write_text("order_id,is_abuse\n")
    with pytest.raises(ValueError, match="no data rows"):
        preprocess(data, tmp_path / "out")


def test_preprocessing_reads_shards_without_a_repeated_header(tmp_path: Path) -> None:
    data = tmp_path / "DATA"
    data.mkdir()
    (data / "part-0.csv").write_text("order_id,is_abuse\n1,0\n2,1\n")
    (data / "part-1.csv.gz").write_bytes(gzip.compress(b"3,1\n4,0\n5,\n"))
    assert preprocess(data, tmp_path / "out", job_type="validation") == {"validation": 4}
    rows = read_csv(tmp_path / "out" / "validation" / "validation_processed_data.csv")
    assert [row["order_id"] for row in rows] == ["1", "2", "3", "4"]


def test_training_names_a_missing_split(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    preprocess(TEST_DATA / "TabularPreprocessing_calibration" / "DATA", processed, "calibration")
    with pytest.raises(FileNotFoundError, match="split 'train'"):
        call_main(
            "xgboost_training",
            {"input_path": processed},
            {"model_output": tmp_path / "m", "evaluation_output": tmp_path / "e"},
            environ_vars={"LABEL_FIELD": "is_abuse", "ID_FIELD": "order_id"},
        )


def test_calibration_checks_its_settings_and_columns(tmp_path: Path) -> None:
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    rows = [(i, int(i % 10 >= 6 or i % 7 == 0), (i % 10) / 10 + 0.05) for i in range(60)]
    lines = ["order_id,is_abuse,prob_class_1"] + [f"{i},{y},{p}" for i, y, p in rows]
    (evaluation / "eval_predictions.csv").write_text("\n".join(lines) + "\n")
    outputs = {n: tmp_path / n for n in ("calibration_output", "metrics_output", "calibrated_data")}
    env = {"LABEL_FIELD": "is_abuse", "CALIBRATION_METHOD": "platt", "IS_BINARY": "True"}
    call_main(
        "model_calibration",
        {"evaluation_data": evaluation},
        outputs,
        environ_vars=env,
        job_args={"job_type": "calibration"},
    )
    platt = json.loads((tmp_path / "calibration_output" / "calibration_model.json").read_text())
    assert platt["method"] == "platt" and platt["a"] > 0.0

    for override, message in (
        ({"CALIBRATION_METHOD": "spline"}, "CALIBRATION_METHOD must be one of"),
        ({"IS_BINARY": "false"}, "only binary calibration"),
        ({"SCORE_FIELD": "score"}, r"SCORE_FIELD column 'score' not in eval_predictions\.csv"),
    ):
        with pytest.raises(ValueError, match=message):
            call_main(
                "model_calibration",
                {"evaluation_data": evaluation},
                outputs,
                environ_vars=env | override,
                job_args={"job_type": "calibration"},
            )


def test_package_and_payload_need_a_model(tmp_path: Path) -> None:
    empty_model = tmp_path / "model"
    empty_model.mkdir()
    (empty_model / MARKER).write_text("")
    scripts = TEST_DATA / "Package" / "inference_scripts_input"
    with pytest.raises(ValueError, match=r"holds no model\.json"):
        call_main(
            "package",
            {"model_input": empty_model, "inference_scripts_input": scripts},
            {"packaged_model": tmp_path / "pkg"},
        )
    with pytest.raises(FileNotFoundError, match=r"neither hyperparameters\.json"):
        call_main("payload", {"model_input": empty_model}, {"payload_sample": tmp_path / "pl"})
    (empty_model / "feature_columns.txt").write_text("0,amount\n")
    with pytest.raises(ValueError, match="unsupported content types"):
        call_main(
            "payload",
            {"model_input": empty_model},
            {"payload_sample": tmp_path / "pl"},
            environ_vars={"CONTENT_TYPES": "text/csv,application/xml"},
        )


# --- static facts about the sample --------------------------------------------


def functions_of(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_inference_handler_is_a_server_handler_without_main() -> None:
    functions = functions_of(SCRIPTS / "inference_handler.py")
    assert "main" not in functions
    assert {"model_fn", "input_fn", "predict_fn", "output_fn"} <= set(functions)


@pytest.mark.parametrize("name", PIPELINE_SCRIPTS)
def test_pipeline_scripts_have_main_and_use_only_the_standard_library(name: str) -> None:
    path = SCRIPTS / f"{name}.py"
    main = functions_of(path)["main"]
    assert [a.arg for a in main.args.args] == [
        "input_paths",
        "output_paths",
        "environ_vars",
        "job_args",
    ]
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_dag_yaml_and_json_hold_the_same_graph() -> None:
    from_yaml = yaml.safe_load(DAG_YAML.read_text(encoding="utf-8"))
    from_json = json.loads(DAG_JSON.read_text(encoding="utf-8"))
    assert from_json["metadata"]["name"] == from_yaml["name"] == "xgboost_complete_e2e"
    assert from_json["dag"]["nodes"] == from_yaml["nodes"]
    assert from_json["dag"]["edges"] == from_yaml["edges"]
    assert len(from_yaml["nodes"]) == 10 and len(from_yaml["edges"]) == 11
    named = {node for edge in from_yaml["edges"] for node in edge}
    assert named == set(from_yaml["nodes"])


# --- the sample config and spec agree (SPEC 2.3-2.5 and 4) ---------------------


def step_configs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Each config step: (class name, shared fields overlaid by its specific ones)."""
    document = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    shared = document["configuration"]["shared"]
    types = document["metadata"]["config_types"]
    assert set(types) == set(document["configuration"]["specific"])
    return {
        step: (types[step], {k: v for k, v in (shared | fields).items() if not k.startswith("__")})
        for step, fields in document["configuration"]["specific"].items()
    }


def resolve(node: str, configs: dict[str, tuple[str, dict[str, Any]]]) -> str | None:
    """Exact name, case-insensitive name, then class minus Config plus _job_type."""
    if node in configs:
        return node
    for rule in (
        lambda step, _c, _f: step.lower() == node.lower(),
        lambda _s, cls, fields: f"{cls.removesuffix('Config')}_{fields.get('job_type')}" == node,
    ):
        found = [step for step, (cls, fields) in configs.items() if rule(step, cls, fields)]
        assert len(found) <= 1, f"{node} matches {found}"
        if found:
            return found[0]
    return None


def env_reads(path: Path) -> dict[str, bool]:
    """Env vars a script's main reads from environ_vars: name -> required."""
    reads: dict[str, bool] = {}
    for node in ast.walk(functions_of(path)["main"]):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "environ_vars":
            assert isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
            reads[node.slice.value] = True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and getattr(node.func.value, "id", "") == "environ_vars"
            and node.func.attr == "get"
        ):
            key = node.args[0]
            assert isinstance(key, ast.Constant) and isinstance(key.value, str)
            reads.setdefault(key.value, False)
    return reads


def prefill(fields: dict[str, Any], env_var: str) -> str | None:
    for field, value in fields.items():
        if field.upper() == env_var or ENV_ALIASES.get(field) == env_var:
            return value if isinstance(value, str) else json.dumps(value)
    return None


def test_config_resolves_and_skips_dag_nodes_as_intended() -> None:
    configs = step_configs()
    nodes = yaml.safe_load(DAG_YAML.read_text(encoding="utf-8"))["nodes"]
    bound = {node: resolve(node, configs) for node in nodes}
    assert bound["ModelCalibration_calibration"] == "ModelCalibration_calib_step"
    assert None not in bound.values()
    assert "RiskTableMapping_training" in configs and "RiskTableMapping_training" not in nodes

    kinds = {}
    for node, step in bound.items():
        assert step is not None
        entry = [f for f in ENTRY_FIELDS if configs[step][1].get(f)]
        kinds[node] = entry[0] if entry else "no_entry_point"
    assert kinds["CradleDataLoading_training"] == "no_entry_point"
    assert kinds["CradleDataLoading_calibration"] == "no_entry_point"
    assert kinds["Registration"] == "inference_entry_point"
    registration = configs["Registration"][1]
    handler = SAMPLE / registration["source_dir"] / registration["inference_entry_point"]
    assert handler == SCRIPTS / "inference_handler.py" and handler.is_file()
    scripts = {
        node
        for node, kind in kinds.items()
        if kind not in {"no_entry_point", "inference_entry_point"}
    }
    assert scripts == set(load_spec()["scripts"])


def test_spec_values_are_the_ones_the_config_prefills() -> None:
    configs = step_configs()
    spec = load_spec()
    assert (SAMPLE / spec["dag"]).resolve() == DAG_YAML
    assert (SAMPLE / spec["config"]).resolve() == CONFIG_FILE
    dag = yaml.safe_load(DAG_YAML.read_text(encoding="utf-8"))
    parents: dict[str, set[str]] = {node: set() for node in dag["nodes"]}
    for source, target in dag["edges"]:
        parents[target].add(source)

    def script_ancestors(node: str) -> set[str]:
        found: set[str] = set()
        for parent in parents[node]:
            found |= {parent} if parent in spec["scripts"] else script_ancestors(parent)
        return found

    for step, entry in spec["scripts"].items():
        fields = configs[resolve(step, configs) or step][1]
        script = SAMPLE / entry["script_path"]
        assert script.name == next(fields[f] for f in ENTRY_FIELDS if fields.get(f))
        reads = env_reads(script)
        required = {name for name, needed in reads.items() if needed}
        assert required <= set(entry["environ_vars"]), f"{step}: required env not in spec"
        for name, value in entry["environ_vars"].items():
            assert name in reads, f"{step}: {name} is not read by {script.name}"
            assert value == prefill(fields, name), f"{step}: {name} differs from the config"
        if "job_type" in fields:
            assert entry["job_args"]["job_type"] == fields["job_type"]
        if "hyperparameters" in fields:
            assert entry["job_args"]["hyperparameters"] == fields["hyperparameters"]
        assert set(entry["depends_on"]) == script_ancestors(step)
        for name, path in entry["output_paths"].items():
            assert path == f".rtf/outputs/{step}/{name}"
