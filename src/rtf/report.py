"""The run report (SPEC 5): what ran, how each step ended, where its outputs and log are.

``report.json`` is written into every run's folder, atomically; ``--json`` and ``--junit-xml``
write copies where asked. The JSON keys shown in SPEC 5 are a contract: they are never renamed.
A few extra keys (``pipeline``, ``started_at``, ``run_dir``, ``interrupted``) follow them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rtf.files import write_atomic

StepStatus = Literal["passed", "failed", "timed_out", "skipped", "interrupted"]
STATUSES: tuple[StepStatus, ...] = ("passed", "failed", "timed_out", "skipped", "interrupted")
JUNIT_LOG_LINES = 50


class ErrorReport(BaseModel):
    """The exception a script ended with."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The exception's class name, e.g. KeyError.")
    message: str = Field(description="str() of the exception.")
    location: str | None = Field(
        description="file:line of the deepest frame in the script, when known."
    )


class OutputReport(BaseModel):
    """What a step left in one output folder (rtf's marker not counted)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The output folder.")
    files: int = Field(description="Files in it, sub-folders included.")
    bytes: int = Field(description="Their total size.")


class StepReport(BaseModel):
    """How one script step ended."""

    model_config = ConfigDict(extra="forbid")

    step_name: str
    status: StepStatus
    exit_code: int | None = Field(
        None, description="The process's exit code; negative: killed by that signal."
    )
    duration_s: float = 0.0
    reason: str | None = Field(None, description="Why the step did not pass; null when it did.")
    error: ErrorReport | None = None
    outputs: dict[str, OutputReport] = Field(default_factory=dict)
    log: str | None = Field(None, description="The step's log file (stdout and stderr).")
    warnings: list[str] = Field(
        default_factory=list, description="'kind: text' lines, e.g. 'modified_input: ...'."
    )


class Summary(BaseModel):
    """Steps by status."""

    model_config = ConfigDict(extra="forbid")

    passed: int = 0
    failed: int = 0
    timed_out: int = 0
    skipped: int = 0
    interrupted: int = 0

    @classmethod
    def of(cls, steps: list[StepReport]) -> Summary:
        counts = dict.fromkeys(STATUSES, 0)
        for step in steps:
            counts[step.status] += 1
        return cls(**counts)


class RunReport(BaseModel):
    """One run of a spec."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    spec: str = Field(description="The spec file that was run.")
    success: bool = Field(description="Every step that was to run passed.")
    duration_s: float
    steps: list[StepReport]
    summary: Summary
    pipeline: str | None = None
    started_at: str | None = Field(None, description="UTC start time, ISO 8601.")
    run_dir: str | None = Field(None, description="The run's folder (report, logs, work).")
    interrupted: bool = Field(False, description="The run was stopped by Ctrl-C.")


def build_run_report(
    *,
    run_id: str,
    spec: str,
    steps: list[StepReport],
    duration_s: float,
    interrupted: bool = False,
    pipeline: str | None = None,
    started_at: str | None = None,
    run_dir: str | None = None,
) -> RunReport:
    """A report whose ``summary`` and ``success`` follow from its steps."""
    summary = Summary.of(steps)
    # Steps are skipped only after a failure or an interrupt (or in a dry run, which fails
    # nothing), so they do not count here themselves.
    success = (
        not interrupted
        and summary.failed == 0
        and summary.timed_out == 0
        and summary.interrupted == 0
    )
    return RunReport(
        run_id=run_id,
        spec=spec,
        success=success,
        duration_s=round(duration_s, 3),
        steps=steps,
        summary=summary,
        pipeline=pipeline,
        started_at=started_at,
        run_dir=run_dir,
        interrupted=interrupted,
    )


def dump_report_json(report: RunReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def save_report_json(report: RunReport, path: Path) -> Path:
    """Write the report as JSON, atomically."""
    write_atomic(Path(path), dump_report_json(report))
    return Path(path)


# --- JUnit XML --------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def plain_text(text: str) -> str:
    """Text without terminal escapes or control characters (so also fit for XML 1.0)."""
    return _NOT_XML.sub("", _ANSI.sub("", text))


def _log_tail(step: StepReport, lines: int) -> str:
    if not step.log:
        return ""
    from rtf.executor import tail_log

    return "\n".join(tail_log(Path(step.log), lines))


def render_junit_xml(report: RunReport, *, log_lines: int = JUNIT_LOG_LINES) -> str:
    """The report as JUnit XML: one testsuite for the pipeline, one testcase per step.

    failed and timed_out steps are ``<failure>``, interrupted ones ``<error>``, skipped ones
    ``<skipped>``; each step's log tail goes to ``<system-out>``.
    """
    import xml.etree.ElementTree as ET

    name = report.pipeline or Path(report.spec).stem
    summary = report.summary
    counts = {
        "tests": str(len(report.steps)),
        "failures": str(summary.failed + summary.timed_out),
        "errors": str(summary.interrupted),
        "skipped": str(summary.skipped),
        "time": f"{report.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": plain_text(name), **counts})
    suite = ET.SubElement(root, "testsuite", {"name": plain_text(name), **counts})
    if report.started_at:
        suite.set("timestamp", report.started_at)
    for step in report.steps:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "name": plain_text(step.step_name),
                "classname": plain_text(name),
                "time": f"{step.duration_s:.3f}",
            },
        )
        reason = plain_text(step.reason or step.status)
        if step.status in ("failed", "timed_out"):
            kind = step.error.type if step.error else step.status
            failure = ET.SubElement(case, "failure", {"message": reason, "type": plain_text(kind)})
            if step.error:
                where = f" at {step.error.location}" if step.error.location else ""
                failure.text = plain_text(f"{step.error.type}: {step.error.message}{where}")
            else:
                failure.text = reason
        elif step.status == "interrupted":
            ET.SubElement(case, "error", {"message": reason, "type": "interrupted"})
        elif step.status == "skipped":
            ET.SubElement(case, "skipped", {"message": reason})
        tail = _log_tail(step, log_lines)
        extra = "".join(f"rtf warning: {w}\n" for w in step.warnings)
        if tail or extra:
            out = ET.SubElement(case, "system-out")
            out.text = plain_text(extra + tail + ("\n" if tail else ""))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def save_junit_xml(report: RunReport, path: Path) -> Path:
    """Write the JUnit XML, atomically."""
    write_atomic(Path(path), render_junit_xml(report))
    return Path(path)
