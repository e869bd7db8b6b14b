"""The DAG loader (SPEC 2.1): every accepted shape, ordering, and every malformed input."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from rtf.dag import build_dag, closest, load_dag
from rtf.errors import ExitCode, InputError


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_dag(path)
    err = info.value
    assert err.exit_code == ExitCode.INVALID_INPUT
    assert "\n" not in str(err)
    assert str(err).startswith(str(path))
    return err


# -- accepted shapes -----------------------------------------------------------------------


def test_yaml_with_pairs_mappings_and_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dag.yaml",
        "name: demo\nnodes: [A, B, C]\nedges:\n  - [A, B]\n  - {from: B, to: C}\n",
    )
    dag = load_dag(path)
    assert dag.name == "demo"
    assert dag.nodes == ("A", "B", "C")
    assert dag.edges == (("A", "B"), ("B", "C"))
    assert dag.source == path
    assert dag.parents("C") == ("B",)
    assert dag.children("A") == ("B",)


def test_yml_suffix_and_source_target_mappings(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yml", "edges:\n  - {source: A, target: B}\n")
    assert load_dag(path).edges == (("A", "B"),)


def test_nodes_omitted_are_taken_from_edges_in_order_of_appearance(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "edges:\n  - [X, Y]\n  - [W, Y]\n  - [Y, Z]\n")
    dag = load_dag(path)
    assert dag.nodes == ("X", "Y", "W", "Z")
    assert dag.name is None


def test_nodes_without_edges(tmp_path: Path) -> None:
    dag = load_dag(write(tmp_path, "dag.yaml", "nodes: [Solo]\n"))
    assert dag.nodes == ("Solo",)
    assert dag.edges == ()
    assert dag.topological_order() == ["Solo"]


def test_json_plain_shape(tmp_path: Path) -> None:
    doc = {"nodes": ["A", "B"], "edges": [["A", "B"]]}
    dag = load_dag(write(tmp_path, "dag.json", json.dumps(doc)))
    assert dag.edges == (("A", "B"),)


def test_cursus_export_shape(tmp_path: Path) -> None:
    doc = {
        "created_at": "2025-01-01T00:00:00+00:00",
        "metadata": {"name": "xgb_e2e", "version": "1"},
        "dag": {"nodes": ["Load", "Train"], "edges": [["Load", "Train"]]},
        "statistics": {"node_count": 2, "edge_count": 1, "has_cycles": False},
    }
    dag = load_dag(write(tmp_path, "export.json", json.dumps(doc)))
    assert dag.name == "xgb_e2e"
    assert dag.nodes == ("Load", "Train")
    assert dag.edges == (("Load", "Train"),)


def test_unknown_suffix_is_read_as_json_then_yaml(tmp_path: Path) -> None:
    assert load_dag(write(tmp_path, "dag.txt", '{"edges": [["A", "B"]]}')).nodes == ("A", "B")
    assert load_dag(write(tmp_path, "dag2.txt", "edges: [[A, B]]\n")).nodes == ("A", "B")


def test_utf8_bom_and_non_ascii_names(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "\ufeffedges: [[Étape_1, Étape_2]]\n")
    assert load_dag(path).nodes == ("Étape_1", "Étape_2")


def test_both_sample_files_give_the_same_dag() -> None:
    repo = Path(__file__).resolve().parent.parent
    from_yaml = load_dag(repo / "sample_dags" / "xgboost_e2e.yaml")
    from_json = load_dag(repo / "sample_dags" / "xgboost_e2e.json")
    assert len(from_yaml.nodes) == 10
    assert len(from_yaml.edges) == 11
    assert set(from_yaml.nodes) == set(from_json.nodes)
    assert set(from_yaml.edges) == set(from_json.edges)


# -- order -----------------------------------------------------------------------------------


def test_topological_order_is_deterministic_with_declaration_tie_break() -> None:
    data = {"nodes": ["D", "C", "B", "A"], "edges": [["B", "A"], ["C", "A"], ["D", "C"]]}
    dag = build_dag(data)
    # D and B have no parents: D is declared first. C becomes ready after D.
    assert dag.topological_order() == ["D", "C", "B", "A"]
    for _ in range(5):
        assert build_dag(data).topological_order() == ["D", "C", "B", "A"]


def test_topological_order_puts_parents_first_on_the_sample() -> None:
    repo = Path(__file__).resolve().parent.parent
    dag = load_dag(repo / "sample_dags" / "xgboost_e2e.yaml")
    order = dag.topological_order()
    assert sorted(order) == sorted(dag.nodes)
    for src, dst in dag.edges:
        assert order.index(src) < order.index(dst)


def test_ancestors_and_nearest_pass_through_other_nodes() -> None:
    dag = build_dag({"edges": [["A", "B"], ["B", "C"], ["X", "C"], ["C", "D"]]})
    assert dag.ancestors("D") == {"A", "B", "C", "X"}
    # keep only A and X: C and B are passed through
    assert dag.nearest("D", {"A", "X"}) == ["A", "X"]
    assert dag.nearest("D", {"C", "A"}) == ["C"]
    assert dag.nearest("A", {"B"}) == []


def test_closest_is_case_insensitive_and_returns_the_original_spelling() -> None:
    assert closest("xgboosttraining", ["XGBoostTraining", "Package"]) == "XGBoostTraining"
    assert closest("zzz", ["XGBoostTraining"]) is None


# -- errors ------------------------------------------------------------------------------------


def test_bad_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A, B\nedges: []\n")
    err = load_error(path)
    assert str(err).startswith(f"{path}:2:")
    assert "invalid YAML" in str(err)


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.json", '{\n  "nodes": ["A",]\n}')
    err = load_error(path)
    assert str(err).startswith(f"{path}:2:")
    assert "invalid JSON" in str(err)


def test_yaml_python_tag_is_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = write(
        tmp_path,
        "dag.yaml",
        f'nodes: !!python/object/apply:os.system ["touch {marker}"]\nedges: []\n',
    )
    err = load_error(path)
    assert str(err).startswith(f"{path}:1:")
    assert "tag not allowed" in str(err)
    assert "python/object/apply:os.system" in str(err)
    assert not marker.exists()


def test_yaml_custom_tag_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: !Ref [A]\n")
    assert "tag not allowed" in str(load_error(path))


def test_yaml_duplicate_key_is_an_error_with_both_places(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A, B]\nedges: [[A, B]]\nedges: []\n")
    err = load_error(path)
    assert str(err).startswith(f"{path}:3:1:")
    assert "duplicate key 'edges' (first at line 2)" in str(err)


def test_yaml_merge_keys_may_override(tmp_path: Path) -> None:
    text = "base: &b {x: 1}\nnodes: [A]\nextra:\n  <<: *b\n  x: 2\n"
    assert load_dag(write(tmp_path, "dag.yaml", text)).nodes == ("A",)


@pytest.mark.parametrize(
    ("text", "place", "problem"),
    [
        ("[A, B]\n", None, "expected a mapping with 'nodes' and 'edges', found a list"),
        ("nodes: 5\n", "nodes", "expected a list of node names, found a number"),
        ("nodes: [A, 3]\n", "nodes[1]", "expected a node name, found a number"),
        ("nodes: [A, '  ']\n", "nodes[1]", "expected a node name"),
        ("edges: {A: B}\n", "edges", "expected a list of edges, found a mapping"),
        ("edges: [[A, 1]]\n", "edges[0]", "expected a node name, found a number"),
        ("edges: [[A, B, C]]\n", "edges[0]", "an edge is a pair [from, to], found 3 items"),
        ("edges: [A]\n", "edges[0]", "expected an edge [from, to] or {from, to}"),
        ("edges: [{from: A}]\n", "edges[0]", "missing to"),
        ("edges: [{from: A, to: B, via: C}]\n", "edges[0]", "unknown key 'via'"),
        ("name: 5\nedges: [[A, B]]\n", "name", "expected a string, found a number"),
        ("other: 1\n", None, "no 'nodes' or 'edges' found"),
        ("nodes: []\n", None, "the DAG has no nodes"),
        ("", None, "found nothing"),
        ("dag: [1]\n", "dag", "found a list"),
        ("nodes: [A, B]\nedges: [[A, B], [A, B]]\n", "edges[1]", "duplicate edge 'A' -> 'B'"),
    ],
)
def test_wrong_types_and_shapes(tmp_path: Path, text: str, place: str | None, problem: str) -> None:
    path = write(tmp_path, "dag.yaml", text)
    err = load_error(path)
    prefix = f"{path}:{place}: " if place else f"{path}: "
    assert str(err).startswith(prefix), str(err)
    assert problem in str(err)


def test_unknown_node_in_an_edge_suggests_the_closest_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dag.yaml",
        "nodes: [XGBoostTraining, Package]\nedges:\n  - [XGBoostTraning, Package]\n",
    )
    err = load_error(path)
    assert str(err) == f"{path}:edges[0][0]: unknown node 'XGBoostTraning'"
    assert err.hint == "did you mean 'XGBoostTraining'?"


def test_unknown_node_in_a_mapping_edge_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A, B]\nedges:\n  - {from: A, to: Q}\n")
    err = load_error(path)
    assert str(err) == f"{path}:edges[0].to: unknown node 'Q'"
    assert err.hint is None  # nothing is close to Q


def test_unknown_node_in_a_cursus_export_names_the_dag_place(tmp_path: Path) -> None:
    doc = {"dag": {"nodes": ["A"], "edges": [["A", "B"]]}, "metadata": {}}
    err = load_error(write(tmp_path, "export.json", json.dumps(doc)))
    assert ":dag.edges[0][1]: unknown node 'B'" in str(err)


def test_duplicate_node(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A, B, A]\n")
    assert str(load_error(path)) == f"{path}:nodes[2]: duplicate node 'A' (first at nodes[0])"


def test_self_loop(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "edges:\n  - [A, B]\n  - [B, B]\n")
    assert str(load_error(path)) == f"{path}:edges[1]: self-loop on node 'B'"


def test_cycle_names_its_nodes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dag.yaml",
        "nodes: [Start, A, B, C, End]\nedges: [[Start, A], [A, B], [B, C], [C, A], [C, End]]\n",
    )
    err = load_error(path)
    assert str(err).startswith(f"{path}:edges: cycle: ")
    cycle = str(err).split("cycle: ")[1].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"A", "B", "C"}
    # the cycle is written in edge direction
    edges = {("A", "B"), ("B", "C"), ("C", "A")}
    assert all((a, b) in edges for a, b in itertools.pairwise(cycle))


def test_typo_of_a_known_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A, B]\nedgse: [[A, B]]\n")
    err = load_error(path)
    assert str(err) == f"{path}:edgse: unknown key 'edgse'"
    assert err.hint == "did you mean 'edges'?"


def test_unrelated_extra_keys_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "description: my pipe\nnodes: [A]\n")
    assert load_dag(path).nodes == ("A",)


def test_a_config_given_as_the_dag_says_so(tmp_path: Path) -> None:
    doc: dict[str, object] = {"configuration": {"shared": {}, "specific": {}}, "metadata": {}}
    err = load_error(write(tmp_path, "config.json", json.dumps(doc)))
    assert "no 'nodes' or 'edges' found" in str(err)
    assert err.hint is not None and "DAG file first" in err.hint


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert str(load_error(path)) == f"{path}: DAG file not found"


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "dag.yaml"
    path.mkdir()
    assert str(load_error(path)) == f"{path}: expected a DAG file, found a folder"


def test_non_utf8_bytes_name_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", b"nodes: [A]\nedges: [[A, \xff]]\n")
    err = load_error(path)
    assert str(err).startswith(f"{path}:2:13: not UTF-8 text (byte 0xff")
    assert err.hint == "save the file as UTF-8"


def test_deeply_nested_input_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.json", "[" * 50_000 + "]" * 50_000)
    assert "nested too deeply" in str(load_error(path))


def test_two_yaml_documents_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A]\n---\nnodes: [B]\n")
    assert str(load_error(path)) == (
        f"{path}:2:1: invalid YAML: expected a single document in the stream, "
        "but found another document"
    )


def test_a_yaml_date_is_not_a_node_name(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [2024-01-01]\n")
    assert str(load_error(path)) == f"{path}:nodes[0]: expected a node name, found a date"


def test_a_control_character_in_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A]\nedges: [[A, B\x01]]\n")
    assert str(load_error(path)) == (f"{path}:2:14: invalid YAML: character #x0001 is not allowed")


def test_deeply_nested_yaml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "dag.yaml", "[" * 1_500 + "]" * 1_500)
    message = str(load_error(path))  # libyaml and the pure-Python parser word it differently
    assert "nested too deeply" in message or "maximum nesting depth" in message


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "dag.yaml", "nodes: [A]\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert str(load_error(path)) == f"{path}: cannot read DAG file: permission denied"
