"""`baton graph`'s model (definition + execution -> nodes and edges) and its Mermaid and DOT renderers."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from batonflow.cli.graph import END, NOT_RUN, START, build_graph, to_dot, to_mermaid


def task(ref: str, task_type: str = "SIMPLE", **fields: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": task_type, **fields}


def workflow(*tasks: dict[str, Any], name: str = "flow") -> dict[str, Any]:
    return {"name": name, "version": 1, "tasks": list(tasks)}


def ran(ref: str, status: str, seq: int, retry_count: int = 0, iteration: int = 0, **fields: Any) -> dict:
    """A task of an execution, as ``GET /workflow/{id}`` lists it."""
    return {
        "referenceTaskName": ref,
        "status": status,
        "seq": seq,
        "retryCount": retry_count,
        "iteration": iteration,
        **fields,
    }


def statuses(graph) -> dict[str, tuple[str | None, int]]:
    return {node.id: (node.status, node.attempts) for node in graph.nodes.values()}


def test_a_sequence_is_a_chain_from_start_to_end():
    graph = build_graph(workflow(task("a"), task("b", "INLINE")))

    assert list(graph.nodes) == [START, "a", "b", END]
    assert graph.nodes["b"].type == "INLINE"
    assert [(e.source, e.target) for e in graph.edges] == [(START, "a"), ("a", "b"), ("b", END)]
    assert all(node.status is None for node in graph.nodes.values())


def test_a_fork_fans_out_to_each_branch_and_the_branches_meet_at_the_join():
    definition = workflow(
        task("fork", "FORK_JOIN", forkTasks=[[task("b1"), task("b2")], [task("c1")]]),
        task("join", "JOIN", joinOn=["b2", "c1"]),
        task("after"),
    )
    graph = build_graph(definition)

    assert graph.successors("fork") == ["b1", "c1"]
    assert graph.successors("b1") == ["b2"]
    assert graph.successors("b2") == ["join"]
    assert graph.successors("c1") == ["join"]
    assert graph.successors("join") == ["after"]


def test_a_switch_fans_out_per_case_and_default_and_rejoins_after_it_an_empty_case_going_straight_there():
    definition = workflow(
        task(
            "route",
            "SWITCH",
            decisionCases={"big": [task("shout"), task("echo")], "skip": []},
            defaultCase=[task("whisper")],
        ),
        task("after"),
    )
    graph = build_graph(definition)

    assert {(e.target, e.label) for e in graph.edges if e.source == "route"} == {
        ("shout", "big"),
        ("after", "skip"),
        ("whisper", "default"),
    }
    assert graph.successors("echo") == ["after"]
    assert graph.successors("whisper") == ["after"]
    assert graph.successors("shout") == ["echo"]


def test_a_legacy_decision_draws_like_a_switch():
    definition = workflow(task("d", "DECISION", decisionCases={"1": [task("one")]}), task("after"))
    graph = build_graph(definition)

    assert {(e.target, e.label) for e in graph.edges if e.source == "d"} == {
        ("one", "1"),
        ("after", "default"),
    }


def test_a_loop_body_is_a_cluster_with_a_back_edge_labelled_with_the_loop():
    definition = workflow(task("loop", "DO_WHILE", loopOver=[task("fetch"), task("store")]), task("after"))
    graph = build_graph(definition)

    assert list(graph.clusters) == ["loop"]
    assert graph.nodes["loop"].cluster is None
    assert (graph.nodes["fetch"].cluster, graph.nodes["store"].cluster) == ("loop", "loop")
    assert graph.successors("loop") == ["fetch", "after"]
    back = graph.edge("store", "loop")
    assert back.back and back.label == "loop"
    assert graph.successors("store") == []


def test_nested_loops_nest_their_clusters():
    inner = task("inner", "DO_WHILE", loopOver=[task("deep")])
    graph = build_graph(workflow(task("outer", "DO_WHILE", loopOver=[task("step"), inner])))

    assert graph.clusters["inner"].parent == "outer"
    assert graph.nodes["inner"].cluster == "outer"
    assert graph.nodes["deep"].cluster == "inner"
    assert graph.edge("deep", "inner").back
    assert graph.edge("inner", "outer").back


def test_a_dynamic_fork_without_an_execution_fans_out_to_one_placeholder():
    definition = workflow(task("dyn", "FORK_JOIN_DYNAMIC"), task("join", "JOIN"), task("after"))
    graph = build_graph(definition)

    [placeholder] = graph.successors("dyn")
    assert graph.nodes[placeholder].label == "dynamic branches"
    assert graph.successors(placeholder) == ["join"]
    assert graph.successors("join") == ["after"]


def test_a_dynamic_fork_with_an_execution_fans_out_to_the_tasks_it_spawned_with_their_statuses():
    definition = workflow(task("dyn", "FORK_JOIN_DYNAMIC"), task("join", "JOIN"))
    execution = {
        "status": "FAILED",
        "tasks": [
            ran("dyn", "COMPLETED", 1, inputData={"forkedTasks": ["_greet_0", "_greet_1"]}),
            ran("_greet_0", "COMPLETED", 2, taskType="greet", workflowTask=task("_greet_0")),
            ran("_greet_1", "FAILED", 3, taskType="greet", workflowTask=task("_greet_1")),
            ran("join", "FAILED", 4),
            ran("_greet_1", "FAILED", 5, retry_count=1, taskType="greet", workflowTask=task("_greet_1")),
        ],
    }
    graph = build_graph(definition, execution)

    assert graph.successors("dyn") == ["_greet_0", "_greet_1"]
    assert graph.successors("_greet_1") == ["join"]
    assert statuses(graph)["_greet_0"] == ("COMPLETED", 1)
    assert statuses(graph)["_greet_1"] == ("FAILED", 2)
    assert graph.status == "FAILED"


def test_without_forked_tasks_the_spawned_tasks_are_those_between_the_fork_and_its_join():
    definition = workflow(task("dyn", "FORK_JOIN_DYNAMIC"), task("join", "JOIN"), task("after"))
    execution = {
        "tasks": [
            ran("dyn", "COMPLETED", 1),
            ran("x", "COMPLETED", 2),
            ran("y", "IN_PROGRESS", 3),
            ran("join", "IN_PROGRESS", 4),
            ran("after", "SCHEDULED", 5),
        ]
    }
    graph = build_graph(definition, execution)

    assert graph.successors("dyn") == ["x", "y"]


def test_a_sub_workflow_is_one_node_naming_the_child_workflow():
    definition = workflow(task("child", "SUB_WORKFLOW", subWorkflowParam={"name": "payments", "version": 3}))
    graph = build_graph(definition)

    assert graph.nodes["child"].detail == "sub-workflow payments v3"
    assert graph.successors("child") == [END]
    assert len(graph.nodes) == 3


def test_terminate_ends_its_path():
    definition = workflow(
        task("check", "SWITCH", decisionCases={"bad": [task("stop", "TERMINATE")]}, defaultCase=[]),
        task("after"),
    )
    graph = build_graph(definition)

    assert graph.successors("stop") == [END]
    assert set(graph.successors("check")) == {"stop", "after"}
    assert [e.source for e in graph.edges if e.target == "after"] == ["check"]


def test_each_node_shows_its_latest_attempt_and_nodes_never_scheduled_are_not_run():
    definition = workflow(task("a"), task("b"), task("c"))
    execution = {
        "status": "RUNNING",
        "tasks": [
            ran("a", "COMPLETED", 1),
            ran("b", "FAILED", 2),
            ran("b", "TIMED_OUT", 3, retry_count=1),
            ran("b", "IN_PROGRESS", 4, retry_count=2),
        ],
    }
    graph = build_graph(definition, execution)

    assert statuses(graph) == {
        START: (None, 0),
        "a": ("COMPLETED", 1),
        "b": ("IN_PROGRESS", 3),
        "c": (NOT_RUN, 0),
        END: (None, 0),
    }


def test_loop_iterations_map_to_the_body_node_which_shows_the_latest_iteration():
    definition = workflow(task("loop", "DO_WHILE", loopOver=[task("fetch"), task("store")]))
    execution = {
        "tasks": [
            ran("loop", "IN_PROGRESS", 1, iteration=2),
            ran("fetch__1", "COMPLETED", 2, iteration=1),
            ran("store__1", "FAILED", 3, iteration=1),
            ran("store__1", "COMPLETED", 4, retry_count=1, iteration=1),
            ran("fetch__2", "FAILED", 5, iteration=2),
            ran("fetch__2", "SCHEDULED", 6, retry_count=1, iteration=2),
        ]
    }
    graph = build_graph(definition, execution)

    assert statuses(graph)["fetch"] == ("SCHEDULED", 2)
    assert statuses(graph)["store"] == ("COMPLETED", 2)
    assert statuses(graph)["loop"] == ("IN_PROGRESS", 1)
    assert graph.nodes["loop"].iterations == 2
    assert "fetch__2" not in graph.nodes
    assert '["loop<br/>DO_WHILE<br/>IN_PROGRESS (2 iterations)"]' in to_mermaid(graph)
    assert '["fetch<br/>SIMPLE<br/>SCHEDULED (2 attempts)"]' in to_mermaid(graph)


SMALL = workflow(
    task("get", "HTTP"), task("pick", "SWITCH", decisionCases={"x": [task("use")]}), name="small"
)

SMALL_MERMAID = """\
flowchart TD
    n0(["start"])
    n1["get<br/>HTTP<br/>COMPLETED"]
    n2{"pick<br/>SWITCH<br/>FAILED (2 attempts)"}
    n3["use<br/>SIMPLE<br/>not run"]
    n4(["end"])
    n0 --> n1
    n1 --> n2
    n2 -->|"x"| n3
    n3 --> n4
    n2 -->|"default"| n4
    classDef completed fill:#c8e6c9,stroke:#2e7d32,color:#000
    class n1 completed
    classDef failed fill:#ffcdd2,stroke:#c62828,color:#000
    class n2 failed
