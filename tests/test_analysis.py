"""Static analysis of pipeline scripts (SPEC 2.4): real files, parsed and never run."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from rtf.analysis import (
    ANALYSIS_FORMAT,
    CliFlag,
    EnvVarUse,
    NameUse,
    ScriptAnalysis,
    analyze_script,
    analyze_source,
)

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
NO_ENTRY = (
    "no entry point: defines no main(input_paths, output_paths, environ_vars, job_args) "
    "and no __main__ block"
)
MAIN_HEAD = "def main(input_paths, output_paths, environ_vars, job_args):\n"


def script(tmp_path: Path, text: str, name: str = "script.py") -> Path:
    """Write a script file (dedented) and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def analyze(tmp_path: Path, text: str) -> ScriptAnalysis:
    return analyze_script(script(tmp_path, text))


def main_body(tmp_path: Path, body: str, prelude: str = "") -> ScriptAnalysis:
    """Analyse a main-mode script whose main() has ``body``."""
    text = (
        textwrap.dedent(prelude)
        + MAIN_HEAD
        + textwrap.indent(textwrap.dedent(body).lstrip("\n"), "    ")
    )
    return analyze(tmp_path, text)


def names(uses: tuple[NameUse, ...]) -> dict[str, bool]:
    return {u.name: u.required for u in uses}


def env(analysis: ScriptAnalysis) -> dict[str, EnvVarUse]:
    return {e.name: e for e in analysis.environ_vars}


def flags(analysis: ScriptAnalysis) -> dict[str, CliFlag]:
    return {f.flag: f for f in analysis.cli_flags}


# --------------------------------------------------------------------------------------------
# Entry mode
# --------------------------------------------------------------------------------------------


def test_canonical_main_script_is_main_mode(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import os

        def main(input_paths, output_paths, environ_vars, job_args):
            data = input_paths["data_input"]
            model = input_paths.get("pretrained_model")
            out = output_paths["model_output"]
            label = environ_vars.get("LABEL_FIELD")
            ratio = environ_vars.get("TRAIN_RATIO", "0.7")
            kind = job_args.job_type
        """,
    )
    assert result.mode == "main"
    assert result.defines_main and not result.has_main_block
    assert result.problems == ()
    assert result.inputs == (
        NameUse("data_input", True, 4),
        NameUse("pretrained_model", False, 5),
    )
    assert result.outputs == (NameUse("model_output", True, 6),)
    assert result.environ_vars == (
        EnvVarUse("LABEL_FIELD", has_default=False, required=False, default=None, line=7),
        EnvVarUse("TRAIN_RATIO", has_default=True, required=False, default="0.7", line=8),
    )
    assert result.job_args == ("job_type",)
    assert not result.inputs_guessed and not result.outputs_guessed
    assert result.notes == ()


def test_main_with_annotations_extra_defaulted_params_and_main_block(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import argparse
        from typing import Dict, Optional

        def main(
            input_paths: Dict[str, str],
            output_paths: Dict[str, str],
            environ_vars: Dict[str, str],
            job_args: argparse.Namespace,
            logger: Optional[object] = None,
            *,
            verbose: bool = False,
        ) -> None:
            print(input_paths["train"], output_paths["out"])

        if __name__ == "__main__":
            main({}, {}, {}, argparse.Namespace())
        """,
    )
    assert result.mode == "main"
    assert result.defines_main and result.has_main_block
    assert names(result.inputs) == {"train": True}
    assert names(result.outputs) == {"out": True}
    assert result.notes == ()


def test_main_mode_ignores_module_level_names(tmp_path: Path) -> None:
    # In main mode the dictionaries are main's parameters: a module-level variable that
    # happens to be called input_paths (as in the usual __main__ block) is not read.
    result = analyze(
        tmp_path,
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            return input_paths["x"], output_paths["y"]

        if __name__ == "__main__":
            input_paths = {"container": "/opt/ml/processing/input"}
            print(input_paths["only_in_main_block"])
            main(input_paths, {}, {}, None)
        """,
    )
    assert result.inputs == (NameUse("x", True, 2),)
    assert result.outputs == (NameUse("y", True, 2),)
    assert result.notes == ()


def test_main_with_extra_parameter_without_default_is_noted(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def main(input_paths, output_paths, environ_vars, job_args, logger, *, level):
            return input_paths["a"], output_paths["b"]
        """,
    )
    assert result.mode == "main"
    assert (
        "main() also needs logger, level with no default; "
        "called with the four pipeline arguments it will fail"
    ) in result.notes


