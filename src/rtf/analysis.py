"""Static analysis of one pipeline script (SPEC 2.4).

The script is parsed with :mod:`ast`, never imported or executed. From the tree we learn, on a
best-effort basis, how the script is entered (``main`` or ``cli``), which keys it reads from
``input_paths``, ``output_paths`` and ``environ_vars`` (and from ``os.environ``), which attributes
it reads from ``job_args``, and which ``--flags`` its argparse parser declares.

The work is one parse and one traversal of the tree. The traversal records raw facts per
top-level function ("buckets"); the dictionaries are then followed through those facts by
name: from ``main``'s parameters (``main`` mode) or from the literal variable names (``cli``
mode), into helpers of the same file that receive them as arguments. A helper whose facts
cannot matter is not traversed at all (see :class:`_Analyzer`): parsing stays the main cost.

Only the standard library is imported here so that loading this module stays cheap.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import gc
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

__all__ = [
    "ANALYSIS_FORMAT",
    "GUESSED_INPUT",
    "GUESSED_OUTPUT",
    "NO_ENTRY_PROBLEM",
    "PIPELINE_PARAMS",
    "CliFlag",
    "EnvVarUse",
    "NameUse",
    "ScriptAnalysis",
    "analyze_script",
    "analyze_source",
]

#: Version of the analysis result format; part of every cache key. Bump it whenever the
#: analysis would give a different answer for the same file.
ANALYSIS_FORMAT = 1

INPUTS = "input_paths"
OUTPUTS = "output_paths"
ENVIRON = "environ_vars"
JOB_ARGS = "job_args"
#: The pipeline ``main`` signature, in order.
PIPELINE_PARAMS = (INPUTS, OUTPUTS, ENVIRON, JOB_ARGS)

GUESSED_INPUT = "data_input"
GUESSED_OUTPUT = "data_output"
NO_ENTRY_PROBLEM = (
    "no entry point: defines no main(input_paths, output_paths, environ_vars, job_args) "
    "and no __main__ block"
)


@dataclass(frozen=True)
class NameUse:
    """A key read from ``input_paths`` or ``output_paths``."""

    name: str
    required: bool
    line: int


@dataclass(frozen=True)
class EnvVarUse:
    """An environment variable read from ``environ_vars`` or ``os.environ``."""

    name: str
    has_default: bool
    required: bool
    default: str | None
    line: int


@dataclass(frozen=True)
class CliFlag:
    """An argparse option the script declares."""

    flag: str
    dest: str
    required: bool
    default: str | None
    is_switch: bool
    choices: tuple[str, ...] | None
    help: str | None


@dataclass(frozen=True)
class ScriptAnalysis:
    """What static analysis learnt about one script."""

    mode: Literal["main", "cli"] | None
    inputs: tuple[NameUse, ...]
    outputs: tuple[NameUse, ...]
    environ_vars: tuple[EnvVarUse, ...]
    job_args: tuple[str, ...]
    cli_flags: tuple[CliFlag, ...]
    inputs_guessed: bool
    outputs_guessed: bool
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    defines_main: bool
    has_main_block: bool


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def analyze_source(source: str, filename: str = "<script>") -> ScriptAnalysis:
    """Analyse the text of a script. Never raises for any content of ``source``."""
    with _cyclic_gc_paused():
        return _parse_and_analyze(source, filename)


def _parse_and_analyze(source: str, filename: str) -> ScriptAnalysis:
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return _failed(f"syntax error{where}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return _failed(f"cannot parse the script: {exc or 'it is nested too deeply'}")
    return _Analyzer(tree, source).run()


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while one tree is built, read and freed.

    A syntax tree holds no reference cycles, but its thousands of new objects trigger
    collection after collection that find nothing. The collector is resumed only once the
    tree is gone (freed by reference counting as :func:`_parse_and_analyze` returns), so
    that it does not go through the whole tree at the first allocation either.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze_script(path: Path, cache_dir: Path | None = None) -> ScriptAnalysis:
    """Analyse the script at ``path``.

    A file that cannot be read or decoded gives a result whose ``problems`` say why; nothing
    about the file raises. With ``cache_dir``, results are kept there as JSON keyed by the
    file's content (and :data:`ANALYSIS_FORMAT`); a bad cache entry is ignored and a failed
    cache write is harmless.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return _failed(f"cannot read {path}: {exc.strerror or exc}")
    entry: Path | None = None
    if cache_dir is not None:
        digest = hashlib.sha256(f"rtf-analysis-{ANALYSIS_FORMAT}\0".encode() + data).hexdigest()
        entry = Path(cache_dir) / f"{digest}.json"
        cached = _load_cached(entry)
        if cached is not None:
            return cached
    try:
        result = analyze_source(_decode(data), str(path))
    except _DecodeError as exc:
        result = _failed(str(exc))
    if entry is not None:
        _store_cached(entry, result)
    return result


