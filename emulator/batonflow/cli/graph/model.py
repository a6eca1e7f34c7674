"""A Conductor workflow definition as a graph of nodes and edges, optionally overlaid with one execution.

Plain JSON in (the definition and ``GET /workflow/{id}`` as the API returns them), plain data out: no I/O,
so the renderers and the tests share it. Node ids are task reference names; ``START``/``END`` and the
dynamic-fork placeholder use ids a reference name cannot collide with in practice. How operators are
drawn, following the decider's successor rules (REFERENCE.md §3, §4):

* a sequence is a chain of edges from ``start`` to ``end``;
* FORK_JOIN fans out to the first task of each ``forkTasks`` branch; the branch ends meet at the next
  task, which is the fork's JOIN;
* FORK_JOIN_DYNAMIC fans out to the tasks it spawned in the execution (the fork task's ``forkedTasks``,
  or the tasks scheduled between it and its JOIN), or to one "dynamic branches" placeholder;
* SWITCH/DECISION fans out to each ``decisionCases`` branch and ``defaultCase``, edges labelled with the
  case value; the branches meet at the task after the switch, an empty case going straight there;
* DO_WHILE is drawn as its loop node followed by its ``loopOver`` body in a cluster, the body's end
  going back to the loop node on an edge labelled with the loop's reference;
* SUB_WORKFLOW is one node naming the child workflow; TERMINATE goes straight to ``end``.

With an execution, every task node carries the status of its latest attempt and how many attempts that
iteration took, and a DO_WHILE node how many iterations it ran. Tasks of a DO_WHILE body (``ref__N`` in
iteration N) map to their body node, which shows the latest iteration. A node the execution never
scheduled is :data:`NOT_RUN`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

START = "__start__"
END = "__end__"
NOT_RUN = "NOT_RUN"
DYNAMIC_PLACEHOLDER_SUFFIX = "__dynamic__"

Json = Mapping[str, Any]
_Pending = tuple[str, str | None]  # an edge waiting for its target: (source id, label)


@dataclass
class Node:
    """``detail`` is the second line drawn under the label: the task type, or the child workflow.
    ``iterations`` is how many iterations a DO_WHILE ran (0 for every other node)."""

    id: str
    label: str
    type: str
    detail: str = ""
    cluster: str | None = None
    status: str | None = None
    attempts: int = 0
    iterations: int = 0


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str | None = None
    back: bool = False


@dataclass(frozen=True)
class Cluster:
    """A DO_WHILE body; ``id`` is the loop's reference name, ``parent`` the enclosing loop's."""

    id: str
    label: str
    parent: str | None = None


@dataclass
class Graph:
    name: str
    version: int | None = None
    status: str | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def successors(self, node_id: str) -> list[str]:
        """Targets of the forward edges leaving ``node_id``, in drawing order."""
        return [edge.target for edge in self.edges if edge.source == node_id and not edge.back]

    def edge(self, source: str, target: str) -> Edge:
        """The edge from ``source`` to ``target``; ``KeyError`` if there is none."""
        for found in self.edges:
            if found.source == source and found.target == target:
                return found
        raise KeyError(f"no edge {source} -> {target}")


def build_graph(definition: Json, execution: Json | None = None) -> Graph:
    """The graph of ``definition``, coloured by ``execution``'s task statuses when one is given."""
    tasks = _Attempts(execution.get("tasks") or []) if execution is not None else None
    graph = Graph(
        name=str(definition.get("name", "")),
        version=definition.get("version"),
        status=execution.get("status") if execution is not None else None,
    )
    builder = _Builder(graph, tasks)
    builder.add(Node(START, "start", "START"))
    exits = builder.sequence(definition.get("tasks") or [], [(START, None)], None)
    builder.add(Node(END, "end", "END"))
    builder.connect(exits, END)
    if tasks is not None:
        for node in graph.nodes.values():
            if node.id not in (START, END):
                node.status, node.attempts = tasks.latest_status(node.id)
            if node.type == "DO_WHILE" and (loop := tasks.latest(node.id)) is not None:
                node.iterations = int(loop.get("iteration") or 0)
    return graph


