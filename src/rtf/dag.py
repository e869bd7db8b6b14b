"""The pipeline DAG: loading (SPEC 2.1), validation and ordering."""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtf.errors import InputError
from rtf.files import load_data_file, place_of


@dataclass(frozen=True)
class Dag:
    """A validated, acyclic pipeline graph. Node order is the order they were declared."""

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    name: str | None = None
    source: Path | None = None
    _parents: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    _children: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _index: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._index:
            object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.nodes)})

    def parents(self, node: str) -> tuple[str, ...]:
        """Direct predecessors of ``node``, in declaration order."""
        return self._parents.get(node, ())

    def children(self, node: str) -> tuple[str, ...]:
        """Direct successors of ``node``, in declaration order."""
        return self._children.get(node, ())

    def topological_order(self) -> list[str]:
        """Every node once, parents before children; ties broken by declaration order."""
        index = {n: i for i, n in enumerate(self.nodes)}
        indegree = {n: len(self.parents(n)) for n in self.nodes}
        ready = [(index[n], n) for n in self.nodes if indegree[n] == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for child in self.children(node):
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, (index[child], child))
        return order

    def ancestors(self, node: str) -> set[str]:
        """Every node from which ``node`` can be reached."""
        seen: set[str] = set()
        stack = list(self.parents(node))
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(self.parents(cur))
        return seen

    def nearest(self, node: str, keep: Iterable[str]) -> list[str]:
        """The closest ancestors of ``node`` that are in ``keep``, passing through the others."""
        wanted = keep if isinstance(keep, set | frozenset | dict) else set(keep)
        found: list[str] = []
        seen: set[str] = set()
        stack = list(reversed(self.parents(node)))
        while stack:
            cur = stack.pop()
            if cur in seen:
                continue
            seen.add(cur)
            if cur in wanted:
                found.append(cur)
            else:
                stack.extend(reversed(self.parents(cur)))
        return sorted(found, key=self._index.__getitem__)


#: Keys a DAG mapping may hold; an unknown key that looks like a typo of one is an error.
_DAG_KEYS = frozenset({"name", "nodes", "edges"})


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (case-insensitive), if any is close enough."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    best = closest(name, candidates)
    return f"did you mean {best!r}?" if best else None