#: Below this many files, a pool of worker processes costs more than it saves.
PARALLEL_MIN_FILES = 24


def analyze_many(
    paths: Iterable[Path], cache_dir: Path | None = None, *, workers: int | None = None
) -> dict[Path, ScriptAnalysis]:
    """Analyse many scripts, on every CPU when there are enough of them to be worth it.

    Same results as :func:`analyze_script` per file. Parsing is CPU-bound, so a large pipeline
    is spread over worker processes (forked, so they start at once); in a process that runs
    other threads, or where forking fails, the files are analysed here, one after another.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    count = workers if workers is not None else (os.cpu_count() or 1)
    results: dict[Path, ScriptAnalysis] = {}
    if count > 1 and len(unique) >= PARALLEL_MIN_FILES:
        import multiprocessing
        import threading

        if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
            from concurrent.futures import ProcessPoolExecutor

            size = min(count, 8)
            chunk = max(1, len(unique) // (size * 4))
            try:
                with ProcessPoolExecutor(
                    size, mp_context=multiprocessing.get_context("fork")
                ) as pool:
                    done = pool.map(
                        analyze_script, unique, [cache_dir] * len(unique), chunksize=chunk
                    )
                    results = dict(zip(unique, done, strict=True))
            except (OSError, RuntimeError):  # no processes to be had: do it here
                results = {}
    for path in unique:
        if path not in results:
            results[path] = analyze_script(path, cache_dir)
    return results


# --------------------------------------------------------------------------------------------
# Decoding and failures
# --------------------------------------------------------------------------------------------


def _failed(problem: str) -> ScriptAnalysis:
    return ScriptAnalysis(
        mode=None,
        inputs=(),
        outputs=(),
        environ_vars=(),
        job_args=(),
        cli_flags=(),
        inputs_guessed=False,
        outputs_guessed=False,
        problems=(problem,),
        notes=(),
        defines_main=False,
        has_main_block=False,
    )


class _DecodeError(Exception):
    """The script's bytes are not text in the encoding they declare."""


def _decode(data: bytes) -> str:
    """Decode source bytes the way Python would (BOM, coding cookie, else UTF-8)."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise _DecodeError(f"cannot decode the script: {exc.msg}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"cannot decode the script as {encoding} at line {line}: {exc.reason}"
        raise _DecodeError(message) from None
    except LookupError:
        raise _DecodeError(f"cannot decode the script: unknown encoding {encoding!r}") from None


# --------------------------------------------------------------------------------------------
# Raw facts gathered by the traversal
# --------------------------------------------------------------------------------------------

_REQUIRED = "sub"  # x["K"], x.pop("K")
_OPTIONAL = "opt"  # x.get("K"[, d]), x.setdefault("K", d), x.pop("K", d)
_GUARD = "in"  # "K" in x  (the key may be absent: optional)
_CHECK = "check"  # if "K" not in x: raise / assert "K" in x  (a required check)


class _KeyUse(NamedTuple):
    kind: str
    key: ast.expr
    default: ast.expr | None
    line: int


class _Pass(NamedTuple):
    call: int  # id() of the Call node, to group the arguments of one call
    func: ast.expr
    position: int | None
    keyword: str | None
    line: int


class _Bucket:
    """Raw facts about one top-level function, or about the module-level code."""

    def __init__(self, func: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        self.func = func
        self.where = f" in {func.name}()" if func is not None else ""
        self.keys: dict[str, list[_KeyUse]] = {}  # dotted base -> key reads
        self.iters: dict[str, list[int]] = {}  # name -> lines where read as a whole
        self.attrs: dict[str, list[tuple[str | ast.expr, int]]] = {}  # name -> attribute reads
        self.aliases: list[tuple[str, str]] = []  # (new name, existing name)
        self.passes: dict[str, list[_Pass]] = {}  # name -> calls it is an argument of
        self.consts: dict[str, ast.expr | None] = {}  # name -> literal value (None: not one)
        self.add_arguments: list[ast.Call] = []


def _dotted(node: ast.expr) -> str | None:
    """``x`` -> "x", ``a.b`` -> "a.b" (one level), anything else -> None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


_LITERAL_NODES = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.UnaryOp)

# Fields never worth visiting: expression contexts and comments.
_SKIP_FIELDS = frozenset({"ctx", "type_comment", "type_ignores"})
# Leaves: nodes whose fields hold no nodes and that no handler wants (names, literals, imported
# names). They are never put on the traversal stack: about half of all nodes are leaves.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.alias})
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    fields = _FIELDS.get(kind)
    if fields is None:
        # reversed, so that the stack pops children in source order
        fields = tuple(f for f in reversed(kind._fields) if f not in _SKIP_FIELDS)
        _FIELDS[kind] = fields
    return fields


