"""``/api/tasks``: polling and results for REST workers such as conductor-python (REFERENCE §5.3, §5.7), and
updates by workflow id and task reference (how WAIT and HUMAN tasks are usually completed), and task
search."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from batonflow.api.params import json_body, path_value, query, query_int, text_body
from batonflow.api.responses import empty_response, json_response, text_response
from batonflow.errors import BadRequestError, NotFoundError
from batonflow.model import SearchResult, Task, TaskResult, TaskSummary
from batonflow.model.wire import ResultMessage
from batonflow.service import signals, task_search, tasks
from batonflow.service.metadata import parse
from batonflow.service.runtime import Runtime

_SINGLE_POLL_WAIT_MS = 100


def _result_message(body: Any) -> ResultMessage:
    result = parse(TaskResult, body, "taskResult")
    if not result.task_id or not result.workflow_instance_id:
        raise BadRequestError("taskId and workflowInstanceId are required in a task result")
    return ResultMessage(
        workflowInstanceId=result.workflow_instance_id,
        taskId=result.task_id,
        status=result.status.value if result.status else "",
        outputData=result.output_data or {},
        reasonForIncompletion=result.reason_for_incompletion,
        callbackAfterSeconds=result.callback_after_seconds or 0,
        workerId=result.worker_id,
        logs=[log.to_conductor() for log in result.logs or []],
        extendLease=bool(result.extend_lease),
    )


def _output_map(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object: the task output to merge")
    return body


def task_router(runtime: Runtime) -> Router:
    router = Router()
    _add_search_routes(router, runtime)  # literal ``search`` segments before ``/api/tasks/<task_id>``

    def apply(body: Any) -> tasks.ResultOutcome:
        outcome = tasks.apply_result(runtime, _result_message(body))
        tasks.decide_after(runtime, outcome)
        return outcome

    @router.get("/api/tasks/poll/batch/<task_type>")
    def batch_poll(task_type: str) -> Response:
        leased = tasks.poll(
            runtime,
            path_value(task_type),
            worker_id=query(router, "workerid"),
            count=query_int(router, "count", 1) or 1,
            timeout_ms=query_int(router, "timeout", 100) or 0,
        )
        return json_response(leased)

    @router.get("/api/tasks/poll/<task_type>")
    def single_poll(task_type: str) -> Response:
        leased = tasks.poll(
            runtime,
            path_value(task_type),
            worker_id=query(router, "workerid"),
            count=1,
            timeout_ms=_SINGLE_POLL_WAIT_MS,
        )
        return json_response(leased[0]) if leased else empty_response(204)

    @router.post("/api/tasks")
    def update() -> Response:
        outcome = apply(json_body(router))
        return text_response(outcome.task.task_id)

    @router.post("/api/tasks/update-v2")
    def update_v2() -> Response:
        """Apply a result, then hand the same worker its next task of that type (or 204).

        An unknown task answers 400, not 404: conductor-python's sync runner treats 404/405 on this route
        as "server has no update-v2" and stops using it for good (python-sdk-wire.md §3a.3).
        """
        body = json_body(router)
        try:
            outcome = apply(body)
        except NotFoundError as error:
            raise BadRequestError(error.message) from error
        if not outcome.task.status.is_terminal:
            return empty_response(204)
        worker_id = body.get("workerId") if isinstance(body, dict) else None
        leased = tasks.poll(runtime, outcome.task.task_type, worker_id=worker_id, count=1, timeout_ms=0)
        return json_response(leased[0]) if leased else empty_response(204)

    @router.get("/api/tasks/<task_id>")
    def get_task(task_id: str) -> Response:
        return json_response(tasks.get_task(runtime, path_value(task_id)))

    @router.post("/api/tasks/<task_id>/log")
    def add_log(task_id: str) -> Response:
        task = tasks.get_task(runtime, path_value(task_id))
        entry = {"log": text_body(router), "taskId": task.task_id, "createdTime": runtime.clock()}
        runtime.executions.add_logs(task.workflow_instance_id, task.task_id, [entry], now=runtime.clock())
        return empty_response()

    @router.get("/api/tasks/<task_id>/log")
    def get_logs(task_id: str) -> Response:
        logs = tasks.get_logs(runtime, path_value(task_id))
        return json_response(logs) if logs else empty_response(204)

    _add_reference_routes(router, runtime)
    return router


def _add_reference_routes(router: Router, runtime: Runtime) -> None:
    """Updates addressed by workflow id and task reference (REFERENCE §5.3): the output is merged."""

    # registered first: the by-reference routes below would take ``signal`` for a status
    @router.post("/api/tasks/<workflow_id>/<status>/signal")
    def signal(workflow_id: str, status: str) -> Response:
        """Complete what blocks the workflow (its first open WAIT, or a running sub-workflow's)."""
        signals.signal(
            runtime, path_value(workflow_id), path_value(status), _output_map(json_body(router, default={}))
        )
        return empty_response()

    @router.post("/api/tasks/<workflow_id>/<status>/signal/sync")
    def signal_sync(workflow_id: str, status: str) -> Response:
        output = _output_map(json_body(router, default={}))
        return json_response(
            signals.signal_sync(runtime, path_value(workflow_id), path_value(status), output)
        )

    @router.post("/api/tasks/<workflow_id>/<reference>/<status>")
    def update_by_reference(workflow_id: str, reference: str, status: str) -> Response:
        """Complete/fail the open task of a reference; its id as text, or an empty body if there is none."""
        outcome = tasks.update_by_reference(
            runtime,
            path_value(workflow_id),
            path_value(reference),
            path_value(status),
            _output_map(json_body(router, default={})),
            worker_id=query(router, "workerid"),
        )
        return text_response(outcome.task.task_id) if outcome else empty_response()

    @router.post("/api/tasks/<workflow_id>/<reference>/<status>/sync")
    def update_by_reference_sync(workflow_id: str, reference: str, status: str) -> Response:
        workflow = tasks.update_by_reference_sync(
            runtime,
            path_value(workflow_id),
            path_value(reference),
            path_value(status),
            _output_map(json_body(router, default={})),
            worker_id=query(router, "workerid"),
        )
        return json_response(workflow)


def _add_search_routes(router: Router, runtime: Runtime) -> None:
    """Task search (REFERENCE §5.3), scoped to workflows (see :mod:`batonflow.service.task_search`)."""

    def search_page() -> task_search.TaskPage:
        return task_search.search(
            runtime,
            task_search.parse_query(query(router, "query")),
            free_text=query(router, "freeText"),
            sort=task_search.parse_sort(query(router, "sort")),
            start=query_int(router, "start", 0) or 0,
            size=query_int(router, "size", task_search.DEFAULT_SIZE) or 0,
        )

    @router.get("/api/tasks/search")
    def search() -> Response:
        page = search_page()
        summaries = [TaskSummary.from_task(t) for t in page.tasks]
        return json_response(SearchResult[TaskSummary](total_hits=page.total_hits, results=summaries))

    @router.get("/api/tasks/search-v2")
    def search_v2() -> Response:
        page = search_page()
        return json_response(SearchResult[Task](total_hits=page.total_hits, results=page.tasks))
