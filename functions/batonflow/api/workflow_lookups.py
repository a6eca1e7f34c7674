"""``GET /api/workflow/running/{name}``, ``GET /api/workflow/{name}/correlated/{correlationId}`` and its
batch form ``POST /api/workflow/{name}/correlated``, ``GET /api/workflow/search`` and ``search-v2``
(REFERENCE §5.2).

Included before the router of ``/api/workflow/{workflowId}/...``: literal ``running`` and ``search``
segments win over a workflow id, as in Conductor.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import json_body, path_value, query, query_bool, query_int
from batonflow.api.responses import json_response
from batonflow.errors import BadRequestError
from batonflow.model import SearchResult, Workflow, WorkflowSummary
from batonflow.service import workflow_lookups, workflow_search
from batonflow.service.runtime import Runtime

DEFAULT_VERSION = 1
"""Conductor's default for ``running/{name}`` is version 1, not the latest (REFERENCE §7, 45)."""


def workflow_lookups_router(runtime: Runtime) -> Router:
    router = Router()

    @router.get("/api/workflow/running/<name>")
    def running(name: str) -> Response:
        ids = workflow_lookups.running_workflow_ids(
            runtime,
            path_value(name),
            query_int(router, "version", DEFAULT_VERSION) or DEFAULT_VERSION,
            query_int(router, "startTime", None),
            query_int(router, "endTime", None),
        )
        return json_response(ids)

    @router.get("/api/workflow/<name>/correlated/<correlation_id>")
    def correlated(name: str, correlation_id: str) -> Response:
        workflows = workflow_lookups.correlated_workflows(
            runtime,
            path_value(name),
            path_value(correlation_id),
            include_closed=query_bool(router, "includeClosed", False),
            include_tasks=query_bool(router, "includeTasks", False),
        )
        return json_response(workflows)

    @router.post("/api/workflow/<name>/correlated")
    def correlated_batch(name: str) -> Response:
        body = json_body(router)
        if not isinstance(body, list) or not all(isinstance(c, str) for c in body):
            raise BadRequestError("The body must be a JSON array of correlation ids")
        include_closed = query_bool(router, "includeClosed", False)
        include_tasks = query_bool(router, "includeTasks", False)
        by_correlation = {
            correlation_id: [
                w.to_conductor()
                for w in workflow_lookups.correlated_workflows(
                    runtime,
                    path_value(name),
                    correlation_id,
                    include_closed=include_closed,
                    include_tasks=include_tasks,
                )
            ]
            for correlation_id in dict.fromkeys(body)
        }
        return json_response(by_correlation)

    def search_page() -> workflow_search.SearchPage:
        """The search the query string asks for (``queryId`` and the other Orkes parameters are ignored)."""
        return workflow_search.search(
            runtime,
            workflow_search.parse_query(query(router, "query")),
            free_text=query(router, "freeText"),
            sort=workflow_search.parse_sort(query(router, "sort")),
            start=query_int(router, "start", 0) or 0,
            size=query_int(router, "size", workflow_search.DEFAULT_SIZE) or 0,
        )

    @router.get("/api/workflow/search")
    def search() -> Response:
        page = search_page()
        summaries = [WorkflowSummary.from_workflow(w) for w in page.workflows]
        return json_response(SearchResult[WorkflowSummary](total_hits=page.total_hits, results=summaries))

    @router.get("/api/workflow/search-v2")
    def search_v2() -> Response:
        page = search_page()
        return json_response(SearchResult[Workflow](total_hits=page.total_hits, results=page.workflows))

    return router
