"""Mermaid and Graphviz DOT text for a :class:`~batonflow.cli.graph.model.Graph`.

Both renderers give nodes synthetic ids (``n0``, ``n1``, ...) and put every name only inside quoted
labels, so a reference name with quotes, brackets, ``#``, ``|`` or a keyword (``end``, ``graph``) cannot
break the syntax. Nodes are declared before edges, inside their loop's subgraph/cluster, because both
tools place a node where it is first mentioned.
"""

from __future__ import annotations

from collections.abc import Callable

from batonflow.cli.graph.model import END, NOT_RUN, START, Graph, Node

# Status -> (style class, fill, border). Statuses not listed (and NOT_RUN) are drawn plain.
STATUS_STYLES: dict[str, tuple[str, str, str]] = {
    "COMPLETED": ("completed", "#c8e6c9", "#2e7d32"),
    "COMPLETED_WITH_ERRORS": ("completed", "#c8e6c9", "#2e7d32"),
    "FAILED": ("failed", "#ffcdd2", "#c62828"),
    "FAILED_WITH_TERMINAL_ERROR": ("failed", "#ffcdd2", "#c62828"),
    "TIMED_OUT": ("failed", "#ffcdd2", "#c62828"),
    "IN_PROGRESS": ("running", "#bbdefb", "#1565c0"),
    "SCHEDULED": ("running", "#bbdefb", "#1565c0"),
    "CANCELED": ("canceled", "#e0e0e0", "#757575"),
    "SKIPPED": ("canceled", "#e0e0e0", "#757575"),
}
_CLASS_ORDER = ("completed", "failed", "running", "canceled")

# Mermaid entity codes (#name; or #decimal;) for what would end or alter a quoted label.
_MERMAID_ESCAPES = str.maketrans(
    {
        "#": "#35;",
        '"': "#quot;",
        "<": "#lt;",
        ">": "#gt;",
        "&": "#amp;",
        "|": "#124;",
        "`": "#96;",
        "\n": " ",
        "\r": " ",
    }
)
_DOT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": " ", "\r": " "})


def node_lines(node: Node) -> list[str]:
    """What a node shows: its label, its type (or child workflow), its status, attempts and iterations."""
    if node.id in (START, END):
        return [node.label]
    lines = [node.label, node.detail] if node.detail else [node.label]
    if node.status is not None:
        counts = [f"{node.attempts} attempts"] if node.attempts > 1 else []
        if node.iterations:
            counts.append(f"{node.iterations} iteration" + ("s" if node.iterations > 1 else ""))
        status = "not run" if node.status == NOT_RUN else node.status
        lines.append(status + (f" ({', '.join(counts)})" if counts else ""))
    return lines


def to_mermaid(graph: Graph) -> str:
    ids = _ids(graph)
    out = ["flowchart TD"]

    def declare(node: Node, indent: str) -> None:
        text = "<br/>".join(line.translate(_MERMAID_ESCAPES) for line in node_lines(node))
        if node.id in (START, END):
            out.append(f'{indent}{ids[node.id]}(["{text}"])')
        elif node.type in ("SWITCH", "DECISION"):
            out.append(f'{indent}{ids[node.id]}{{"{text}"}}')
        elif node.type == "DYNAMIC_BRANCHES":
            out.append(f'{indent}{ids[node.id]}("{text}")')
        else:
            out.append(f'{indent}{ids[node.id]}["{text}"]')

    def open_cluster(index: int, label: str, indent: str) -> None:
        out.append(f'{indent}subgraph c{index}["{label.translate(_MERMAID_ESCAPES)}"]')

    _walk(graph, declare, open_cluster, lambda indent: out.append(f"{indent}end"))
    for edge in graph.edges:
        arrow = "-.->" if edge.back else "-->"
        label = f'|"{edge.label.translate(_MERMAID_ESCAPES)}"|' if edge.label else ""
        out.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    members = _by_class(graph, ids)
    for name in _CLASS_ORDER:
        if name in members:
            fill, stroke = next((f, s) for c, f, s in STATUS_STYLES.values() if c == name)
            out.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:#000")
            out.append(f"    class {','.join(members[name])} {name}")
    return "\n".join(out) + "\n"


def to_dot(graph: Graph) -> str:
    ids = _ids(graph)
    title = graph.name + (f" v{graph.version}" if graph.version is not None else "")
    out = [
        "digraph workflow {",
        f'    label="{title.translate(_DOT_ESCAPES)}";',
        "    labelloc=t;",
        '    fontname="Helvetica";',
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]

    def declare(node: Node, indent: str) -> None:
        text = "\\n".join(line.translate(_DOT_ESCAPES) for line in node_lines(node))
        attributes = [f'label="{text}"']
        if node.id in (START, END):
            attributes.append("shape=oval")
        elif node.type in ("SWITCH", "DECISION"):
            attributes.append("shape=diamond")
        elif node.type == "DYNAMIC_BRANCHES":
            attributes.append('style="rounded,dashed"')
        style = STATUS_STYLES.get(node.status or "")
        if style is not None:
            attributes.append(f'fillcolor="{style[1]}", color="{style[2]}"')
        out.append(f"{indent}{ids[node.id]} [{', '.join(attributes)}];")

    def open_cluster(index: int, label: str, indent: str) -> None:
        out.append(f"{indent}subgraph cluster_{index} {{")
        out.append(f'{indent}    label="{label.translate(_DOT_ESCAPES)}";')
        out.append(f"{indent}    style=dashed;")

    _walk(graph, declare, open_cluster, lambda indent: out.append(f"{indent}}}"))
    for edge in graph.edges:
        attributes = [f'label="{edge.label.translate(_DOT_ESCAPES)}"'] if edge.label else []
        if edge.back:
            attributes += ["style=dashed", "constraint=false"]
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        out.append(f"    {ids[edge.source]} -> {ids[edge.target]}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[Graph], str]] = {"mermaid": to_mermaid, "dot": to_dot}


def _ids(graph: Graph) -> dict[str, str]:
    return {node_id: f"n{index}" for index, node_id in enumerate(graph.nodes)}


def _walk(
    graph: Graph,
    declare: Callable[[Node, str], None],
    open_cluster: Callable[[int, str, str], None],
    close_cluster: Callable[[str], None],
) -> None:
    """Declare every node inside its (nested) cluster, clusters numbered in definition order."""
    numbers = {cluster_id: index for index, cluster_id in enumerate(graph.clusters)}

    def visit(cluster_id: str | None, indent: str) -> None:
        for node in graph.nodes.values():
            if node.cluster == cluster_id:
                declare(node, indent)
        for child in graph.clusters.values():
            if child.parent == cluster_id:
                open_cluster(numbers[child.id], child.label, indent)
                visit(child.id, indent + "    ")
                close_cluster(indent)

    visit(None, "    ")


def _by_class(graph: Graph, ids: dict[str, str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        style = STATUS_STYLES.get(node.status or "")
        if style is not None:
            members.setdefault(style[0], []).append(ids[node.id])
    return members
