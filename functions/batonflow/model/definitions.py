"""Metadata: task definitions and workflow definitions (REFERENCE 1.2 to 1.5).

Fields and defaults follow ``common/metadata/{tasks/TaskDef,workflow/WorkflowDef,workflow/WorkflowTask,
workflow/SubWorkflowParams}.java``. Required Conductor fields (``name``, ``taskReferenceName``) default to
``""`` instead of failing to parse, so that :mod:`batonflow.model.validation` can report them with
Conductor's messages in one 400 rather than as a pydantic error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from batonflow.model.base import ConductorModel, empty_list
from batonflow.model.enums import (
    IdempotencyStrategy,
    JoinMode,
    RateLimitPolicy,
    RetryLogic,
    SchemaType,
    TaskTimeoutPolicy,
    TaskType,
    WorkflowTimeoutPolicy,
)


class Auditable(ConductorModel):
    """Server-set audit fields. ``createTime``/``updateTime`` are Java ``Long``: omitted while unset."""

    owner_app: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    created_by: str | None = None
    updated_by: str | None = None


class SchemaDef(ConductorModel):
    """``inputSchema``/``outputSchema``: stored, never enforced."""

    name: str | None = None
    version: int = 1
    type: SchemaType | None = None
    data: dict[str, Any] | None = None
    external_ref: str | None = None


class RateLimitConfig(ConductorModel):
    """Workflow-level rate limit: stored, no effect (as in Conductor OSS)."""

    rate_limit_key: str | None = None
    concurrent_exec_limit: int = 0
    policy: RateLimitPolicy = RateLimitPolicy.QUEUE


class CacheConfig(ConductorModel):
    key: str | None = None
    ttl_in_second: int = 0


class StateChangeEvent(ConductorModel):
    """An entry of ``WorkflowTask.onStateChange``: stored, not acted on."""

    type: str | None = None
    payload: dict[str, Any] | None = None


class TaskDef(Auditable):
    """A registered (or inline) task definition, with Conductor's defaults (REFERENCE 1.5)."""

    name: str = ""
    description: str | None = None
    retry_count: int = 3
    timeout_seconds: int = 0
    input_keys: list[str] = Field(default_factory=empty_list)
    output_keys: list[str] = Field(default_factory=empty_list)
    runtime_metadata: list[str] = Field(default_factory=empty_list)
    timeout_policy: TaskTimeoutPolicy = TaskTimeoutPolicy.TIME_OUT_WF
    retry_logic: RetryLogic = RetryLogic.FIXED
    retry_delay_seconds: int = 60
    response_timeout_seconds: int = 3600
    concurrent_exec_limit: int | None = None
    input_template: dict[str, Any] = Field(default_factory=dict)
    # Java keeps these two nullable but its getters answer 0 and 1, so they are always written.
    rate_limit_per_frequency: int = 0
    rate_limit_frequency_in_seconds: int = 1
    isolation_group_id: str | None = None
    execution_name_space: str | None = None
    owner_email: str | None = None
    poll_timeout_seconds: int | None = None
    backoff_scale_factor: int = 1
    max_retry_delay_seconds: int = 0
    backoff_jitter_ms: int = 0
    base_type: str | None = None
    total_timeout_seconds: int = 0
    task_status_listener_enabled: bool = True
    input_schema: SchemaDef | None = None
    output_schema: SchemaDef | None = None
    enforce_schema: bool = False


def _dsl_string(value: str) -> str:
    # SubWorkflowParams.setWorkflowDefinition: a string is only allowed as a "${...}" expression.
    if not (value.startswith("${") and value.endswith("}")):
        raise ValueError("workflowDefinition is a string, but not a valid DSL string")
    return value


class SubWorkflowParams(ConductorModel):
    """``WorkflowTask.subWorkflowParam`` (REFERENCE 1.4)."""

    name: str | None = None
    version: int | None = None
    task_to_domain: dict[str, str] | None = None
    # An inline definition, or a "${...}" expression that yields one at scheduling time.
    workflow_definition: WorkflowDef | Annotated[str, AfterValidator(_dsl_string)] | None = None
    idempotency_key: str | None = None
    idempotency_strategy: IdempotencyStrategy | None = None
    # Java Object: a number, or a "${...}" template resolved at scheduling time.
    priority: int | str | None = None


ORKES_ITEMS_PARAMETER = "_items"
"""Orkes' spelling of DO_WHILE ``items``, read from ``inputParameters`` (REFERENCE 4.7)."""