class _Collector:
    """One traversal of the tree, filing raw facts into buckets."""

    def __init__(self, getenv_names: set[str]) -> None:
        self.getenv_names = getenv_names  # plain names that call os.getenv
        self.os_names: set[str] = set()
        self.environ_names: set[str] = set()
        self.imported: dict[str, str] = {}  # bound name -> top-level module ("" = relative)
        self.imports_argparse = False
        self._raise_checks: set[int] = set()
        self._call_funcs: set[int] = set()
        self._handlers: dict[type[ast.AST], Callable[[Any, _Bucket], None]] = {
            ast.Attribute: self._attribute,
            ast.Subscript: self._subscript,
            ast.Call: self._call,
            ast.Compare: self._compare,
            ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.comprehension: self._for,
            ast.If: self._if,
            ast.Assert: self._assert,
            ast.Import: self._import,
            ast.ImportFrom: self._import_from,
        }

    def collect(self, root: ast.AST, bucket: _Bucket) -> None:
        handlers = self._handlers
        stack = [root]
        pop, push, extend = stack.pop, stack.append, stack.extend
        known_fields = _FIELDS.get
        ast_node = ast.AST
        leaves = _LEAVES
        while stack:
            node = pop()
            kind = type(node)
            handler = handlers.get(kind)
            if handler is not None:
                handler(node, bucket)
            fields = known_fields(kind)
            if fields is None:
                fields = _child_fields(kind)
            for name in fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    extend(
                        [
                            v
                            for v in reversed(value)
                            if type(v) not in leaves and isinstance(v, ast_node)
                        ]
                    )
                elif type(value) not in leaves and isinstance(value, ast_node):
                    push(value)

    # -- handlers (a parent is always handled before its children) ------------------------

    def _attribute(self, node: ast.Attribute, bucket: _Bucket) -> None:
        if (
            isinstance(node.value, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and id(node) not in self._call_funcs
        ):
            bucket.attrs.setdefault(node.value.id, []).append((node.attr, node.lineno))

    def _subscript(self, node: ast.Subscript, bucket: _Bucket) -> None:
        if isinstance(node.ctx, ast.Load):
            base = _dotted(node.value)
            if base is not None:
                use = _KeyUse(_REQUIRED, node.slice, None, node.lineno)
                bucket.keys.setdefault(base, []).append(use)

    def _call(self, node: ast.Call, bucket: _Bucket) -> None:
        func, args, line = node.func, node.args, node.lineno
        if isinstance(func, ast.Attribute):
            self._call_funcs.add(id(func))
            self._method_call(node, func, bucket)
        elif isinstance(func, ast.Name) and args:
            name, first = func.id, args[0]
            if name in ("getattr", "hasattr") and len(args) >= 2 and isinstance(first, ast.Name):
                bucket.attrs.setdefault(first.id, []).append((args[1], line))
            elif name == "vars" and isinstance(first, ast.Name):
                bucket.iters.setdefault(first.id, []).append(line)
            elif name == "getenv" or name in self.getenv_names:
                use = _KeyUse(_OPTIONAL, first, _getenv_default(node), line)
                bucket.keys.setdefault(name, []).append(use)
        for position, arg in enumerate(args):
            if isinstance(arg, ast.Name):
                bucket.passes.setdefault(arg.id, []).append(
                    _Pass(id(node), func, position, None, line)
                )
        for keyword in node.keywords:
            value = keyword.value
            if isinstance(value, ast.Name):
                if keyword.arg is None:  # f(**x): read as a whole
                    bucket.iters.setdefault(value.id, []).append(line)
                else:
                    bucket.passes.setdefault(value.id, []).append(
                        _Pass(id(node), func, None, keyword.arg, line)
                    )

    def _method_call(self, node: ast.Call, func: ast.Attribute, bucket: _Bucket) -> None:
        base = _dotted(func.value)
        if base is None:
            return
        method, args, line = func.attr, node.args, node.lineno
        if method in ("get", "setdefault", "pop") and args:
            default = args[1] if len(args) > 1 else None
            kind = _REQUIRED if method == "pop" and default is None else _OPTIONAL
            bucket.keys.setdefault(base, []).append(_KeyUse(kind, args[0], default, line))
        elif method in ("items", "keys", "values"):
            bucket.iters.setdefault(base, []).append(line)
        elif method == "getenv" and args and isinstance(func.value, ast.Name):
            use = _KeyUse(_OPTIONAL, args[0], _getenv_default(node), line)
            bucket.keys.setdefault(f"{base}.getenv", []).append(use)
        elif method == "add_argument":
            bucket.add_arguments.append(node)

    def _compare(self, node: ast.Compare, bucket: _Bucket) -> None:
        kind = _CHECK if id(node) in self._raise_checks else _GUARD
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                base = _dotted(right)
                if base is not None:
                    bucket.keys.setdefault(base, []).append(_KeyUse(kind, left, None, node.lineno))
            left = right

    def _if(self, node: ast.If, bucket: _Bucket) -> None:
        # `if "K" not in x: raise ...` checks that K is there: a required use, not a guard.
        if any(isinstance(stmt, ast.Raise) for stmt in node.body):
            self._mark_checks(node.test, ast.NotIn, ast.Or)

    def _assert(self, node: ast.Assert, bucket: _Bucket) -> None:
        self._mark_checks(node.test, ast.In, ast.And)

    def _mark_checks(self, test: ast.expr, op: type[ast.cmpop], joiner: type[ast.boolop]) -> None:
        parts = (
            test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, joiner) else [test]
        )
        for part in parts:
            if isinstance(part, ast.Compare) and all(isinstance(o, op) for o in part.ops):
                self._raise_checks.add(id(part))

    def _assign(self, node: ast.Assign, bucket: _Bucket) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self._bind(bucket, node.targets[0].id, node.value)

    def _ann_assign(self, node: ast.AnnAssign, bucket: _Bucket) -> None:
        if node.value is not None and isinstance(node.target, ast.Name):
            self._bind(bucket, node.target.id, node.value)

    def _bind(self, bucket: _Bucket, name: str, value: ast.expr) -> None:
        source: ast.expr | None = None
        if isinstance(value, ast.Name):  # y = x
            source = value
        elif isinstance(value, ast.Call):
            func = value.func
            if isinstance(func, ast.Name) and func.id == "dict" and len(value.args) == 1:
                source = value.args[0]  # y = dict(x)
            elif isinstance(func, ast.Attribute) and func.attr == "copy" and not value.args:
                source = func.value  # y = x.copy()
        if isinstance(source, ast.Name):
            bucket.aliases.append((name, source.id))
        consts = bucket.consts
        if not isinstance(value, _LITERAL_NODES):
            consts[name] = None
        elif name not in consts:
            consts[name] = value
        else:
            known = consts[name]
            same = (
                isinstance(known, ast.Constant)
                and isinstance(value, ast.Constant)
                and known.value == value.value
            )
            if not same:
                consts[name] = None

    def _for(self, node: ast.For | ast.AsyncFor | ast.comprehension, bucket: _Bucket) -> None:
        if isinstance(node.iter, ast.Name):
            line = getattr(node, "lineno", None) or node.iter.lineno
            bucket.iters.setdefault(node.iter.id, []).append(line)

    def _import(self, node: ast.Import, bucket: _Bucket) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            bound = alias.asname or top
            self.imported[bound] = top
            if top == "argparse":
                self.imports_argparse = True
            if (alias.asname is None and top == "os") or alias.name == "os":
                self.os_names.add(bound)

    def _import_from(self, node: ast.ImportFrom, bucket: _Bucket) -> None:
        module = node.module or ""
        top = "" if node.level else module.split(".")[0]
        if top == "argparse":
            self.imports_argparse = True
        for alias in node.names:
            bound = alias.asname or alias.name
            self.imported[bound] = top
            if module == "os" and not node.level:
                if alias.name == "environ":
                    self.environ_names.add(bound)
                elif alias.name == "getenv":
                    self.getenv_names.add(bound)


