"""Prefilled values and wiring (SPEC 2.5) on real pipelines written to ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conftest import MakePipeline, Pipeline

from rtf.discovery import Discovery, ScriptInfo, discover, discovery_json
from rtf.prefill import Prefill, Value, Wire, as_env_string

Script = Callable[..., str]


def run(p: Pipeline) -> Discovery:
    cwd = p.root / "_cwd"
    cwd.mkdir(exist_ok=True)
    return discover(p.dag, p.config, cwd=cwd, use_cache=False)


def single(
    make_pipeline: MakePipeline, fields: dict[str, Any], text: str, **options: Any
) -> ScriptInfo:
    p = make_pipeline(
        ["S"], [], {"S": {"processing_entry_point": "s.py", **fields}}, {"s.py": text}, **options
    )
    return run(p).scripts["S"]


def pre(info: ScriptInfo) -> Prefill:
    assert info.prefill is not None
    return info.prefill


# -- env vars ----------------------------------------------------------------------------------


def test_env_vars_from_config_fields_and_aliases(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    text = main_script(
        ["data"],
        env=["TRAIN_RATIO", "LABEL_FIELD", "ID_FIELD", "PYTHON_VERSION", "IS_BINARY"],
        optional_env={"CONTENT_TYPES": None, "SETTINGS": None, "NUM_CLASSES": None},
    )
    fields = {
        "train_ratio": 0.7,
        "label_name": "is_abuse",
        "id_name": "order_id",
        "py_version": "py3",
        "is_binary": True,
        "content_types": ["application/json", "text/csv"],
        "settings": {"a": 1, "b": [True, None]},
        "num_classes": 2,
    }
    env = pre(single(make_pipeline, fields, text)).environ_vars
    assert env["TRAIN_RATIO"] == Value("0.7", "config:train_ratio")
    assert env["LABEL_FIELD"] == Value("is_abuse", "config:label_name")
    assert env["ID_FIELD"] == Value("order_id", "config:id_name")
    assert env["PYTHON_VERSION"] == Value("py3", "config:py_version")
    assert env["IS_BINARY"] == Value("true", "config:is_binary")
    assert env["CONTENT_TYPES"] == Value('["application/json", "text/csv"]', "config:content_types")
    assert env["SETTINGS"] == Value('{"a": 1, "b": [true, null]}', "config:settings")
    assert env["NUM_CLASSES"] == Value("2", "config:num_classes")


def test_as_env_string() -> None:
    assert as_env_string(0.7) == "0.7"
    assert as_env_string(0.0) == "0.0"
    assert as_env_string(False) == "false"
    assert as_env_string("x y") == "x y"
    assert as_env_string([1, "a"]) == '[1, "a"]'


def test_a_field_named_like_the_env_var_wins_over_the_alias(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    text = main_script(["data"], env=["LABEL_FIELD"])
    env = pre(single(make_pipeline, {"label_field": "y", "label_name": "x"}, text)).environ_vars
    assert env["LABEL_FIELD"] == Value("y", "config:label_field")


def test_a_null_field_falls_back_to_the_alias(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    text = main_script(["data"], env=["LABEL_FIELD"])
    prefill = pre(single(make_pipeline, {"label_field": None, "label_name": "x"}, text))
    assert prefill.environ_vars["LABEL_FIELD"] == Value("x", "config:label_name")
    assert prefill.open_env == []


def test_well_known_env_vars_where_present_in_the_config(
    make_pipeline: MakePipeline, main_script: Script, tmp_path: Path
) -> None:
    text = main_script(["data"])
    fields = {
        "framework_version": "1.7-1",
        "processing_framework_version": "1.2-1",
        "test_val_ratio": 0.5,
        "label_name": "y",
    }
    env = pre(single(make_pipeline, fields, text)).environ_vars
    assert env == {
        "FRAMEWORK_VERSION": Value("1.7-1", "config:framework_version"),
        "PROCESSING_FRAMEWORK_VERSION": Value("1.2-1", "config:processing_framework_version"),
        "TEST_VAL_RATIO": Value("0.5", "config:test_val_ratio"),
        "LABEL_FIELD": Value("y", "config:label_name"),
    }
    # absent from the config: not invented
    assert pre(single(make_pipeline, {}, text, root=tmp_path / "other")).environ_vars == {}


def test_script_defaults_and_config_overrides(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    text = main_script(["data"], optional_env={"MODE": "fast", "LEVEL": "3"})
    env = pre(single(make_pipeline, {"level": 5}, text)).environ_vars
    assert env["MODE"] == Value("fast", "script default")
    assert env["LEVEL"] == Value("5", "config:level")


def test_required_env_var_without_value_is_open(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    text = main_script(["data"], env=["MUST_HAVE"], optional_env={"MAYBE": None})
    info = single(make_pipeline, {}, text)
    prefill = pre(info)
    assert prefill.open_env == ["MUST_HAVE"]
    assert "MUST_HAVE" not in prefill.environ_vars
    assert "MAYBE" not in prefill.environ_vars
    assert not prefill.auto_configurable
    entry = discovery_json_entry(info)
    assert entry["environ_vars"] == {"MUST_HAVE": None}


def discovery_json_entry(info: ScriptInfo) -> dict[str, Any]:
    from rtf.discovery import script_json

    return script_json(info)


# -- job args ----------------------------------------------------------------------------------


def test_job_args_from_config(make_pipeline: MakePipeline, main_script: Script) -> None:
    text = main_script(["data"], job_args=["job_type", "cat_field_list", "missing_arg"])
    fields = {
        "job_type": "training",
        "cat_field_list": ["a", "b"],
        "hyperparameters": {"eta": 0.3, "num_round": 10},
    }
    prefill = pre(single(make_pipeline, fields, text))
    assert prefill.job_args == {
        "job_type": Value("training", "config:job_type"),
        "cat_field_list": Value(["a", "b"], "config:cat_field_list"),
        "hyperparameters": Value({"eta": 0.3, "num_round": 10}, "config:hyperparameters"),
    }
    assert prefill.open_job_args == ["missing_arg"]


def test_job_type_from_config_even_when_not_read(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    prefill = pre(single(make_pipeline, {"job_type": "calibration"}, main_script(["data"])))
    assert prefill.job_args == {"job_type": Value("calibration", "config:job_type")}
    assert prefill.open_job_args == []


CLI_SCRIPT = """\
import argparse

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--job_type", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--seed", required=True, default="1")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
"""


def test_cli_flags_from_config_and_required_flags_open(make_pipeline: MakePipeline) -> None:
    info = single(make_pipeline, {"job_type": "training"}, CLI_SCRIPT)
    assert info.mode == "cli"
    prefill = pre(info)
    assert prefill.job_args == {"job_type": Value("training", "config:job_type")}
    assert prefill.open_job_args == ["mode"]


# -- wiring ------------------------------------------------------------------------------------


def chain(
    make_pipeline: MakePipeline,
    main_script: Script,
    up_outputs: Sequence[str],
    inputs: Sequence[str],
    optional_inputs: Sequence[str] = (),
) -> Discovery:
    p = make_pipeline(
        ["Up", "Down"],
        [["Up", "Down"]],
        {"Up": {"processing_entry_point": "up.py"}, "Down": {"processing_entry_point": "down.py"}},
        {
            "up.py": main_script(["raw"], up_outputs),
            "down.py": main_script(inputs, ["out"], optional_inputs=optional_inputs),
        },
    )
    return run(p)


def test_wiring_by_same_name(make_pipeline: MakePipeline, main_script: Script) -> None:
    d = chain(make_pipeline, main_script, ["processed_data", "other"], ["processed_data"])
    assert pre(d.scripts["Down"]).wiring == {"processed_data": Wire("Up", "processed_data")}
    assert d.upstream_scripts("Down") == ["Up"]


def test_wiring_ignoring_case_underscore_and_dash(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    d = chain(make_pipeline, main_script, ["Processed-Data", "x"], ["processed_data"])
    assert pre(d.scripts["Down"]).wiring == {"processed_data": Wire("Up", "Processed-Data")}


def test_wiring_by_alias(make_pipeline: MakePipeline, main_script: Script) -> None:
    d = chain(
        make_pipeline,
        main_script,
        ["model_output", "eval_output", "x"],
        ["model_input", "evaluation_data"],
    )
    assert pre(d.scripts["Down"]).wiring == {
        "model_input": Wire("Up", "model_output"),
        "evaluation_data": Wire("Up", "eval_output"),
    }


def test_the_only_remaining_output_feeds_the_only_open_input(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    d = chain(make_pipeline, main_script, ["artifacts_zz"], ["whatever_in"])
    assert pre(d.scripts["Down"]).wiring == {"whatever_in": Wire("Up", "artifacts_zz")}
    assert pre(d.scripts["Down"]).auto_configurable


def test_the_remaining_output_goes_to_the_required_input_first(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    d = chain(make_pipeline, main_script, ["artifacts_zz"], ["whatever_in"], ["hyper_uri"])
    prefill = pre(d.scripts["Down"])
    assert prefill.wiring == {"whatever_in": Wire("Up", "artifacts_zz"), "hyper_uri": None}
    assert prefill.open_inputs == []  # an optional input left open is not asked
    assert prefill.auto_configurable


def test_no_guess_when_two_outputs_are_left(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    d = chain(make_pipeline, main_script, ["aa_out", "bb_out"], ["zz_in"])
    prefill = pre(d.scripts["Down"])
    assert prefill.wiring == {"zz_in": None}
    assert prefill.open_inputs == ["zz_in"]
    assert not prefill.auto_configurable


def test_ambiguity_gives_options_and_stays_open(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    p = make_pipeline(
        ["A", "B", "C"],
        [["A", "C"], ["B", "C"]],
        {n: {"processing_entry_point": f"{n}.py"} for n in "ABC"},
        {
            "A.py": main_script(["raw"], ["processed_data"]),
            "B.py": main_script(["raw"], ["processed_data"]),
            "C.py": main_script(["processed_data"], ["out"]),
        },
    )
    prefill = pre(run(p).scripts["C"])
    assert prefill.wiring == {"processed_data": None}
    assert prefill.wiring_options == {
        "processed_data": [Wire("A", "processed_data"), Wire("B", "processed_data")]
    }
    assert prefill.open_inputs == ["processed_data"]


def test_wiring_passes_through_non_script_nodes_and_ignores_non_ancestors(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    p = make_pipeline(
        ["Train", "Gate", "Eval", "Side"],
        [["Train", "Gate"], ["Gate", "Eval"]],
        {
            "Train": {"training_entry_point": "train.py"},
            "Gate": {"__model_type__": "ApprovalConfig"},  # no entry point: not a script
            "Eval": {"processing_entry_point": "eval.py"},
            "Side": {"processing_entry_point": "side.py"},
        },
        {
            "train.py": main_script(["data"], ["model_output"]),
            "eval.py": main_script(["model_input", "eval_data"], ["metrics"]),
            "side.py": main_script(["data"], ["eval_data"]),
        },
    )
    d = run(p)
    assert d.skipped["Gate"].reason == "no_entry_point"
    assert d.upstream_scripts("Eval") == ["Train"]
    prefill = pre(d.scripts["Eval"])
    assert prefill.wiring == {"model_input": Wire("Train", "model_output"), "eval_data": None}
    assert prefill.open_inputs == ["eval_data"]
    entry = discovery_json(d)["scripts"][1]
    assert entry["step_name"] == "Eval"
    assert entry["wiring"] == {
        "model_input": {"step": "Train", "output": "model_output"},
        "eval_data": None,
    }


def test_auto_configurable_when_nothing_is_left_to_ask(
    make_pipeline: MakePipeline, main_script: Script
) -> None:
    p = make_pipeline(
        ["Up", "Down"],
        [["Up", "Down"]],
        {
            "Up": {"processing_entry_point": "up.py"},
            "Down": {"processing_entry_point": "down.py", "label_name": "y", "job_type": "t"},
        },
        {
            "up.py": main_script(["raw"], ["processed_data"]),
            "down.py": main_script(
                ["processed_data"], ["out"], env=["LABEL_FIELD"], job_args=["job_type"]
            ),
        },
    )
    doc = discovery_json(run(p))
    by_step = {s["step_name"]: s for s in doc["scripts"]}
    assert by_step["Down"]["auto_configurable"] is True
    assert by_step["Down"]["environ_vars"] == {"LABEL_FIELD": "y"}
    assert by_step["Down"]["job_args"] == {"job_type": "t"}
    # "raw" has no upstream: its data path is asked
    assert by_step["Up"]["auto_configurable"] is False
    assert by_step["Up"]["wiring"] == {"raw": None}
