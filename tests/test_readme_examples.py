"""The README's file-format examples are real: each one loads with rtf's own loaders."""

from __future__ import annotations

import re
from pathlib import Path

from rtf.config import load_pipeline_config
from rtf.dag import load_dag
from rtf.discovery import find_scripts
from rtf.spec import InputRef, load_spec

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    found = re.findall(r"<!-- example: (\w+) -->\n```\w+\n(.*?)```", text, flags=re.S)
    return dict(found)


def test_readme_has_one_example_of_each_format() -> None:
    assert set(_examples()) == {"dag", "config", "spec"}


def test_readme_examples_load_and_agree(tmp_path: Path) -> None:
    ex = _examples()
    (tmp_path / "dag.yaml").write_text(ex["dag"], encoding="utf-8")
    (tmp_path / "config.json").write_text(ex["config"], encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(ex["spec"], encoding="utf-8")

    dag = load_dag(tmp_path / "dag.yaml")
    assert dag.name == "tiny_pipeline"
    assert dag.topological_order() == [
        "DataLoading_training",
        "TabularPreprocessing_training",
        "XGBoostTraining",
    ]
    config = load_pipeline_config(tmp_path / "config.json")
    tp = config.steps["TabularPreprocessing_training"]
    assert tp.fields["label_name"] == "is_abuse"  # from shared
    assert "__model_type__" not in tp.fields

    discovery = find_scripts(dag, config, cwd=tmp_path)
    assert discovery.skipped["DataLoading_training"].reason == "no_entry_point"
    assert list(discovery.scripts) == ["TabularPreprocessing_training", "XGBoostTraining"]

    spec = load_spec(tmp_path / "spec.yaml", check_files=False)
    assert spec.order() == ["TabularPreprocessing_training", "XGBoostTraining"]
    ref = spec.scripts["XGBoostTraining"].input_paths["input_path"]
    assert isinstance(ref, InputRef) and ref.from_ == "TabularPreprocessing_training"
    assert spec.scripts["TabularPreprocessing_training"].environ_vars["TRAIN_RATIO"] == "0.7"
    assert spec.scripts["XGBoostTraining"].timeout == 600