def test_main_with_other_signature_and_main_block_is_cli(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import sys

        def main(argv):
            return argv

        if "__main__" == __name__:
            main(sys.argv)
        """,
    )
    assert result.mode == "cli"
    assert not result.defines_main and result.has_main_block
    assert result.problems == ()
    assert any("main(argv) at line 3 is not the pipeline signature" in n for n in result.notes)


def test_script_with_neither_entry_is_a_problem(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def run(paths):
            return paths

        if __name__ != "__main__":
            run(1)
        if __name__ == "__main__" == "x":
            run(2)
        if something == "__main__":
            run(3)
        """,
    )
    assert result.mode is None
    assert result.problems == (NO_ENTRY,)
    assert not result.defines_main and not result.has_main_block
    # It parsed, so the names are guessed as for any other script.
    assert result.inputs == (NameUse("data_input", True, 0),)
    assert result.outputs == (NameUse("data_output", True, 0),)
    assert result.inputs_guessed and result.outputs_guessed


def test_empty_file_has_no_entry(tmp_path: Path) -> None:
    result = analyze(tmp_path, "")
    assert result.mode is None
    assert result.problems == (NO_ENTRY,)


def test_later_definition_of_main_replaces_the_pipeline_one(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            return input_paths["a"]

        async def main(input_paths, output_paths, environ_vars, job_args):
            return input_paths["b"]
        """,
    )
    assert result.mode is None
    assert not result.defines_main
    assert result.problems == (NO_ENTRY,)


def test_pipeline_main_redefined_with_other_signature(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def main(input_paths, output_paths, environ_vars, job_args):
            return input_paths["a"]

        def main():
            pass

        if __name__ == "__main__":
            main()
        """,
    )
    assert result.mode == "cli"
    assert not result.defines_main


# --------------------------------------------------------------------------------------------
# Files that cannot be analysed
# --------------------------------------------------------------------------------------------


def test_syntax_error_is_a_problem_with_its_line(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import os


        def main(input_paths, output_paths, environ_vars, job_args)
            return 1
        """,
    )
    assert result.mode is None
    assert len(result.problems) == 1
    assert result.problems[0].startswith("syntax error at line 4: ")
    assert result.inputs == () and result.outputs == ()
    assert not result.inputs_guessed and not result.outputs_guessed
    assert not result.defines_main and not result.has_main_block


def test_analyze_source_never_raises_on_hostile_text() -> None:
    null_bytes = analyze_source("x = 1\0\n")
    assert null_bytes.mode is None and "null bytes" in null_bytes.problems[0]
    nested = analyze_source("x = " + "-" * 200_000 + "1\n")
    assert nested.mode is None
    assert nested.problems[0].startswith(("cannot parse the script: ", "syntax error"))


def test_non_utf8_bytes_are_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\n# caf\xe9\nif __name__ == '__main__':\n    pass\n")
    result = analyze_script(path)
    assert result.mode is None
    assert result.problems == (
        "cannot decode the script as utf-8 at line 2: invalid continuation byte",
    )


def test_coding_cookie_and_bom_are_honoured(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\nif __name__ == '__main__':\n    print('caf\xe9')\n"
    )
    assert analyze_script(latin).mode == "cli"
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfif __name__ == '__main__':\n    pass\n")
    assert analyze_script(bom).mode == "cli"


def test_unknown_or_conflicting_encoding_is_a_problem(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.py"
    unknown.write_bytes(b"# coding: no-such-codec\nx = 1\n")
    assert analyze_script(unknown).problems[0].startswith("cannot decode the script: ")
    conflicting = tmp_path / "conflict.py"
    conflicting.write_bytes(b"\xef\xbb\xbf# coding: latin-1\nx = 1\n")
    assert analyze_script(conflicting).problems[0].startswith("cannot decode the script: ")


def test_codec_missing_at_decode_time_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # detect_encoding accepts the cookie but decoding cannot find the codec.
    import tokenize

    monkeypatch.setattr(tokenize, "detect_encoding", lambda readline: ("no-such-codec", []))
    path = script(tmp_path, "x = 1\n")
    assert analyze_script(path).problems == (
        "cannot decode the script: unknown encoding 'no-such-codec'",
    )


def test_missing_file_and_directory_are_problems(tmp_path: Path) -> None:
    missing = analyze_script(tmp_path / "nope.py")
    assert missing.mode is None
    assert missing.problems[0].startswith(f"cannot read {tmp_path / 'nope.py'}: ")
    directory = analyze_script(tmp_path)
    assert directory.problems[0].startswith(f"cannot read {tmp_path}: ")


# --------------------------------------------------------------------------------------------
# Input and output names
# --------------------------------------------------------------------------------------------


def test_subscript_get_and_membership_guards(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        a = input_paths["required_sub"]
        b = input_paths.get("optional_get")
        c = input_paths.get("optional_get_default", "/x")
        if "guarded" in input_paths:
            d = input_paths["guarded"]
        e = input_paths["ternary"] if "ternary" in input_paths else None
        f = "and_guard" in input_paths and input_paths["and_guard"]
        if "not_in_guard" not in input_paths:
            g = None
        else:
            g = input_paths["not_in_guard"]
        if "checked" not in input_paths:
            raise ValueError("checked is needed")
        h = input_paths["checked"]
        if "checked_a" not in input_paths or "checked_b" not in input_paths:
            raise KeyError("both")
        assert "asserted" in input_paths and "asserted_2" in input_paths
        i = input_paths.pop("popped")
        j = input_paths.pop("popped_default", None)
        k = input_paths.setdefault("set_default", "/y")
        if "only_tested" in input_paths:
            pass
        if "raised_when_present" in input_paths:
            raise ValueError("no")
        input_paths["written"] = "/z"
        del input_paths["deleted"]
        nested = load()["not_a_dict_key"]
        tested = "k" in load()
        annotated: int
        self.attr: int = 1
        out = output_paths["model"]
        open(output_paths["metrics"] + "/m.json", "w")
        l = input_paths["required_sub"]
        """,
    )
    assert names(result.inputs) == {
        "required_sub": True,
        "optional_get": False,
        "optional_get_default": False,
        "guarded": False,
        "ternary": False,
        "and_guard": False,
        "not_in_guard": False,
        "checked": True,
        "checked_a": True,
        "checked_b": True,
        "asserted": True,
        "asserted_2": True,
        "popped": True,
        "popped_default": False,
        "set_default": False,
        "only_tested": False,
        "raised_when_present": False,
    }
    # sorted by the first line of use, one entry per name
    assert [u.name for u in result.inputs][:3] == [
        "required_sub",
        "optional_get",
        "optional_get_default",
    ]
    assert result.inputs[0].line == 2
    assert names(result.outputs) == {"model": True, "metrics": True}