"""

SMALL_DOT = """\
digraph workflow {
    label="small v1";
    labelloc=t;
    fontname="Helvetica";
    rankdir=TB;
    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];
    edge [fontname="Helvetica", fontsize=10];
    n0 [label="start", shape=oval];
    n1 [label="get\\nHTTP\\nCOMPLETED", fillcolor="#c8e6c9", color="#2e7d32"];
    n2 [label="pick\\nSWITCH\\nFAILED (2 attempts)", shape=diamond, fillcolor="#ffcdd2", color="#c62828"];
    n3 [label="use\\nSIMPLE\\nnot run"];
    n4 [label="end", shape=oval];
    n0 -> n1;
    n1 -> n2;
    n2 -> n3 [label="x"];
    n3 -> n4;
    n2 -> n4 [label="default"];
}
"""

SMALL_RUN = {"tasks": [ran("get", "COMPLETED", 1), ran("pick", "FAILED", 2), ran("pick", "FAILED", 3, 1)]}


def test_mermaid_text_of_a_small_execution():
    assert to_mermaid(build_graph(SMALL, SMALL_RUN)) == SMALL_MERMAID


def test_dot_text_of_a_small_execution():
    assert to_dot(build_graph(SMALL, SMALL_RUN)) == SMALL_DOT


def test_loops_render_as_a_mermaid_subgraph_and_a_dot_cluster_with_a_dashed_back_edge():
    graph = build_graph(workflow(task("loop", "DO_WHILE", loopOver=[task("step")])))

    assert '    subgraph c0["loop"]\n        n2["step<br/>SIMPLE"]\n    end\n' in to_mermaid(graph)
    assert '    n2 -.->|"loop"| n1\n' in to_mermaid(graph)
    dot = to_dot(graph)
    assert '    subgraph cluster_0 {\n        label="loop";\n        style=dashed;\n' in dot
    assert '    n2 -> n1 [label="loop", style=dashed, constraint=false];\n' in dot


NASTY = 'say "hi" [now] #1 |x| <b>&\\n'


def nasty_graph():
    definition = workflow(
        task(NASTY),
        task("sw", "SWITCH", decisionCases={NASTY: []}),
        task("end"),  # a Mermaid keyword as a reference name
        name='quoted "name"',
    )
    return build_graph(definition)


def test_mermaid_escapes_labels_into_entity_codes():
    text = to_mermaid(nasty_graph())

    assert '    n1["say #quot;hi#quot; [now] #35;1 #124;x#124; #lt;b#gt;#amp;\\n<br/>SIMPLE"]\n' in text
    assert '    n2 -->|"say #quot;hi#quot; [now] #35;1 #124;x#124; #lt;b#gt;#amp;\\n"| n3\n' in text
    # Every node and edge line keeps one well-formed quoted string: nothing inside can close it early.
    label = r'"(?:[^"#|<>&]|#\w+;|<br/>)*"'
    shapes = rf"n\d+(?:\[{label}\]|\({label}\)|\(\[{label}\]\)|\{{{label}\}})"
    edge = rf"n\d+ -\.?->(?:\|{label}\|)? n\d+"
    for line in text.splitlines()[1:]:
        assert re.fullmatch(rf"\s+(?:{shapes}|{edge}|classDef .*|class .*)", line), line


def test_dot_escapes_quotes_and_backslashes():
    text = to_dot(nasty_graph())

    assert '    label="quoted \\"name\\" v1";\n' in text
    assert '    n1 [label="say \\"hi\\" [now] #1 |x| <b>&\\\\n\\nSIMPLE"];\n' in text
    assert '    n2 -> n3 [label="say \\"hi\\" [now] #1 |x| <b>&\\\\n"];\n' in text
    quoted = r'"(?:[^"\\]|\\.)*"'
    for line in text.splitlines()[1:-1]:
        unquoted = re.sub(quoted, "Q", line)
        assert '"' not in unquoted and "[now]" not in unquoted, line


def test_graphviz_accepts_the_dot_text():
    assert shutil.which("dot"), "Graphviz's dot is missing: .ci/run installs Debian's graphviz package"
    run = subprocess.run(["dot", "-Tsvg"], input=to_dot(nasty_graph()), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "say &quot;hi&quot; [now] #1 |x| &lt;b&gt;&amp;\\n" in run.stdout
