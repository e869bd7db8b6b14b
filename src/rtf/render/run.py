"""Drawing a run: the live view while it runs, the results tree after, the plan for --dry-run.

Only rendering lives here; the runner tells :class:`LiveRunView` what happens through the
:class:`~rtf.runner.RunObserver` calls. Styles are the theme's names, never colours.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from rich.live import Live

    from rtf.report import RunReport, StepReport
    from rtf.runner import RunPlan
    from rtf.spec import PipelineSpec

LOG_TAIL_LINES = 10
MESSAGE_LINES = 5

ICONS = {
    "passed": "✓",
    "failed": "✗",
    "timed_out": "✗",
    "skipped": "○",
    "interrupted": "■",
    "running": "▶",
    "waiting": "·",
}
STYLES = {
    "passed": "success",
    "failed": "error",
    "timed_out": "error",
    "skipped": "skipped",
    "interrupted": "warning",
    "running": "running",
    "waiting": "waiting",
}
WORDS = {"timed_out": "timed out"}


def human_size(size: int) -> str:
    """``512 B``, ``5.0 KiB``, ``3.2 MiB`` ..."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """``0.41 s``, ``12.3 s``, ``2 min 05 s``."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def show_path(path: str | Path) -> str:
    """A path relative to the current folder when it is inside it, else as it is."""
    p = Path(path)
    try:
        return str(p.relative_to(Path.cwd())) if p.is_absolute() else str(p)
    except ValueError:
        return str(p)


def _status(status: str, width: int = 0) -> Text:
    word = WORDS.get(status, status).ljust(width)
    return Text(f"{ICONS.get(status, '?')} {word}", style=STYLES.get(status, ""))


WORD_WIDTH = max(len(WORDS.get(s, s)) for s in STYLES)


def _counts(report: RunReport) -> str:
    summary = report.summary.model_dump()
    parts = [f"{n} {WORDS.get(k, k)}" for k, n in summary.items() if n]
    return ", ".join(parts) or "no steps"


# --- live view --------------------------------------------------------------------------------


class LiveRunView:
    """The run's progress, one line per step; plain lines when the console is no terminal."""

    def __init__(self, console: Console, *, refresh_per_second: float = 4.0) -> None:
        self.console = console
        self.refresh_per_second = refresh_per_second
        self.live_mode = console.is_terminal and not console.is_dumb_terminal
        self._order: list[str] = []
        self._state: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._ended: dict[str, StepReport] = {}
        self._live: Live | None = None
        self._width = 0
        self._run_dir: Path | None = None

    # observer calls

    def on_plan(self, plan: RunPlan) -> None:
        self._order = plan.names
        self._run_dir = plan.run_dir
        self._state = dict.fromkeys(self._order, "waiting")
        self._width = max((len(n) for n in self._order), default=0)
        if self.live_mode:
            from rich.live import Live

            self._live = Live(
                self,
                console=self.console,
                refresh_per_second=self.refresh_per_second,
                transient=True,
            )
            self._live.start()
        else:
            total = len(self._order)
            self.console.print(
                Text.assemble(
                    ("rtf: running ", "muted"),
                    (plan.pipeline, "step"),
                    (
                        f": {total} step{'s' if total != 1 else ''}, up to {plan.jobs} at once",
                        "muted",
                    ),
                )
            )

    def on_step_start(self, step: str) -> None:
        self._state[step] = "running"
        self._started[step] = time.monotonic()
        if not self.live_mode:
            self.console.print(Text.assemble(_status("running", WORD_WIDTH), " ", (step, "step")))

    def on_step_end(self, step_report: StepReport) -> None:
        name = step_report.step_name
        self._state[name] = step_report.status
        self._ended[name] = step_report
        if not self.live_mode:
            line = Text.assemble(_status(step_report.status, WORD_WIDTH), " ", (name, "step"))
            if step_report.status != "skipped":
                line.append(f"  {format_duration(step_report.duration_s)}", style="muted")
            if step_report.reason:
                line.append(f"  {step_report.reason}", style=STYLES[step_report.status])
            self.console.print(line)

    def on_run_end(self, report: RunReport) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (safe to call more than once)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    # drawing

    def __rich__(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True)
        now = time.monotonic()
        for name in list(self._order):
            state = self._state.get(name, "waiting")
            detail = Text()
            if state == "running":
                detail.append(format_duration(now - self._started.get(name, now)), "muted")
                last = self._last_line(name)
                if last:
                    detail.append(f"  {last}", "muted")
            elif name in self._ended:
                ended = self._ended[name]
                if state != "skipped":
                    detail.append(format_duration(ended.duration_s), "muted")
                if ended.reason:
                    detail.append(
                        ("  " if state != "skipped" else "") + ended.reason, STYLES[state]
                    )
            grid.add_row(_status(state), Text(name.ljust(self._width), "step"), detail)
        return grid

    def _last_line(self, step: str) -> str:
        """The last line a running step wrote, so a long step shows what it is doing."""
        if self._run_dir is None:
            return ""
        from rtf.executor import tail_log
        from rtf.report import plain_text
        from rtf.runner import step_log_path

        lines = tail_log(step_log_path(self._run_dir, step), 1, max_bytes=4096)
        return plain_text(lines[-1]).strip() if lines else ""


