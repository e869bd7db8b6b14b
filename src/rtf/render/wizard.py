"""What the wizard draws: a requirements panel per script, a line per auto-configured script,
and the review of every choice before the spec is saved."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rtf.spec import PipelineSpec

MAX_VALUE = 60


def short_value(value: Any, limit: int = MAX_VALUE) -> str:
    """A value on one line: strings as they are, the rest as JSON, long ones cut."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wire(wire: Mapping[str, Any] | None) -> str | None:
    if not wire:
        return None
    return f"{wire['step']}.{wire['output']}"


def _values(items: Sequence[Mapping[str, Any]], prefix: str) -> Text:
    text = Text()
    for i, item in enumerate(items):
        if i:
            text.append("\n")
        text.append(f"{prefix}{item['name']}")
        value = item.get("current_value")
        if value is None:
            text.append(" — no value, you will be asked", style="warning")
            continue
        text.append(f" = {short_value(value)}")
        text.append(f"  ({item.get('source') or 'user'})", style="source")
    return text or Text("—", style="muted")


def render_requirements(
    requirements: Mapping[str, Any],
    *,
    mode: str | None,
    index: int,
    total: int,
    show_path: Any = str,
) -> Panel:
    """The panel shown before a script's questions: file, mode, folders and prefilled values.

    ``requirements`` has the shape of ``get_script_testing_requirements``; ``show_path``
    turns a path into the text shown (relative to where the user is).
    """
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="step", no_wrap=True)
    grid.add_column(overflow="fold")
    script = requirements.get("script_path")
    file_text = (
        Text(show_path(script), style="path")
        if script
        else Text("not found — you will be asked where it is", style="error")
    )
    file_text.append(f"  ({mode or '?'} mode)", style="muted")
    grid.add_row("script", file_text)
    if requirements.get("source_dir"):
        grid.add_row("source folder", Text(str(requirements["source_dir"]), style="path"))
    inputs = Text()
    for i, item in enumerate(requirements.get("expected_inputs", [])):
        if i:
            inputs.append("\n")
        inputs.append(item["name"] + ("" if item.get("required", True) else " (optional)"))
        wired = _wire(item.get("wired_from"))
        if wired:
            inputs.append(f" ← {wired}", style="info")
        elif item.get("choices"):
            inputs.append(f" ← one of {len(item['choices'])} upstream outputs", style="warning")
        elif item.get("current_path"):
            inputs.append(" ← ", style="muted")
            inputs.append(show_path(item["current_path"]), style="path")
            if not Path(item["current_path"]).exists():
                inputs.append(" (nothing there yet)", style="warning")
        else:
            inputs.append(" — not used", style="muted")
    grid.add_row("inputs", inputs or Text("—", style="muted"))
    outputs = Text()
    for i, item in enumerate(requirements.get("expected_outputs", [])):
        if i:
            outputs.append("\n")
        outputs.append(item["name"] + " → ")
        outputs.append(show_path(item.get("current_path") or "?"), style="path")
    grid.add_row("outputs", outputs or Text("—", style="muted"))
    grid.add_row("env vars", _values(requirements.get("environment_variables", []), ""))
    grid.add_row("job args", _values(requirements.get("job_arguments", []), "--"))
    title = Text(f"{index}/{total} ", style="muted")
    title.append(str(requirements.get("step_name")), style="step")
    return Panel(grid, title=title, title_align="left", expand=False)


def render_auto_configured(
    requirements: Mapping[str, Any], *, index: int, total: int, note: str = "auto-configured"
) -> Text:
    """One line for a script nothing is asked about."""
    text = Text(f"{index}/{total} ", style="muted")
    text.append("✓ ", style="success")
    text.append(str(requirements.get("step_name")), style="step")
    text.append(f"  {note}", style="success")
    wires = [
        f"{item['name']} ← {_wire(item.get('wired_from'))}"
        for item in requirements.get("expected_inputs", [])
        if item.get("wired_from")
    ]
    counts = []
    env = len(requirements.get("environment_variables", []))
    job = len(requirements.get("job_arguments", []))
    if env:
        counts.append(f"{env} env var{'s' if env != 1 else ''}")
    if job:
        counts.append(f"{job} job arg{'s' if job != 1 else ''}")
    details = "; ".join([*wires, *counts])
    if details:
        text.append(f": {details}", style="muted")
    return text


def render_review(spec: PipelineSpec) -> Table:
    """Every script's choices as the spec will record them (paths relative to the spec).

    Outputs at their default place (``<workspace>/outputs/<step>/<name>``) show by name only.
    """
    from rich import box

    from rtf.spec import InputRef

    workspace = spec.workspace.rstrip("/")
    table = Table(
        title=f"Review: {len(spec.scripts)} scripts "
        f"(outputs go to {workspace}/outputs/<step>/<output> unless shown)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        leading=1,
    )
    table.add_column("step", style="step", overflow="fold")
    table.add_column("reads", overflow="fold")
    table.add_column("writes", overflow="fold")
    table.add_column("with", overflow="fold")
    for name, script in spec.scripts.items():
        inputs = Text()
        for i, (inp, value) in enumerate(script.input_paths.items()):
            if i:
                inputs.append("\n")
            inputs.append(f"{inp} ← ")
            if isinstance(value, InputRef):
                inputs.append(f"{value.from_}.{value.output}", style="info")
            else:
                inputs.append(value, style="path")
        outputs = Text()
        for i, (out, value) in enumerate(script.output_paths.items()):
            if i:
                outputs.append("\n")
            outputs.append(out)
            if value.rstrip("/") != f"{workspace}/outputs/{name}/{out}":
                outputs.append(" → ")
                outputs.append(value, style="path")
        values = [f"{k}={short_value(v, 30)}" for k, v in script.environ_vars.items()]
        values += [f"--{k} {short_value(v, 30)}" for k, v in script.job_args.items()]
        table.add_row(
            name,
            inputs or Text("—", style="muted"),
            outputs or Text("—", style="muted"),
            Text(", ".join(values)) if values else Text("—", style="muted"),
        )
    return table


def render_saved(spec_path: str, scripts: int) -> Text:
    """The line after saving."""
    text = Text.assemble(("✓ ", "success"), f"Saved the spec of {scripts} scripts to ")
    text.append(spec_path, style="path")
    return text
