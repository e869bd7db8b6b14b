"""Data safety (SPEC 7): marked output folders, outputs away from inputs, input snapshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rtf.checks import (
    MARKER_NAME,
    OutputFolderError,
    OutputStats,
    changed_inputs,
    check_output_dirs,
    check_output_safety,
    measure_output,
    prepare_output_dirs,
    snapshot_inputs,
)
from rtf.errors import ExitCode, InputError


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``root`` with the given files (relative path -> text)."""
    root.mkdir(parents=True, exist_ok=True)
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# --- prepare_output_dirs --------------------------------------------------------------------


def test_missing_folder_is_created_with_parents_and_marker(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "r1" / "model"
    prepare_output_dirs([out])
    assert listing(out) == [MARKER_NAME]
    assert "rtf" in (out / MARKER_NAME).read_text()


def test_marked_folder_is_emptied_but_keeps_its_marker(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "out", {MARKER_NAME: "mine", "a.csv": "1", "sub/b.csv": "2"})
    prepare_output_dirs([out])
    assert listing(out) == [MARKER_NAME]
    assert (out / MARKER_NAME).read_text() == "mine"


def test_emptying_removes_links_without_following_them(tmp_path: Path) -> None:
    precious = make_tree(tmp_path / "precious", {"keep.txt": "data"})
    out = make_tree(tmp_path / "out", {MARKER_NAME: ""})
    (out / "dir_link").symlink_to(precious, target_is_directory=True)
    (out / "file_link").symlink_to(precious / "keep.txt")
    prepare_output_dirs([out])
    assert listing(out) == [MARKER_NAME]
    assert (precious / "keep.txt").read_text() == "data"


def test_empty_unmarked_folder_gets_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    prepare_output_dirs([out])
    assert listing(out) == [MARKER_NAME]


def test_non_empty_unmarked_folder_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    missing = tmp_path / "new_out"
    marked = make_tree(tmp_path / "marked", {MARKER_NAME: "", "old.csv": "1"})
    foreign = make_tree(tmp_path / "foreign", {"results.csv": "precious"})
    with pytest.raises(OutputFolderError) as caught:
        prepare_output_dirs([missing, marked, foreign])
    error = caught.value
    assert isinstance(error, InputError)
    assert error.exit_code == ExitCode.INVALID_INPUT
    assert str(error) == (
        f"{foreign}: output folder is not empty and was not created by rtf "
        f"(no {MARKER_NAME} marker); empty it or choose another output path"
    )
    # Checked first, changed nothing: no folder made, no file removed.
    assert not missing.exists()
    assert listing(marked) == [MARKER_NAME, "old.csv"]
    assert listing(foreign) == ["results.csv"]


def test_check_output_dirs_refuses_like_prepare_but_touches_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "new_out"
    marked = make_tree(tmp_path / "marked", {MARKER_NAME: "", "old.csv": "1"})
    check_output_dirs([missing, marked])
    assert not missing.exists()
    assert listing(marked) == [MARKER_NAME, "old.csv"]
    foreign = make_tree(tmp_path / "foreign", {"results.csv": "precious"})
    with pytest.raises(OutputFolderError, match="not created by rtf"):
        check_output_dirs([missing, foreign])
    assert listing(foreign) == ["results.csv"]


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "model.tar.gz"
    blocker.write_text("a file")
    with pytest.raises(InputError, match="is an existing file, not a folder"):
        prepare_output_dirs([blocker])
    assert blocker.read_text() == "a file"


def test_a_broken_link_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputFolderError, match="broken symbolic link"):
        prepare_output_dirs([link])


def test_nested_outputs_are_prepared_outer_first(tmp_path: Path) -> None:
    outer = make_tree(tmp_path / "out", {MARKER_NAME: "", "stale.txt": "x"})
    inner = outer / "metrics"
    prepare_output_dirs([inner, outer, inner])
    assert listing(outer) == [MARKER_NAME, "metrics", f"metrics/{MARKER_NAME}"]