# --- results tree -----------------------------------------------------------------------------


def _tail(path: str | None, lines: int) -> list[str]:
    if not path:
        return []
    from rtf.executor import tail_log
    from rtf.report import plain_text

    return [plain_text(line) for line in tail_log(Path(path), lines)]


def _step_node(tree: Tree, step: StepReport, log_lines: int) -> None:
    label = Text.assemble((step.step_name, "step"), "  ", _status(step.status))
    if step.status == "skipped":
        if step.reason:
            label.append(f": {step.reason}", style="skipped")
        tree.add(label)
        return
    label.append(f"  {format_duration(step.duration_s)}", style="muted")
    node = tree.add(label)
    failed = step.status in ("failed", "timed_out", "interrupted")
    if failed and step.error is not None:
        lines = step.error.message.strip().splitlines() or [""]
        shown = lines[:MESSAGE_LINES]
        first = Text.assemble((step.error.type, "error"), (": " if shown[0] else "", "error"))
        first.append(shown[0])
        for extra in shown[1:]:
            first.append("\n" + extra)
        if len(lines) > MESSAGE_LINES:
            first.append(f"\n… {len(lines) - MESSAGE_LINES} more lines", style="muted")
        node.add(first)
        if step.error.location:
            node.add(Text.assemble(("at ", "muted"), (step.error.location, "source")))
    if failed and step.reason and (step.error is None or step.status != "failed"):
        node.add(Text(step.reason, style=STYLES[step.status]))
    for name, out in step.outputs.items():
        files = f"{out.files} file{'s' if out.files != 1 else ''}"
        style = "muted" if out.files else "warning"
        node.add(Text.assemble((name, "path"), "  ", (f"{files}, {human_size(out.bytes)}", style)))
    for warning in step.warnings:
        node.add(Text(f"⚠ {warning}", style="warning"))
    if failed and step.log:
        log_node = node.add(Text.assemble(("log ", "muted"), (show_path(step.log), "path")))
        tail = _tail(step.log, log_lines)
        if tail:
            log_node.add(Text("\n".join(tail), style="muted"))


def render_results_tree(
    report: RunReport, spec: PipelineSpec | None = None, *, log_lines: int = LOG_TAIL_LINES
) -> Tree:
    """pipeline → step → status, duration, outputs; for failures the error and the log tail."""
    name = report.pipeline or Path(report.spec).stem
    label = Text.assemble(
        (name, "step"),
        ": ",
        (_counts(report), "success" if report.success else "error"),
        (f" in {format_duration(report.duration_s)}", "muted"),
    )
    if report.interrupted:
        label.append("  (interrupted)", style="warning")
    tree = Tree(label, guide_style="muted")
    for step in report.steps:
        _step_node(tree, step, log_lines)
    if spec is not None:
        ran = {step.step_name for step in report.steps}
        left_out = [s for s in spec.scripts if s not in ran]
        if left_out:
            tree.add(Text("not selected: " + ", ".join(left_out), style="muted"))
    return tree


# --- dry run ----------------------------------------------------------------------------------


def _timeout_text(timeout: float | None) -> str:
    return "no timeout" if timeout is None else f"timeout {timeout:g} s"


def render_plan(plan: RunPlan) -> RenderableType:
    """What ``rtf run`` would do: the steps in order, their inputs and outputs, what is left out."""
    count = len(plan.steps)
    label = Text.assemble(
        ("dry run: ", "info"),
        (plan.pipeline, "step"),
        (f": {count} step{'s' if count != 1 else ''} would run, up to {plan.jobs} at once", ""),
    )
    tree = Tree(label, guide_style="muted")
    for number, step in enumerate(plan.steps, start=1):
        node = tree.add(
            Text.assemble(
                (f"{number}. ", "muted"),
                (step.name, "step"),
                (f"  {step.mode} mode, {_timeout_text(step.timeout)}", "muted"),
            )
        )
        node.add(Text.assemble(("script ", "muted"), (show_path(step.script_path), "source")))
        if step.dependencies:
            node.add(Text("after " + ", ".join(step.dependencies), style="muted"))
        for name, inp in step.inputs.items():
            source: Any = (
                (f"{inp.from_step}.{inp.from_output}", "step")
                if inp.from_step
                else (show_path(inp.path), "path")
            )
            node.add(Text.assemble(("in  ", "muted"), name, (" ← ", "muted"), source))
        for name, out in step.outputs.items():
            node.add(
                Text.assemble(("out ", "muted"), name, (" → ", "muted"), (show_path(out), "path"))
            )
    for name, why in plan.excluded.items():
        tree.add(Text(f"not run: {name} ({why})", style="skipped"))
    note = Text(f"python: {plan.python}; nothing was run", style="muted")
    return Group(tree, note)