def build_dag(data: Any, source: Path | None = None) -> Dag:
    """Validate a parsed DAG document (any accepted shape) into a :class:`Dag`."""
    where = source if source is not None else Path("<dag>")

    def fail(parts: Sequence[str | int], problem: str, hint: str | None = None) -> InputError:
        return InputError.at(where, place_of(parts) or None, problem, hint=hint)

    if not isinstance(data, dict):
        raise fail([], f"expected a mapping with 'nodes' and 'edges', found {_kind(data)}")
    name = data.get("name")
    prefix: list[str | int] = []
    body = data
    if "dag" in data and isinstance(data["dag"], dict):
        body = data["dag"]
        prefix = ["dag"]
        meta = data.get("metadata")
        if name is None and isinstance(meta, dict):
            name = meta.get("name")
        name = body.get("name", name)
    elif "dag" in data:
        raise fail(
            ["dag"], f"expected a mapping with 'nodes' and 'edges', found {_kind(data['dag'])}"
        )
    if name is not None and not isinstance(name, str):
        raise fail([*prefix, "name"], f"expected a string, found {_kind(name)}")
    for key in body:
        if key in _DAG_KEYS or not isinstance(key, str):
            continue
        near = closest(key, ("nodes", "edges"))
        if near is not None and near not in body:
            raise fail([*prefix, key], f"unknown key {key!r}", hint=f"did you mean {near!r}?")
    if "edges" not in body and "nodes" not in body:
        hint = None
        if "configuration" in data:
            hint = "this looks like a pipeline config: give the DAG file first, then the config"
        raise fail(prefix, "no 'nodes' or 'edges' found", hint=hint)

    raw_nodes = body.get("nodes")
    declared: list[str] = []
    if raw_nodes is not None:
        if not isinstance(raw_nodes, list):
            raise fail(
                [*prefix, "nodes"], f"expected a list of node names, found {_kind(raw_nodes)}"
            )
        seen_at: dict[str, int] = {}
        for i, node in enumerate(raw_nodes):
            if not isinstance(node, str) or not node.strip():
                raise fail([*prefix, "nodes", i], f"expected a node name, found {_kind(node)}")
            if node in seen_at:
                raise fail(
                    [*prefix, "nodes", i],
                    f"duplicate node {node!r} (first at nodes[{seen_at[node]}])",
                )
            seen_at[node] = i
            declared.append(node)

    raw_edges = body.get("edges", [])
    if raw_edges is None:
        raw_edges = []
    if not isinstance(raw_edges, list):
        raise fail([*prefix, "edges"], f"expected a list of edges, found {_kind(raw_edges)}")
    edges: list[tuple[str, str]] = []
    edge_set: set[tuple[str, str]] = set()
    implicit: list[str] = []
    known = set(declared)
    for i, edge in enumerate(raw_edges):
        at: list[str | int] = [*prefix, "edges", i]
        src, dst = _edge_ends(edge, lambda problem, _at=at: fail(_at, problem))
        ends: tuple[str | int, str | int] = (
            _mapping_keys(edge) if isinstance(edge, dict) else (0, 1)
        )
        for end, part in zip((src, dst), ends, strict=True):
            if raw_nodes is not None and end not in known:
                raise fail([*at, part], f"unknown node {end!r}", hint=_did_you_mean(end, declared))
            if raw_nodes is None and end not in known:
                known.add(end)
                implicit.append(end)
        if src == dst:
            raise fail(at, f"self-loop on node {src!r}")
        if (src, dst) in edge_set:
            raise fail(at, f"duplicate edge {src!r} -> {dst!r}")
        edges.append((src, dst))
        edge_set.add((src, dst))

    nodes = tuple(declared if raw_nodes is not None else implicit)
    if not nodes:
        raise fail(prefix, "the DAG has no nodes")
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in edges:
        parents[dst].append(src)
        children[src].append(dst)
    dag = Dag(
        nodes=nodes,
        edges=tuple(edges),
        name=name,
        source=source,
        _parents={k: tuple(v) for k, v in parents.items()},
        _children={k: tuple(v) for k, v in children.items()},
    )
    if len(dag.topological_order()) != len(nodes):
        cycle = _find_cycle(dag)
        raise fail([*prefix, "edges"], "cycle: " + " -> ".join([*cycle, cycle[0]]))
    return dag


def load_dag(path: str | Path) -> Dag:
    """Load and validate a DAG file (YAML or JSON, every shape SPEC 2.1 accepts)."""
    p = Path(path)
    return build_dag(load_data_file(p, "DAG file"), p)


def _edge_ends(edge: Any, fail: Any) -> tuple[str, str]:
    if isinstance(edge, list | tuple):
        if len(edge) != 2:
            raise fail(f"an edge is a pair [from, to], found {len(edge)} items")
        src, dst = edge
    elif isinstance(edge, dict):
        keys = _mapping_keys(edge)
        missing = [k for k in keys if k not in edge]
        if missing:
            found = ", ".join(repr(k) for k in edge) or "no keys"
            raise fail(
                f"an edge mapping needs 'from' and 'to' (missing {', '.join(missing)}; "
                f"found {found})"
            )
        extra = sorted(set(edge) - set(keys))
        if extra:
            raise fail(f"unknown key {extra[0]!r} in edge (expected 'from' and 'to')")
        src, dst = edge[keys[0]], edge[keys[1]]
    else:
        raise fail(f"expected an edge [from, to] or {{from, to}}, found {_kind(edge)}")
    for end in (src, dst):
        if not isinstance(end, str) or not end.strip():
            raise fail(f"expected a node name, found {_kind(end)}")
    return src, dst


def _mapping_keys(edge: Mapping[Any, Any]) -> tuple[str, str]:
    """The keys naming an edge's ends: ``from``/``to``, or ``source``/``target``."""
    if "from" not in edge and "to" not in edge and ("source" in edge or "target" in edge):
        return ("source", "target")
    return ("from", "to")


def _find_cycle(dag: Dag) -> list[str]:
    """A cycle among the nodes a topological sort could not place (each has such a parent)."""
    placed = set(dag.topological_order())
    left = [n for n in dag.nodes if n not in placed]
    walk: list[str] = []
    index: dict[str, int] = {}
    node = left[0]
    while node not in index:
        index[node] = len(walk)
        walk.append(node)
        node = next(p for p in dag.parents(node) if p not in placed)
    cycle = walk[index[node] :]
    cycle.reverse()
    return cycle


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), f"a {type(value).__name__}")
