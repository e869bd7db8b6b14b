"""Shared test helpers: real pipelines (DAG file, cursus config, scripts) in ``tmp_path``.

Fixtures here are generic and opt-in; nothing is autouse.

- ``make_pipeline(nodes, edges, steps, scripts, ...)`` writes a DAG file, a config JSON
  (cursus merged form by default) and script files under ``tmp_path / "project"``.
- ``main_script(...)`` returns the text of a small cursus-style script with a pipeline
  ``main(input_paths, output_paths, environ_vars, job_args)``.
- ``sample_copy`` copies ``sample_dags/`` and ``sample_configs/`` into ``tmp_path``.
- ``isolated_cache`` points rtf's analysis cache into ``tmp_path`` (never the user's cache).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DAG = REPO / "sample_dags" / "xgboost_e2e.yaml"
SAMPLE_CONFIG = REPO / "sample_configs" / "xgboost_e2e" / "config.json"


@dataclass(frozen=True)
class Pipeline:
    """Where ``make_pipeline`` wrote things."""

    root: Path
    dag: Path
    config: Path
    scripts: dict[str, Path]


MakePipeline = Callable[..., Pipeline]


def write_pipeline(
    root: Path,
    nodes: Sequence[str] | None = None,
    edges: Iterable[Sequence[str]] = (),
    steps: Mapping[str, Mapping[str, Any]] | None = None,
    scripts: Mapping[str, str] | None = None,
    *,
    shared: Mapping[str, Any] | None = None,
    form: str = "merged",
    dag_format: str = "yaml",
    config_path: str = "config.json",
) -> Pipeline:
    """Write a pipeline under ``root``.

    ``steps`` maps a step name to its fields; a ``__model_type__`` field becomes the step's
    class in ``metadata.config_types`` (merged form). ``scripts`` maps a path relative to
    ``root`` to the file's text. ``form`` is ``"merged"`` (cursus) or ``"flat"``.
    """
    root.mkdir(parents=True, exist_ok=True)
    dag_doc: dict[str, Any] = {"edges": [list(e) for e in edges]}
    if nodes is not None:
        dag_doc = {"nodes": list(nodes), **dag_doc}
    dag = root / f"dag.{dag_format}"
    if dag_format == "json":
        dag.write_text(json.dumps(dag_doc, indent=1), encoding="utf-8")
    else:
        dag.write_text(yaml.safe_dump(dag_doc, sort_keys=False), encoding="utf-8")

    steps = dict(steps or {})
    if form == "flat":
        doc: dict[str, Any] = {name: dict(fields) for name, fields in steps.items()}
    else:
        types = {
            name: fields["__model_type__"]
            for name, fields in steps.items()
            if isinstance(fields.get("__model_type__"), str)
        }
        doc = {
            "configuration": {
                "shared": dict(shared or {}),
                "specific": {name: dict(fields) for name, fields in steps.items()},
            },
            "metadata": {"config_types": types},
        }
    config = root / config_path
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(doc, indent=1), encoding="utf-8")

    written: dict[str, Path] = {}
    for rel, text in (scripts or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written[rel] = path
    return Pipeline(root, dag, config, written)


def pipeline_script(
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    *,
    optional_inputs: Sequence[str] = (),
    env: Sequence[str] = (),
    optional_env: Mapping[str, str | None] | None = None,
    job_args: Sequence[str] = (),
) -> str:
    """A cursus-style script: ``main`` reads the given keys the usual ways."""
    lines = [
        "import os",
        "",
        "",
        "def main(input_paths, output_paths, environ_vars, job_args):",
    ]
    lines += [f"    in_{i} = input_paths[{name!r}]" for i, name in enumerate(inputs)]
    lines += [f"    opt_{i} = input_paths.get({name!r})" for i, name in enumerate(optional_inputs)]
    lines += [f"    out_{i} = output_paths[{name!r}]" for i, name in enumerate(outputs)]
    lines += [f"    env_{i} = environ_vars[{name!r}]" for i, name in enumerate(env)]
    for i, (name, default) in enumerate((optional_env or {}).items()):
        arg = f"{name!r}" if default is None else f"{name!r}, {default!r}"
        lines.append(f"    oenv_{i} = environ_vars.get({arg})")
    lines += [f"    arg_{i} = job_args.{name}" for i, name in enumerate(job_args)]
    lines += ["    return None", ""]
    return "\n".join(lines)


@pytest.fixture
def make_pipeline(tmp_path: Path) -> MakePipeline:
    """``make_pipeline(nodes, edges, steps, scripts, **options)`` under ``tmp_path/project``."""

    def make(
        nodes: Sequence[str] | None = None,
        edges: Iterable[Sequence[str]] = (),
        steps: Mapping[str, Mapping[str, Any]] | None = None,
        scripts: Mapping[str, str] | None = None,
        *,
        root: Path | None = None,
        **options: Any,
    ) -> Pipeline:
        return write_pipeline(root or tmp_path / "project", nodes, edges, steps, scripts, **options)

    return make


@pytest.fixture
def main_script() -> Callable[..., str]:
    """The text of a cursus-style script; see :func:`pipeline_script`."""
    return pipeline_script


@dataclass(frozen=True)
class SampleCopy:
    root: Path
    dag: Path
    dag_json: Path
    config: Path
    config_dir: Path


@pytest.fixture
def sample_copy(tmp_path: Path) -> SampleCopy:
    """The bundled sample (DAGs, config, scripts, test data, spec) copied into ``tmp_path``."""
    root = tmp_path / "sample"
    shutil.copytree(REPO / "sample_dags", root / "sample_dags")
    shutil.copytree(
        REPO / "sample_configs",
        root / "sample_configs",
        ignore=shutil.ignore_patterns("__pycache__", ".rtf"),
    )
    config_dir = root / "sample_configs" / "xgboost_e2e"
    return SampleCopy(
        root=root,
        dag=root / "sample_dags" / "xgboost_e2e.yaml",
        dag_json=root / "sample_dags" / "xgboost_e2e.json",
        config=config_dir / "config.json",
        config_dir=config_dir,
    )


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """rtf's analysis cache in ``tmp_path/cache`` for this test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RTF_CACHE_DIR", str(cache))
    monkeypatch.delenv("RTF_NO_CACHE", raising=False)
    return cache
