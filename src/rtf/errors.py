"""The project's errors and exit codes (SPEC 6).

Every expected failure is an :class:`RtfError` carrying its exit code and an optional hint.
The CLI boundary turns one into a single line on stderr; nothing below the CLI prints.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit statuses (SPEC 6, contract)."""

    OK = 0
    STEP_FAILED = 1
    USAGE = 2
    INVALID_INPUT = 3
    NEEDS_TERMINAL = 4
    INTERNAL = 70
    INTERRUPTED = 130


class RtfError(Exception):
    """Base of every error rtf expects. ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(RtfError):
    """Wrong use of a command: a missing argument, a path that does not exist."""

    exit_code = ExitCode.USAGE


class InputError(RtfError):
    """An input file (DAG, config, spec, answers) is invalid, or a value is missing."""

    exit_code = ExitCode.INVALID_INPUT

    @classmethod
    def at(
        cls, file: Path | str, place: str | None, problem: str, *, hint: str | None = None
    ) -> InputError:
        """Build the message ``file[:place]: problem``, the shape every loader uses."""
        where = str(file) if not place else f"{file}:{place}"
        return cls(f"{where}: {problem}", hint=hint)


class NeedsTerminalError(RtfError):
    """The wizard was asked to prompt without a terminal."""

    exit_code = ExitCode.NEEDS_TERMINAL


class Interrupted(RtfError):
    """The user pressed Ctrl-C; what was done so far is kept."""

    exit_code = ExitCode.INTERRUPTED