def test_required_when_any_use_is_required(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        a = input_paths.get("both")
        b = input_paths["both"]
        c = output_paths["o"]
        """,
    )
    assert result.inputs == (NameUse("both", True, 2),)


def test_constant_keys_through_module_and_local_names(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        local = "local_key"
        twice = "first"
        twice = "first"
        changed = "one"
        changed = "two"
        computed = "x".upper()
        a = input_paths[DATA_KEY]
        b = input_paths[ANNOTATED_KEY]
        c = input_paths[local]
        d = input_paths[twice]
        e = input_paths[changed]
        f = input_paths[computed]
        g = input_paths[undefined_name]
        h = input_paths[f"{local}_2"]
        i = input_paths[0]
        j = output_paths[REDEFINED]
        k = output_paths[NOT_A_STRING]
        """,
        prelude="""
        DATA_KEY = "DATA"
        ANNOTATED_KEY: str = "ANNOTATED"
        REDEFINED = "r1"
        REDEFINED = "r2"
        NOT_A_STRING = 3
        """,
    )
    assert names(result.inputs) == {
        "DATA": True,
        "ANNOTATED": True,
        "local_key": True,
        "first": True,
    }
    assert result.outputs_guessed
    non_constant_lines = [n for n in result.notes if "non-constant key" in n]
    # changed, computed, undefined_name, the f-string and 0 (inputs); REDEFINED, NOT_A_STRING
    assert len(non_constant_lines) == 7
    assert all(n.startswith(("input_paths read", "output_paths read")) for n in non_constant_lines)
    assert any("at line 17 in main()" in n for n in non_constant_lines)


def test_aliases_inside_main(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        inputs = input_paths
        again = inputs
        copied = dict(input_paths)
        cloned: dict = output_paths.copy()
        a = again["via_alias"]
        b = copied.get("via_dict")
        c = cloned["via_copy"]
        inputs = something_else()
        """,
    )
    assert names(result.inputs) == {"via_alias": True, "via_dict": False}
    assert names(result.outputs) == {"via_copy": True}


def test_iterating_the_dict_is_noted(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        for name in input_paths:
            pass
        for k, v in output_paths.items():
            pass
        listed = [p for p in environ_vars]
        helper(**input_paths)
        keys = list(output_paths.keys())
        """,
    )
    assert result.inputs_guessed and result.outputs_guessed
    notes = "\n".join(result.notes)
    assert "input_paths read as a whole at line 2 in main()" in notes
    assert "output_paths read as a whole at line 4 in main()" in notes
    assert "environ_vars read as a whole at line 6 in main()" in notes
    assert "input_paths read as a whole at line 7 in main()" in notes
    assert "output_paths read as a whole at line 8 in main()" in notes
    assert "input names guessed: none found by static analysis" in result.notes
    assert "output names guessed: none found by static analysis" in result.notes


def test_guessed_defaults_when_nothing_is_found(tmp_path: Path) -> None:
    result = main_body(tmp_path, "pass\n")
    assert result.inputs == (NameUse("data_input", True, 0),)
    assert result.outputs == (NameUse("data_output", True, 0),)
    assert result.inputs_guessed and result.outputs_guessed
    assert result.notes == (
        "input names guessed: none found by static analysis",
        "output names guessed: none found by static analysis",
    )


# --------------------------------------------------------------------------------------------
# Following the dictionaries into helpers
# --------------------------------------------------------------------------------------------


