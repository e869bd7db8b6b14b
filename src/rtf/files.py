"""Reading and writing the files rtf works with, with errors that name the file and place.

Only the standard library and PyYAML's safe loader; every failure is an :class:`InputError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rtf.errors import InputError

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


def read_text(path: Path, what: str = "file") -> str:
    """Read a UTF-8 text file; a missing file, a folder or undecodable bytes raise InputError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError.at(path, None, f"{what} not found") from None
    except IsADirectoryError:
        raise InputError.at(path, None, f"expected a {what}, found a folder") from None
    except PermissionError:
        raise InputError.at(path, None, f"cannot read {what}: permission denied") from None
    except OSError as exc:
        raise InputError.at(path, None, f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError.at(
            path,
            f"{line}:{column}",
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint="save the file as UTF-8",
        ) from None


def parse_json(text: str, path: Path) -> Any:
    """Parse JSON text; a syntax error names ``file:line:column``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.at(path, f"{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError.at(path, None, "invalid JSON: nested too deeply") from None


_LOADER: Any = None


def _safe_loader() -> Any:
    """PyYAML's safe loader, made strict about a key given twice in one mapping.

    Built on first use so that importing this module does not import PyYAML.
    """
    global _LOADER
    if _LOADER is None:
        import yaml

        merge_tag = "tag:yaml.org,2002:merge"

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it

        class StrictSafeLoader(base):  # type: ignore[misc,valid-type]
            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                if isinstance(node, yaml.MappingNode):
                    seen: dict[Any, int] = {}
                    for key_node, _ in node.value:
                        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == merge_tag:
                            continue
                        key = self.construct_object(key_node)
                        line = key_node.start_mark.line + 1
                        if key in seen:
                            raise yaml.constructor.ConstructorError(
                                "while constructing a mapping",
                                node.start_mark,
                                f"duplicate key {key!r} (first at line {seen[key]})",
                                key_node.start_mark,
                            )
                        seen[key] = line
                return super().construct_mapping(node, deep=deep)

        _LOADER = StrictSafeLoader
    return _LOADER


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML with a safe loader; errors, Python-object tags and duplicate keys name
    ``file:line:column``. Nothing in the text is ever executed or imported."""
    import yaml

    try:
        return yaml.load(text, Loader=_safe_loader())  # a SafeLoader subclass: plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.problem.startswith("but "):
            problem = f"{exc.context}, {exc.problem}"  # "expected X, but found Y"
        problem = " ".join(problem.split())
        if "could not determine a constructor" in problem:
            problem = (
                "YAML tag not allowed (rtf reads plain data only): "
                + problem.split("for the tag")[-1].strip()
            )
        raise InputError.at(path, place, f"invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character, e.g. a NUL byte
        at = exc.position
        place = f"{text.count(chr(10), 0, at) + 1}:{at - (text.rfind(chr(10), 0, at) + 1) + 1}"
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        raise InputError.at(
            path, place, f"invalid YAML: character #x{char:04x} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError.at(path, None, f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError.at(path, None, "invalid YAML: nested too deeply") from None


def load_data_file(path: Path, what: str = "file") -> Any:
    """Read a YAML or JSON file by its suffix (JSON first, then YAML, for other suffixes)."""
    text = read_text(path, what)
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return parse_json(text, path)
    if suffix in YAML_SUFFIXES:
        return parse_yaml(text, path)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return parse_yaml(text, path)


def place_of(parts: Sequence[str | int]) -> str:
    """Format a place inside a document: ``edges[3].from``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
