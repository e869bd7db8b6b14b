"""The bodies of ``rtf list-scripts`` and ``rtf inspect``."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from rtf.errors import InputError, UsageError

DEFAULT_SPEC = Path("rtf-spec.yaml")


def pipeline_paths(dag: Path | None, config: Path | None, spec: Path | None) -> tuple[Path, Path]:
    """DAG and config from the arguments, a spec file, or ``rtf-spec.yaml`` here."""
    if dag is not None and config is not None:
        if spec is not None:
            raise UsageError("give either DAG CONFIG or --spec, not both")
        return dag, config
    if dag is not None:
        raise UsageError("missing CONFIG: give both the DAG file and the pipeline config")
    spec_path = spec or DEFAULT_SPEC
    if spec is None and not spec_path.exists():
        raise UsageError(
            "no DAG and CONFIG given, and no rtf-spec.yaml in this folder",
            hint="rtf list-scripts DAG CONFIG, or --spec FILE",
        )
    from rtf.spec import load_spec

    loaded = load_spec(spec_path, check_files=False)
    if not loaded.dag or not loaded.config:
        raise InputError.at(
            spec_path,
            "dag" if not loaded.dag else "config",
            "the spec does not say which DAG and config it came from",
        )
    return _tidy(loaded.resolve(loaded.dag)), _tidy(loaded.resolve(loaded.config))


def _tidy(path: Path) -> Path:
    """``a/b/../c`` -> ``a/c``, lexically (the spec's folder is where its paths start)."""
    return Path(os.path.normpath(path))


def list_scripts_command(
    dag: Path | None, config: Path | None, *, spec: Path | None, source_roots: list[Path], fmt: str
) -> None:
    from rtf.discovery import discover, discovery_json

    dag_path, config_path = pipeline_paths(dag, config, spec)
    discovery = discover(dag_path, config_path, source_roots=source_roots)
    if fmt == "json":
        sys.stdout.write(json.dumps(discovery_json(discovery), indent=2) + "\n")
        return
    from rtf.render import make_console
    from rtf.render.discovery import (
        render_scripts_table,
        render_skip_details,
        render_summary,
    )

    console = make_console()
    console.print(render_scripts_table(discovery))
    console.print(render_skip_details(discovery), end="")
    console.print(render_summary(discovery, dag_path, config_path))


def inspect_command(script: Path, *, fmt: str) -> None:
    from rtf.analysis import analyze_script

    if not script.exists():
        raise InputError.at(script, None, "script file not found")
    if script.is_dir():
        raise InputError.at(script, None, "expected a Python file, found a folder")
    analysis = analyze_script(script)
    if fmt == "json":
        data = asdict(analysis)
        data["script_path"] = str(script.resolve())
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    from rtf.render import make_console
    from rtf.render.discovery import render_inspect

    make_console().print(render_inspect(str(script), analysis))
