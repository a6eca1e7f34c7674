"""A small client for Baton's Conductor-compatible REST API: definitions in, workflows started and watched.

Plain dicts in and out (Conductor's JSON shapes). Any non-2xx answer raises :class:`BatonApiError` built
from Conductor's error JSON ``{status, message, retryable, validationErrors, ...}``; no answer at all
(connection refused, timeout) raises it with ``status`` 0, as conductor-python does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

TERMINAL_WORKFLOW_STATUSES = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})


class BatonApiError(Exception):
    """The API answered with an error (``status`` = HTTP status), or did not answer (``status`` = 0)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body

    @property
    def retryable(self) -> bool:
        """Conductor's ``retryable`` flag; without one, server errors and no answer count as retryable."""
        flag = self.body.get("retryable") if isinstance(self.body, dict) else None
        if isinstance(flag, bool):
            return flag
        return self.status == 0 or self.status >= 500


class BatonClient:
    """``base_url`` is the server root (``http://127.0.0.1:8080``); ``/api`` is appended unless present."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        root = base_url.rstrip("/")
        self.api_url = root if root.endswith("/api") else f"{root}/api"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain"}
        self._headers.update(headers or {})
        # Only connection failures are retried (nothing was sent); a read failure is not, so a POST is
        # never sent twice behind the caller's back.
        retry = urllib3.Retry(total=retries, connect=retries, read=0, status=0, other=0, backoff_factor=0.2)
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=timeout_s), retries=retry)
        self._clock = clock
        self._sleep = sleep

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
    ) -> str:
        """Start a workflow by name; returns its id. Without ``version`` the latest one runs."""
        query = {"version": version, "correlationId": correlation_id}
        workflow_id = self._request("POST", f"/workflow/{_segment(name)}", query=query, body=input or {})
        return str(workflow_id)

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
            url += "?" + urlencode(params)
        payload = json.dumps(body).encode() if body is not None else None
        try:
            response = self._http.request(method, url, body=payload, headers=self._headers)
        except urllib3.exceptions.HTTPError as exc:
            raise BatonApiError(0, f"no answer from {self.api_url}: {exc}") from exc
        text = response.data.decode("utf-8", errors="replace")
        if not 200 <= response.status < 300:
            raise _error(response.status, response.reason, _parse(text))
        # Ids come back as text/plain (Conductor); everything else as JSON.
        return _parse(text) if "json" in (response.headers.get("Content-Type") or "") else text


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _error(status: int, reason: str | None, data: Any) -> BatonApiError:
    if isinstance(data, dict) and data.get("message"):
        message = str(data["message"])
    else:
        message = data if isinstance(data, str) and data else (reason or "error")
    return BatonApiError(status, message, data)
