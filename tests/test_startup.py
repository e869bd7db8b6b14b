"""Start-up stays cheap: ``rtf --help`` loads no prompt library, run engine or pydantic, and
``rtf --version`` does not even load typer. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY_FOR_HELP = [
    "questionary",
    "prompt_toolkit",
    "rtf.runner",
    "rtf.executor",
    "rtf.wizard",
    "pydantic",
]


def loaded_after(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it prints a JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


HELP_CODE = """
import json, sys
from rtf.cli import app
from rtf.__main__ import main
try:
    code = main({args!r})
except SystemExit as exc:
    code = exc.code
heavy = {heavy!r}
found = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps({{"code": code, "found": found, "typer": "typer" in sys.modules}}))
"""


def test_help_imports_no_prompt_library_run_engine_or_pydantic() -> None:
    result = loaded_after(HELP_CODE.format(args=["--help"], heavy=[*HEAVY_FOR_HELP, "rtf.spec"]))
    assert result["code"] in (0, None)
    assert result["typer"] is True  # the check ran after the real CLI was loaded
    assert result["found"] == []


@pytest.mark.parametrize(
    "args",
    [["list-scripts", "--help"], ["inspect", "--help"], ["run", "--help"], ["wizard", "--help"]],
)
def test_command_help_imports_no_prompt_library_or_run_engine(args: list[str]) -> None:
    # typer itself loads pydantic to convert a command's parameters, so only rtf's own
    # pydantic models (rtf.spec) are checked here.
    heavy = [h for h in HEAVY_FOR_HELP if h != "pydantic"] + ["rtf.spec", "rtf.analysis", "yaml"]
    result = loaded_after(HELP_CODE.format(args=args, heavy=heavy))
    assert result["code"] in (0, None)
    assert result["found"] == []


VERSION_CODE = """
import json, sys, io, contextlib
from rtf.__main__ import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["--version"])
print(json.dumps({"code": code, "out": out.getvalue(),
                  "typer": any(m == "typer" or m.startswith("typer.") for m in sys.modules)}))
"""


def test_version_does_not_import_typer() -> None:
    result = loaded_after(VERSION_CODE)
    assert result["code"] == 0
    assert str(result["out"]).startswith("rtf ")
    assert result["typer"] is False


def test_python_m_rtf_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rtf", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("rtf ")
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "rtf.__main__" in imported or "rtf" in imported
    assert not any(name == "typer" or name.startswith("typer.") for name in imported)
    assert "yaml" not in imported
