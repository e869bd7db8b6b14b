"""Tables for ``rtf list-scripts`` and ``rtf inspect``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rtf.analysis import NameUse, ScriptAnalysis
    from rtf.discovery import Discovery, ScriptInfo


def _inputs_cell(info: ScriptInfo) -> Text:
    text = Text()
    analysis = info.analysis
    if analysis is None:
        return Text("—", style="muted")
    wiring = info.prefill.wiring if info.prefill else {}
    options = info.prefill.wiring_options if info.prefill else {}
    for i, use in enumerate(analysis.inputs):
        if i:
            text.append("\n")
        text.append(use.name + ("" if use.required else "?"))
        wire = wiring.get(use.name)
        if wire is not None:
            text.append(f" ← {wire.step}.{wire.output}", style="info")
        elif use.name in options:
            text.append(f" ← one of {len(options[use.name])}", style="warning")
        elif use.required:
            text.append(" ← data path", style="warning")
    if analysis.inputs_guessed:
        text.append(" (guessed)", style="muted")
    return text


def _outputs_cell(info: ScriptInfo) -> Text:
    analysis = info.analysis
    if analysis is None:
        return Text("—", style="muted")
    text = Text("\n".join(u.name for u in analysis.outputs))
    if analysis.outputs_guessed:
        text.append(" (guessed)", style="muted")
    return text


def _asks_cell(info: ScriptInfo) -> Text:
    from rtf.discovery import is_auto_configurable

    if not info.found:
        if info.candidates:
            return Text(f"ambiguous: {len(info.candidates)} files", style="error")
        return Text("file not found", style="error")
    if info.problems:
        return Text("; ".join(info.problems), style="error")
    if is_auto_configurable(info):
        return Text("auto-configured", style="success")
    pre = info.prefill
    asks: list[str] = []
    if pre is not None:
        asks += pre.open_inputs
        asks += [f"${n}" for n in pre.open_env]
        asks += [f"--{n}" for n in pre.open_job_args]
    return Text("asks: " + ", ".join(asks), style="warning")


def render_scripts_table(discovery: Discovery) -> Table:
    """One row per DAG node, in DAG order: scripts with what they read, skips with the reason."""
    title = discovery.dag.name or (
        discovery.dag.source.name if discovery.dag.source else "pipeline"
    )
    table = Table(
        title=Text(f"{title}: {len(discovery.scripts)} scripts, {len(discovery.skipped)} skipped"),
        title_justify="left",
        show_lines=True,
        expand=False,
    )
    table.add_column("#", justify="right", style="muted")
    table.add_column("step / script", no_wrap=True)
    table.add_column("mode")
    table.add_column("reads ← from", overflow="fold")
    table.add_column("writes", overflow="fold")
    table.add_column("status", overflow="fold")
    for i, node in enumerate(discovery.order, 1):
        info = discovery.scripts.get(node)
        if info is None:
            skip = discovery.skipped[node]
            table.add_row(
                str(i),
                Text(node, style="skipped"),
                "",
                "",
                "",
                Text(f"skipped: {skip.reason}", style="skipped"),
            )
            continue
        step = Text(node, style="step")
        step.append("\n" + info.entry_point, style="error" if info.script_path is None else "muted")
        table.add_row(
            str(i),
            step,
            info.mode or "?",
            _inputs_cell(info),
            _outputs_cell(info),
            _asks_cell(info),
        )
    return table


def render_skip_details(discovery: Discovery) -> Text:
    """Why each skipped node has no script, and each script's problems, one line each."""
    text = Text()
    for node in discovery.order:
        skip = discovery.skipped.get(node)
        if skip is not None:
            text.append(f"  {node}", style="skipped")
            text.append(f": {skip.reason}: {skip.detail}\n", style="muted")
            continue
        info = discovery.scripts.get(node)
        for problem in info.problems if info is not None else ():
            text.append(f"  {node}", style="step")
            text.append(f": {problem}\n", style="error")
    return text


def render_summary(discovery: Discovery, dag: Path, config: Path) -> Text:
    """The closing line: counts, and the command to run next."""
    from rtf.discovery import is_auto_configurable

    auto = sum(1 for info in discovery.scripts.values() if is_auto_configurable(info))
    text = Text()
    text.append(f"{len(discovery.scripts)} scripts", style="success")
    text.append(f" · {auto} auto-configured · ")
    text.append(f"{len(discovery.skipped)} skipped", style="skipped")
    text.append(". Next: ")
    text.append(f"rtf wizard {shlex.quote(str(dag))} {shlex.quote(str(config))}", style="info")
    text.append(" to make a spec and run it.")
    return text


def render_inspect(path: str, analysis: ScriptAnalysis) -> Table:
    """What one script reads, as a two-column table."""
    # Text, not markup: names from files may hold "[" and must print as they are.
    table = Table(title=Text(path), title_justify="left", show_header=False, show_lines=True)
    table.add_column("what", style="step")
    table.add_column("value")

    def names(items: tuple[NameUse, ...], guessed: bool) -> str:
        parts = [f"{u.name}{'' if u.required else ' (optional)'}" for u in items]
        return ", ".join(parts) + (" (guessed)" if guessed else "") if parts else "—"

    table.add_row("mode", Text(analysis.mode or "none"))
    table.add_row("inputs", Text(names(analysis.inputs, analysis.inputs_guessed)))
    table.add_row("outputs", Text(names(analysis.outputs, analysis.outputs_guessed)))
    env = [
        f"{e.name}"
        + (f" = {e.default!r}" if e.default is not None else "")
        + ("" if e.required else " (optional)")
        for e in analysis.environ_vars
    ]
    table.add_row("env vars", Text("\n".join(env) or "—"))
    table.add_row("job args", Text(", ".join(analysis.job_args) or "—"))
    flags = [f"{f.flag}{' (required)' if f.required else ''}" for f in analysis.cli_flags]
    table.add_row("cli flags", Text(", ".join(flags) or "—"))
    if analysis.problems:
        table.add_row(Text("problems", style="error"), Text("\n".join(analysis.problems)))
    if analysis.notes:
        table.add_row(Text("notes", style="muted"), Text("\n".join(analysis.notes)))
    return table
