"""The body of ``rtf run``: load the spec, run it with the live view, show and save the results.

The CLI collects the options and calls :func:`run_command`; errors are raised as
:class:`~rtf.errors.RtfError` subclasses for the CLI's boundary to print.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from rtf.errors import ExitCode, InputError, Interrupted, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from rtf.report import RunReport


def _write_copies(report: RunReport, json_out: Path | None, junit_out: Path | None) -> None:
    from rtf.report import save_junit_xml, save_report_json

    for option, path, save in (
        ("--json", json_out, save_report_json),
        ("--junit-xml", junit_out, save_junit_xml),
    ):
        if path is None:
            continue
        try:
            save(report, path)
        except OSError as exc:
            raise UsageError(
                f"{option} {path}: cannot write the report: {exc.strerror or exc}"
            ) from None


def run_command(
    spec: Path,
    *,
    only: list[str],
    from_step: str | None,
    jobs: int | None,
    timeout: float | None,
    fail_fast: bool,
    dry_run: bool,
    json_out: Path | None,
    junit_out: Path | None,
    console: Console,
    err_console: Console,
) -> int:
    """Run a spec; return the exit code (SPEC 6): 0 all passed, 1 a step failed or timed out,
    130 interrupted (after the partial report and its copies are written).

    The live view goes to ``err_console``; the results tree (or, with ``dry_run``, the plan)
    goes to ``console``.
    """
    from rtf.render.run import LiveRunView, render_plan, render_results_tree, show_path
    from rtf.runner import RunOptions, exit_code_of, plan_run, run_spec
    from rtf.spec import load_spec

    if not spec.exists():
        raise InputError.at(
            spec, None, "spec file not found", hint="make one with: rtf wizard DAG CONFIG"
        )
    loaded = load_spec(spec)
    options = RunOptions(
        only=list(only) or None,
        from_step=from_step,
        jobs=jobs,
        timeout=timeout,
        fail_fast=fail_fast,
        dry_run=dry_run,
    )
    if dry_run:
        console.print(render_plan(plan_run(loaded, options)))
        return int(ExitCode.OK)

    view = LiveRunView(err_console)
    try:
        report = run_spec(loaded, options, observer=view)
    except KeyboardInterrupt:  # before any step started: nothing to report
        raise Interrupted("interrupted before any step started") from None
    finally:
        view.close()
    _write_copies(report, json_out, junit_out)
    console.print(render_results_tree(report, loaded))
    if report.run_dir:
        saved = show_path(Path(report.run_dir) / "report.json")
        console.print(Text.assemble(("report: ", "muted"), (saved, "path")))
    code = exit_code_of(report)
    if code == ExitCode.INTERRUPTED:
        err_console.print(Text("rtf: interrupted; the partial report was written", style="warning"))
    return code