class _Builder:
    def __init__(self, graph: Graph, tasks: _Attempts | None) -> None:
        self.graph = graph
        self.tasks = tasks
        self._edges: set[Edge] = set()

    def add(self, node: Node) -> None:
        self.graph.nodes.setdefault(node.id, node)

    def connect(self, pending: Iterable[_Pending], target: str, *, back: bool = False) -> None:
        for source, label in pending:
            edge = Edge(source, target, label, back)
            if edge not in self._edges:
                self._edges.add(edge)
                self.graph.edges.append(edge)

    def sequence(self, tasks: list[Json], incoming: list[_Pending], cluster: str | None) -> list[_Pending]:
        """Add ``tasks`` as a chain after ``incoming``; returns the edges still to connect to what follows."""
        for index, task in enumerate(tasks):
            following = tasks[index + 1] if index + 1 < len(tasks) else None
            incoming = self.task(task, following, incoming, cluster)
        return incoming

    def task(
        self, task: Json, following: Json | None, incoming: list[_Pending], cluster: str | None
    ) -> list[_Pending]:
        ref = str(task.get("taskReferenceName") or task.get("name") or "?")
        kind = str(task.get("type") or "SIMPLE")
        self.add(Node(ref, ref, kind, _detail(task, kind), cluster))
        self.connect(incoming, ref)
        if kind == "FORK_JOIN":
            branches = task.get("forkTasks") or []
            exits = [end for branch in branches for end in self.sequence(branch, [(ref, None)], cluster)]
            return exits or [(ref, None)]
        if kind == "FORK_JOIN_DYNAMIC":
            return self.dynamic_fork(ref, following, cluster)
        if kind in ("SWITCH", "DECISION"):
            cases = [*(task.get("decisionCases") or {}).items(), ("default", task.get("defaultCase") or [])]
            return [end for value, branch in cases for end in self.sequence(branch, [(ref, value)], cluster)]
        if kind == "DO_WHILE":
            self.graph.clusters[ref] = Cluster(ref, ref, cluster)
            body_exits = self.sequence(task.get("loopOver") or [], [(ref, None)], ref)
            if body_exits != [(ref, None)]:
                self.connect([(source, label or ref) for source, label in body_exits], ref, back=True)
            return [(ref, None)]
        if kind == "TERMINATE":
            self.connect([(ref, None)], END)
            return []
        return [(ref, None)]

    def dynamic_fork(self, ref: str, join: Json | None, cluster: str | None) -> list[_Pending]:
        spawned = self.tasks.spawned_by(ref, join) if self.tasks is not None else []
        if not spawned:
            placeholder = ref + DYNAMIC_PLACEHOLDER_SUFFIX
            self.add(Node(placeholder, "dynamic branches", "DYNAMIC_BRANCHES", "", cluster))
            self.connect([(ref, None)], placeholder)
            return [(placeholder, None)]
        for forked_ref, forked in spawned:
            workflow_task = forked.get("workflowTask") or {}
            kind = str(workflow_task.get("type") or forked.get("taskType") or "SIMPLE")
            self.add(Node(forked_ref, forked_ref, kind, _detail(workflow_task, kind), cluster))
            self.connect([(ref, None)], forked_ref)
        return [(forked_ref, None) for forked_ref, _ in spawned]


def _detail(task: Json, kind: str) -> str:
    if kind != "SUB_WORKFLOW":
        return kind
    params = task.get("subWorkflowParam") or {}
    name, version = params.get("name") or task.get("name", ""), params.get("version")
    return f"sub-workflow {name}" + (f" v{version}" if version is not None else "")


class _Attempts:
    """An execution's tasks grouped by definition reference (``ref__N`` -> ``ref``)."""

    def __init__(self, tasks: list[Json]) -> None:
        self._by_ref: dict[str, list[Json]] = {}
        for task in tasks:
            self._by_ref.setdefault(_base_ref(task), []).append(task)

    def latest(self, ref: str) -> Json | None:
        attempts = self._by_ref.get(ref)
        return max(attempts, key=_recency) if attempts else None

    def latest_status(self, ref: str) -> tuple[str, int]:
        """Status of the latest attempt and the number of attempts in its iteration."""
        latest = self.latest(ref)
        if latest is None:
            return NOT_RUN, 0
        iteration = latest.get("iteration") or 0
        attempts = sum(1 for task in self._by_ref[ref] if (task.get("iteration") or 0) == iteration)
        return str(latest.get("status")), attempts

    def spawned_by(self, fork_ref: str, join: Json | None) -> list[tuple[str, Json]]:
        """The tasks the latest run of a dynamic fork created, as (reference, latest attempt), in fork order.

        The fork task lists them in ``forkedTasks``; failing that, they are the tasks scheduled after the
        fork and before its JOIN.
        """
        fork = self.latest(fork_ref)
        if fork is None:
            return []
        iteration = fork.get("iteration") or 0
        forked = (fork.get("inputData") or {}).get("forkedTasks") or []
        refs = [_strip_iteration(str(ref), iteration) for ref in forked]
        if not refs:
            join_task = self.latest(str(join["taskReferenceName"])) if join is not None else None
            last_seq = join_task.get("seq", 0) if join_task is not None else float("inf")
            refs = [
                ref
                for ref, attempts in self._by_ref.items()
                if ref != fork_ref and fork.get("seq", 0) < min(t.get("seq", 0) for t in attempts) < last_seq
            ]
        return [(ref, task) for ref in refs if (task := self.latest(ref)) is not None]


def _recency(task: Json) -> tuple[int, int, int]:
    return (task.get("iteration") or 0, task.get("retryCount") or 0, task.get("seq") or 0)


def _base_ref(task: Json) -> str:
    return _strip_iteration(str(task.get("referenceTaskName", "")), task.get("iteration") or 0)


def _strip_iteration(ref: str, iteration: int) -> str:
    suffix = f"__{iteration}"
    return ref[: -len(suffix)] if iteration and ref.endswith(suffix) else ref
