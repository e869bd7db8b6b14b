"""The prompters: questionary driven through prompt_toolkit's pipe input, and the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from rtf.prompts import (
    DefaultsPrompter,
    MissingAnswer,
    QuestionaryPrompter,
    ScriptedPrompter,
    ScriptError,
)

ENTER = "\r"
DOWN = "\x1b[B"
CTRL_C = "\x03"
TAB = "\t"


@pytest.fixture
def pipe() -> Iterator[PipeInput]:
    with create_pipe_input() as inp:
        yield inp


def terminal(pipe: PipeInput) -> QuestionaryPrompter:
    return QuestionaryPrompter(input=pipe, output=DummyOutput())


def type_slowly(pipe: PipeInput, *keys: str, pause: float = 0.2) -> threading.Thread:
    """Send keys one group at a time, as a person would (completion runs between them).

    A final Ctrl-C makes a prompt that never accepted its answer fail instead of hang.
    """

    def feed() -> None:
        for key in (*keys, CTRL_C):
            time.sleep(pause)
            try:
                pipe.send_text(key)
            except (OSError, ValueError, AssertionError):  # the prompt is done, the pipe closed
                return

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


def test_confirm_takes_the_default_on_enter_and_y_or_n(pipe: PipeInput) -> None:
    pipe.send_text(ENTER)
    assert terminal(pipe).confirm("Keep?", False) is False
    pipe.send_text("y")
    assert terminal(pipe).confirm("Keep?", False) is True
    pipe.send_text("n")
    assert terminal(pipe).confirm("Keep?", True) is False


def test_select_starts_at_the_default_and_moves_with_arrows(pipe: PipeInput) -> None:
    pipe.send_text(ENTER)
    assert terminal(pipe).select("Which?", ["a.out", "b.out", "c.out"], "b.out") == "b.out"
    pipe.send_text(DOWN + ENTER)
    assert terminal(pipe).select("Which?", ["a.out", "b.out", "c.out"], "b.out") == "c.out"
    pipe.send_text(ENTER)
    # a default that is not a choice starts at the first choice
    assert terminal(pipe).select("Which?", ["a.out", "b.out"], None) == "a.out"


def test_select_without_choices_is_a_bug() -> None:
    with pytest.raises(ValueError, match="no choices"):
        QuestionaryPrompter().select("Which?", [], None)


def test_text_is_validated_as_typed_and_refused_input_stays_open(pipe: PipeInput) -> None:
    seen: list[str] = []

    def only_digits(text: str) -> bool | str:
        seen.append(text)
        return True if text.isdigit() else "digits only"

    # "4a" + Enter is refused; backspace fixes it; Enter accepts
    pipe.send_text("4a" + ENTER + "\x7f" + "2" + ENTER)
    assert terminal(pipe).text("How many?", None, only_digits) == "42"
    assert "4a" in seen  # the refused value reached the validator


def test_text_enter_keeps_the_prefilled_default(pipe: PipeInput) -> None:
    pipe.send_text(ENTER)
    assert terminal(pipe).text("Label field", "is_abuse") == "is_abuse"


def test_path_completes_with_tab_and_validates(
    pipe: PipeInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "training_data").mkdir()
    (tmp_path / "training_data" / "part-0.csv").write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)

    def exists(text: str) -> bool | str:
        return True if Path(text).exists() else f"no such path: {text}"

    # Tab completes the folder name (with its separator); Enter closes the menu, then accepts
    type_slowly(pipe, "trai", TAB, ENTER, ENTER)
    assert terminal(pipe).path("Data?", None, exists) == "training_data"


def test_path_refuses_a_missing_path_until_fixed(
    pipe: PipeInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []

    def exists(text: str) -> bool | str:
        calls.append(text)
        return True if Path(text).exists() else "no such path"

    pipe.send_text("nope" + ENTER + "\x7f" * 4 + "data" + ENTER)
    assert terminal(pipe).path("Data?", None, exists, only_directories=True) == "data"
    assert "nope" in calls


def test_ctrl_c_is_not_swallowed(pipe: PipeInput) -> None:
    for ask in (
        lambda p: p.confirm("Keep?", True),
        lambda p: p.select("Which?", ["a", "b"], "a"),
        lambda p: p.text("Name?", "x"),
        lambda p: p.path("Where?", "x"),
    ):
        pipe.send_text(CTRL_C)
        with pytest.raises(KeyboardInterrupt):
            ask(terminal(pipe))


def test_defaults_prompter_takes_every_usable_default() -> None:
    p = DefaultsPrompter()
    assert p.interactive is False
    assert p.confirm("Keep?", True) is True
    assert p.confirm("Overwrite?", False) is False
    assert p.select("Which?", ["a", "b"], "b") == "b"
    assert p.text("Label", "is_abuse") == "is_abuse"
    assert p.path("Data", "x", lambda t: True) == "x"
    assert p.missing == []


def test_defaults_prompter_reports_each_value_it_cannot_fill() -> None:
    p = DefaultsPrompter()
    with pytest.raises(MissingAnswer, match="S: env LABEL_FIELD: no default"):
        p.text("env LABEL_FIELD", None, key="S: env LABEL_FIELD")
    with pytest.raises(MissingAnswer, match="S: input DATA: no such path: d"):
        p.path("DATA", "d", lambda t: f"no such path: {t}", key="S: input DATA")
    with pytest.raises(MissingAnswer, match=r"one of: a\.x, b\.x"):
        p.select("model?", ["a.x", "b.x"], None, key="S: input model")
    assert [m.key for m in p.missing] == ["S: env LABEL_FIELD", "S: input DATA", "S: input model"]


def test_scripted_prompter_checks_kind_text_and_order() -> None:
    p = ScriptedPrompter(
        [("confirm", "Keep", None), ("path", "DATA", "d2"), ("select", "feeds", "b")]
    )
    assert p.confirm("Keep these?", True) is True
    assert p.path("DATA: where?", "d1") == "d2"
    assert p.select("which feeds it?", ["a", "b"], "a") == "b"
    p.assert_done()
    assert [a.kind for a in p.asked] == ["confirm", "path", "select"]

    wrong_kind = ScriptedPrompter([("text", "Keep", None)])
    with pytest.raises(ScriptError, match="expected text containing 'Keep', got confirm"):
        wrong_kind.confirm("Keep these?", True)
    wrong_text = ScriptedPrompter([("confirm", "Run", None)])
    with pytest.raises(ScriptError, match="expected confirm containing 'Run'"):
        wrong_text.confirm("Keep these?", True)
    extra = ScriptedPrompter([])
    with pytest.raises(ScriptError, match="unexpected question #1"):
        extra.text("Name?", None)
    left = ScriptedPrompter([("confirm", "Run", None)])
    with pytest.raises(ScriptError, match="1 questions never asked"):
        left.assert_done()


def test_scripted_prompter_types_again_after_a_refusal() -> None:
    p = ScriptedPrompter([("text", "n", ["x", "7"])])
    assert p.text("n?", None, lambda t: True if t.isdigit() else "digits only") == "7"
    assert p.refused == [("x", "digits only")]
    p2 = ScriptedPrompter([("text", "n", "x")])
    with pytest.raises(ScriptError, match="refused: digits only"):
        p2.text("n?", None, lambda t: True if t.isdigit() else "digits only")
    p3 = ScriptedPrompter([("select", "which", "z")])
    with pytest.raises(ScriptError, match="not one of the choices"):
        p3.select("which?", ["a"], "a")
    p4 = ScriptedPrompter([("confirm", "Keep", KeyboardInterrupt)])
    with pytest.raises(KeyboardInterrupt):
        p4.confirm("Keep?", True)
