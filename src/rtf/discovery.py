"""Which DAG nodes really have a script, where the file is, and what it reads (SPEC 2.3, 2.4)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Literal

from rtf.config import PipelineConfig, StepConfig
from rtf.dag import Dag
from rtf.errors import InputError

if TYPE_CHECKING:
    from rtf.analysis import ScriptAnalysis
    from rtf.prefill import Prefill

ENTRY_POINT_FIELDS = (
    "processing_entry_point",
    "training_entry_point",
    "script_path",
    "inference_entry_point",
)
SOURCE_DIR_FIELDS = (
    "portable_processing_source_dir",
    "processing_source_dir",
    "portable_source_dir",
    "source_dir",
    "effective_source_dir",
)
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".rtf",
    }
)

SkipReason = Literal["no_config", "no_entry_point", "inference_handler"]


@dataclass(frozen=True)
class SkippedNode:
    """A DAG node with no script to test, and why (SPEC 2.4 reasons are contract)."""

    step_name: str
    reason: SkipReason
    detail: str


@dataclass
class ScriptInfo:
    """A DAG node that has a script: where it is and what it reads."""

    step_name: str
    config: StepConfig
    entry_point: str
    entry_point_field: str
    source_dir: str | None
    script_path: Path | None
    found: bool
    tried: list[str] = field(default_factory=list)
    candidates: list[Path] = field(default_factory=list)
    analysis: ScriptAnalysis | None = None
    problems: list[str] = field(default_factory=list)
    prefill: Prefill | None = None

    @property
    def script_name(self) -> str:
        return PurePath(self.entry_point).stem

    @property
    def mode(self) -> Literal["main", "cli"] | None:
        return self.analysis.mode if self.analysis is not None else None


@dataclass
class Discovery:
    """The discovery result for one DAG and config: every node is a script or skipped."""

    dag: Dag
    config: PipelineConfig
    order: list[str]
    scripts: dict[str, ScriptInfo]
    skipped: dict[str, SkippedNode]
    source_roots: tuple[Path, ...] = ()

    def script_steps(self) -> list[str]:
        """Script step names in topological order."""
        return [n for n in self.order if n in self.scripts]

    def upstream_scripts(self, step: str) -> list[str]:
        """The nearest script steps above ``step``, non-script nodes passed through."""
        return self.dag.nearest(step, self.scripts)


class ConfigIndex:
    """Node → config lookups by the three rules of SPEC 2.3, each in constant time."""

    def __init__(self, dag: Dag, config: PipelineConfig) -> None:
        self.config = config
        self.nodes = frozenset(dag.nodes)
        self.by_lower: dict[str, list[str]] = {}
        for name in config.steps:
            self.by_lower.setdefault(name.lower(), []).append(name)
        # A config whose name matches a DAG node (in any case) belongs to that node.
        taken = {n.lower() for n in dag.nodes}
        self.by_class: dict[str, list[str]] = {}
        for name, step in config.steps.items():
            if name.lower() in taken or step.class_name is None or step.job_type is None:
                continue
            key = f"{step.class_name.removesuffix('Config')}_{step.job_type}".lower()
            self.by_class.setdefault(key, []).append(name)

    def resolve(self, node: str) -> StepConfig | None:
        steps = self.config.steps
        if node in steps:
            return steps[node]
        # A config named exactly after another node is that node's config, never this one's.
        lowered = [
            n for n in self.by_lower.get(node.lower(), []) if n == node or n not in self.nodes
        ]
        if len(lowered) == 1:
            return steps[lowered[0]]
        if len(lowered) > 1:
            raise _two_candidates(self.config, node, lowered)
        by_class = self.by_class.get(node.lower(), [])
        if len(by_class) > 1:
            raise _two_candidates(self.config, node, by_class)
        return steps[by_class[0]] if by_class else None


def resolve_config(node: str, dag: Dag, config: PipelineConfig) -> StepConfig | None:
    """Find the config of a DAG node by the three rules of SPEC 2.3, or None."""
    return ConfigIndex(dag, config).resolve(node)


def _two_candidates(config: PipelineConfig, node: str, names: Sequence[str]) -> InputError:
    shown = " and ".join(repr(n) for n in names[:2]) + (" …" if len(names) > 2 else "")
    return InputError.at(
        config.path,
        None,
        f"DAG node {node!r} matches more than one config: {shown}",
        hint="rename one config step so that exactly one matches the node",
    )


def first_field(fields: Mapping[str, Any], names: Iterable[str]) -> tuple[str, str] | None:
    """The first of ``names`` whose value is a non-empty string, as (field, value)."""
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return name, value.strip()
    return None


def _is_file(path: Path) -> bool:
    """``path.is_file()``, where a folder we may not enter counts as "not there"."""
    try:
        return path.is_file()
    except OSError:
        return False


def _foreign_parts(path: str) -> tuple[str, ...] | None:
    """The parts below the anchor of an absolute path (POSIX, ``C:\\...`` or ``~/...``).

    Configs are often written on another machine, so such a path may not exist here; its
    tails (``dockers/xgboost_atoz`` of ``/home/someone/proj/dockers/xgboost_atoz``) may.
    """
    if len(path) > 2 and path[0].isalpha() and path[1] == ":" and path[2] in "\\/":
        return PureWindowsPath(path).parts[1:]
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.parts[1:]
    if pure.parts and pure.parts[0].startswith("~"):
        return pure.parts[1:]
    return None


def _tails(parts: Sequence[str]) -> list[str]:
    """Trailing sub-paths, longest (most specific) first: a/b/c -> a/b/c, b/c, c."""
    return [str(PurePath(*parts[i:])) for i in range(len(parts))]


def _ends_with(path: Path, parts: Sequence[str]) -> bool:
    tail = tuple(parts)
    return len(path.parts) >= len(tail) and path.parts[len(path.parts) - len(tail) :] == tail


class FileFinder:
    """Finds script files under search roots, with one file-name index per source root."""

    def __init__(self, config_path: Path, source_roots: Sequence[Path], cwd: Path) -> None:
        self.source_roots = [r.resolve() for r in source_roots]
        config_dir = config_path.resolve().parent
        self.config_dir = config_dir
        roots = [*self.source_roots, config_dir, *config_dir.parents, cwd.resolve()]
        self.roots = list(dict.fromkeys(roots))
        self._index: dict[Path, dict[str, list[Path]]] = {}

    def find(
        self, entry_point: str, source_dirs: Sequence[str]
    ) -> tuple[Path | None, list[str], list[Path]]:
        """Return (path or None, places tried, ambiguous candidates)."""
        tried: list[str] = []

        def hit(cand: Path) -> bool:
            tried.append(str(cand))
            return _is_file(cand)

        foreign = _foreign_parts(entry_point)
        if foreign is not None:
            ep = Path(entry_point).expanduser()
            if hit(ep):
                return ep.resolve(), tried, []
            # From another machine: the file name under a source folder, or a tail of the path.
            in_source_dir = Path(foreign[-1]) if foreign else ep
            alone = [Path(t) for t in _tails(foreign)]
        else:
            in_source_dir = Path(entry_point)
            alone = [in_source_dir]
        for sd in _source_dir_candidates(source_dirs):
            sd_path = Path(sd).expanduser()
            if sd_path.is_absolute():
                if hit(sd_path / in_source_dir):
                    return (sd_path / in_source_dir).resolve(), tried, []
                continue
            for root in self.roots:
                if hit(root / sd_path / in_source_dir):
                    return (root / sd_path / in_source_dir).resolve(), tried, []
        for rel in alone:
            for root in self.roots:
                if hit(root / rel):
                    return (root / rel).resolve(), tried, []
        name = in_source_dir.name
        matches: list[Path] = []
        for root in self.source_roots:
            tried.append(f"{root}/**/{name}")
            matches.extend(self._index_of(root).get(name, []))
        matches = _narrow(list(dict.fromkeys(matches)), in_source_dir, source_dirs)
        if len(matches) == 1:
            return matches[0].resolve(), tried, []
        # Still ambiguous: the user picks; the file nearest the config is offered first.
        matches.sort(key=lambda m: (-_shared_parts(m, self.config_dir), str(m)))
        return None, tried, matches

    def _index_of(self, root: Path) -> dict[str, list[Path]]:
        if root not in self._index:
            index: dict[str, list[Path]] = {}
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if d not in SKIP_DIRS and not _is_file(Path(dirpath) / d / "pyvenv.cfg")
                )
                for name in filenames:
                    if name.endswith(".py"):
                        index.setdefault(name, []).append(Path(dirpath, name))
            self._index[root] = index
        return self._index[root]


def _shared_parts(path: Path, other: Path) -> int:
    """How many leading path parts ``path`` and ``other`` have in common."""
    count = 0
    for a, b in zip(path.parts, other.parts, strict=False):
        if a != b:
            break
        count += 1
    return count


def _narrow(matches: list[Path], entry_point: Path, source_dirs: Sequence[str]) -> list[Path]:
    """Of several files with the entry point's name, those that fit the config best.

    First the ones ending in the entry point as written (``scripts/x.py``), then the ones
    inside a folder ending like a source folder of the config (``dockers/xgboost_atoz``).
    A narrowing that would leave nothing is not applied.
    """
    if len(matches) < 2:
        return matches
    ep_parts = entry_point.parts
    fitting = [m for m in matches if _ends_with(m, ep_parts)] or matches
    if len(fitting) < 2:
        return fitting
    for sd in _source_dir_candidates(source_dirs):
        sd_parts = PurePath(sd).parts
        if not sd_parts or PurePath(sd).is_absolute() or sd_parts[0].startswith("~"):
            continue
        inside = [m for m in fitting if _ends_with(m, (*sd_parts, *ep_parts))]
        if inside:
            return inside
    return fitting


def _source_dir_candidates(source_dirs: Sequence[str]) -> list[str]:
    """Source folders to try: as written, then the tails of absolute ones from another
    machine, longest (most specific) first."""
    out: list[str] = list(source_dirs)
    for sd in source_dirs:
        parts = _foreign_parts(sd)
        if parts:
            out.extend(_tails(parts))
    return list(dict.fromkeys(out))


def find_scripts(
    dag: Dag,
    config: PipelineConfig,
    *,
    source_roots: Sequence[Path] = (),
    cwd: Path | None = None,
    cache_dir: Path | None = None,
) -> Discovery:
    """Resolve every DAG node to a script or a skip reason, and analyse each script found."""
    from rtf.analysis import analyze_many

    finder = FileFinder(config.path, source_roots, cwd or Path.cwd())
    order = dag.topological_order()
    index = ConfigIndex(dag, config)
    skipped: dict[str, SkippedNode] = {}
    located: list[tuple[str, StepConfig, str, str, list[str], Path | None, list[str], list[Path]]]
    located = []
    for node in order:
        step = index.resolve(node)
        if step is None:
            hint = ""
            from rtf.dag import closest

            near = closest(node, config.steps)
            if near:
                hint = f"; the closest config step is {near!r}"
            skipped[node] = SkippedNode(
                node, "no_config", f"no config step resolves to this node{hint}"
            )
            continue
        entry = first_field(step.fields, ENTRY_POINT_FIELDS)
        if entry is None:
            skipped[node] = SkippedNode(
                node,
                "no_entry_point",
                f"config {step.name!r} ({step.class_name or 'unknown class'}) "
                "has no entry-point field",
            )
            continue
        entry_field, entry_point = entry
        sd_fields = [v for _, v in _all_fields(step.fields, SOURCE_DIR_FIELDS)]
        path, tried, candidates = finder.find(entry_point, _with_project_root(step, sd_fields))
        located.append((node, step, entry_field, entry_point, sd_fields, path, tried, candidates))
    analyses = analyze_many([loc[5] for loc in located if loc[5] is not None], cache_dir)
    scripts: dict[str, ScriptInfo] = {}
    for node, step, entry_field, entry_point, sd_fields, path, tried, candidates in located:
        analysis = analyses[path] if path is not None else None
        if entry_field == "inference_entry_point" and (
            analysis is None or not analysis.defines_main
        ):
            if path is not None:
                where = str(path)
            elif candidates:
                where = f"{entry_point} ({len(candidates)} files of that name, none chosen)"
            else:
                where = f"{entry_point} (file not found)"
            skipped[node] = SkippedNode(
                node,
                "inference_handler",
                f"only an inference_entry_point, {where}, which defines no pipeline main()",
            )
            continue
        info = ScriptInfo(
            step_name=node,
            config=step,
            entry_point=entry_point,
            entry_point_field=entry_field,
            source_dir=sd_fields[0] if sd_fields else None,
            script_path=path,
            found=path is not None,
            tried=tried,
            candidates=candidates,
            analysis=analysis,
        )
        if path is None:
            if candidates:
                info.problems.append(
                    f"{len(candidates)} files named {PurePath(entry_point).name} "
                    "under the source roots: "
                    + ", ".join(str(c) for c in candidates)
                    + "; pass the --source-root that holds the right one"
                )
            else:
                info.problems.append(_not_found(entry_point, sd_fields, tried, finder))
        elif analysis is not None:
            info.problems.extend(analysis.problems)
        scripts[node] = info
    scripts = {n: scripts[n] for n in order if n in scripts}
    discovery = Discovery(dag, config, order, scripts, skipped, tuple(source_roots))
    from rtf.prefill import prefill_all

    prefill_all(discovery)
    return discovery


def _not_found(
    entry_point: str, source_dirs: Sequence[str], tried: Sequence[str], finder: FileFinder
) -> str:
    """One line saying where a script file was looked for (the full list is in ``tried``)."""
    where = ", ".join(str(r) for r in finder.roots[:4])
    if len(finder.roots) > 4:
        where += f" and {len(finder.roots) - 4} more"
    dirs = f" with source folder {', '.join(source_dirs)}" if source_dirs else ""
    text = f"script file {entry_point} not found: tried {len(tried)} places{dirs} under {where}"
    if finder.source_roots:
        return text + ", and by name under each --source-root"
    return (
        text + "; pass --source-root DIR (a folder holding the scripts, e.g. "
        f"--source-root {finder.config_dir.parent}) to search it by file name"
    )


def _with_project_root(step: StepConfig, source_dirs: list[str]) -> list[str]:
    """Source folders, then each relative one under the config's ``project_root_folder``.

    Newer configs write source folders relative to a project folder they name; a
    ``--source-root`` above that folder then still finds ``<project>/<source dir>``.
    """
    project = step.fields.get("project_root_folder")
    if not isinstance(project, str) or not project.strip() or _foreign_parts(project):
        return source_dirs
    inside = [
        str(PurePath(project.strip(), sd))
        for sd in source_dirs
        if _foreign_parts(sd) is None and PurePath(sd).parts[:1] != PurePath(project).parts[:1]
    ]
    return list(dict.fromkeys([*source_dirs, *inside]))


def _all_fields(fields: Mapping[str, Any], names: Iterable[str]) -> list[tuple[str, str]]:
    return [
        (n, fields[n].strip())
        for n in names
        if isinstance(fields.get(n), str) and fields[n].strip()
    ]


def default_cache_dir() -> Path | None:
    """Where parse results are cached: $RTF_CACHE_DIR or the user cache; RTF_NO_CACHE=1: none."""
    if os.environ.get("RTF_NO_CACHE"):
        return None
    explicit = os.environ.get("RTF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtf" / "analysis"


def script_json(info: ScriptInfo) -> dict[str, Any]:
    """One entry of ``scripts`` in ``rtf list-scripts --format json`` (SPEC 3, contract)."""
    analysis = info.analysis
    pre = info.prefill

    def uses(items: Iterable[Any], guessed: bool) -> list[dict[str, Any]]:
        out = []
        for use in items:
            entry: dict[str, Any] = {"name": use.name, "required": use.required}
            if guessed:
                entry["guessed"] = True
            out.append(entry)
        return out

    env: dict[str, Any] = {}
    job: dict[str, Any] = {}
    wiring: dict[str, Any] = {}
    if pre is not None:
        env = {k: v.value for k, v in pre.environ_vars.items()}
        env.update({k: None for k in pre.open_env})
        job = {k: v.value for k, v in pre.job_args.items()}
        job.update({k: None for k in pre.open_job_args})
        wiring = {
            k: ({"step": w.step, "output": w.output} if w is not None else None)
            for k, w in pre.wiring.items()
        }
    return {
        "step_name": info.step_name,
        "script_name": info.script_name,
        "entry_point": info.entry_point,
        "entry_point_field": info.entry_point_field,
        "source_dir": info.source_dir,
        "script_path": str(info.script_path) if info.script_path is not None else None,
        "found": info.found,
        "mode": info.mode,
        "inputs": uses(analysis.inputs, analysis.inputs_guessed) if analysis else [],
        "outputs": uses(analysis.outputs, analysis.outputs_guessed) if analysis else [],
        "environ_vars": env,
        "job_args": job,
        "wiring": wiring,
        "auto_configurable": is_auto_configurable(info),
        "problems": list(info.problems),
    }


def is_auto_configurable(info: ScriptInfo) -> bool:
    """Nothing left to ask: the file is found, parses, and every value is known or wired."""
    return (
        info.found
        and info.mode is not None
        and info.prefill is not None
        and info.prefill.auto_configurable
    )


def discovery_json(discovery: Discovery) -> dict[str, Any]:
    """The whole ``list-scripts --format json`` document (SPEC 3, contract)."""
    dag_path = discovery.dag.source
    return {
        "dag": str(dag_path) if dag_path is not None else None,
        "config": str(discovery.config.path),
        "scripts": [script_json(discovery.scripts[s]) for s in discovery.script_steps()],
        "skipped": [
            {"step_name": s.step_name, "reason": s.reason, "detail": s.detail}
            for n in discovery.order
            if (s := discovery.skipped.get(n)) is not None
        ],
    }


def discover(
    dag: Dag | str | Path,
    config: PipelineConfig | str | Path,
    *,
    source_roots: Sequence[str | Path] = (),
    cwd: Path | None = None,
    use_cache: bool = True,
) -> Discovery:
    """Load (where given paths) the DAG and the config, and find every script."""
    from rtf.config import load_pipeline_config
    from rtf.dag import load_dag

    dag_obj = dag if isinstance(dag, Dag) else load_dag(dag)
    config_obj = config if isinstance(config, PipelineConfig) else load_pipeline_config(config)
    roots = [Path(r) for r in source_roots]
    for root in roots:
        if not root.is_dir():
            raise InputError.at(root, None, "--source-root is not a folder")
    return find_scripts(
        dag_obj,
        config_obj,
        source_roots=roots,
        cwd=cwd,
        cache_dir=default_cache_dir() if use_cache else None,
    )
