"""Workflow graphs for ``baton graph``: :mod:`.model` (definition + execution -> nodes and edges),
:mod:`.render` (Mermaid and Graphviz DOT text) and :mod:`.command` (the CLI command)."""

from batonflow.cli.graph.model import END, NOT_RUN, START, Cluster, Edge, Graph, Node, build_graph
from batonflow.cli.graph.render import to_dot, to_mermaid

__all__ = [
    "END",
    "NOT_RUN",
    "START",
    "Cluster",
    "Edge",
    "Graph",
    "Node",
    "build_graph",
    "to_dot",
    "to_mermaid",
]
