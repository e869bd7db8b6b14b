"""How the wizard asks: a small ``Prompter`` protocol and its implementations.

* :class:`QuestionaryPrompter` asks in a terminal. It is the only place in rtf that imports
  questionary (lazily, inside its methods) and it always calls ``unsafe_ask()`` so that Ctrl-C
  reaches the wizard as :class:`KeyboardInterrupt` instead of being swallowed.
* :class:`DefaultsPrompter` (``--defaults``, and ``--answers`` for what the file leaves out)
  takes every default; a question without a usable default raises :class:`MissingAnswer`,
  which the wizard collects so that it can name every missing value at once.
* :class:`ScriptedPrompter` plays a list of expected questions for tests, checking each
  question's kind and text in order.

A ``validate`` callable takes the typed text and returns ``True`` or an error message.
Every question may carry a ``key`` (``"STEP: input DATA"``): the name of the value, used when
a value is missing and ignored by the terminal prompter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Validator = Callable[[str], "bool | str"]
PromptKind = Literal["confirm", "select", "text", "path"]


class MissingAnswer(Exception):
    """A question has no usable default and nobody to answer it (``--defaults``)."""

    def __init__(self, key: str, reason: str | None = None) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}" if reason else key)


class Prompter(Protocol):
    """What the wizard needs to ask a person something."""

    #: True when a person answers (the wizard then offers choices it would not offer a script).
    interactive: bool

    def confirm(self, message: str, default: bool) -> bool:
        """A yes/no question."""
        ...

    def select(
        self, message: str, choices: list[str], default: str | None, *, key: str | None = None
    ) -> str:
        """One of ``choices``."""
        ...

    def text(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        *,
        key: str | None = None,
    ) -> str:
        """A line of text, checked by ``validate`` as it is typed."""
        ...

    def path(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        only_directories: bool = False,
        *,
        key: str | None = None,
    ) -> str:
        """A file or folder path, with completion where a terminal is there to complete it."""
        ...


def check(validate: Validator | None, value: str) -> str | None:
    """The error message ``validate`` gives for ``value``, or None when the value is fine."""
    if validate is None:
        return None
    result = validate(value)
    if result is True:
        return None
    return result if isinstance(result, str) and result else "invalid value"


class QuestionaryPrompter:
    """Asks in the terminal through questionary; Ctrl-C raises ``KeyboardInterrupt``.

    ``input`` and ``output`` (prompt_toolkit objects) replace the terminal, for tests.
    """

    interactive = True

    def __init__(self, *, input: Any = None, output: Any = None) -> None:
        self._io: dict[str, Any] = {}
        if input is not None:
            self._io["input"] = input
        if output is not None:
            self._io["output"] = output

    def confirm(self, message: str, default: bool) -> bool:
        import questionary

        return bool(questionary.confirm(message, default=default, **self._io).unsafe_ask())

    def select(
        self, message: str, choices: list[str], default: str | None, *, key: str | None = None
    ) -> str:
        import questionary

        if not choices:
            raise ValueError(f"no choices for {message!r}")
        answer = questionary.select(
            message,
            choices=list(choices),
            default=default if default in choices else None,
            **self._io,
        ).unsafe_ask()
        return str(answer)

    def text(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        *,
        key: str | None = None,
    ) -> str:
        import questionary

        answer = questionary.text(
            message, default=default or "", validate=_as_questionary(validate), **self._io
        ).unsafe_ask()
        return str(answer)

    def path(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        only_directories: bool = False,
        *,
        key: str | None = None,
    ) -> str:
        import questionary
        from questionary.prompts.path import GreatUXPathCompleter

        completer = GreatUXPathCompleter(only_directories=only_directories, expanduser=True)
        answer = questionary.path(
            message,
            default=default or "",
            validate=_as_questionary(validate),
            completer=completer,
            only_directories=only_directories,
            **self._io,
        ).unsafe_ask()
        return str(answer)


def _as_questionary(validate: Validator | None) -> Callable[[str], bool | str] | None:
    """questionary shows a returned string as the error; we also strip the typed text."""
    if validate is None:
        return None

    def run(text: str) -> bool | str:
        message = check(validate, text.strip())
        return True if message is None else message

    return run


class DefaultsPrompter:
    """Answers every question with its default (``--defaults``).

    A text or path question whose default is missing, or fails its own validation, raises
    :class:`MissingAnswer` (and is remembered in :attr:`missing`).
    """

    interactive = False

    def __init__(self) -> None:
        self.missing: list[MissingAnswer] = []

    def confirm(self, message: str, default: bool) -> bool:
        return default

    def select(
        self, message: str, choices: list[str], default: str | None, *, key: str | None = None
    ) -> str:
        if default is None or default not in choices:
            raise self._missing(key or message, "one of: " + ", ".join(choices))
        return default

    def text(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        *,
        key: str | None = None,
    ) -> str:
        return self._value(message, default, validate, key)

    def path(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        only_directories: bool = False,
        *,
        key: str | None = None,
    ) -> str:
        return self._value(message, default, validate, key)

    def _value(
        self, message: str, default: str | None, validate: Validator | None, key: str | None
    ) -> str:
        if default is None or not default.strip():
            raise self._missing(key or message, "no default")
        problem = check(validate, default)
        if problem is not None:
            raise self._missing(key or message, problem)
        return default

    def _missing(self, key: str, reason: str) -> MissingAnswer:
        error = MissingAnswer(key, reason)
        self.missing.append(error)
        return error


@dataclass
class Expected:
    """One question a :class:`ScriptedPrompter` expects, and the answer it gives.

    ``answer`` ``None`` takes the question's default (like pressing Enter).
    """

    kind: PromptKind
    message: str
    answer: Any = None


class ScriptError(AssertionError):
    """The wizard asked something the script did not expect."""


@dataclass
class Asked:
    """A question that was asked, as a :class:`ScriptedPrompter` saw it."""

    kind: PromptKind
    message: str
    default: Any
    choices: list[str] | None = None
    key: str | None = None


@dataclass
class ScriptedPrompter:
    """Plays expected questions in order, for tests.

    Each entry is ``(kind, message substring, answer)``; an answer of ``None`` takes the
    default; a list of answers types them one after the other, as a person would after a
    refusal (each refused one is kept in :attr:`refused` with its message). A question of
    another kind, or whose text does not contain the substring, or one
    more than the script has, fails with :class:`ScriptError`; so does a last answer that
    fails the question's validation.
    Call :meth:`assert_done` to check that every expected question was asked.
    """

    script: list[tuple[PromptKind, str, Any]]
    interactive: bool = True
    asked: list[Asked] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    _pos: int = 0

    def _next(self, asked: Asked) -> Any:
        self.asked.append(asked)
        if self._pos >= len(self.script):
            raise ScriptError(
                f"unexpected question #{self._pos + 1} ({asked.kind}): {asked.message!r}"
            )
        kind, needle, answer = self.script[self._pos]
        self._pos += 1
        if kind != asked.kind or needle not in asked.message:
            raise ScriptError(
                f"question #{self._pos}: expected {kind} containing {needle!r}, "
                f"got {asked.kind}: {asked.message!r}"
            )
        if isinstance(answer, BaseException) or (
            isinstance(answer, type) and issubclass(answer, BaseException)
        ):
            raise answer
        return answer

    def confirm(self, message: str, default: bool) -> bool:
        answer = self._next(Asked("confirm", message, default))
        return default if answer is None else bool(answer)

    def select(
        self, message: str, choices: list[str], default: str | None, *, key: str | None = None
    ) -> str:
        answer = self._next(Asked("select", message, default, list(choices), key))
        value = default if answer is None else str(answer)
        if value not in choices:
            raise ScriptError(f"{value!r} is not one of the choices of {message!r}: {choices}")
        return value

    def text(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        *,
        key: str | None = None,
    ) -> str:
        return self._typed("text", message, default, validate, key)

    def path(
        self,
        message: str,
        default: str | None,
        validate: Validator | None = None,
        only_directories: bool = False,
        *,
        key: str | None = None,
    ) -> str:
        return self._typed("path", message, default, validate, key)

    def _typed(
        self,
        kind: PromptKind,
        message: str,
        default: str | None,
        validate: Validator | None,
        key: str | None,
    ) -> str:
        answer = self._next(Asked(kind, message, default, None, key))
        attempts = list(answer) if isinstance(answer, list | tuple) else [answer]
        for i, attempt in enumerate(attempts):
            value = (default or "") if attempt is None else str(attempt)
            problem = check(validate, value)
            if problem is None:
                return value
            self.refused.append((value, problem))
            if i == len(attempts) - 1:
                raise ScriptError(f"answer {value!r} to {message!r} is refused: {problem}")
        raise ScriptError(f"no answer given for {message!r}")

    @property
    def remaining(self) -> Sequence[tuple[PromptKind, str, Any]]:
        return self.script[self._pos :]

    def assert_done(self) -> None:
        """Fail when some expected questions were never asked."""
        if self._pos < len(self.script):
            left = ", ".join(f"{k}:{m!r}" for k, m, _ in self.script[self._pos :])
            raise ScriptError(f"{len(self.script) - self._pos} questions never asked: {left}")
