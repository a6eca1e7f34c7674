"""``baton graph``: a workflow definition, or one execution coloured by status, as Mermaid or DOT text."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batonflow.cli.connection import UrlOption, api_errors, client_from_options
from batonflow.cli.graph.model import build_graph
from batonflow.cli.graph.render import RENDERERS

if TYPE_CHECKING:
    from batonflow.sdk.client import BatonClient


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def graph(
    target: Annotated[str, typer.Argument(metavar="NAME|ID", help="A workflow id, or a definition name.")],
    version: Annotated[
        int | None,
        typer.Option("--version", help="Definition version (latest if not given); implies NAME."),
    ] = None,
    output_format: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid (flowchart) or dot (Graphviz).")
    ] = GraphFormat.mermaid,
    url: UrlOption = None,
) -> None:
    """Print a workflow as a graph: an execution id gives its tasks coloured by status.

    Plain text for a pipe: `baton graph ID --format dot | dot -Tsvg > run.svg`.
    """
    with api_errors(), client_from_options(url) as client:
        execution = _execution(client, target) if version is None else None
        if execution is None:
            definition = client.get_workflow_def(target, version)
        else:
            definition = execution.get("workflowDefinition") or client.get_workflow_def(
                execution["workflowName"], execution.get("workflowVersion")
            )
    typer.echo(RENDERERS[output_format.value](build_graph(definition, execution)), nl=False)


def _execution(client: BatonClient, target: str) -> dict[str, Any] | None:
    """The execution ``target`` names, or None when no workflow has that id (so it is a name)."""
    from batonflow.sdk.wire import BatonApiError

    try:
        return client.get_workflow(target)
    except BatonApiError as error:
        if error.status == 404:
            return None
        raise