class WorkflowTask(ConductorModel):
    """One entry of ``tasks`` (or of a nested branch, fork or loop body), REFERENCE 1.3."""

    name: str = ""
    task_reference_name: str = ""
    description: str | None = None
    input_parameters: dict[str, Any] = Field(default_factory=dict)
    # A plain string: unknown types are legal and mean USER_DEFINED (see TaskType.of).
    type: str = TaskType.SIMPLE.value
    dynamic_task_name_param: str | None = None
    case_value_param: str | None = None
    case_expression: str | None = None
    script_expression: str | None = None
    decision_cases: dict[str, list[WorkflowTask]] = Field(default_factory=dict)
    dynamic_fork_join_tasks_param: str | None = None
    dynamic_fork_tasks_param: str | None = None
    dynamic_fork_tasks_input_param_name: str | None = None
    default_case: list[WorkflowTask] = Field(default_factory=empty_list)
    fork_tasks: list[list[WorkflowTask]] = Field(default_factory=empty_list)
    start_delay: int = 0
    sub_workflow_param: SubWorkflowParams | None = None
    join_on: list[str] = Field(default_factory=empty_list)
    sink: str | None = None
    optional: bool = False
    task_definition: TaskDef | None = None
    rate_limited: bool | None = None
    default_exclusive_join_task: list[str] = Field(default_factory=empty_list)
    async_complete: bool = False
    loop_condition: str | None = None
    loop_over: list[WorkflowTask] = Field(default_factory=empty_list)
    items: str | None = None
    retry_count: int | None = None
    evaluator_type: str | None = None
    expression: str | None = None
    on_state_change: dict[str, list[StateChangeEvent]] = Field(default_factory=dict)
    join_status: str | None = None
    cache_config: CacheConfig | None = None
    permissive: bool = False
    join_mode: JoinMode | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def task_type(self) -> TaskType:
        """The effective type: ``type`` if it names a TaskType, else ``USER_DEFINED``."""
        return TaskType.of(self.type)

    @property
    def iterates_items(self) -> bool:
        """A DO_WHILE in list-iteration mode (``DoWhile.isListIteration``): a non-blank ``items``
        expression, or Orkes' ``inputParameters._items`` holding a non-blank string or a list."""
        if self.items and self.items.strip():
            return True
        value = self.input_parameters.get(ORKES_ITEMS_PARAMETER)
        return isinstance(value, list) or (isinstance(value, str) and bool(value.strip()))

    def children(self) -> list[list[WorkflowTask]]:
        """The nested task lists that this task's *type* uses, like Java's ``WorkflowTask.children()``.

        Only SWITCH/DECISION (cases, then the default case), FORK_JOIN (branches) and DO_WHILE (body) have
        children; e.g. ``forkTasks`` written on a SWITCH is ignored, exactly as Conductor ignores it.
        """
        match self.task_type:
            case TaskType.SWITCH | TaskType.DECISION:
                return [*self.decision_cases.values(), self.default_case]
            case TaskType.FORK_JOIN:
                return list(self.fork_tasks)
            case TaskType.DO_WHILE:
                return [self.loop_over]
            case _:
                return []

    def all_tasks(self) -> Iterator[WorkflowTask]:
        """This task and every task nested in it, depth first (Java's ``collectTasks`` order)."""
        yield self
        for branch in self.children():
            for task in branch:
                yield from task.all_tasks()


class WorkflowDef(Auditable):
    """A workflow definition with Conductor's defaults (REFERENCE 1.2)."""

    name: str = ""
    description: str | None = None
    version: int = 1
    tasks: list[WorkflowTask] = Field(default_factory=empty_list)
    input_parameters: list[str] = Field(default_factory=empty_list)
    output_parameters: dict[str, Any] = Field(default_factory=dict)
    failure_workflow: str | None = None
    schema_version: int = 2
    restartable: bool = True
    workflow_status_listener_enabled: bool = False
    owner_email: str | None = None
    timeout_policy: WorkflowTimeoutPolicy = WorkflowTimeoutPolicy.ALERT_ONLY
    timeout_seconds: int = 0
    variables: dict[str, Any] = Field(default_factory=dict)
    input_template: dict[str, Any] = Field(default_factory=dict)
    failure_workflow_version: int | None = None
    workflow_status_listener_sink: str | None = None
    rate_limit_config: RateLimitConfig | None = None
    input_schema: SchemaDef | None = None
    output_schema: SchemaDef | None = None
    enforce_schema: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)
    cache_config: CacheConfig | None = None
    masked_fields: list[str] = Field(default_factory=empty_list)

    def all_tasks(self) -> Iterator[WorkflowTask]:
        """Every WorkflowTask of the definition, nested ones included (see :meth:`WorkflowTask.children`).

        Inline sub-workflow definitions are separate workflows and are not entered.
        """
        for task in self.tasks:
            yield from task.all_tasks()

    def task_by_ref(self, task_reference_name: str) -> WorkflowTask | None:
        """The (possibly nested) task with that reference name, or None."""
        return next((t for t in self.all_tasks() if t.task_reference_name == task_reference_name), None)


# SubWorkflowParams and WorkflowTask refer to WorkflowDef, defined last: finish them now, not on first use.
SubWorkflowParams.model_rebuild()
WorkflowTask.model_rebuild()
