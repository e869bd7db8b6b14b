"""The wizard's logic, driven by a scripted prompter: what is asked, in which order, and what
ends up in the spec. Real files in tmp_path; the factory and discovery are the real ones."""

from __future__ import annotations

import io
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtf.commands_wizard import choose_prompter, wizard_command
from rtf.errors import ExitCode, InputError, NeedsTerminalError
from rtf.prompts import DefaultsPrompter, PromptKind, ScriptedPrompter
from rtf.render import make_console
from rtf.spec import InputRef, load_spec
from rtf.wizard import (
    WizardRequest,
    WizardResult,
    check_input_path,
    load_answers,
    partial_path,
    run_wizard,
)

REPO = Path(__file__).resolve().parents[1]
Script = list[tuple[PromptKind, str, Any]]

# Pressing Enter at every question of the bundled sample, in order.
SAMPLE_ENTER: Script = [
    ("path", "DATA: where is the test data", None),  # TabularPreprocessing_training
    ("path", "processed_data: which folder", None),
    ("confirm", "Keep these env vars and job args?", None),
    ("path", "DATA: where is the test data", None),  # TabularPreprocessing_calibration
    ("path", "processed_data: which folder", None),
    ("confirm", "Keep these env vars and job args?", None),
    ("path", "inference_scripts_input: where is the test data", None),  # Package
    ("path", "packaged_model: which folder", None),
    ("confirm", "Keep these env vars and job args?", None),
    ("confirm", "Save this spec to", None),
    ("confirm", "Run the 7 scripts now?", None),
]


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled sample, copied; the current folder is the copy."""
    shutil.copytree(REPO / "sample_dags", tmp_path / "sample_dags")
    shutil.copytree(
        REPO / "sample_configs",
        tmp_path / "sample_configs",
        ignore=shutil.ignore_patterns("spec.yaml", ".rtf", "__pycache__"),
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sample_request(root: Path, **kw: Any) -> WizardRequest:
    kw.setdefault("out", root / "rtf-spec.yaml")
    return WizardRequest(
        dag=root / "sample_dags" / "xgboost_e2e.yaml",
        config=root / "sample_configs" / "xgboost_e2e" / "config.json",
        **kw,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Prep -> Train -> Gone: Prep needs an env var nobody knows, Train's input could come from
    either of Prep's two outputs, Gone's file is not where the config says."""
    write(
        tmp_path / "scripts" / "prep.py",
        """
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            mode = environ_vars["SPLIT_MODE"]
            rows = Path(input_paths["raw"]).joinpath("part.csv").read_text()
            for out in (Path(output_paths["processed_data"]), Path(output_paths["data_output"])):
                out.mkdir(parents=True, exist_ok=True)
                (out / "part.csv").write_text(mode + rows)
        """,
    )
    write(
        tmp_path / "scripts" / "train.py",
        """
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            src = Path(input_paths["data"])
            out = Path(output_paths["model"])
            out.mkdir(parents=True, exist_ok=True)
            (out / "model.txt").write_text(job_args.job_type + str(len(list(src.iterdir()))))
        """,
    )
    write(
        tmp_path / "elsewhere" / "gone_real.py",
        """
        from pathlib import Path


        def main(input_paths, output_paths, environ_vars, job_args):
            out = Path(output_paths["report"])
            out.mkdir(parents=True, exist_ok=True)
            (out / "r.txt").write_text(Path(input_paths["model"], "model.txt").read_text())
        """,
    )
    write(tmp_path / "test_data" / "Prep" / "raw" / "part.csv", "a,b\n1,2\n")
    write(tmp_path / "dag.yaml", "name: mini\nedges: [[Prep, Train], [Train, Gone]]\n")
    shared = '"shared": {"source_dir": "scripts"}'
    write(
        tmp_path / "config.json",
        '{"configuration": {' + shared + ', "specific": {'
        '"Prep": {"processing_entry_point": "prep.py"},'
        '"Train": {"job_type": "training", "training_entry_point": "train.py"},'
        '"Gone": {"processing_entry_point": "gone.py"}}}}',
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def mini_request(root: Path, **kw: Any) -> WizardRequest:
    kw.setdefault("out", root / "spec.yaml")
    return WizardRequest(dag=root / "dag.yaml", config=root / "config.json", **kw)


def run(request: WizardRequest, prompter: Any) -> tuple[WizardResult, str]:
    out = io.StringIO()
    result = run_wizard(request, prompter, make_console(out, width=120, color=False))
    if isinstance(prompter, ScriptedPrompter):
        prompter.assert_done()
    return result, out.getvalue()


# --- the bundled sample ---------------------------------------------------------------------


def test_enter_everywhere_asks_only_what_is_open_in_dag_order(sample: Path) -> None:
    prompter = ScriptedPrompter(list(SAMPLE_ENTER))
    result, shown = run(sample_request(sample), prompter)

    assert result.run is True
    assert result.questions == len(SAMPLE_ENTER)
    spec = load_spec(result.spec_path)
    assert list(spec.scripts) == [
        "TabularPreprocessing_training",
        "XGBoostTraining",
        "Payload",
        "TabularPreprocessing_calibration",
        "XGBoostModelEval_calibration",
        "ModelCalibration_calibration",
        "Package",
    ]
    prep = spec.scripts["TabularPreprocessing_training"]
    assert prep.input_paths["DATA"] == (
        "sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA"
    )
    assert prep.environ_vars["LABEL_FIELD"] == "is_abuse"
    assert spec.scripts["XGBoostTraining"].input_paths["input_path"] == InputRef.model_validate(
        {"from": "TabularPreprocessing_training", "output": "processed_data"}
    )
    # the defaults asked for are the prefilled ones, shown relative to the current folder
    first = prompter.asked[0]
    assert (
        first.default == "sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA"
    )
    assert prompter.asked[1].default == ".rtf/outputs/TabularPreprocessing_training/processed_data"
    # the scripts table, the panels, the auto-configured lines and the review were shown
    assert "xgboost_complete_e2e: 7 scripts, 3 skipped" in shown
    assert "1/7 TabularPreprocessing_training" in shown
    assert "LABEL_FIELD = is_abuse  (config:label_name)" in shown
    assert "2/7 ✓ XGBoostTraining  auto-configured" in shown
    assert "Review: 7 scripts" in shown
    assert "Saved the spec of 7 scripts to rtf-spec.yaml" in shown
    assert not partial_path(result.spec_path).exists()


def test_defaults_mode_asks_nothing_and_builds_the_same_spec(sample: Path) -> None:
    scripted, _ = run(
        sample_request(sample, out=sample / "a.yaml"), ScriptedPrompter(list(SAMPLE_ENTER))
    )
    defaults, _ = run(sample_request(sample, out=sample / "b.yaml"), DefaultsPrompter())
    assert defaults.run is True
    assert load_spec(defaults.spec_path).model_dump() == load_spec(scripted.spec_path).model_dump()


def test_refused_paths_are_asked_again_with_the_reason(sample: Path) -> None:
    (sample / "empty").mkdir()
    script = list(SAMPLE_ENTER[:-1])
    script[0] = (
        "path",
        "DATA",
        ["nowhere", "empty", "sample_configs/xgboost_e2e/test_data/Package"],
    )
    prompter = ScriptedPrompter(script)
    result, _ = run(sample_request(sample, run_now=False), prompter)
    assert prompter.refused == [
        ("nowhere", "no such file or folder: nowhere"),
        ("empty", "empty is empty: put some test data in it"),
    ]
    spec = load_spec(result.spec_path)
    assert spec.scripts["TabularPreprocessing_training"].input_paths["DATA"] == (
        "sample_configs/xgboost_e2e/test_data/Package"
    )


def test_input_checks_refuse_missing_and_empty_data(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "zero.csv").write_text("")
    assert check_input_path("") == "enter the path of a file or folder with test data"
    assert (
        check_input_path(str(tmp_path / "d"))
        == f"{tmp_path / 'd'} is empty: put some test data in it"
    )
    (tmp_path / "d" / "sub" / "one.csv").write_text("x")
    assert check_input_path(str(tmp_path / "d")) is True


def test_editing_values_one_by_one_records_only_the_changes(sample: Path) -> None:
    script: Script = [
        ("path", "DATA", None),
        ("path", "processed_data", None),
        ("confirm", "Keep these env vars and job args?", False),
        ("text", "env var LABEL_FIELD", "label"),
        ("text", "env var TRAIN_RATIO", "0.8"),
        ("text", "env var TEST_VAL_RATIO", None),
        ("text", "env var FRAMEWORK_VERSION", ""),  # empty: unset
        ("text", "job arg --job_type", None),
        *SAMPLE_ENTER[3:-1],
    ]
    prompter = ScriptedPrompter(script)
    result, _ = run(sample_request(sample, run_now=False), prompter)
    env = load_spec(result.spec_path).scripts["TabularPreprocessing_training"].environ_vars
    assert env == {"LABEL_FIELD": "label", "TRAIN_RATIO": "0.8", "TEST_VAL_RATIO": "0.5"}
    # the required LABEL_FIELD may not be emptied; the optional TRAIN_RATIO may
    label = next(a for a in prompter.asked if "LABEL_FIELD" in a.message)
    assert "(empty: unset)" not in label.message
    assert "(empty: unset)" in next(a.message for a in prompter.asked if "TRAIN_RATIO" in a.message)


def test_review_can_go_back_and_change_a_script(sample: Path) -> None:
    other = sample / "other_data"
    shutil.copytree(
        sample / "sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA", other
    )
    script: Script = [
        *SAMPLE_ENTER[:-2],
        ("confirm", "Save this spec", False),
        ("select", "What now?", "Change TabularPreprocessing_training"),
        ("path", "Where is the script file of TabularPreprocessing_training", None),
        ("path", "DATA", "other_data"),
        ("path", "processed_data", None),
        ("confirm", "Keep these", None),
        ("confirm", "Save this spec", True),
    ]
    result, _ = run(sample_request(sample, run_now=False), ScriptedPrompter(script))
    assert (
        load_spec(result.spec_path).scripts["TabularPreprocessing_training"].input_paths["DATA"]
        == "other_data"
    )


def test_quitting_at_the_review_keeps_the_answers(sample: Path) -> None:
    script: Script = [
        *SAMPLE_ENTER[:-2],
        ("confirm", "Save this spec", False),
        ("select", "What now?", "Quit without saving (the answers so far are kept)"),
    ]
    with pytest.raises(KeyboardInterrupt):
        run(sample_request(sample), ScriptedPrompter(script))
    assert not (sample / "rtf-spec.yaml").exists()
    saved = yaml.safe_load(partial_path(sample / "rtf-spec.yaml").read_text())
    assert list(saved["steps"]) == [
        "TabularPreprocessing_training",
        "TabularPreprocessing_calibration",
        "Package",
    ]


# --- resume -----------------------------------------------------------------------------------


def test_ctrl_c_keeps_answers_and_resume_asks_only_what_is_left(sample: Path) -> None:
    first: Script = [
        *SAMPLE_ENTER[:3],
        ("path", "DATA: where is the test data", KeyboardInterrupt),  # at the second script
    ]
    with pytest.raises(KeyboardInterrupt):
        run(sample_request(sample), ScriptedPrompter(first))
    partial = partial_path(sample / "rtf-spec.yaml")
    saved = yaml.safe_load(partial.read_text())
    assert list(saved["steps"]) == ["TabularPreprocessing_training"]
    assert saved["steps"]["TabularPreprocessing_training"]["inputs"] == {
        "DATA": "sample_configs/xgboost_e2e/test_data/TabularPreprocessing_training/DATA"
    }

    prompter = ScriptedPrompter(list(SAMPLE_ENTER[3:]))
    result, shown = run(sample_request(sample, resume=True), prompter)
    assert result.questions == len(SAMPLE_ENTER) - 3
    assert "TabularPreprocessing_training  answered in the earlier session" in shown
    assert load_spec(result.spec_path).scripts["TabularPreprocessing_training"].input_paths
    assert not partial.exists()


def test_without_resume_a_person_is_offered_the_earlier_answers(sample: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run(
            sample_request(sample),
            ScriptedPrompter([*SAMPLE_ENTER[:3], ("path", "DATA", KeyboardInterrupt)]),
        )
    script: Script = [("confirm", "Continue from them?", None), *SAMPLE_ENTER[3:]]
    result, _ = run(sample_request(sample), ScriptedPrompter(script))
    assert result.spec_path.exists()


def test_a_broken_partial_file_names_the_place(sample: Path) -> None:
    write(partial_path(sample / "rtf-spec.yaml"), "steps:\n  NoSuchStep: {}\n")
    with pytest.raises(
        InputError, match=r"rtf-spec\.yaml\.partial\.yaml:steps\.NoSuchStep: no script step"
    ):
        run(sample_request(sample, resume=True), ScriptedPrompter([]))


# --- overwriting -------------------------------------------------------------------------------


def test_an_existing_spec_is_kept_unless_the_user_agrees(sample: Path) -> None:
    (sample / "rtf-spec.yaml").write_text("# mine\n")
    script: Script = [
        *SAMPLE_ENTER[:-1],
        ("confirm", "rtf-spec.yaml exists. Overwrite it?", None),  # default: no
        ("path", "Save the spec as", None),
        ("confirm", "Run the 7 scripts now?", False),
    ]
    prompter = ScriptedPrompter(script)
    result, _ = run(sample_request(sample), prompter)
    assert (sample / "rtf-spec.yaml").read_text() == "# mine\n"
    assert result.spec_path == sample / "rtf-spec-2.yaml"
    assert prompter.asked[-2].default == "rtf-spec-2.yaml"
    assert len(load_spec(result.spec_path).scripts) == 7

    # agreeing overwrites; --force does not even ask
    run(
        sample_request(sample),
        ScriptedPrompter(
            [*SAMPLE_ENTER[:-1], ("confirm", "Overwrite", True), ("confirm", "Run", False)]
        ),
    )
    assert "scripts:" in (sample / "rtf-spec.yaml").read_text()
    (sample / "rtf-spec.yaml").write_text("# mine\n")
    run(
        sample_request(sample, force=True, run_now=False), ScriptedPrompter(list(SAMPLE_ENTER[:-1]))
    )
    assert "scripts:" in (sample / "rtf-spec.yaml").read_text()


def test_defaults_mode_never_overwrites_without_force(sample: Path) -> None:
    (sample / "rtf-spec.yaml").write_text("# mine\n")
    with pytest.raises(InputError, match="not overwritten without --force") as caught:
        run(sample_request(sample), DefaultsPrompter())
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert caught.value.hint is not None and "--force" in caught.value.hint
    assert (sample / "rtf-spec.yaml").read_text() == "# mine\n"


# --- wiring choices, values nobody knows, a script not found -----------------------------------


def test_ambiguous_wiring_missing_env_and_a_lost_script_are_asked(mini: Path) -> None:
    script: Script = [
        ("path", "raw: where is the test data", None),
        ("path", "data_output: which folder", None),
        ("path", "processed_data: which folder", None),
        ("text", "env var SPLIT_MODE", ["", "stratified"]),  # required: empty is refused
        ("select", "data: which upstream output feeds this input?", "Prep.processed_data"),
        ("path", "model: which folder", None),
        ("confirm", "Keep these env vars and job args?", None),
        ("path", "Where is the script file of Gone (gone.py)?", "elsewhere/gone_real.py"),
        ("path", "report: which folder", None),
        ("confirm", "Save this spec", None),
        ("confirm", "Run the 3 scripts now?", False),
    ]
    prompter = ScriptedPrompter(script)
    result, shown = run(mini_request(mini), prompter)
    wiring = next(a for a in prompter.asked if a.kind == "select")
    assert wiring.choices == ["Prep.data_output", "Prep.processed_data", "A path on disk…"]
    assert wiring.default is None  # nothing is preferred where two outputs fit
    assert prompter.refused == [("", "a value is required")]
    spec = load_spec(result.spec_path)
    assert spec.scripts["Prep"].environ_vars == {"SPLIT_MODE": "stratified"}
    assert spec.scripts["Train"].input_paths["data"] == InputRef.model_validate(
        {"from": "Prep", "output": "processed_data"}
    )
    gone = spec.scripts["Gone"]
    assert gone.script_path == "elsewhere/gone_real.py"
    # the file given was read: its input is wired to Train's output of the same name
    assert gone.input_paths["model"] == InputRef.model_validate(
        {"from": "Train", "output": "model"}
    )
    assert "not found — you will be asked where it is" in shown
    assert "SPLIT_MODE — no value, you will be asked" in shown


def test_defaults_mode_lists_every_missing_value_at_once(mini: Path) -> None:
    shutil.rmtree(mini / "test_data")
    with pytest.raises(InputError) as caught:
        run(mini_request(mini), DefaultsPrompter())
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert message.startswith("--defaults: 4 values with no usable default: ")
    assert "Prep: input raw: no such file or folder: test_data/Prep/raw" in message
    assert "Prep: env SPLIT_MODE: no default" in message
    assert "Train: input data: one of: Prep.data_output, Prep.processed_data" in message
    assert "Gone: script file gone.py: no default" in message
    assert "\n" not in message
    assert not (mini / "spec.yaml").exists()


def test_the_panel_says_where_data_is_missing(mini: Path) -> None:
    shutil.rmtree(mini / "test_data")
    out = io.StringIO()
    with pytest.raises(InputError):
        run_wizard(
            mini_request(mini), DefaultsPrompter(), make_console(out, width=120, color=False)
        )
    assert "raw ← test_data/Prep/raw (nothing there yet)" in out.getvalue()


# --- answers files ------------------------------------------------------------------------------


def test_answers_file_supplies_values_and_defaults_fill_the_rest(mini: Path) -> None:
    answers = write(
        mini / "answers" / "mini.yaml",
        """
        run: false
        steps:
          Prep:
            environ_vars: {SPLIT_MODE: random}
            outputs: {data_output: ../out/prep_data}
          Train:
            inputs: {data: {from: Prep, output: data_output}}
            job_args: {job_type: calibration}
          Gone:
            script_path: ../elsewhere/gone_real.py
        """,
    )
    result, _ = run(mini_request(mini, answers=answers), DefaultsPrompter())
    assert result.run is False
    spec = load_spec(result.spec_path)
    assert spec.scripts["Prep"].environ_vars == {"SPLIT_MODE": "random"}
    assert spec.scripts["Prep"].output_paths["data_output"] == "out/prep_data"
    assert spec.scripts["Prep"].input_paths["raw"] == "test_data/Prep/raw"  # a default
    assert spec.scripts["Train"].job_args == {"job_type": "calibration"}
    assert spec.scripts["Train"].input_paths["data"] == InputRef.model_validate(
        {"from": "Prep", "output": "data_output"}
    )
    assert spec.scripts["Gone"].script_path == "elsewhere/gone_real.py"


@pytest.mark.parametrize(
    ("body", "place", "problem"),
    [
        ("stepz: {}", "stepz", "unknown key 'stepz'"),
        ("run: maybe", "run", "expected true or false"),
        ("steps: {Trian: {}}", "steps.Trian", "no script step 'Trian' in this pipeline"),
        ("steps: {Train: {inptus: {}}}", "steps.Train.inptus", "unknown key 'inptus'"),
        (
            "steps: {Train: {inputs: {dta: x}}}",
            "steps.Train.inputs.dta",
            "Train has no input 'dta'",
        ),
        (
            "steps: {Train: {inputs: {data: {from: Prep, output: nope}}}}",
            "steps.Train.inputs.data",
            "Prep has no output 'nope'",
        ),
        (
            "steps: {Train: {inputs: {data: {step: Prep}}}}",
            "steps.Train.inputs.data",
            "an upstream output is written {from: STEP, output: NAME}",
        ),
        (
            "steps: {Prep: {inputs: {raw: missing_folder}}}",
            "steps.Prep.inputs.raw",
            "no such file or folder",
        ),
        ("steps: {Gone: {script_path: nope.py}}", "steps.Gone.script_path", "no such file"),
        ("- a list", None, "an answers file is a mapping"),
    ],
)
def test_answers_file_errors_name_the_file_and_place(
    mini: Path, body: str, place: str | None, problem: str
) -> None:
    answers = write(mini / "answers.yaml", body + "\n")
    with pytest.raises(InputError) as caught:
        run(mini_request(mini, answers=answers), DefaultsPrompter())
    where = f"{answers}:{place}" if place else f"{answers}"
    assert str(caught.value).startswith(f"{where}: {problem}")
    assert caught.value.exit_code == ExitCode.INVALID_INPUT


def test_answers_round_trip_through_the_partial_format(mini: Path) -> None:
    data = load_answers(
        write(mini / "a.yaml", "steps:\n  Prep:\n    environ_vars: {N: 3, B: true, L: [1]}\n")
    )
    assert data.steps["Prep"].environ_vars == {"N": "3", "B": "true", "L": "[1]"}


# --- the command: terminals, Ctrl-C, running ---------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_terminal_and_no_answers_is_exit_4_before_any_question() -> None:
    for stdin, stdout in ((io.StringIO(), Tty()), (Tty(), io.StringIO())):
        with pytest.raises(NeedsTerminalError) as caught:
            choose_prompter(defaults=False, answers=None, stdin=stdin, stdout=stdout)
        assert caught.value.exit_code == ExitCode.NEEDS_TERMINAL
        assert caught.value.hint == "pass --defaults or --answers FILE"
    closed = io.StringIO()
    closed.close()
    with pytest.raises(NeedsTerminalError):
        choose_prompter(defaults=False, answers=None, stdin=closed, stdout=Tty())
    assert isinstance(choose_prompter(defaults=True, answers=None), DefaultsPrompter)
    assert isinstance(choose_prompter(defaults=False, answers=Path("a.yaml")), DefaultsPrompter)
    asks = choose_prompter(defaults=False, answers=None, stdin=Tty(), stdout=Tty())
    assert asks.interactive is True


@pytest.mark.parametrize(
    ("dag", "config", "problem"),
    [
        ("nope.yaml", "config.json", "nope.yaml: DAG file not found"),
        ("dag.yaml", "nope.json", "nope.json: config file not found"),
        ("dag.yaml", "scripts", "scripts: expected a config file, found a folder"),
    ],
)
def test_missing_pipeline_files_are_input_errors(
    mini: Path, dag: str, config: str, problem: str
) -> None:
    request = WizardRequest(dag=Path(dag), config=Path(config), out=mini / "spec.yaml")
    with pytest.raises(InputError, match=problem):
        run(request, DefaultsPrompter())


def command(root: Path, prompter: Any, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    options: dict[str, Any] = {
        "out": root / "rtf-spec.yaml",
        "source_roots": [],
        "data_root": None,
        "workspace": None,
        "defaults": False,
        "answers": None,
        "resume": False,
        "run_now": None,
        "force": False,
        **kw,
    }
    code = wizard_command(
        root / "sample_dags" / "xgboost_e2e.yaml",
        root / "sample_configs" / "xgboost_e2e" / "config.json",
        prompter=prompter,
        console=make_console(out, width=120, color=False),
        err_console=make_console(err, width=120, color=False),
        **options,
    )
    return code, out.getvalue(), err.getvalue()


def test_command_ctrl_c_is_exit_130_and_says_where_the_answers_are(sample: Path) -> None:
    code, _, err = command(
        sample, ScriptedPrompter([*SAMPLE_ENTER[:3], ("path", "DATA", KeyboardInterrupt)])
    )
    assert code == ExitCode.INTERRUPTED
    assert "rtf: cancelled; your answers so far are kept in rtf-spec.yaml.partial.yaml" in err
    assert "--resume" in err


def test_command_runs_the_saved_spec_green(sample: Path) -> None:
    code, out, _ = command(sample, DefaultsPrompter(), defaults=True)
    assert code == ExitCode.OK
    assert "xgboost_complete_e2e: 7 passed" in out
    assert (sample / "rtf-spec.yaml").exists()
    assert (sample / ".rtf" / "outputs" / "Package" / "packaged_model").is_dir()


def test_command_with_no_run_prints_how_to_run_later(sample: Path) -> None:
    code, out, _ = command(sample, DefaultsPrompter(), defaults=True, run_now=False)
    assert code == ExitCode.OK
    assert "Run it any time with: rtf run --spec rtf-spec.yaml" in out
    assert not (sample / ".rtf" / "runs").exists()


def test_a_session_that_asks_nobody_leaves_a_persons_partial_answers_alone(sample: Path) -> None:
    partial = write(partial_path(sample / "rtf-spec.yaml"), "steps:\n  Package: {}\n")
    _, shown = run(sample_request(sample, run_now=False), DefaultsPrompter())
    assert "Not using the earlier answers in rtf-spec.yaml.partial.yaml" in shown
    assert partial.read_text() == "steps:\n  Package: {}\n"


def test_two_files_of_the_same_name_are_a_choice(mini: Path) -> None:
    for folder in ("a", "b"):
        write(
            mini / "roots" / folder / "gone.py", (mini / "elsewhere" / "gone_real.py").read_text()
        )
    script: Script = [
        ("path", "raw", None),
        ("path", "data_output", None),
        ("path", "processed_data", None),
        ("text", "SPLIT_MODE", "x"),
        ("select", "data: which upstream output", "Prep.data_output"),
        ("path", "model", None),
        ("confirm", "Keep these", None),
        ("select", "Which file is the script of Gone?", "roots/b/gone.py"),
        ("path", "report", None),
        ("confirm", "Save this spec", None),
    ]
    prompter = ScriptedPrompter(script)
    result, _ = run(mini_request(mini, source_roots=[mini / "roots"], run_now=False), prompter)
    which = next(a for a in prompter.asked if a.message.startswith("Which file"))
    assert which.choices == ["roots/a/gone.py", "roots/b/gone.py", "Another file…"]
    assert load_spec(result.spec_path).scripts["Gone"].script_path == "roots/b/gone.py"


def test_changing_an_auto_configured_script_edits_structured_job_args_as_json(
    sample: Path,
) -> None:
    hyper = '{"num_round": 5, "max_depth": 2}'
    script: Script = [
        *SAMPLE_ENTER[:-2],
        ("confirm", "Save this spec", False),
        ("select", "What now?", "Change XGBoostTraining"),
        ("path", "Where is the script file of XGBoostTraining", None),
        ("path", "hyperparameters_s3_uri (optional; empty: not used)", None),
        ("select", "input_path: which upstream output", None),  # the wired one is the default
        ("path", "model_output: which folder", None),
        ("path", "evaluation_output: which folder", "out/eval"),
        ("confirm", "Keep these env vars and job args?", False),
        ("text", "env var LABEL_FIELD", None),
        ("text", "env var ID_FIELD", None),
        ("text", "env var FRAMEWORK_VERSION", None),
        ("text", "job arg --hyperparameters (JSON)", ["{num_round: 5", hyper]),
        ("confirm", "Save this spec", True),
    ]
    prompter = ScriptedPrompter(script)
    result, shown = run(sample_request(sample, run_now=False, resume=True), prompter)
    assert "No saved answers in rtf-spec.yaml.partial.yaml; starting afresh." in shown
    assert prompter.refused[0][1].startswith("not valid JSON")
    training = load_spec(result.spec_path).scripts["XGBoostTraining"]
    assert training.job_args["hyperparameters"] == {"num_round": 5, "max_depth": 2}
    assert training.output_paths["evaluation_output"] == "out/eval"
    assert training.input_paths == {
        "input_path": InputRef.model_validate(
            {"from": "TabularPreprocessing_training", "output": "processed_data"}
        )
    }


def test_a_new_spec_name_must_be_new_and_yaml(sample: Path) -> None:
    (sample / "rtf-spec.yaml").write_text("# mine\n")
    script: Script = [
        *SAMPLE_ENTER[:-1],
        ("confirm", "Overwrite it?", False),
        ("path", "Save the spec as", ["", "rtf-spec.yaml", "spec.txt", "mine.yml"]),
    ]
    prompter = ScriptedPrompter(script)
    result, _ = run(sample_request(sample, run_now=False), prompter)
    assert [reason for _, reason in prompter.refused] == [
        "enter a file name",
        "rtf-spec.yaml exists too",
        "a spec file ends in .yaml or .yml",
    ]
    assert result.spec_path == sample / "mine.yml"


def test_answers_for_an_auto_configured_script_are_applied(sample: Path) -> None:
    answers = write(
        sample / "answers.yaml",
        "steps:\n  Payload:\n    environ_vars: {DEFAULT_TEXT_VALUE: unknown}\n",
    )
    result, shown = run(sample_request(sample, answers=answers), DefaultsPrompter())
    env = load_spec(result.spec_path).scripts["Payload"].environ_vars
    assert env["DEFAULT_TEXT_VALUE"] == "unknown"
    assert "Payload  auto-configured, with the answers file" in shown
    skipped = write(sample / "skipped.yaml", "steps:\n  Registration: {}\n")
    with pytest.raises(InputError, match=r"the node is skipped: inference_handler"):
        run(sample_request(sample, answers=skipped, force=True), DefaultsPrompter())