def test_helpers_are_followed_positionally_by_keyword_and_two_levels_deep(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def read_config(paths):
            return paths.get("config")

        def load_data(paths, settings, /):
            read_config(paths)
            return paths["train"], settings.get("SEED", 42)

        def write(*, target, extra=None):
            return target["model"]

        def with_kwonly(a, *, args):
            return args.max_depth, getattr(args, "eta", 0.3)

        def main(input_paths, output_paths, environ_vars, job_args):
            load_data(input_paths, environ_vars)
            write(target=output_paths)
            with_kwonly(1, args=job_args)
        """,
    )
    assert names(result.inputs) == {"config": False, "train": True}
    assert names(result.outputs) == {"model": True}
    assert env(result)["SEED"] == EnvVarUse("SEED", True, False, "42", 6)
    assert result.job_args == ("max_depth", "eta")
    assert result.notes == (
        "input_paths passed to helpers load_data(), read_config(); keys read there were followed",
        "output_paths passed to helper write(); keys read there were followed",
        "environ_vars passed to helper load_data(); keys read there were followed",
        "job_args passed to helper with_kwonly(); attributes read there were followed",
    )


def test_cycle_between_helpers_terminates(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def ping(paths, n):
            if n:
                return pong(paths, n - 1)
            return paths["ping"]

        def pong(p, n):
            return ping(p, n) or p.get("pong")

        def recurse(paths):
            return recurse(paths) + paths["self"]

        def main(input_paths, output_paths, environ_vars, job_args):
            ping(input_paths, 3)
            recurse(input_paths)
        """,
    )
    assert names(result.inputs) == {"ping": True, "pong": False, "self": True}


def test_passes_that_cannot_be_followed_are_noted(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import json
        import logging
        import pandas as pd
        from mylib import loader
        from . import sibling

        class Reader:
            def __init__(self, paths):
                self.paths = paths

        def star(*args):
            return args

        def kw(**kwargs):
            return kwargs

        def main(input_paths, output_paths, environ_vars, job_args):
            star(input_paths)
            kw(paths=output_paths)
            Reader(input_paths)
            loader.read(input_paths)
            pd.DataFrame(environ_vars)
            sibling.go(job_args)
            json.dumps(input_paths)
            logging.info("%s", input_paths)
            print(input_paths)
            self_like = None
            (lambda p: p)(input_paths)
        """,
    )
    notes = "\n".join(result.notes)
    assert "input_paths passed to star() at line 18 in main() through *args/**kwargs" in notes
    assert "output_paths passed to kw() at line 19 in main() through *args/**kwargs" in notes
    assert "input_paths passed to Reader() (a class of this file) at line 20" in notes
    assert "input_paths passed to loader.read() (from module mylib) at line 21" in notes
    assert "environ_vars passed to pd.DataFrame() (from module pandas) at line 22" in notes
    assert "job_args passed to sibling.go() (from a relative import) at line 23" in notes
    for quiet in ("json.dumps", "logging.info", "print(", "lambda"):
        assert quiet not in notes


def test_method_calls_on_self_are_noted(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        class Job:
            def run(self, input_paths):
                return self.load(input_paths)

        if __name__ == "__main__":
            Job().run({})
        """,
    )
    assert any(
        n.startswith("input_paths passed to self.load() (a method) at line 3") for n in result.notes
    )


def test_unreached_helper_with_pipeline_parameter_names_is_included(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        def process(input_paths, output_paths, n=1):
            return input_paths["side"], output_paths["side_out"]

        def main(input_paths, output_paths, environ_vars, job_args):
            dispatch = {"p": process}
            return dispatch["p"](input_paths, output_paths)
        """,
    )
    assert names(result.inputs) == {"side": True}
    assert names(result.outputs) == {"side_out": True}
    assert (
        "process() takes input_paths, output_paths but is not called from main() with it; "
        "its reads were included"
    ) in result.notes


def test_cli_script_matches_literal_names_and_follows_calls(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import os

        def run(paths, outs, env, opts):
            return paths["features"], outs.get("report"), env["MODE"], opts.fold

        def direct(input_paths):
            return input_paths["direct"]

        if __name__ == "__main__":
            input_paths = {"features": "/in"}
            output_paths = {"report": "/out"}
            environ_vars = dict(os.environ)
            job_args = None
            print(input_paths["top_level"])
            run(input_paths, output_paths, environ_vars, job_args)
        """,
    )
    assert result.mode == "cli"
    assert names(result.inputs) == {"direct": True, "features": True, "top_level": True}
    assert names(result.outputs) == {"report": False}
    assert env(result)["MODE"].required
    assert result.job_args == ("fold",)


# --------------------------------------------------------------------------------------------
# Environment variables
# --------------------------------------------------------------------------------------------


