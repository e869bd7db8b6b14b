"""Data safety around a step (SPEC 7): rtf's own output folders, and inputs left untouched.

- Output folders rtf creates carry a marker file; before a run only marked folders are
  emptied, and a non-empty folder without the marker stops the run.
- No output may be, contain, or sit inside an input path.
- Inputs are snapshotted (size and modification time of every file) before a step, so a
  script that changed them can be reported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rtf.errors import InputError

MARKER_NAME = ".rtf-output"
MARKER_TEXT = (
    "This folder was created by rtf (Runtime Testing Factory) as a step's output.\n"
    "rtf empties it before each run; remove this file to keep rtf away from it.\n"
)

Snapshot = dict[str, tuple[int, int]]
"""relative path (with ``/``) -> (size in bytes, modification time in ns)."""


class OutputFolderError(InputError):
    """An output folder rtf may not use: it holds files rtf did not put there."""


def _not_ours(path: Path) -> OutputFolderError:
    return OutputFolderError(
        f"{path}: output folder is not empty and was not created by rtf "
        f"(no {MARKER_NAME} marker); empty it or choose another output path"
    )


def _plan(path: Path) -> str:
    """What preparing ``path`` takes: ``create``, ``clean`` or ``mark``; raises if unsafe."""
    if path.is_symlink() and not path.exists():
        raise OutputFolderError(
            f"{path}: output path is a broken symbolic link; remove it or choose another path"
        )
    if not path.exists():
        ancestor = path.absolute().parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputFolderError(
                f"{path}: cannot create the output folder: {ancestor} is a file, not a folder"
            )
        return "create"
    if not path.is_dir():
        raise OutputFolderError(
            f"{path}: output path is an existing file, not a folder; "
            "move it away or choose another output path"
        )
    if (path / MARKER_NAME).is_file():
        return "clean"
    try:
        empty = next(path.iterdir(), None) is None
    except OSError as exc:
        raise OutputFolderError(f"{path}: cannot read the output folder: {exc.strerror}") from exc
    if not empty:
        raise _not_ours(path)
    return "mark"


def _write_marker(path: Path) -> None:
    (path / MARKER_NAME).write_text(MARKER_TEXT, encoding="utf-8")


def _empty(path: Path) -> None:
    """Delete everything in ``path`` but the marker; links are removed, never followed."""
    for entry in path.iterdir():
        if entry.name == MARKER_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def check_output_dirs(paths: Iterable[Path]) -> None:
    """Raise :class:`OutputFolderError` where :func:`prepare_output_dirs` would; touch nothing.

    For ``--dry-run`` and for checks made before a run decides to start.
    """
    for path in dict.fromkeys(Path(p) for p in paths):
        _plan(path)


def prepare_output_dirs(paths: Iterable[Path]) -> None:
    """Make every output folder ready and empty, or change nothing and raise.

    A missing folder is created with the marker; a marked one is emptied (the marker stays);
    an empty unmarked one gets the marker. A non-empty unmarked folder or an existing file
    raises :class:`OutputFolderError` before anything is touched.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    # Outer folders first, so emptying one never removes an inner one already prepared.
    unique.sort(key=lambda p: len(p.absolute().parts))
    plans = [(path, _plan(path)) for path in unique]
    for path, plan in plans:
        try:
            if plan == "create":
                path.mkdir(parents=True, exist_ok=True)
                _write_marker(path)
            elif plan == "clean":
                _empty(path)
                if not (path / MARKER_NAME).is_file():
                    _write_marker(path)
            else:
                _write_marker(path)
        except OSError as exc:
            raise OutputFolderError(
                f"{path}: cannot prepare the output folder: {exc.strerror or exc}"
            ) from exc


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def check_output_safety(
    outputs: Mapping[str, Path], inputs: Mapping[str, Path], where: str
) -> None:
    """Raise :class:`InputError` when an output is, contains, or is inside an input path."""
    for out_name, out_path in outputs.items():
        out_real = _resolved(Path(out_path))
        for in_name, in_path in inputs.items():
            in_real = _resolved(Path(in_path))
            if out_real == in_real:
                relation = "is the same path as"
            elif out_real.is_relative_to(in_real):
                relation = "is inside"
            elif in_real.is_relative_to(out_real):
                relation = "contains"
            else:
                continue
            raise InputError(
                f"{where}: output '{out_name}' ({out_path}) {relation} input '{in_name}' "
                f"({in_path}); rtf never writes under an input path",
                hint="give the output a folder of its own, outside every input",
            )


@dataclass(frozen=True)
class OutputStats:
    """What a step left in one output: files (in sub-folders too) and bytes, marker excluded."""

    path: str
    files: int
    bytes: int
    nonempty: bool


def _file_stats(root: Path, dir_links: bool) -> Iterable[tuple[str, os.stat_result]]:
    """(relative path, stat) of every file under ``root`` (or of ``root``, if it is a file).

    Links to folders are not followed; with ``dir_links`` they are listed as entries of their
    own, so replacing one shows in a snapshot. A file whose target is gone is stat'ed itself.
    """
    if root.is_file():
        with contextlib.suppress(OSError):
            yield root.name, root.stat()
        return
    for folder, dirnames, filenames in os.walk(root):
        base = Path(folder)
        names = list(filenames)
        if dir_links:
            names.extend(name for name in dirnames if (base / name).is_symlink())
        for name in names:
            path = base / name
            try:
                stat = path.stat()
            except OSError:
                try:
                    stat = path.lstat()
                except OSError:
                    continue
            yield path.relative_to(root).as_posix(), stat


def measure_output(path: Path) -> OutputStats:
    """Count the files and bytes in an output folder; a missing folder has none."""
    files = 0
    size = 0
    nonempty = False
    for relpath, stat in _file_stats(Path(path), dir_links=False):
        if relpath.rsplit("/", 1)[-1] == MARKER_NAME:
            continue
        files += 1
        size += stat.st_size
        nonempty = nonempty or stat.st_size > 0
    return OutputStats(path=str(path), files=files, bytes=size, nonempty=nonempty)


def holds_data(path: Path) -> bool:
    """True when ``path`` is a non-empty file, or a folder holding one at any depth.

    Stops at the first non-empty file, so a large input folder costs little.
    """
    if path.is_file():
        return path.stat().st_size > 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                if (Path(dirpath) / name).stat().st_size > 0:
                    return True
            except OSError:
                continue
    return False


def snapshot_inputs(paths: Mapping[str, Path]) -> dict[str, Snapshot]:
    """Size and modification time of every file under each input (a file or a folder)."""
    return {
        name: {
            rel: (stat.st_size, stat.st_mtime_ns)
            for rel, stat in _file_stats(Path(path), dir_links=True)
        }
        for name, path in paths.items()
    }


def changed_inputs(before: Mapping[str, Snapshot], after: Mapping[str, Snapshot]) -> list[str]:
    """Names of the inputs whose files were added, removed or changed between two snapshots."""
    names = list(dict.fromkeys([*before, *after]))
    return [name for name in names if before.get(name, {}) != after.get(name, {})]
