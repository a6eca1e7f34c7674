"""Executions, and the requests and responses of the REST API (REFERENCE 1.6, 1.7, 1.9).

Fields follow ``common/metadata/tasks/{Task,TaskResult,TaskExecLog}.java``, ``common/run/{Workflow,
WorkflowSummary,TaskSummary,SearchResult}.java``, ``common/metadata/workflow/StartWorkflowRequest.java``,
``common/model/BulkResponse.java`` and ``common/validation/{ErrorResponse,ValidationError}.java``.

What Conductor computes in getters is computed here too, so that it can never disagree with the stored
fields: ``Task.taskDefinition`` (the def inside ``workflowTask``), ``Task.loopOverTask`` and
``Workflow.startTime``. They are written by :meth:`~ConductorModel.to_conductor` and ignored on input.
``Workflow.workflowName``/``workflowVersion`` are plain fields (a workflow header may be loaded without its
definition snapshot) that the definition overrides when it is present, as in Java.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import Field, PrivateAttr, computed_field, model_validator
from pydantic_core import to_json

from batonflow.model.base import RARELY_USED, ConductorModel, empty_list
from batonflow.model.definitions import TaskDef, WorkflowDef, WorkflowTask
from batonflow.model.enums import IdempotencyStrategy, TaskResultStatus, TaskStatus, WorkflowStatus

VALIDATION_FAILED_MESSAGE = "Validation failed, check below errors for detail."


class ExecutionMetadata(ConductorModel):
    """Optional timing data a worker may attach to a task or result."""

    server_send_time: int | None = None
    client_receive_time: int | None = None
    execution_start_time: int | None = None
    execution_end_time: int | None = None
    client_send_time: int | None = None
    poll_network_latency: int | None = None
    update_network_latency: int | None = None
    additional_context: dict[str, Any] = Field(default_factory=dict)


class TaskExecLog(ConductorModel):
    log: str | None = None
    task_id: str | None = None
    created_time: int = 0


class Task(ConductorModel):
    """A task execution (one attempt), as polled by workers and listed in ``Workflow.tasks``."""

    task_type: str | None = None
    status: TaskStatus | None = None
    input_data: dict[str, Any] = Field(default_factory=dict)
    reference_task_name: str | None = None
    retry_count: int = 0
    seq: int = 0
    correlation_id: str | None = None
    poll_count: int = 0
    task_def_name: str | None = None
    scheduled_time: int = 0
    start_time: int = 0
    end_time: int = 0
    update_time: int = 0
    start_delay_in_seconds: int = 0
    retried_task_id: str | None = None
    retried: bool = False
    executed: bool = False
    callback_from_worker: bool = True
    response_timeout_seconds: int = 0
    workflow_instance_id: str | None = None
    workflow_type: str | None = None
    task_id: str | None = None
    reason_for_incompletion: str | None = None
    callback_after_seconds: int = 0
    worker_id: str | None = None
    output_data: dict[str, Any] = Field(default_factory=dict)
    workflow_task: WorkflowTask | None = None
    domain: str | None = None
    rate_limit_per_frequency: int = 0
    rate_limit_frequency_in_seconds: int = 0
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    workflow_priority: int = 0
    execution_name_space: str | None = None
    isolation_group_id: str | None = None
    iteration: int = 0
    sub_workflow_id: str | None = None
    subworkflow_changed: bool = False
    first_start_time: int = 0
    execution_metadata: ExecutionMetadata | None = None
    parent_task_id: str | None = None
    # Java writes it only when non-empty (@JsonInclude NON_EMPTY): leave it None unless there is some.
    runtime_metadata: dict[str, str] | None = None
    # Java computes it from the clock on every read; the engine sets it when it knows it.
    queue_wait_time: int = 0
    # Where the store read it from (batonflow.store.layout.is_held); never serialised.
    _held: bool = PrivateAttr(default=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def task_definition(self) -> TaskDef | None:
        """The (snapshotted) definition inside :attr:`workflow_task`."""
        return self.workflow_task.task_definition if self.workflow_task else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def loop_over_task(self) -> bool:
        return self.iteration > 0


class Workflow(ConductorModel):
    """A workflow execution (``GET /api/workflow/{id}``)."""

    owner_app: str | None = None
    create_time: int = 0
    update_time: int = 0
    created_by: str | None = None
    updated_by: str | None = None
    status: WorkflowStatus = WorkflowStatus.RUNNING
    end_time: int = 0
    workflow_id: str | None = None
    parent_workflow_id: str | None = None
    parent_workflow_task_id: str | None = None
    tasks: list[Task] = Field(default_factory=empty_list)
    input: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None
    re_run_from_workflow_id: str | None = None
    reason_for_incompletion: str | None = None
    event: str | None = None
    task_to_domain: dict[str, str] = Field(default_factory=dict)
    # Java sets; kept as ordered lists so that output is deterministic. Writers keep them duplicate-free.
    failed_reference_task_names: list[str] = Field(default_factory=empty_list)
    failed_task_names: list[str] = Field(default_factory=empty_list)
    workflow_definition: WorkflowDef | None = None
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    priority: int = 0
    variables: dict[str, Any] = Field(default_factory=dict)
    last_retried_time: int = 0
    history: list[Workflow] = Field(default_factory=empty_list)
    idempotency_key: str | None = None
    rate_limit_key: str | None = None
    rate_limited: bool = False
    workflow_name: str | None = None
    workflow_version: int = 0

    @model_validator(mode="after")
    def _name_from_definition(self) -> Self:
        if self.workflow_definition is not None:
            self.workflow_name = self.workflow_definition.name
            self.workflow_version = self.workflow_definition.version
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def start_time(self) -> int:
        return self.create_time


class TaskResult(ConductorModel):
    """A worker's update (``POST /api/tasks``, ``/update-v2``).

    ``workflowInstanceId`` and ``taskId`` are required by Conductor but optional here, so that the API can
    answer Conductor's validation error (see ``validation.validate_task_result``) instead of a parse error.
    """

    workflow_instance_id: str | None = None
    task_id: str | None = None
    reason_for_incompletion: str | None = None
    callback_after_seconds: int = 0
    worker_id: str | None = None
    status: TaskResultStatus | None = None
    output_data: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata | None = None
    logs: list[TaskExecLog] = Field(default_factory=empty_list)
    external_output_payload_storage_path: str | None = None
    sub_workflow_id: str | None = None
    extend_lease: bool = False
    supports_cancellation: bool = False


class StartWorkflowRequest(ConductorModel):
    """``POST /api/workflow``. An explicit ``"input": null`` is kept as None: Conductor answers it with a
    400 (``NULL input passed when starting workflow``), not with an empty input."""

    _keep_null: ClassVar[frozenset[str]] = frozenset({"input"})

    name: str | None = None
    version: int | None = None
    correlation_id: str | None = None
    input: dict[str, Any] | None = Field(default_factory=dict)
    task_to_domain: dict[str, str] = Field(default_factory=dict)
    workflow_def: WorkflowDef | None = None
    external_input_payload_storage_path: str | None = None
    priority: int = 0
    created_by: str | None = None
    idempotency_key: str | None = None
    idempotency_strategy: IdempotencyStrategy | None = None


class RerunWorkflowRequest(ConductorModel):
    model_config = RARELY_USED

    re_run_from_workflow_id: str | None = None
    workflow_input: dict[str, Any] | None = None
    re_run_from_task_id: str | None = None
    task_input: dict[str, Any] | None = None
    correlation_id: str | None = None


class SkipTaskRequest(ConductorModel):
    model_config = RARELY_USED

    task_input: dict[str, Any] | None = None
    task_output: dict[str, Any] | None = None


class WorkflowStatusResponse(ConductorModel):
    """``GET /api/workflow/{id}/status``: ``output``/``variables`` only when asked for."""

    model_config = RARELY_USED

    workflow_id: str | None = None
    correlation_id: str | None = None
    output: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    status: WorkflowStatus | None = None


class WorkflowSummary(ConductorModel):
    """A search result row. Times are GMT strings and ``input``/``output`` are JSON *strings*."""

    model_config = RARELY_USED

    workflow_type: str | None = None
    version: int = 0
    workflow_id: str | None = None
    correlation_id: str | None = None
    start_time: str | None = None
    update_time: str | None = None
    end_time: str | None = None
    status: WorkflowStatus | None = None
    input: str | None = None
    output: str | None = None
    reason_for_incompletion: str | None = None
    execution_time: int = 0
    event: str | None = None
    failed_reference_task_names: str = ""
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    priority: int = 0
    failed_task_names: list[str] = Field(default_factory=empty_list)
    created_by: str | None = None
    task_to_domain: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    parent_workflow_id: str = ""

    @classmethod
    def from_workflow(cls, wf: Workflow) -> WorkflowSummary:
        """Java's ``new WorkflowSummary(workflow)``.

        ``input``/``output`` are rendered as JSON, which is Conductor's
        ``summary-input-output-json-serialization`` mode; its default (Java ``Map.toString``) is not
        parseable by anyone and is not reproduced.
        """
        ended = wf.end_time > 0
        return cls(
            workflow_type=wf.workflow_name,
            version=wf.workflow_version,
            workflow_id=wf.workflow_id,
            correlation_id=wf.correlation_id,
            start_time=_gmt(wf.create_time) if wf.create_time else None,
            update_time=_gmt(wf.update_time) if wf.update_time else None,
            end_time=_gmt(wf.end_time) if ended else None,
            status=wf.status,
            input=to_json(wf.input).decode(),
            output=to_json(wf.output).decode(),
            reason_for_incompletion=wf.reason_for_incompletion,
            execution_time=wf.end_time - wf.create_time if ended else 0,
            event=wf.event,
            failed_reference_task_names=",".join(wf.failed_reference_task_names),
            external_input_payload_storage_path=wf.external_input_payload_storage_path or None,
            external_output_payload_storage_path=wf.external_output_payload_storage_path or None,
            priority=wf.priority,
            failed_task_names=list(wf.failed_task_names),
            created_by=wf.created_by,
            task_to_domain=dict(wf.task_to_domain),
            idempotency_key=wf.idempotency_key,
            parent_workflow_id=wf.parent_workflow_id or "",
        )


class TaskSummary(ConductorModel):
    """A task search row (``common/run/TaskSummary.java``). Times are GMT strings and ``input``/``output``
    are JSON *strings*, as in :class:`WorkflowSummary`."""

    model_config = RARELY_USED

    workflow_id: str | None = None
    workflow_type: str | None = None
    correlation_id: str | None = None
    scheduled_time: str | None = None
    start_time: str | None = None
    update_time: str | None = None
    end_time: str | None = None
    status: TaskStatus | None = None
    reason_for_incompletion: str | None = None
    execution_time: int = 0
    queue_wait_time: int = 0
    task_def_name: str | None = None
    task_type: str | None = None
    input: str | None = None
    output: str | None = None
    task_id: str | None = None
    external_input_payload_storage_path: str | None = None
    external_output_payload_storage_path: str | None = None
    workflow_priority: int = 0
    domain: str | None = None

    @classmethod
    def from_task(cls, task: Task) -> TaskSummary:
        """Java's ``new TaskSummary(task)``.

        Unlike WorkflowSummary, Java formats all four times unconditionally, so a time not reached yet
        reads ``1970-01-01T00:00:00.000Z``; kept, since clients parse these strings. ``queueWaitTime`` is
        Java's getter without its clock-dependent branch: start minus scheduled time once started.
        """
        started = task.start_time > 0 and task.scheduled_time > 0
        return cls(
            workflow_id=task.workflow_instance_id,
            workflow_type=task.workflow_type,
            correlation_id=task.correlation_id,
            scheduled_time=_gmt(task.scheduled_time),
            start_time=_gmt(task.start_time),
            update_time=_gmt(task.update_time),
            end_time=_gmt(task.end_time),
            status=task.status,
            reason_for_incompletion=task.reason_for_incompletion,
            execution_time=task.end_time - task.start_time if task.end_time > 0 else 0,
            queue_wait_time=task.queue_wait_time or (task.start_time - task.scheduled_time if started else 0),
            task_def_name=task.task_def_name,
            task_type=task.task_type,
            input=to_json(task.input_data).decode(),
            output=to_json(task.output_data).decode(),
            task_id=task.task_id,
            external_input_payload_storage_path=task.external_input_payload_storage_path or None,
            external_output_payload_storage_path=task.external_output_payload_storage_path or None,
            workflow_priority=task.workflow_priority,
            domain=task.domain,
        )


def _gmt(epoch_ms: int) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` in GMT, as Java's SimpleDateFormat writes it."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


T = TypeVar("T")


class SearchResult(ConductorModel, Generic[T]):
    """``{totalHits, results}``; e.g. ``SearchResult[WorkflowSummary]``."""

    model_config = RARELY_USED

    total_hits: int = 0
    results: list[T] = Field(default_factory=empty_list)


class BulkResponse(ConductorModel):
    """Answer of the bulk endpoints: failures per id, successes as a list (ids, or whole objects)."""

    model_config = RARELY_USED

    bulk_error_results: dict[str, str] = Field(default_factory=dict)
    bulk_successful_results: list[Any] = Field(default_factory=empty_list)
    message: str = "Bulk Request has been processed."


class ValidationErrorItem(ConductorModel):
    """One entry of ``ErrorResponse.validationErrors``; ``invalidValue`` only for simple values."""

    model_config = RARELY_USED

    path: str | None = None
    message: str | None = None
    invalid_value: str | None = None


class ErrorResponse(ConductorModel):
    """Conductor's error body: ``{status, code?, message, instance?, retryable, validationErrors?}``."""

    model_config = RARELY_USED

    status: int = 0
    code: str | None = None
    message: str | None = None
    instance: str | None = None
    retryable: bool = False
    validation_errors: list[ValidationErrorItem] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def validation_failed(cls, errors: list[ValidationErrorItem], instance: str | None = None) -> Self:
        """The 400 body of a request that broke the rules of ``batonflow.model.validation``."""
        return cls(
            status=400,
            message=VALIDATION_FAILED_MESSAGE,
            instance=instance,
            retryable=False,
            validation_errors=errors,
        )