def test_a_file_in_the_way_of_the_parents_is_refused_before_any_change(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    first = tmp_path / "fine"
    with pytest.raises(OutputFolderError, match=f"{blocker} is a file, not a folder"):
        prepare_output_dirs([first, blocker / "deep" / "out"])
    assert not first.exists()


def test_a_folder_named_like_the_marker_is_no_marker(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "out", {f"{MARKER_NAME}/inside.txt": "x"})
    with pytest.raises(OutputFolderError, match="not created by rtf"):
        prepare_output_dirs([out])
    assert listing(out) == [MARKER_NAME, f"{MARKER_NAME}/inside.txt"]


def test_a_failure_while_emptying_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = make_tree(tmp_path / "out", {MARKER_NAME: "", "sub/old.csv": "1"})

    def refuse(path: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(shutil, "rmtree", refuse)  # as when a file inside is locked
    with pytest.raises(OutputFolderError) as caught:
        prepare_output_dirs([out])
    assert str(caught.value) == f"{out}: cannot prepare the output folder: Permission denied"


# --- check_output_safety --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "relation"),
    [
        ("data", "is the same path as"),
        ("data/processed", "is inside"),
        (".", "contains"),
    ],
)
def test_output_touching_an_input_is_refused(tmp_path: Path, output: str, relation: str) -> None:
    data = tmp_path / "data"
    out = tmp_path / output
    with pytest.raises(InputError) as caught:
        check_output_safety({"processed": out}, {"raw": data}, "spec.yaml:steps.prep")
    message = str(caught.value)
    assert message.startswith("spec.yaml:steps.prep: output 'processed'")
    assert f"{relation} input 'raw'" in message
    assert "rtf never writes under an input path" in message


def test_output_inside_an_input_through_a_link_is_refused(tmp_path: Path) -> None:
    data = make_tree(tmp_path / "data", {"x.csv": "1"})
    (tmp_path / "alias").symlink_to(data, target_is_directory=True)
    with pytest.raises(InputError, match="is inside input 'raw'"):
        check_output_safety({"o": tmp_path / "alias" / "out"}, {"raw": data}, "here")


def test_separate_outputs_and_inputs_pass(tmp_path: Path) -> None:
    check_output_safety(
        {"model": tmp_path / "out" / "model", "metrics": tmp_path / "data2"},
        {"raw": tmp_path / "data", "config": tmp_path / "config.json"},
        "spec.yaml:steps.train",
    )
    # A sibling whose name merely starts like the input is not inside it.
    check_output_safety({"o": tmp_path / "data2"}, {"i": tmp_path / "data"}, "here")


# --- measure_output -------------------------------------------------------------------------


def test_measure_counts_files_in_sub_folders_without_the_marker(tmp_path: Path) -> None:
    out = make_tree(
        tmp_path / "out",
        {MARKER_NAME: "marker text", "a.csv": "12345", "part/b.csv": "123", "part/c/d.bin": ""},
    )
    assert measure_output(out) == OutputStats(path=str(out), files=3, bytes=8, nonempty=True)


def test_measure_only_empty_files_is_not_nonempty(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "out", {MARKER_NAME: "marker text", "empty.csv": ""})
    stats = measure_output(out)
    assert (stats.files, stats.bytes, stats.nonempty) == (1, 0, False)


def test_measure_missing_folder_and_marker_only(tmp_path: Path) -> None:
    assert measure_output(tmp_path / "never") == OutputStats(
        path=str(tmp_path / "never"), files=0, bytes=0, nonempty=False
    )
    out = tmp_path / "fresh"
    prepare_output_dirs([out])
    assert measure_output(out).files == 0


def test_measure_does_not_follow_folder_links(tmp_path: Path) -> None:
    big = make_tree(tmp_path / "elsewhere", {"huge.bin": "x" * 100})
    out = make_tree(tmp_path / "out", {"small.txt": "ab"})
    (out / "link").symlink_to(big, target_is_directory=True)
    assert measure_output(out) == OutputStats(path=str(out), files=1, bytes=2, nonempty=True)


# --- snapshot_inputs / changed_inputs -------------------------------------------------------


def test_snapshot_sees_modified_added_and_deleted_files(tmp_path: Path) -> None:
    folders = {
        name: make_tree(tmp_path / name, {"a.csv": "1", "sub/b.csv": "2"})
        for name in ("modified", "added", "deleted", "untouched")
    }
    before = snapshot_inputs(folders)
    assert set(before["untouched"]) == {"a.csv", "sub/b.csv"}
    (folders["modified"] / "sub" / "b.csv").write_text("2 but longer")
    (folders["added"] / "sub" / "new.csv").write_text("")
    (folders["deleted"] / "a.csv").unlink()
    after = snapshot_inputs(folders)
    assert changed_inputs(before, after) == ["modified", "added", "deleted"]


def test_snapshot_sees_a_same_size_rewrite_by_its_time(tmp_path: Path) -> None:
    data = make_tree(tmp_path / "data", {"a.csv": "1"})
    before = snapshot_inputs({"raw": data})
    os.utime(data / "a.csv", ns=(0, before["raw"]["a.csv"][1] + 1_000_000))
    assert changed_inputs(before, snapshot_inputs({"raw": data})) == ["raw"]


def test_snapshot_of_a_file_input_and_a_missing_input(tmp_path: Path) -> None:
    config = tmp_path / "hyperparameters.json"
    config.write_text("{}")
    later = tmp_path / "appears_later"
    before = snapshot_inputs({"config": config, "later": later})
    assert before["config"] == {
        "hyperparameters.json": (2, config.stat().st_mtime_ns),
    }
    assert before["later"] == {}
    assert changed_inputs(before, snapshot_inputs({"config": config, "later": later})) == []
    config.write_text('{"eta": 0.1}')
    later.mkdir()
    (later / "x").write_text("x")
    after = snapshot_inputs({"config": config, "later": later})
    assert changed_inputs(before, after) == ["config", "later"]


def test_snapshot_records_folder_links_without_entering_them(tmp_path: Path) -> None:
    shared = make_tree(tmp_path / "shared", {"s.csv": "1"})
    data = make_tree(tmp_path / "data", {"a.csv": "1"})
    (data / "linked").symlink_to(shared, target_is_directory=True)
    snap = snapshot_inputs({"raw": data})["raw"]
    assert set(snap) == {"a.csv", "linked"}


def test_changed_inputs_with_different_names() -> None:
    before = {"a": {"x": (1, 1)}, "gone": {}}
    after = {"a": {"x": (1, 1)}, "new": {"y": (1, 2)}}
    assert changed_inputs(before, after) == ["new"]