def _getenv_default(node: ast.Call) -> ast.expr | None:
    if len(node.args) > 1:
        return node.args[1]
    return next((k.value for k in node.keywords if k.arg == "default"), None)


# --------------------------------------------------------------------------------------------
# Literal values
# --------------------------------------------------------------------------------------------

_NOT_LITERAL = object()


def _literal_value(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _as_text(value: object) -> str:
    """A literal value as the string a user would type (``0.7`` -> "0.7", lists as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return repr(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Following the dictionaries
# --------------------------------------------------------------------------------------------

_Bindings = dict[str, str]  # variable name -> role (one of PIPELINE_PARAMS)
_UseRecord = tuple[str, int, bool, str | None]  # kind, line, has default, default text


class _Analyzer:
    """Collects the facts of a tree, then follows the dictionaries through them.

    Given the ``source`` of the tree, a top-level function is traversed only when its facts
    can matter: when a dictionary is followed into it, or when its text mentions one of
    :data:`_GATHERED_EVERYWHERE` (or an alias of ``os.environ``/``os.getenv``). Most helpers of
    a pipeline script are neither, and skipping them makes the analysis much cheaper with the
    same result. Without ``source`` every function is traversed.
    """

    def __init__(self, tree: ast.Module, source: str | None = None) -> None:
        self.tree = tree
        self.source = source
        self._collector: _Collector | None = None
        self._pending: dict[int, _Bucket] = {}  # functions not traversed yet, by id(bucket)
        self.notes: list[str] = []
        self.uses: dict[str, dict[str, list[_UseRecord]]] = {INPUTS: {}, OUTPUTS: {}, ENVIRON: {}}
        self.job_args: dict[str, int] = {}
        self.functions: dict[str, _Bucket] = {}
        self.classes: set[str] = set()
        self.module = _Bucket(None)
        self.buckets: list[_Bucket] = [self.module]
        self.main: ast.FunctionDef | None = None
        self.has_main_block = False
        self._visited: set[tuple[int, frozenset[tuple[str, str]]]] = set()
        self._reached: set[int] = set()
        self.imported: dict[str, str] = {}
        self.followed: dict[str, dict[str, None]] = {}  # role -> helpers followed into

    # -- the steps ------------------------------------------------------------------------

    def run(self) -> ScriptAnalysis:
        collector = self._collect()
        if collector is None:  # skipping functions would not be exact here: traverse them all
            return _Analyzer(self.tree).run()
        if self.main is not None:
            params = _positional(self.main)
            self._follow(
                [(self.functions["main"], dict(zip(params[:4], PIPELINE_PARAMS, strict=True)))]
            )
            self._follow_unreached()
        else:
            literal = {name: name for name in PIPELINE_PARAMS}
            self._follow([(bucket, dict(literal)) for bucket in self.buckets])
        self._read_os_environ(collector)
        flags = self._cli_flags() if collector.imports_argparse else ()
        return self._result(flags)

    def _collect(self) -> _Collector | None:
        getenv_names: set[str] = set()
        for stmt in self.tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "os" and not stmt.level:
                getenv_names.update(a.asname or a.name for a in stmt.names if a.name == "getenv")
        collector = _Collector(getenv_names)
        self._collector = collector
        top_level_getenv = set(getenv_names)
        marked = _marked_lines(self.source, _GATHERED_EVERYWHERE)
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bucket = _Bucket(stmt)
                self.functions[stmt.name] = bucket
                self.buckets.append(bucket)
                if marked is None or _spans(stmt, marked):
                    collector.collect(stmt, bucket)
                else:
                    self._pending[id(bucket)] = bucket
                if stmt.name == "main" and isinstance(stmt, ast.FunctionDef):
                    self._consider_main(stmt)
                continue
            if isinstance(stmt, ast.ClassDef):
                self.classes.add(stmt.name)
            elif isinstance(stmt, ast.If) and _is_main_test(stmt.test):
                self.has_main_block = True
            collector.collect(stmt, self.module)
        if self.main is not None and self.functions["main"].func is not self.main:
            self.main = None  # a later `def main` replaced the pipeline one
        if self._pending:
            if collector.getenv_names != top_level_getenv:
                # A function imports getenv: calls to it are recognised only in the functions
                # traversed after that import, so the traversal order matters.
                return None
            aliases = collector.environ_names | collector.getenv_names
            if aliases:
                words = _marked_lines(self.source, aliases, whole_words=True)
                for bucket in list(self._pending.values()):
                    assert bucket.func is not None  # pending buckets are functions
                    if words is None or _spans(bucket.func, words):
                        self._gather(bucket)
        self.imported = collector.imported
        return collector

    def _gather(self, bucket: _Bucket) -> None:
        """Traverse a function that was skipped so far (nothing if it was traversed)."""
        if self._pending.pop(id(bucket), None) is not None:
            assert self._collector is not None and bucket.func is not None
            self._collector.collect(bucket.func, bucket)

    def _consider_main(self, func: ast.FunctionDef) -> None:
        params = _positional(func)
        if tuple(params[:4]) != PIPELINE_PARAMS:
            self.main = None
            shown = ", ".join(params)
            self.notes.append(
                f"main({shown}) at line {func.lineno} is not the pipeline signature "
                "main(input_paths, output_paths, environ_vars, job_args)"
            )
            return
        self.main = func
        args = func.args
        extra = params[4 : len(params) - len(args.defaults)] if len(params) > 4 else []
        extra += [
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
        ]
        if extra:
            self.notes.append(
                f"main() also needs {', '.join(extra)} with no default; "
                "called with the four pipeline arguments it will fail"
            )

    def _follow(self, start: list[tuple[_Bucket, _Bindings]]) -> None:
        work = list(start)
        while work:
            bucket, bindings = work.pop(0)
            key = (id(bucket), frozenset(bindings.items()))
            if key in self._visited:
                continue
            self._visited.add(key)
            self._reached.add(id(bucket))
            work.extend(self._resolve(bucket, bindings))

    def _follow_unreached(self) -> None:
        start = []
        for name, bucket in self.functions.items():
            if id(bucket) in self._reached:
                continue
            assert bucket.func is not None  # functions are named buckets
            bindings = {p: p for p in _all_params(bucket.func) if p in PIPELINE_PARAMS}
            if bindings:
                start.append((bucket, bindings))
                self.notes.append(
                    f"{name}() takes {', '.join(bindings)} but is not called from main() "
                    "with it; its reads were included"
                )
        self._follow(start)

    def _resolve(self, bucket: _Bucket, bindings: _Bindings) -> list[tuple[_Bucket, _Bindings]]:
        """File the reads of the bound names in ``bucket``; return the helpers to follow."""
        if self._pending:
            self._gather(bucket)
        changed = True
        while changed:
            changed = False
            for new, old in bucket.aliases:
                if old in bindings and new not in bindings:
                    bindings[new] = bindings[old]
                    changed = True
        calls: dict[int, tuple[str, _Bindings]] = {}
        for var, role in bindings.items():
            if role != JOB_ARGS:
                for use in bucket.keys.get(var, ()):
                    self._add_key(role, role, use, bucket)
            for line in bucket.iters.get(var, ()):
                self.notes.append(
                    f"{role} read as a whole at line {line}{bucket.where}: "
                    "the names read that way cannot be determined statically"
                )
            if role == JOB_ARGS:
                for attr, line in bucket.attrs.get(var, ()):
                    self._add_job_arg(attr, line, bucket)
            for passed in bucket.passes.get(var, ()):
                self._add_pass(passed, role, calls, bucket)
        follow = []
        for name, callee_bindings in calls.values():
            follow.append((self.functions[name], callee_bindings))
            for role in callee_bindings.values():
                self.followed.setdefault(role, {})[name] = None
        return follow

    def _add_pass(
        self, passed: _Pass, role: str, calls: dict[int, tuple[str, _Bindings]], bucket: _Bucket
    ) -> None:
        func = passed.func
        name = func.id if isinstance(func, ast.Name) else None
        callee = self.functions.get(name) if name is not None else None
        if callee is not None:
            assert callee.func is not None and name is not None  # functions are named buckets
            params = _positional(callee.func)
            param: str | None = None
            if passed.position is not None:
                if passed.position < len(params):
                    param = params[passed.position]
            elif passed.keyword in _all_params(callee.func):
                param = passed.keyword
            if param is None:
                self.notes.append(
                    f"{role} passed to {name}() at line {passed.line}{bucket.where} through "
                    "*args/**kwargs; not followed"
                )
                return
            calls.setdefault(passed.call, (name, {}))[1][param] = role
            return
        root = _root_name(func)
        if root is None:
            return
        module = self.imported.get(root)
        shown = ast.unparse(func)
        if name is not None and name in self.classes:
            reason = "a class of this file"
        elif root in ("self", "cls"):
            reason = "a method"
        elif module is not None and module not in sys.stdlib_module_names:
            reason = f"from module {module}" if module else "from a relative import"
        else:
            return
        self.notes.append(
            f"{role} passed to {shown}() ({reason}) at line {passed.line}{bucket.where}; "
            "not followed"
        )

    def _add_key(self, role: str, label: str, use: _KeyUse, bucket: _Bucket) -> None:
        name = self._const_text(use.key, bucket)
        if name is None:
            self.notes.append(
                f"{label} read with a non-constant key at line {use.line}{bucket.where}; "
                "that name cannot be determined statically"
            )
            return
        has_default, text = False, None
        if use.default is not None:
            value = self._const_value(use.default, bucket)
            if value is not None:
                has_default = True
                text = None if value is _NOT_LITERAL else _as_text(value)
        self.uses[role].setdefault(name, []).append((use.kind, use.line, has_default, text))

    def _add_job_arg(self, attr: str | ast.expr, line: int, bucket: _Bucket) -> None:
        name = attr if isinstance(attr, str) else self._const_text(attr, bucket)
        if name is None:
            self.notes.append(
                f"job_args read with getattr and a non-constant name at line {line}"
                f"{bucket.where}; that name cannot be determined statically"
            )
        elif name == "__dict__":
            self.notes.append(
                f"job_args read as a whole at line {line}{bucket.where}: "
                "the names read that way cannot be determined statically"
            )
        elif not name.startswith("_"):
            self.job_args[name] = min(self.job_args.get(name, line), line)

    def _read_os_environ(self, collector: _Collector) -> None:
        tokens = {f"{n}.environ" for n in collector.os_names}
        tokens |= {f"{n}.getenv" for n in collector.os_names}
        tokens |= collector.environ_names | collector.getenv_names
        for bucket in self.buckets:
            for token in tokens:
                for use in bucket.keys.get(token, ()):
                    self._add_key(ENVIRON, "os.environ", use, bucket)

    # -- constants ------------------------------------------------------------------------

    def _resolve_name(self, node: ast.expr, bucket: _Bucket) -> ast.expr | None:
        """Follow a name to the literal assigned to it (in the function, else the module)."""
        if isinstance(node, ast.Name):
            if node.id in bucket.consts:
                return bucket.consts[node.id]
            return self.module.consts.get(node.id)
        return node

    def _const_text(self, node: ast.expr, bucket: _Bucket) -> str | None:
        value = self._resolve_name(node, bucket)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        return None

    def _const_value(self, node: ast.expr, bucket: _Bucket) -> object:
        """The literal value of ``node``; ``None`` for a ``None`` default, else _NOT_LITERAL."""
        resolved = self._resolve_name(node, bucket)
        if resolved is None:
            return _NOT_LITERAL
        return _literal_value(resolved)

    # -- argparse -------------------------------------------------------------------------

    def _cli_flags(self) -> tuple[CliFlag, ...]:
        calls = [(call, bucket) for bucket in self.buckets for call in bucket.add_arguments]
        calls.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        flags: dict[str, CliFlag] = {}
        for call, bucket in calls:
            flag = self._cli_flag(call, bucket)
            if flag is not None and flag.flag not in flags:
                flags[flag.flag] = flag
        return tuple(flags.values())

    def _cli_flag(self, call: ast.Call, bucket: _Bucket) -> CliFlag | None:
        options = [self._const_text(a, bucket) for a in call.args]
        strings = [o for o in options if o]
        if not strings or len(strings) != len(options):
            return None
        long_options = [o for o in strings if o.startswith("--")]
        if not strings[0].startswith("-"):
            self.notes.append(
                f"positional argument {strings[0]!r} at line {call.lineno} is not a --flag; "
                "not listed"
            )
            return None
        flag = long_options[0] if long_options else strings[0]
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        dest = self._const_text(keywords["dest"], bucket) if "dest" in keywords else None
        if dest is None:
            dest = flag.lstrip("-").replace("-", "_")
        action = keywords.get("action")
        action_name: str | None = None
        if isinstance(action, ast.Attribute):  # argparse.BooleanOptionalAction
            action_name = action.attr
        elif action is not None:
            action_name = self._const_text(action, bucket)
            if action_name is None and isinstance(action, ast.Name):
                action_name = action.id
        required = (
            "required" in keywords and self._const_value(keywords["required"], bucket) is True
        )
        default = None
        if "default" in keywords:
            value = self._const_value(keywords["default"], bucket)
            default = None if value is None or value is _NOT_LITERAL else _as_text(value)
        choices = None
        if "choices" in keywords:
            value = self._const_value(keywords["choices"], bucket)
            if isinstance(value, (list, tuple)):
                choices = tuple(_as_text(c) for c in value)
            elif isinstance(value, (set, frozenset)):
                choices = tuple(sorted(_as_text(c) for c in value))
        help_text = self._const_text(keywords["help"], bucket) if "help" in keywords else None
        return CliFlag(
            flag=flag,
            dest=dest,
            required=required,
            default=default,
            is_switch=action_name in ("store_true", "store_false", "BooleanOptionalAction"),
            choices=choices,
            help=help_text,
        )

    # -- the result -----------------------------------------------------------------------

    def _result(self, flags: tuple[CliFlag, ...]) -> ScriptAnalysis:
        problems: list[str] = []
        mode: Literal["main", "cli"] | None = None
        if self.main is not None:
            mode = "main"
        elif self.has_main_block:
            mode = "cli"
        else:
            problems.append(NO_ENTRY_PROBLEM)
        followed = []
        for role in PIPELINE_PARAMS:
            names = [f"{name}()" for name in self.followed.get(role, ())]
            if names:
                what = "attributes" if role == JOB_ARGS else "keys"
                helpers = "helper" if len(names) == 1 else "helpers"
                shown = ", ".join(names)
                followed.append(
                    f"{role} passed to {helpers} {shown}; {what} read there were followed"
                )
        self.notes[:0] = followed
        inputs = _name_uses(self.uses[INPUTS])
        outputs = _name_uses(self.uses[OUTPUTS])
        if not inputs:
            inputs = (NameUse(GUESSED_INPUT, True, 0),)
            self.notes.append("input names guessed: none found by static analysis")
        if not outputs:
            outputs = (NameUse(GUESSED_OUTPUT, True, 0),)
            self.notes.append("output names guessed: none found by static analysis")
        return ScriptAnalysis(
            mode=mode,
            inputs=inputs,
            outputs=outputs,
            environ_vars=_env_uses(self.uses[ENVIRON]),
            job_args=tuple(sorted(self.job_args, key=self.job_args.__getitem__)),
            cli_flags=flags,
            inputs_guessed=not self.uses[INPUTS],
            outputs_guessed=not self.uses[OUTPUTS],
            problems=tuple(problems),
            notes=tuple(dict.fromkeys(self.notes)),
            defines_main=self.main is not None,
            has_main_block=self.has_main_block,
        )


#: Text that makes a function's facts matter wherever it is: reads of the process environment,
#: argparse options, and imports (which name the modules that ``os`` and ``getenv`` are).
_GATHERED_EVERYWHERE = ("environ", "getenv", "add_argument", "import")


def _marked_lines(
    source: str | None, words: Iterable[str], *, whole_words: bool = False
) -> list[int] | None:
    """The numbers of the lines of ``source`` that contain one of ``words``, ascending.

    ``None`` when that cannot be told reliably: no source, or line ends other than ``\\n``.
    """
    if source is None or "\r" in source:
        return None
    pattern = "|".join(re.escape(word) for word in sorted(words))
    if whole_words:
        pattern = rf"\b(?:{pattern})\b"
    lines: list[int] = []
    line, last = 1, 0
    for match in re.finditer(pattern, source):
        line += source.count("\n", last, match.start())
        last = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _spans(func: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[int]) -> bool:
    """Whether one of ``lines`` (ascending) is inside ``func``, its decorators included."""
    end = func.end_lineno
    if end is None:
        return True
    first = min([func.lineno, *(d.lineno for d in func.decorator_list)])
    index = bisect.bisect_left(lines, first)
    return index < len(lines) and lines[index] <= end


def _positional(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in (*func.args.posonlyargs, *func.args.args)]


def _all_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [*_positional(func), *(a.arg for a in func.args.kwonlyargs)]


def _is_main_test(test: ast.expr) -> bool:
    if not (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = (test.left, test.comparators[0])
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def _is_required(records: Iterable[_UseRecord]) -> bool:
    kinds = {r[0] for r in records}
    return _GUARD not in kinds and bool(kinds & {_REQUIRED, _CHECK})


def _name_uses(found: dict[str, list[_UseRecord]]) -> tuple[NameUse, ...]:
    uses = [NameUse(n, _is_required(r), min(x[1] for x in r)) for n, r in found.items()]
    return tuple(sorted(uses, key=lambda u: (u.line, u.name)))


def _env_uses(found: dict[str, list[_UseRecord]]) -> tuple[EnvVarUse, ...]:
    uses = []
    for name, records in found.items():
        with_default = sorted((r for r in records if r[2]), key=lambda r: r[1])
        texts = [r[3] for r in with_default if r[3] is not None]
        uses.append(
            EnvVarUse(
                name=name,
                has_default=bool(with_default),
                required=_is_required(records),
                default=texts[0] if texts else None,
                line=min(r[1] for r in records),
            )
        )
    return tuple(sorted(uses, key=lambda u: (u.line, u.name)))


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


def _load_cached(entry: Path) -> ScriptAnalysis | None:
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        if data.get("format") != ANALYSIS_FORMAT:
            return None
        return _from_json(data["analysis"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _as_json(analysis: ScriptAnalysis) -> dict[str, Any]:
    """What ``dataclasses.asdict`` gives, four times faster: the fields nest one level only."""
    out: dict[str, Any] = {}
    for name, value in vars(analysis).items():
        if isinstance(value, tuple):
            value = [vars(item) if is_dataclass(item) else item for item in value]
        out[name] = value
    return out


def _store_cached(entry: Path, analysis: ScriptAnalysis) -> None:
    text = json.dumps({"format": ANALYSIS_FORMAT, "analysis": _as_json(analysis)})
    temp = entry.with_name(f".{entry.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _name_use(data: dict[str, Any]) -> NameUse:
    return NameUse(_str(data["name"]), _bool(data["required"]), _int(data["line"]))


def _env_use(data: dict[str, Any]) -> EnvVarUse:
    return EnvVarUse(
        name=_str(data["name"]),
        has_default=_bool(data["has_default"]),
        required=_bool(data["required"]),
        default=_opt_str(data["default"]),
        line=_int(data["line"]),
    )


def _cli_flag(data: dict[str, Any]) -> CliFlag:
    choices = data["choices"]
    return CliFlag(
        flag=_str(data["flag"]),
        dest=_str(data["dest"]),
        required=_bool(data["required"]),
        default=_opt_str(data["default"]),
        is_switch=_bool(data["is_switch"]),
        choices=None if choices is None else tuple(_str(c) for c in _list(choices)),
        help=_opt_str(data["help"]),
    )


def _from_json(data: dict[str, Any]) -> ScriptAnalysis:
    mode = data["mode"]
    if mode not in ("main", "cli", None):
        raise ValueError("bad mode")
    return ScriptAnalysis(
        mode=mode,
        inputs=tuple(_name_use(u) for u in _list(data["inputs"])),
        outputs=tuple(_name_use(u) for u in _list(data["outputs"])),
        environ_vars=tuple(_env_use(u) for u in _list(data["environ_vars"])),
        job_args=tuple(_str(a) for a in _list(data["job_args"])),
        cli_flags=tuple(_cli_flag(f) for f in _list(data["cli_flags"])),
        inputs_guessed=_bool(data["inputs_guessed"]),
        outputs_guessed=_bool(data["outputs_guessed"]),
        problems=tuple(_str(p) for p in _list(data["problems"])),
        notes=tuple(_str(n) for n in _list(data["notes"])),
        defines_main=_bool(data["defines_main"]),
        has_main_block=_bool(data["has_main_block"]),
    )
