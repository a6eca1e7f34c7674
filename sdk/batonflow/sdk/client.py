"""A small client for Baton's Conductor-compatible REST API: definitions in, workflows started and watched.

Plain dicts in and out (Conductor's JSON shapes). Any non-2xx answer raises :class:`BatonApiError` built
from Conductor's error JSON ``{status, message, retryable, validationErrors, ...}``; no answer at all
(connection refused, timeout) raises it with ``status`` 0, as conductor-python does.

Authentication follows the stack's ``AuthMode`` and is one strategy object that :meth:`BatonClient._request`
asks to authorize each request (and, after a refusal, whether to send it once more):

* ``api_key=(key_id, secret)`` (``KEY``): conductor-python's wire behaviour (python-sdk-wire.md §2). The key
  is traded for a token at ``POST /api/token`` on the first request, the token goes out in
  ``X-Authorization`` and is renewed once it is 45 minutes old (the server accepts it for an hour). A 401
  whose body says ``EXPIRED_TOKEN`` or ``INVALID_TOKEN`` renews it and repeats the request once: the server
  refused it without acting, so even a POST is safe to repeat then. ``/api/token`` answering 404 means the
  server is open: requests go out without a token until one is refused with such a 401.
* ``aws_iam=True`` or a botocore ``Credentials`` (``IAM``): every request signed with SigV4 for the
  ``execute-api`` service. Refreshable credentials (roles, SSO) are re-read on each request.
* ``bearer_token="..."`` or a function returning the current one (``JWT``): ``Authorization: Bearer``.
* none of them (``NONE``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from botocore.credentials import Credentials

from batonflow.sdk.auth import auth_for
from batonflow.sdk.wire import Answer, BatonApiError, Request, api_error

TERMINAL_WORKFLOW_STATUSES = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})
DEFAULT_API_URL = "http://127.0.0.1:8080"


class BatonClient:
    """``base_url`` is the server root (``http://127.0.0.1:8080``); ``/api`` is appended unless present.

    At most one of ``api_key``, ``aws_iam`` (with ``region``) and ``bearer_token``; see the module docstring.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        api_key: tuple[str, str] | None = None,
        aws_iam: bool | Credentials = False,
        region: str | None = None,
        bearer_token: str | Callable[[], str] | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        root = base_url.rstrip("/")
        self.api_url = root if root.endswith("/api") else f"{root}/api"
        self._auth = auth_for(self.api_url, api_key, aws_iam, region, bearer_token, clock)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain"}
        self._headers.update(headers or {})
        # Only connection failures are retried (nothing was sent); a read failure is not, so a POST is
        # never sent twice behind the caller's back.
        retry = urllib3.Retry(total=retries, connect=retries, read=0, status=0, other=0, backoff_factor=0.2)
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=timeout_s), retries=retry)
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> BatonClient:
        """A client configured from the environment; ``options`` go to the constructor as they are.

        ``BATON_API_URL`` (default ``http://127.0.0.1:8080``); then at most one of ``BATON_AUTH_KEY`` +
        ``BATON_AUTH_SECRET`` (else conductor-python's ``CONDUCTOR_AUTH_KEY`` + ``CONDUCTOR_AUTH_SECRET``),
        ``BATON_AUTH=iam`` (credentials and region from the usual AWS environment) and ``BATON_API_TOKEN``.
        """
        env = os.environ if environ is None else environ
        key_id, secret = env.get("BATON_AUTH_KEY"), env.get("BATON_AUTH_SECRET")
        names = ("BATON_AUTH_KEY", "BATON_AUTH_SECRET")
        if not key_id and not secret:
            key_id, secret = env.get("CONDUCTOR_AUTH_KEY"), env.get("CONDUCTOR_AUTH_SECRET")
            names = ("CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET")
        if bool(key_id) != bool(secret):
            raise ValueError(f"{names[0]} and {names[1]} go together: set both or neither")
        mode = env.get("BATON_AUTH", "").strip().lower()
        if mode not in ("", "iam"):
            raise ValueError(f"BATON_AUTH={mode!r}: the only value is 'iam' (keys and tokens have their own)")
        return cls(
            env.get("BATON_API_URL") or DEFAULT_API_URL,
            api_key=(key_id, secret) if key_id and secret else None,
            aws_iam=mode == "iam",
            bearer_token=env.get("BATON_API_TOKEN") or None,
            **options,
        )

    def register_task_defs(self, task_defs: list[dict[str, Any]]) -> None:
        self._request("POST", "/metadata/taskdefs", body=task_defs)

    def register_workflow_def(self, workflow_def: dict[str, Any], overwrite: bool = True) -> None:
        """Create or replace a workflow definition (``PUT /metadata/workflow`` with a one-element array)."""
        self._request("PUT", "/metadata/workflow", query={"overwrite": overwrite}, body=[workflow_def])

    def start_workflow(
        self,
        name: str,
        input: dict[str, Any] | None = None,
        version: int | None = None,
        correlation_id: str | None = None,
        *,
        idempotency_key: str | None = None,
        idempotency_strategy: str | None = None,
    ) -> str:
        """Start a workflow by name; returns its id. Without ``version`` the latest one runs.

        With ``idempotency_key``, a start repeated with the same key (a retry after an error, say) finds
        the first execution: ``idempotency_strategy`` ``FAIL`` (the server's default) answers 409,
        ``RETURN_EXISTING`` its id, ``FAIL_ON_RUNNING`` 409 while it runs and a new one once it ended.
        """
        if idempotency_key is None:
            query = {"version": version, "correlationId": correlation_id}
            workflow_id = self._request("POST", f"/workflow/{_segment(name)}", query=query, body=input or {})
            return str(workflow_id)
        request = {
            "name": name,
            "input": input or {},
            "version": version,
            "correlationId": correlation_id,
            "idempotencyKey": idempotency_key,
            "idempotencyStrategy": idempotency_strategy,
        }
        body = {key: value for key, value in request.items() if value is not None}
        return str(self._request("POST", "/workflow", body=body))

    def get_workflow(self, workflow_id: str, include_tasks: bool = True) -> dict[str, Any]:
        query = {"includeTasks": include_tasks}
        workflow = self._request("GET", f"/workflow/{_segment(workflow_id)}", query=query)
        if not isinstance(workflow, dict):
            raise BatonApiError(200, "the answer is not a workflow object", workflow)
        return workflow

    def wait_for_workflow(
        self, workflow_id: str, timeout_s: float = 30.0, poll_interval_s: float = 0.2
    ) -> dict[str, Any]:
        """Poll until the workflow is in a terminal status and return it; ``TimeoutError`` on timeout."""
        deadline = self._clock() + timeout_s
        while True:
            workflow = self.get_workflow(workflow_id)
            if workflow.get("status") in TERMINAL_WORKFLOW_STATUSES:
                return workflow
            if self._clock() >= deadline:
                raise TimeoutError(
                    f"workflow {workflow_id} still {workflow.get('status')} after {timeout_s} s"
                )
            self._sleep(poll_interval_s)

    def terminate_workflow(self, workflow_id: str, reason: str | None = None) -> None:
        self._request("DELETE", f"/workflow/{_segment(workflow_id)}", query={"reason": reason})

    def pause_workflow(self, workflow_id: str) -> None:
        self._request("PUT", f"/workflow/{_segment(workflow_id)}/pause")

    def resume_workflow(self, workflow_id: str) -> None:
        self._request("PUT", f"/workflow/{_segment(workflow_id)}/resume")

    def retry_workflow(self, workflow_id: str, resume_subworkflow_tasks: bool = False) -> None:
        """Retry the last failed task(s) of a finished workflow (404 while it runs, 409 if nothing failed)."""
        query = {"resumeSubworkflowTasks": resume_subworkflow_tasks}
        self._request("POST", f"/workflow/{_segment(workflow_id)}/retry", query=query)

    def restart_workflow(self, workflow_id: str, use_latest_definitions: bool = False) -> None:
        """Run a finished workflow again from its first task, with the same id."""
        query = {"useLatestDefinitions": use_latest_definitions}
        self._request("POST", f"/workflow/{_segment(workflow_id)}/restart", query=query)

    def rerun_workflow(self, workflow_id: str, rerun_request: dict[str, Any] | None = None) -> str:
        """Rerun a finished workflow (Conductor's RerunWorkflowRequest: ``reRunFromTaskId``, ``taskInput``,
        ``workflowInput``, ``correlationId``); returns the workflow id."""
        path = f"/workflow/{_segment(workflow_id)}/rerun"
        return str(self._request("POST", path, body=rerun_request or {}))

    def search_workflows(
        self, query: str | None = None, free_text: str = "*", start: int = 0, size: int = 100
    ) -> dict[str, Any]:
        """``GET /workflow/search``: ``{"totalHits", "results": [WorkflowSummary...]}``, newest first.
        ``query`` is Conductor's (``workflowType = 'x' AND status IN (RUNNING,FAILED)``)."""
        params = {
            "query": query,
            "freeText": free_text,
            "start": start,
            "size": size,
            "sort": "startTime:DESC",
        }
        found = self._request("GET", "/workflow/search", query=params)
        if not isinstance(found, dict):
            raise BatonApiError(200, "the answer is not a search result", found)
        return found

    def get_workflow_def(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A workflow definition; without ``version`` the latest."""
        found = self._request("GET", f"/metadata/workflow/{_segment(name)}", query={"version": version})
        if not isinstance(found, dict):
            raise BatonApiError(200, "the answer is not a workflow definition", found)
        return found

    def list_workflow_defs(self) -> list[dict[str, Any]]:
        """Every version of every workflow definition."""
        return list(self._request("GET", "/metadata/workflow") or [])

    def get_task_def(self, name: str) -> dict[str, Any]:
        found = self._request("GET", f"/metadata/taskdefs/{_segment(name)}")
        if not isinstance(found, dict):
            raise BatonApiError(200, "the answer is not a task definition", found)
        return found

    def list_task_defs(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/metadata/taskdefs") or [])

    def get_task_logs(self, task_id: str) -> list[dict[str, Any]]:
        """A task's log lines (``{"log", "taskId", "createdTime"}``), oldest first."""
        return list(self._request("GET", f"/tasks/{_segment(task_id)}/log") or [])

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> BatonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        url = self.api_url + path
        params = {key: _query_value(value) for key, value in (query or {}).items() if value is not None}
        if params:
            # %20, not +, for spaces: SigV4's canonical query string wants RFC 3986 encoding
            url += "?" + urlencode(params, quote_via=quote)
        payload = json.dumps(body).encode() if body is not None else None
        request = Request(method, url, dict(self._headers), payload)
        sent = self._auth.authorize(request, self._send)
        answer = self._send(sent)
        if self._auth.renewed(sent, answer):
            answer = self._send(self._auth.authorize(request, self._send))
        if not 200 <= answer.status < 300:
            raise api_error(answer.status, answer.reason, answer.data())
        # Ids come back as text/plain (Conductor); everything else as JSON.
        return answer.data() if "json" in answer.content_type else answer.text

    def _send(self, request: Request) -> Answer:
        try:
            response = self._http.request(
                request.method, request.url, body=request.body, headers=request.headers
            )
        except urllib3.exceptions.HTTPError as exc:
            raise BatonApiError(0, f"no answer from {self.api_url}: {exc}") from exc
        return Answer(
            response.status,
            response.reason,
            response.headers.get("Content-Type") or "",
            response.data.decode("utf-8", errors="replace"),
        )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