def test_os_environ_forms(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import os
        import os as operating_system
        import os.path
        from os import environ
        from os import environ as ENV, getenv as fetch
        from os import getenv, path as os_path

        REGION_DEFAULT = "us-west-2"

        def configure():
            a = os.environ["SUBSCRIPT"]
            b = os.environ.get("GET_NO_DEFAULT")
            c = os.environ.get("GET_DEFAULT", "x")
            d = os.getenv("GETENV")
            e = os.getenv("GETENV_DEFAULT", "1")
            f = os.getenv("GETENV_KW", default="kw")
            g = environ["FROM_IMPORT"]
            h = environ.get("FROM_IMPORT_GET", "y")
            i = ENV["ALIASED"]
            j = fetch("FETCHED", REGION_DEFAULT)
            k = getenv("PLAIN_GETENV")
            l = operating_system.environ["OS_ALIAS"]
            if "GUARDED" in os.environ:
                m = os.environ["GUARDED"]
            os.environ["WRITTEN"] = "1"
            n = os.environ.setdefault("SET_DEFAULT", "4")
            name = compute()
            o = os.environ[name]
            p = other.environ["NOT_OS"]
            q = os.environ.copy()

        if __name__ == "__main__":
            configure()
        """,
    )
    found = env(result)
    assert set(found) == {
        "SUBSCRIPT",
        "GET_NO_DEFAULT",
        "GET_DEFAULT",
        "GETENV",
        "GETENV_DEFAULT",
        "GETENV_KW",
        "FROM_IMPORT",
        "FROM_IMPORT_GET",
        "ALIASED",
        "FETCHED",
        "PLAIN_GETENV",
        "OS_ALIAS",
        "GUARDED",
        "SET_DEFAULT",
    }
    assert found["SUBSCRIPT"] == EnvVarUse("SUBSCRIPT", False, True, None, 11)
    assert found["GET_NO_DEFAULT"] == EnvVarUse("GET_NO_DEFAULT", False, False, None, 12)
    assert found["GET_DEFAULT"] == EnvVarUse("GET_DEFAULT", True, False, "x", 13)
    assert found["GETENV"] == EnvVarUse("GETENV", False, False, None, 14)
    assert found["GETENV_DEFAULT"].default == "1"
    assert found["GETENV_KW"].default == "kw"
    assert found["FROM_IMPORT"].required
    assert found["FROM_IMPORT_GET"].default == "y"
    assert found["ALIASED"].required
    assert found["FETCHED"].default == "us-west-2"
    assert not found["PLAIN_GETENV"].required
    assert found["OS_ALIAS"].required
    assert not found["GUARDED"].required
    assert found["SET_DEFAULT"].default == "4"
    assert any(
        n.startswith("os.environ read with a non-constant key at line 28 in configure()")
        for n in result.notes
    )


def test_environ_and_getenv_need_the_os_import(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        from mymodule import environ, getenv

        if __name__ == "__main__":
            environ["A"]
            getenv("B")
            os.environ["C"]
        """,
    )
    assert result.environ_vars == ()


def test_literal_defaults_of_several_types(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        a = environ_vars.get("STR", "0.7")
        b = environ_vars.get("FLOAT", 0.7)
        c = environ_vars.get("INT", 3)
        d = environ_vars.get("NEG", -1)
        e = environ_vars.get("BOOL", True)
        f = environ_vars.get("NONE", None)
        g = environ_vars.get("LIST", ["a", 1])
        h = environ_vars.get("DICT", {"k": [1, 2]})
        i = environ_vars.get("TUPLE", (1, 2))
        j = environ_vars.get("SET", {1})
        k = environ_vars.get("CALL", compute())
        l = environ_vars.get("NAMED", DEFAULTS)
        m = environ_vars.get("UNKNOWN_NAME", not_defined)
        n = environ_vars.get("DICT_BAD_KEY", {(1, 2): 3})
        """,
        prelude="""
        DEFAULTS = ["x", "y"]
        """,
    )
    found = env(result)
    expected = {
        "STR": (True, "0.7"),
        "FLOAT": (True, "0.7"),
        "INT": (True, "3"),
        "NEG": (True, "-1"),
        "BOOL": (True, "True"),
        "NONE": (False, None),
        "LIST": (True, '["a", 1]'),
        "DICT": (True, '{"k": [1, 2]}'),
        "TUPLE": (True, "[1, 2]"),
        "SET": (True, "{1}"),
        "CALL": (True, None),
        "NAMED": (True, '["x", "y"]'),
        "UNKNOWN_NAME": (True, None),
        "DICT_BAD_KEY": (True, "{(1, 2): 3}"),
    }
    assert {k: (v.has_default, v.default) for k, v in found.items()} == expected
    assert not any(v.required for v in found.values())


def test_env_var_uses_merge_across_forms(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import os

        def main(input_paths, output_paths, environ_vars, job_args):
            a = environ_vars.get("LABEL_FIELD", compute())
            b = environ_vars.get("LABEL_FIELD", "label")
            c = environ_vars.get("RATIO")

        if __name__ == "__main__":
            main({}, {}, {"LABEL_FIELD": os.environ["LABEL_FIELD"],
                          "RATIO": os.environ.get("RATIO", "0.5")}, None)
        """,
    )
    assert env(result)["LABEL_FIELD"] == EnvVarUse("LABEL_FIELD", True, True, "label", 4)
    assert env(result)["RATIO"] == EnvVarUse("RATIO", True, False, "0.5", 6)


