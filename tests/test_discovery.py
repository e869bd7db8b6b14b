"""Node -> config resolution (SPEC 2.3) and script discovery (SPEC 2.4) on real files."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import MakePipeline, Pipeline

from rtf.config import load_pipeline_config
from rtf.dag import build_dag, load_dag
from rtf.discovery import Discovery, discover, discovery_json, resolve_config
from rtf.errors import ExitCode, InputError

SCRIPT = (
    "def main(input_paths, output_paths, environ_vars, job_args):\n"
    "    data = input_paths['data']\n"
    "    out = output_paths['result']\n"
)
HANDLER = (
    "def model_fn(model_dir):\n    return None\n\n\ndef predict_fn(data, model):\n    return data\n"
)


def run(p: Pipeline, roots: Sequence[Path] = (), cwd: Path | None = None) -> Discovery:
    here = cwd or p.root / "_cwd"
    here.mkdir(exist_ok=True)
    return discover(p.dag, p.config, source_roots=roots, cwd=here, use_cache=False)


def one_step(
    make_pipeline: MakePipeline,
    fields: dict[str, Any],
    scripts: dict[str, str] | None = None,
    **options: Any,
) -> Pipeline:
    return make_pipeline(["S"], [], {"S": fields}, scripts, **options)


# -- resolution (SPEC 2.3) -----------------------------------------------------------------


def resolved(nodes: list[str], steps: dict[str, dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    from conftest import write_pipeline

    p = write_pipeline(tmp_path / "r", nodes, [], steps)
    dag, config = load_dag(p.dag), load_pipeline_config(p.config)
    out = {}
    for node in nodes:
        step = resolve_config(node, dag, config)
        out[node] = step.name if step is not None else None
    return out


def test_exact_name_wins(tmp_path: Path) -> None:
    steps = {"Package": {"x": 1}, "package": {"x": 2}}
    assert resolved(["Package"], steps, tmp_path) == {"Package": "Package"}


def test_case_insensitive_name(tmp_path: Path) -> None:
    assert resolved(["xgboosttraining"], {"XGBoostTraining": {}}, tmp_path) == {
        "xgboosttraining": "XGBoostTraining"
    }


def test_class_plus_job_type_rule(tmp_path: Path) -> None:
    steps = {
        "ModelCalibration_calib_step": {
            "__model_type__": "ModelCalibrationConfig",
            "job_type": "calibration",
        }
    }
    assert resolved(["ModelCalibration_calibration"], steps, tmp_path) == {
        "ModelCalibration_calibration": "ModelCalibration_calib_step"
    }
    # the class rule is case-insensitive on the node name too
    assert resolved(["modelcalibration_Calibration"], steps, tmp_path / "b") == {
        "modelcalibration_Calibration": "ModelCalibration_calib_step"
    }


def test_class_rule_needs_a_job_type(tmp_path: Path) -> None:
    steps = {"Anything": {"__model_type__": "PackageConfig"}}
    assert resolved(["Package_None", "Package"], steps, tmp_path) == {
        "Package_None": None,
        "Package": None,
    }


def test_a_node_is_never_bound_to_another_nodes_config(tmp_path: Path) -> None:
    # "train" would match "Train" case-insensitively, but "Train" is a node of its own.
    assert resolved(["Train", "train"], {"Train": {}}, tmp_path) == {
        "Train": "Train",
        "train": None,
    }


def test_class_rule_skips_configs_named_after_a_node_in_any_case(tmp_path: Path) -> None:
    steps = {"prep": {"__model_type__": "TabularPreprocessingConfig", "job_type": "training"}}
    nodes = ["PREP", "TabularPreprocessing_training"]
    assert resolved(nodes, steps, tmp_path) == {
        "PREP": "prep",
        "TabularPreprocessing_training": None,
    }


def test_two_case_insensitive_candidates_is_an_error_naming_both(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        resolved(["package"], {"Package": {}, "PACKAGE": {}}, tmp_path)
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert "DAG node 'package' matches more than one config: 'Package' and 'PACKAGE'" in str(
        info.value
    )


def test_two_class_rule_candidates_is_an_error_naming_both(tmp_path: Path) -> None:
    steps = {
        "first": {"__model_type__": "XGBoostModelEvalConfig", "job_type": "calibration"},
        "second": {"__model_type__": "XGBoostModelEvalConfig", "job_type": "calibration"},
    }
    with pytest.raises(InputError) as info:
        resolved(["XGBoostModelEval_calibration"], steps, tmp_path)
    assert "'first' and 'second'" in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "r" / "config.json"))


def test_no_config_is_skipped_with_the_closest_step(make_pipeline: MakePipeline) -> None:
    p = make_pipeline(
        ["XGBoostTrainingStep", "Other"],
        [["XGBoostTrainingStep", "Other"]],
        {"XGBoostTraining": {"training_entry_point": "t.py"}, "Unrelated": {}},
    )
    d = run(p)
    assert d.scripts == {}
    skip = d.skipped["XGBoostTrainingStep"]
    assert skip.reason == "no_config"
    assert "closest config step is 'XGBoostTraining'" in skip.detail
    assert d.skipped["Other"].reason == "no_config"
    assert "closest" not in d.skipped["Other"].detail


# -- entry points and source folders ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected_field", "expected_file"),
    [
        (
            {
                "processing_entry_point": "p.py",
                "training_entry_point": "t.py",
                "script_path": "s.py",
                "inference_entry_point": "i.py",
            },
            "processing_entry_point",
            "p.py",
        ),
        (
            {
                "training_entry_point": "t.py",
                "script_path": "s.py",
                "inference_entry_point": "i.py",
            },
            "training_entry_point",
            "t.py",
        ),
        ({"script_path": "s.py", "inference_entry_point": "i.py"}, "script_path", "s.py"),
        (
            {"processing_entry_point": "", "training_entry_point": "t.py"},
            "training_entry_point",
            "t.py",
        ),
        ({"processing_entry_point": None, "script_path": " s.py "}, "script_path", "s.py"),
    ],
)
def test_entry_point_priority(
    make_pipeline: MakePipeline, fields: dict[str, Any], expected_field: str, expected_file: str
) -> None:
    scripts = {f"src/{n}": SCRIPT for n in ("p.py", "t.py", "s.py", "i.py")}
    p = one_step(make_pipeline, {**fields, "source_dir": "src"}, scripts)
    info = run(p).scripts["S"]
    assert info.entry_point_field == expected_field
    assert info.entry_point == expected_file
    assert info.script_path == p.root / "src" / expected_file
    assert info.found


SOURCE_FIELDS = [
    "portable_processing_source_dir",
    "processing_source_dir",
    "portable_source_dir",
    "source_dir",
    "effective_source_dir",
]


@pytest.mark.parametrize("first", range(len(SOURCE_FIELDS)))
def test_source_dir_priority(make_pipeline: MakePipeline, first: int) -> None:
    present = SOURCE_FIELDS[first:]
    fields: dict[str, Any] = {"processing_entry_point": "x.py"}
    fields.update({name: f"dir_{name}" for name in present})
    scripts = {f"dir_{name}/x.py": SCRIPT for name in SOURCE_FIELDS}
    p = one_step(make_pipeline, fields, scripts)
    info = run(p).scripts["S"]
    assert info.script_path == p.root / f"dir_{SOURCE_FIELDS[first]}" / "x.py"
    assert info.source_dir == f"dir_{SOURCE_FIELDS[first]}"


def test_a_lower_priority_source_dir_is_tried_when_the_first_has_no_file(
    make_pipeline: MakePipeline,
) -> None:
    fields = {
        "processing_entry_point": "x.py",
        "processing_source_dir": "gone",
        "source_dir": "here",
    }
    p = one_step(make_pipeline, fields, {"here/x.py": SCRIPT})
    info = run(p).scripts["S"]
    assert info.script_path == p.root / "here" / "x.py"
    assert info.source_dir == "gone"  # the field the config names first


# -- the file search order -------------------------------------------------------------------


def test_absolute_entry_point(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "abs_script.py"
    elsewhere.parent.mkdir()
    elsewhere.write_text(SCRIPT)
    p = one_step(make_pipeline, {"processing_entry_point": str(elsewhere), "source_dir": "src"})
    info = run(p).scripts["S"]
    assert info.script_path == elsewhere
    assert info.tried == [str(elsewhere)]


def test_source_root_comes_before_the_config_folder(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    (root / "src").mkdir(parents=True)
    (root / "src" / "x.py").write_text(SCRIPT)
    p = one_step(
        make_pipeline, {"processing_entry_point": "x.py", "source_dir": "src"}, {"src/x.py": SCRIPT}
    )
    assert run(p, [root]).scripts["S"].script_path == root / "src" / "x.py"
    assert run(p).scripts["S"].script_path == p.root / "src" / "x.py"


def test_source_dir_and_entry_point_come_before_the_entry_point_alone(
    make_pipeline: MakePipeline,
) -> None:
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "x.py", "source_dir": "src"},
        {"x.py": SCRIPT, "src/x.py": SCRIPT},
    )
    assert run(p).scripts["S"].script_path == p.root / "src" / "x.py"


def test_entry_point_alone_under_the_config_folder(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline, {"processing_entry_point": "x.py", "source_dir": "nowhere"}, {"x.py": SCRIPT}
    )
    info = run(p).scripts["S"]
    assert info.script_path == p.root / "x.py"
    assert str(p.root / "nowhere" / "x.py") in info.tried


def test_source_dir_under_a_parent_of_the_config_folder(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "x.py", "processing_source_dir": "dockers/xgb/scripts"},
        {"dockers/xgb/scripts/x.py": SCRIPT},
        config_path="pipeline_config/xgb/config.json",
    )
    info = run(p).scripts["S"]
    assert info.script_path == p.root / "dockers" / "xgb" / "scripts" / "x.py"
    config_dir = p.root / "pipeline_config" / "xgb"
    assert info.tried.index(str(config_dir / "dockers/xgb/scripts/x.py")) < info.tried.index(
        str(info.script_path)
    )


def test_the_current_folder_is_searched(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    cwd = tmp_path / "work"
    (cwd / "src").mkdir(parents=True)
    (cwd / "src" / "here_only.py").write_text(SCRIPT)
    p = one_step(make_pipeline, {"processing_entry_point": "here_only.py", "source_dir": "src"})
    assert run(p, cwd=cwd).scripts["S"].script_path == cwd / "src" / "here_only.py"


def test_file_name_search_under_a_source_root_skips_tool_folders(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    real = root / "pkg" / "deep" / "steps" / "find_me.py"
    for folder in (
        real.parent,
        root / ".git" / "objects",
        root / "node_modules" / "x",
        root / ".venv" / "lib",
        root / "env3" / "lib" / "python3.11",
        root / "pkg" / "__pycache__",
    ):
        folder.mkdir(parents=True, exist_ok=True)
    (root / "env3" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for copy in (
        real,
        root / ".git" / "objects" / "find_me.py",
        root / "node_modules" / "x" / "find_me.py",
        root / ".venv" / "lib" / "find_me.py",
        root / "env3" / "lib" / "python3.11" / "find_me.py",
        root / "pkg" / "__pycache__" / "find_me.py",
    ):
        copy.write_text(SCRIPT)
    p = one_step(make_pipeline, {"processing_entry_point": "find_me.py", "source_dir": "dockers/x"})
    info = run(p, [root]).scripts["S"]
    assert info.found
    assert info.script_path == real
    assert f"{root}/**/find_me.py" in info.tried
    assert info.problems == []


def test_two_files_of_that_name_is_an_ambiguity(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    first = root / "a" / "twice.py"
    second = root / "b" / "twice.py"
    for f in (first, second):
        f.parent.mkdir(parents=True)
        f.write_text(SCRIPT)
    p = one_step(make_pipeline, {"processing_entry_point": "twice.py", "source_dir": "x"})
    info = run(p, [root]).scripts["S"]
    assert not info.found
    assert info.script_path is None
    assert sorted(info.candidates) == [first, second]
    assert info.problems[0].startswith("2 files named twice.py under the source roots: ")
    assert str(first) in info.problems[0] and str(second) in info.problems[0]
    entry = discovery_json(run(p, [root]))["scripts"][0]
    assert entry["found"] is False
    assert entry["script_path"] is None


def test_an_ambiguity_is_settled_by_the_source_folder_of_the_config(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    ours = root / "src" / "dockers" / "xgboost_atoz" / "scripts" / "model_eval.py"
    theirs = root / "src" / "dockers" / "pytorch_bsm" / "scripts" / "model_eval.py"
    for f in (ours, theirs):
        f.parent.mkdir(parents=True)
        f.write_text(SCRIPT)
    fields = {
        "processing_entry_point": "model_eval.py",
        "processing_source_dir": "/home/ec2-user/SageMaker/other/dockers/xgboost_atoz/scripts",
    }
    info = run(one_step(make_pipeline, fields), [root]).scripts["S"]
    assert info.found
    assert info.script_path == ours


def test_a_missing_script_stays_a_script_with_the_places_tried(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    p = make_pipeline(
        ["S", "T"],
        [["S", "T"]],
        {
            "S": {"processing_entry_point": "rtf_test_absent_7c1e.py", "source_dir": "src"},
            "T": {"processing_entry_point": "t.py"},
        },
        {"t.py": SCRIPT},
    )
    d = run(p, [root])
    info = d.scripts["S"]
    assert "S" not in d.skipped
    assert not info.found
    assert info.script_path is None
    assert info.mode is None
    assert str(root / "src" / "rtf_test_absent_7c1e.py") in info.tried
    assert str(p.root / "src" / "rtf_test_absent_7c1e.py") in info.tried
    assert str(p.root / "rtf_test_absent_7c1e.py") in info.tried
    assert f"{root}/**/rtf_test_absent_7c1e.py" in info.tried
    problem = info.problems[0]
    assert problem.startswith("script file rtf_test_absent_7c1e.py not found: tried ")
    assert "with source folder src" in problem
    entry = discovery_json(d)["scripts"][0]
    assert (entry["step_name"], entry["found"], entry["mode"]) == ("S", False, None)
    assert entry["auto_configurable"] is False


def test_a_missing_script_without_source_root_suggests_one(make_pipeline: MakePipeline) -> None:
    p = one_step(make_pipeline, {"processing_entry_point": "rtf_test_absent_91ab.py"})
    problem = run(p).scripts["S"].problems[0]
    assert "pass --source-root DIR" in problem


def test_a_folder_we_may_not_enter_is_not_a_crash(
    make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "x.py", "processing_source_dir": "locked", "source_dir": "src"},
        {"src/x.py": SCRIPT},
    )
    real_is_file = Path.is_file

    def is_file(self: Path) -> bool:
        if "locked" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    assert run(p).scripts["S"].script_path == p.root / "src" / "x.py"


def test_source_root_must_be_a_folder(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    p = one_step(make_pipeline, {"processing_entry_point": "x.py"}, {"x.py": SCRIPT})
    with pytest.raises(InputError) as info:
        run(p, [tmp_path / "no_such_dir"])
    assert "--source-root is not a folder" in str(info.value)


# -- skip reasons ----------------------------------------------------------------------------


def test_no_entry_point(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"__model_type__": "CradleDataLoadingConfig", "job_type": "training", "source_dir": "src"},
    )
    d = run(p)
    skip = d.skipped["S"]
    assert skip.reason == "no_entry_point"
    assert "CradleDataLoadingConfig" in skip.detail
    assert d.scripts == {}


def test_inference_handler_without_main_is_skipped(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"inference_entry_point": "inference.py", "source_dir": "src"},
        {"src/inference.py": HANDLER},
    )
    skip = run(p).skipped["S"]
    assert skip.reason == "inference_handler"
    assert str(p.root / "src" / "inference.py") in skip.detail


def test_inference_entry_point_with_a_pipeline_main_is_a_script(
    make_pipeline: MakePipeline,
) -> None:
    p = one_step(
        make_pipeline,
        {"inference_entry_point": "inference.py", "source_dir": "src"},
        {"src/inference.py": SCRIPT},
    )
    info = run(p).scripts["S"]
    assert info.entry_point_field == "inference_entry_point"
    assert info.mode == "main"


def test_inference_handler_not_found_is_skipped(make_pipeline: MakePipeline) -> None:
    p = one_step(make_pipeline, {"inference_entry_point": "rtf_test_absent_inference.py"})
    skip = run(p).skipped["S"]
    assert skip.reason == "inference_handler"
    assert "file not found" in skip.detail


def test_processing_entry_point_beats_an_inference_entry_point(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "p.py", "inference_entry_point": "i.py"},
        {"p.py": SCRIPT, "i.py": HANDLER},
    )
    assert run(p).scripts["S"].entry_point == "p.py"


# -- real-world configs ------------------------------------------------------------------------


def test_absolute_source_paths_from_another_machine(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    script = root / "dockers" / "xgboost_atoz" / "xgboost_training.py"
    script.parent.mkdir(parents=True)
    script.write_text(SCRIPT)
    p = make_pipeline(
        ["XGBoostTraining"],
        [],
        {
            "XGBoostTraining": {
                "__model_type__": "XGBoostTrainingConfig",
                "training_entry_point": "xgboost_training.py",
            }
        },
        shared={
            "source_dir": "dockers/xgboost_atoz",
            "effective_source_dir": "/home/ec2-user/SageMaker/proj/src/pkg/dockers/xgboost_atoz",
        },
    )
    info = run(p, [root]).scripts["XGBoostTraining"]
    assert info.found
    assert info.script_path == script
    assert info.source_dir == "dockers/xgboost_atoz"


def test_only_an_absolute_source_dir_from_another_machine(make_pipeline: MakePipeline) -> None:
    # No --source-root: the tail of the foreign path is found beside the config's folder.
    p = make_pipeline(
        ["TabularPreprocessing_training"],
        [],
        {
            "TabularPreprocessing_training": {
                "processing_entry_point": "tabular_preprocessing.py",
                "processing_source_dir": (
                    "/home/ec2-user/SageMaker/proj/src/pkg/dockers/xgboost_atoz/scripts"
                ),
            }
        },
        {"src/pkg/dockers/xgboost_atoz/scripts/tabular_preprocessing.py": SCRIPT},
        config_path="src/pkg/pipeline_config/config.json",
    )
    info = run(p).scripts["TabularPreprocessing_training"]
    assert (
        info.script_path == p.root / "src/pkg/dockers/xgboost_atoz/scripts/tabular_preprocessing.py"
    )


def test_a_windows_source_dir_from_another_machine(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "x.py", "source_dir": "C:\\Users\\me\\proj\\dockers\\x"},
        {"dockers/x/x.py": SCRIPT},
    )
    assert run(p).scripts["S"].script_path == p.root / "dockers" / "x" / "x.py"


def test_processing_entry_point_wins_over_script_path(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {
            "processing_entry_point": "tabular_preprocessing.py",
            "portable_processing_source_dir": "dockers/xgboost_atoz/scripts",
            "processing_source_dir": "/home/ec2-user/SageMaker/Cursus/dockers/xgboost_atoz/scripts",
            "script_path": "dockers/xgboost_atoz/scripts/old_copy.py",
        },
        {
            "dockers/xgboost_atoz/scripts/tabular_preprocessing.py": SCRIPT,
            "dockers/xgboost_atoz/scripts/old_copy.py": SCRIPT,
        },
    )
    info = run(p).scripts["S"]
    assert info.entry_point_field == "processing_entry_point"
    assert info.script_path == p.root / "dockers/xgboost_atoz/scripts/tabular_preprocessing.py"
    assert info.source_dir == "dockers/xgboost_atoz/scripts"


def test_script_path_alone_relative_with_folders(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"script_path": "dockers/xgb/scripts/s.py", "source_dir": "dockers/xgb"},
        {"dockers/xgb/scripts/s.py": SCRIPT},
    )
    info = run(p).scripts["S"]
    assert info.entry_point_field == "script_path"
    assert info.script_path == p.root / "dockers/xgb/scripts/s.py"
    assert info.script_name == "s"


def test_script_path_alone_absolute_from_another_machine(make_pipeline: MakePipeline) -> None:
    p = one_step(
        make_pipeline,
        {"script_path": "/home/ec2-user/SageMaker/proj/dockers/xgb/scripts/s.py"},
        {"dockers/xgb/scripts/s.py": SCRIPT},
    )
    info = run(p).scripts["S"]
    assert info.found
    assert info.script_path == p.root / "dockers/xgb/scripts/s.py"
    assert info.tried[0] == "/home/ec2-user/SageMaker/proj/dockers/xgb/scripts/s.py"


def test_config_steps_not_in_the_dag_and_dag_nodes_without_config(
    make_pipeline: MakePipeline,
) -> None:
    p = make_pipeline(
        ["Load", "Prep", "Extra_node"],
        [["Load", "Prep"], ["Prep", "Extra_node"]],
        {
            "Load": {"__model_type__": "CradleDataLoadingConfig"},
            "Prep": {"processing_entry_point": "prep.py"},
            "RiskTableMapping_training": {"processing_entry_point": "risk.py"},
            "Unused": {"processing_entry_point": "unused.py"},
        },
        {"prep.py": SCRIPT, "risk.py": SCRIPT, "unused.py": SCRIPT},
    )
    d = run(p)
    assert list(d.scripts) == ["Prep"]
    assert {n: s.reason for n, s in d.skipped.items()} == {
        "Load": "no_entry_point",
        "Extra_node": "no_config",
    }
    doc = discovery_json(d)
    names = [s["step_name"] for s in doc["scripts"]] + [s["step_name"] for s in doc["skipped"]]
    assert sorted(names) == ["Extra_node", "Load", "Prep"]


def long_script(helpers: int = 260) -> str:
    """A realistic 1,000+ line script: many helpers, the dicts passed around."""
    parts = [
        '"""A long preprocessing script."""',
        "import os",
        "import json",
        "",
        'LABEL = os.environ.get("LABEL_FIELD", "label")',
        "",
    ]
    for i in range(helpers):
        parts += [
            f"def helper_{i}(rows, factor={i}):",
            f'    """Helper number {i}."""',
            "    return [r * factor for r in rows if r is not None]",
            "",
        ]
    parts += [
        "def load_inputs(paths):",
        '    data = paths["data_input"]',
        '    if "signature" in paths:',
        '        return data, paths["signature"]',
        "    return data, None",
        "",
        "def write_outputs(paths, result):",
        '    with open(os.path.join(paths["processed_data"], "out.json"), "w") as fh:',
        "        json.dump(result, fh)",
        "",
        "def main(input_paths, output_paths, environ_vars, job_args):",
        "    data, signature = load_inputs(input_paths)",
        '    ratio = float(environ_vars.get("TRAIN_RATIO", "0.7"))',
        '    label = environ_vars["LABEL_FIELD"]',
        "    result = helper_0([1, 2, 3])",
        "    write_outputs(output_paths, result)",
        "    return job_args.job_type",
        "",
        'if __name__ == "__main__":',
        "    main({}, {}, dict(os.environ), None)",
        "",
    ]
    return "\n".join(parts)


def test_a_script_of_more_than_a_thousand_lines(make_pipeline: MakePipeline) -> None:
    text = long_script()
    assert text.count("\n") > 1000
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "long.py", "job_type": "training", "train_ratio": 0.8},
        {"long.py": text},
    )
    started = time.perf_counter()
    info = run(p).scripts["S"]
    assert time.perf_counter() - started < 5
    assert info.mode == "main"
    assert info.analysis is not None
    assert [(u.name, u.required) for u in info.analysis.inputs] == [
        ("data_input", True),
        ("signature", False),
    ]
    assert [u.name for u in info.analysis.outputs] == ["processed_data"]
    assert {e.name for e in info.analysis.environ_vars} == {"LABEL_FIELD", "TRAIN_RATIO"}
    assert info.analysis.job_args == ("job_type",)
    assert info.prefill is not None
    assert info.prefill.environ_vars["TRAIN_RATIO"].value == "0.8"


def test_a_script_with_a_syntax_error_is_a_problem_not_a_crash(make_pipeline: MakePipeline) -> None:
    p = one_step(make_pipeline, {"processing_entry_point": "bad.py"}, {"bad.py": "def main(:\n"})
    info = run(p).scripts["S"]
    assert info.found
    assert info.mode is None
    assert any("syntax error at line 1" in problem for problem in info.problems)


# -- the whole result --------------------------------------------------------------------------


def test_every_node_once_in_topological_order(make_pipeline: MakePipeline) -> None:
    nodes = ["Z_last", "B", "A_first", "C", "NoConf"]
    edges = [["A_first", "B"], ["B", "C"], ["C", "Z_last"], ["NoConf", "C"]]
    steps = {n: {"processing_entry_point": f"{n.lower()}.py"} for n in ("B", "C", "Z_last")}
    steps["A_first"] = {"job_type": "training"}
    scripts = {f"{n.lower()}.py": SCRIPT for n in ("B", "C", "Z_last")}
    p = make_pipeline(nodes, edges, steps, scripts)
    d = run(p)
    doc = discovery_json(d)
    order = build_dag({"nodes": nodes, "edges": edges}).topological_order()
    seen = [s["step_name"] for s in doc["scripts"]] + [s["step_name"] for s in doc["skipped"]]
    assert sorted(seen) == sorted(nodes)
    assert [s["step_name"] for s in doc["scripts"]] == [n for n in order if n in d.scripts]
    assert [s["step_name"] for s in doc["skipped"]] == [n for n in order if n in d.skipped]
    assert d.order == order


def test_discovery_uses_the_analysis_cache(
    make_pipeline: MakePipeline, isolated_cache: Path, main_script: Callable[..., str]
) -> None:
    p = one_step(make_pipeline, {"processing_entry_point": "x.py"}, {"x.py": main_script(["a"])})
    (p.root / "_cwd").mkdir()
    first = discover(p.dag, p.config, cwd=p.root / "_cwd")
    assert list(isolated_cache.glob("*.json"))
    second = discover(p.dag, p.config, cwd=p.root / "_cwd")
    assert discovery_json(first) == discovery_json(second)


def test_project_root_folder_joins_relative_source_dirs(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    ours = checkout / "adapter" / "dockers" / "xgb" / "scripts" / "prep.py"
    decoy = checkout / "old" / "prep.py"
    for f in (ours, decoy):
        f.parent.mkdir(parents=True)
        f.write_text(SCRIPT)
    p = one_step(
        make_pipeline,
        {"processing_entry_point": "prep.py", "processing_source_dir": "dockers/xgb/scripts"},
        shared={"project_root_folder": "adapter"},
    )
    info = run(p, [checkout]).scripts["S"]
    assert info.script_path == ours
    assert info.source_dir == "dockers/xgb/scripts"


def test_a_real_cursus_layout(tmp_path: Path) -> None:
    """Shaped like a real project: config and scripts in sibling folders of a checkout, the
    config written on another machine, two projects with a same-named script."""
    import json

    checkout = tmp_path / "checkout"
    project = checkout / "projects" / "atoz_xgboost"
    files = {
        project / "docker" / "scripts" / "tabular_preprocessing.py": SCRIPT,
        project / "docker" / "xgboost_training.py": SCRIPT,
        project / "docker" / "xgboost_inference_handler.py": HANDLER,
        checkout / "projects" / "other" / "docker" / "scripts" / "tabular_preprocessing.py": SCRIPT,
        checkout / "src" / "pkg" / "steps" / "scripts" / "package.py": SCRIPT,
        checkout / ".venv" / "lib" / "package.py": SCRIPT,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    foreign = "/home/ec2-user/SageMaker/Template/src/tpl/mods_pipeline_adapter/dockers/xgboost_atoz"
    config = {
        "configuration": {
            "shared": {
                "source_dir": "dockers/xgboost_atoz",
                "project_root_folder": "mods_pipeline_adapter",
                "framework_version": "1.7-1",
            },
            "specific": {
                "CradleDataLoading_training": {"__model_type__": "CradleDataLoadingConfig"},
                "TabularPreprocessing_training": {
                    "__model_type__": "TabularPreprocessingConfig",
                    "job_type": "training",
                    "effective_source_dir": "dockers/xgboost_atoz/scripts",
                    "full_script_path": "dockers/xgboost_atoz/scripts/tabular_preprocessing.py",
                    "processing_entry_point": "tabular_preprocessing.py",
                    "processing_source_dir": "dockers/xgboost_atoz/scripts",
                    "script_path": "dockers/xgboost_atoz/scripts/tabular_preprocessing.py",
                },
                "XGBoostTraining": {
                    "__model_type__": "XGBoostTrainingConfig",
                    "effective_source_dir": foreign,
                    "training_entry_point": "xgboost_training.py",
                },
                "Package": {
                    "__model_type__": "PackageConfig",
                    "processing_entry_point": "package.py",
                    "processing_source_dir": "dockers/xgboost_atoz/scripts",
                },
                "Registration": {
                    "__model_type__": "RegistrationConfig",
                    "inference_entry_point": "xgboost_inference_handler.py",
                },
                "RiskTableMapping_training": {"processing_entry_point": "risk_table_mapping.py"},
            },
        },
        "metadata": {"created_at": "2025-11-02T20:15:08", "field_sources": {}},
    }
    config_path = project / "pipeline_config" / "config.json"
    config_path.parent.mkdir(parents=True)
    config_path.write_text(json.dumps(config))
    dag_doc = {
        "dag": {
            "description": "xgboost end to end",
            "nodes": [
                "CradleDataLoading_training",
                "TabularPreprocessing_training",
                "XGBoostTraining",
                "Package",
                "Registration",
            ],
            "edges": [
                ["CradleDataLoading_training", "TabularPreprocessing_training"],
                ["TabularPreprocessing_training", "XGBoostTraining"],
                ["XGBoostTraining", "Package"],
                ["Package", "Registration"],
            ],
        },
        "metadata": {"name": "xgboost_complete_e2e", "node_count": 5},
    }
    dag_path = checkout / "dags" / "e2e.dag.json"
    dag_path.parent.mkdir()
    dag_path.write_text(json.dumps(dag_doc))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    d = discover(dag_path, config_path, source_roots=[checkout], cwd=cwd, use_cache=False)

    assert d.dag.name == "xgboost_complete_e2e"
    assert {n: s.reason for n, s in d.skipped.items()} == {
        "CradleDataLoading_training": "no_entry_point",
        "Registration": "inference_handler",
    }
    assert list(d.scripts) == ["TabularPreprocessing_training", "XGBoostTraining", "Package"]
    training = d.scripts["XGBoostTraining"]
    assert training.script_path == project / "docker" / "xgboost_training.py"
    assert training.source_dir == "dockers/xgboost_atoz"
    assert d.scripts["Package"].script_path == checkout / "src/pkg/steps/scripts/package.py"
    prep = d.scripts["TabularPreprocessing_training"]
    assert prep.entry_point_field == "processing_entry_point"
    assert not prep.found  # two projects have it: the user chooses ...
    assert prep.candidates[0] == project / "docker" / "scripts" / "tabular_preprocessing.py"
    assert len(prep.candidates) == 2  # ... and the one beside the config comes first
    assert "Registration" in d.order


def test_inference_handler_with_two_candidate_files_is_skipped_and_says_so(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    root = tmp_path / "checkout"
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
        (root / sub / "handler_x.py").write_text(HANDLER)
    p = one_step(make_pipeline, {"inference_entry_point": "handler_x.py"})
    skip = run(p, [root]).skipped["S"]
    assert skip.reason == "inference_handler"
    assert "2 files of that name" in skip.detail
