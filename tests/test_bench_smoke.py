"""The benchmark runs end to end and reports every figure it promises.

A smoke test: ``bench/run.py --quick`` runs in a subprocess on tiny inputs generated in
``tmp_path``. No timing is asserted (the machine running the tests is not the point); what is
asserted is that each group completes, prints its rows, measures real runs, and that ``rtf
--help`` loads none of the heavy modules, which is a fact, not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "run.py"

pytestmark = pytest.mark.e2e


def run_bench(tmp_path: Path, *args: str) -> tuple[str, dict[str, Any]]:
    """Run the quick benchmark with ``args``; return its stdout and its JSON results."""
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--repeats",
            "1",
            "--work",
            str(tmp_path / "work"),
            "--json",
            str(results),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    return proc.stdout, doc


def test_startup_group_prints_its_rows_and_finds_no_heavy_imports(tmp_path: Path) -> None:
    stdout, doc = run_bench(tmp_path, "--only", "startup")

    rows = {row["measure"]: row for row in doc["rows"]}
    assert list(rows) == [
        "rtf --help vs typer app --help",
        "rtf --version vs python -c pass",
        "heavy modules imported by rtf --help",
    ]
    for measure in ("rtf --help vs typer app --help", "rtf --version vs python -c pass"):
        row = rows[measure]
        assert row["result"] in ("PASS", "FAIL")
        assert row["ratio"] > 0
        assert len(row["data"]["rtf_s"]) == len(row["data"]["baseline_s"]) == 1
    heavy = rows["heavy modules imported by rtf --help"]
    assert heavy["result"] == "PASS", heavy["data"]["heavy"]
    assert "rtf.cli" in heavy["data"]["rtf_modules"]
    assert doc["errors"] == []
    assert "| measure" in stdout
    for measure in rows:
        assert measure in stdout
    assert "-X importtime" in stdout


def test_discovery_group_generates_a_pipeline_and_measures_it(tmp_path: Path) -> None:
    stdout, doc = run_bench(tmp_path, "--only", "discovery", "--nodes", "20")

    measures = [row["measure"] for row in doc["rows"]]
    assert measures == [
        "list-scripts 20 nodes, cold cache",
        "list-scripts 20 nodes, warm cache",
        "list-scripts 20 nodes, no cache",
        "list-scripts 20 nodes, peak memory (cold)",
        "list-scripts 20 nodes, no script files",
        "list-scripts 60 nodes, no script files",
        "list-scripts 200 nodes, no script files",
        "linearity: time per node, 60→200 vs 20→60",
        "linearity: memory per node, 60→200 vs 20→60",
    ]
    for measure in measures:
        assert measure in stdout
    assert doc["rows"][0]["target"] == "≤ 1.50×"
    assert doc["rows"][0]["result"] in ("PASS", "FAIL")
    assert doc["errors"] == []
    # The generated pipeline: 2 chains of 10 nodes, the first of each without a script.
    scripts = sorted((tmp_path / "work" / "pipeline_20" / "scripts").glob("*.py"))
    assert len(scripts) == 18
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert 300 <= text.count("\n") <= 1100
        assert "def main(\n    input_paths: dict[str, str]," in text
        assert "argparse.ArgumentParser" in text
    assert not list((tmp_path / "work" / "scale_200" / "scripts").glob("*.py"))


def test_unknown_group_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--only", "everything", "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "invalid choice: 'everything'" in proc.stderr
    assert not any(tmp_path.iterdir())