def test_environ_vars_guard_and_non_constant_key(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        if "OPTIONAL" in environ_vars:
            x = environ_vars["OPTIONAL"]
        for name in NAMES:
            y = environ_vars[name]
        """,
    )
    assert env(result)["OPTIONAL"] == EnvVarUse("OPTIONAL", False, False, None, 2)
    assert any(
        n.startswith("environ_vars read with a non-constant key at line 5 in main()")
        for n in result.notes
    )


# --------------------------------------------------------------------------------------------
# Job arguments
# --------------------------------------------------------------------------------------------


def test_job_args_attributes_and_getattr(tmp_path: Path) -> None:
    result = main_body(
        tmp_path,
        """
        kind = job_args.job_type
        depth = getattr(job_args, "max_depth", 6)
        seed = getattr(job_args, SEED_NAME)
        if hasattr(job_args, "calibrate"):
            pass
        again = job_args.job_type
        job_args.written = 1
        everything = job_args.__dict__
        everything = vars(job_args)
        private = job_args._private
        call = job_args.method()
        name = pick()
        dynamic = getattr(job_args, name)
        args = job_args
        aliased = args.aliased_attr
        """,
        prelude='SEED_NAME = "seed"\n',
    )
    assert result.job_args == ("job_type", "max_depth", "seed", "calibrate", "aliased_attr")
    notes = "\n".join(result.notes)
    assert "job_args read as a whole at line 10 in main()" in notes  # __dict__
    assert "job_args read as a whole at line 11 in main()" in notes  # vars()
    assert "job_args read with getattr and a non-constant name at line 15 in main()" in notes


# --------------------------------------------------------------------------------------------
# argparse
# --------------------------------------------------------------------------------------------


def test_cli_fixture_flags() -> None:
    result = analyze_script(FIXTURES / "cli_train.py")
    assert result.mode == "cli"
    assert not result.defines_main and result.has_main_block
    assert result.cli_flags == (
        CliFlag(
            "--data-dir", "data_dir", False, "/opt/ml/input/data", False, None, "training data"
        ),
        CliFlag("--model-dir", "model_out", True, None, False, None, None),
        CliFlag("--epochs", "epochs", False, "10", False, None, None),
        CliFlag("--verbose", "verbose", False, None, True, None, None),
        CliFlag("--no-shuffle", "shuffle", False, None, True, None, None),
        CliFlag(
            "--job-type", "job_type", False, "training", False, ("training", "calibration"), None
        ),
    )
    assert env(result)["AWS_REGION"].required
    assert result.inputs_guessed and result.outputs_guessed


def test_argparse_details(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import argparse
        from argparse import ArgumentParser, BooleanOptionalAction

        CHOICES = ["a", "b"]
        HELP = "shared help"
        SWITCH = "store_false"

        def build():
            parser = ArgumentParser()
            parser.add_argument("-q", "--quiet", action="store_true", help=HELP)
            parser.add_argument("-x")
            parser.add_argument("--cache", action=BooleanOptionalAction, default=True)
            parser.add_argument("--pick", choices=CHOICES, required=False)
            parser.add_argument("--level", choices={"low", "high"}, default=None)
            parser.add_argument("--dyn", choices=make(), default=make(), help=make())
            parser.add_argument("--flag-req", required=True, dest=DEST)
            parser.add_argument("--pick", default="duplicate")
            parser.add_argument("source_file")
            parser.add_argument(*make())
            parser.add_argument()
            parser.add_argument("")
            group = parser.add_mutually_exclusive_group()
            group.add_argument("--in-group", action="count")
            parser.add_argument("--legacy", action=argparse.BooleanOptionalAction)
            parser.add_argument("--off", action=SWITCH)
            return parser

        if __name__ == "__main__":
            build().parse_args()
        """,
    )
    found = flags(result)
    assert list(found) == [
        "--quiet",
        "-x",
        "--cache",
        "--pick",
        "--level",
        "--dyn",
        "--flag-req",
        "--in-group",
        "--legacy",
        "--off",
    ]
    assert found["--quiet"] == CliFlag("--quiet", "quiet", False, None, True, None, "shared help")
    assert found["-x"].dest == "x"
    assert found["--cache"].is_switch and found["--cache"].default == "True"
    assert found["--pick"].choices == ("a", "b") and found["--pick"].default is None
    assert found["--level"].choices == ("high", "low")
    assert found["--dyn"] == CliFlag("--dyn", "dyn", False, None, False, None, None)
    assert found["--flag-req"].required and found["--flag-req"].dest == "flag_req"
    assert not found["--in-group"].is_switch
    assert found["--legacy"].is_switch and found["--off"].is_switch
    assert (
        "positional argument 'source_file' at line 18 is not a --flag; not listed" in result.notes
    )


