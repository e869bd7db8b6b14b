"""`rtf run` as a user first meets it: no spec yet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_run_without_a_spec_says_how_to_make_one(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rtf", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "rtf: error: rtf-spec.yaml: spec file not found "
        "(hint: make one with: rtf wizard DAG CONFIG)"
    ]
    assert not (tmp_path / ".rtf").exists()  # nothing was created