def test_add_argument_without_argparse_import_is_ignored(tmp_path: Path) -> None:
    result = analyze(
        tmp_path,
        """
        import click

        if __name__ == "__main__":
            thing.add_argument("--not-argparse")
        """,
    )
    assert result.cli_flags == ()


# --------------------------------------------------------------------------------------------
# Realistic scripts
# --------------------------------------------------------------------------------------------


def test_realistic_fixture_script() -> None:
    result = analyze_script(FIXTURES / "tabular_preprocessing.py")
    assert result.mode == "main"
    assert result.defines_main and result.has_main_block
    assert names(result.inputs) == {"SIGNATURE": False, "DATA": True}
    assert result.outputs == (NameUse("processed_data", True, 42),)
    assert env(result)["LABEL_FIELD"] == EnvVarUse("LABEL_FIELD", False, False, None, 36)
    assert env(result)["TRAIN_RATIO"] == EnvVarUse("TRAIN_RATIO", True, False, "0.7", 37)
    assert result.job_args == ("job_type",)
    assert [f.dest for f in result.cli_flags] == ["job_type"]
    assert result.cli_flags[0].choices == ("training", "validation", "testing", "calibration")
    assert result.notes == (
        "input_paths passed to helper _read_signature(); keys read there were followed",
    )


HELPER = '''
def load_part_{i}(paths, env, args, logger=None):
    """Load part {i} of the training data."""
    base = paths["input_{i}"]
    if "extra_{i}" in paths:
        extra = paths["extra_{i}"]
    else:
        extra = None
    ratio = float(env.get("RATIO_{i}", "0.{i}"))
    columns = env.get("COLUMNS_{i}", ["a", "b"])
    label = env["LABEL_{i}"]
    depth = args.depth_{i}
    frames = []
    for name in sorted(os.listdir(base)):
        if name.endswith(".csv"):
            frames.append(os.path.join(base, name))
    result = {{"base": base, "extra": extra, "ratio": ratio, "columns": columns}}
    if logger is not None:
        logger.info("loaded %s files for part {i}", len(frames))
    result["label"] = label
    result["depth"] = depth
    total = 0.0
    for j in range(10):
        total += j * ratio
    return result, total


def save_part_{i}(out, data):
    target = out.get("output_{i}", "/tmp/out")
    with open(os.path.join(target, "part_{i}.json"), "w") as handle:
        json.dump(data, handle)
    return target
'''


def realistic_script(parts: int) -> str:
    calls = "\n".join(
        f"    data_{i}, total_{i} = load_part_{i}(input_paths, environ_vars, job_args)\n"
        f"    save_part_{i}(output_paths, data_{i})"
        for i in range(parts)
    )
    return (
        "import argparse\nimport json\nimport os\n"
        + "".join(HELPER.format(i=i) for i in range(parts))
        + f"\n\ndef main(input_paths, output_paths, environ_vars, job_args):\n{calls}\n"
        + '\n\nif __name__ == "__main__":\n'
        + "    parser = argparse.ArgumentParser()\n"
        + '    parser.add_argument("--job_type", required=True)\n'
        + "    main({}, {}, {}, parser.parse_args())\n"
    )


def test_thousand_line_script_misses_nothing_and_is_fast(tmp_path: Path) -> None:
    text = realistic_script(30)
    assert text.count("\n") >= 1000
    path = tmp_path / "big.py"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = analyze_script(path)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert result.mode == "main"
    expected_inputs = {f"input_{i}": True for i in range(30)} | {
        f"extra_{i}": False for i in range(30)
    }
    assert names(result.inputs) == expected_inputs
    assert names(result.outputs) == {f"output_{i}": False for i in range(30)}
    found = env(result)
    assert len(found) == 90
    assert found["RATIO_7"].default == "0.7"
    assert found["COLUMNS_3"].default == '["a", "b"]'
    assert found["LABEL_29"].required
    assert result.job_args == tuple(f"depth_{i}" for i in range(30))
    assert [f.flag for f in result.cli_flags] == ["--job_type"]
    assert len(result.notes) == 4  # one "followed" note per dictionary


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


def rich_script(tmp_path: Path) -> Path:
    return script(
        tmp_path,
        """
        import argparse
        import os

        def main(input_paths, output_paths, environ_vars, job_args):
            a = input_paths["train"], input_paths.get("val")
            b = output_paths["model"]
            c = environ_vars.get("RATIO", 0.5), os.environ["REGION"]
            for k in input_paths:
                pass
            return job_args.job_type

        if __name__ == "__main__":
            p = argparse.ArgumentParser()
            p.add_argument("--job-type", choices=["a", "b"], help="kind", default="a")
            p.add_argument("--fast", action="store_true")
            main({}, {}, {}, p.parse_args())
        """,
    )


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json"))


def test_cache_round_trip_is_exact(tmp_path: Path) -> None:
    path = rich_script(tmp_path)
    cache = tmp_path / "cache"
    fresh = analyze_script(path)
    first = analyze_script(path, cache_dir=cache)
    assert first == fresh
    [entry] = cache_files(cache)
    assert json.loads(entry.read_text())["format"] == ANALYSIS_FORMAT
    second = analyze_script(path, cache_dir=cache)
    assert second == fresh
    assert isinstance(second.inputs, tuple) and isinstance(second.cli_flags[0].choices, tuple)
    assert list(cache.iterdir()) == [entry]  # no temporary files left behind


def test_cache_hit_is_read_and_keyed_by_content(tmp_path: Path) -> None:
    path = rich_script(tmp_path)
    cache = tmp_path / "cache"
    analyze_script(path, cache_dir=cache)
    [entry] = cache_files(cache)
    stored = json.loads(entry.read_text())
    stored["analysis"]["notes"] = ["from the cache"]
    entry.write_text(json.dumps(stored))
    assert analyze_script(path, cache_dir=cache).notes == ("from the cache",)
    # a change to the file is a miss: a new entry, the right answer
    path.write_text(path.read_text() + "\n# changed\n")
    assert analyze_script(path, cache_dir=cache) == analyze_script(path)
    assert len(cache_files(cache)) == 2


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"format": 0, "analysis": {}}',
        json.dumps({"format": ANALYSIS_FORMAT, "analysis": {"mode": "main"}}),
        json.dumps({"format": ANALYSIS_FORMAT, "analysis": []}),
    ],
)
def test_corrupt_cache_entry_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    path = rich_script(tmp_path)
    cache = tmp_path / "cache"
    expected = analyze_script(path, cache_dir=cache)
    [entry] = cache_files(cache)
    entry.write_text(content)
    assert analyze_script(path, cache_dir=cache) == expected
    assert json.loads(entry.read_text())["analysis"]["mode"] == "main"


BAD_ENV = {"name": "A", "has_default": True, "required": False, "default": 1, "line": 1}
BAD_FLAG = {
    "flag": "--a",
    "dest": "a",
    "required": False,
    "default": None,
    "is_switch": False,
    "choices": "ab",
    "help": None,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mode", "server"),
        ("inputs", "train"),
        ("inputs", [{"name": 1, "required": True, "line": 1}]),
        ("inputs", [{"name": "a", "required": "yes", "line": 1}]),
        ("inputs", [{"name": "a", "required": True, "line": True}]),
        ("environ_vars", [BAD_ENV]),
        ("cli_flags", [BAD_FLAG]),
    ],
)
def test_cache_entry_with_wrong_types_is_ignored(tmp_path: Path, field: str, value: object) -> None:
    path = rich_script(tmp_path)
    cache = tmp_path / "cache"
    expected = analyze_script(path, cache_dir=cache)
    [entry] = cache_files(cache)
    stored = json.loads(entry.read_text())
    stored["analysis"][field] = value
    entry.write_text(json.dumps(stored))
    assert analyze_script(path, cache_dir=cache) == expected


def test_unwritable_cache_is_harmless(tmp_path: Path) -> None:
    path = rich_script(tmp_path)
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache folder should be")
    assert analyze_script(path, cache_dir=not_a_dir) == analyze_script(path)
    assert not_a_dir.read_text() == "a file where the cache folder should be"


def test_problems_are_cached_too_but_missing_files_are_not(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    cache = tmp_path / "cache"
    first = analyze_script(bad, cache_dir=cache)
    assert first.problems[0].startswith("syntax error at line 1")
    assert analyze_script(bad, cache_dir=cache) == first
    assert len(cache_files(cache)) == 1
    assert analyze_script(tmp_path / "missing.py", cache_dir=cache).problems
    assert len(cache_files(cache)) == 1


def test_analysis_is_plain_data_and_frozen() -> None:
    result = analyze_source('if __name__ == "__main__":\n    pass\n')
    with pytest.raises(AttributeError):
        result.mode = "main"  # type: ignore[misc]
    assert result.mode == "cli"


def test_analyze_many_in_worker_processes_matches_one_by_one(tmp_path: Path) -> None:
    from rtf.analysis import PARALLEL_MIN_FILES, analyze_many

    paths = []
    for i in range(PARALLEL_MIN_FILES + 6):
        path = tmp_path / f"s{i}.py"
        path.write_text(
            "import os\n"
            "def main(input_paths, output_paths, environ_vars, job_args):\n"
            f"    x = input_paths['IN_{i}']\n"
            f"    os.environ.get('E_{i}', '{i}')\n"
            "    return output_paths['out']\n"
        )
        paths.append(path)
    paths.append(paths[0])  # a duplicate is analysed once
    cache = tmp_path / "cache"
    pooled = analyze_many(paths, cache, workers=2)
    alone = {p: analyze_script(p) for p in paths}
    assert pooled == alone
    assert pooled[paths[3]].inputs[0].name == "IN_3"
    # the workers filled the cache, and a second pass reads it back identically
    assert len(list(cache.glob("*.json"))) == len(paths) - 1
    assert analyze_many(paths, cache, workers=1) == alone
