"""The public surface of ``batonflow.model`` is pinned: adding or removing a name is a deliberate change."""

import batonflow.model

EXPECTED = [
    "FORK_TASK_TYPE",
    "SYSTEM_PARAMETERS",
    "VALIDATION_FAILED_MESSAGE",
    "Auditable",
    "BulkResponse",
    "CacheConfig",
    "ConductorModel",
    "ErrorResponse",
    "ExecutionMetadata",
    "IdempotencyStrategy",
    "JoinMode",
    "RateLimitConfig",
    "RateLimitPolicy",
    "RerunWorkflowRequest",
    "RetryLogic",
    "SchemaDef",
    "SchemaType",
    "SearchResult",
    "SkipTaskRequest",
    "StartWorkflowRequest",
    "StateChangeEvent",
    "SubWorkflowParams",
    "Task",
    "TaskDef",
    "TaskExecLog",
    "TaskResult",
    "TaskResultStatus",
    "TaskStatus",
    "TaskSummary",
    "TaskTimeoutPolicy",
    "TaskType",
    "ValidationErrorItem",
    "ValidationRules",
    "Workflow",
    "WorkflowDef",
    "WorkflowStatus",
    "WorkflowStatusResponse",
    "WorkflowSummary",
    "WorkflowTask",
    "WorkflowTimeoutPolicy",
    "validate_start_request",
    "validate_task_def",
    "validate_task_defs",
    "validate_task_result",
    "validate_workflow_def",
]


def test_all_is_pinned() -> None:
    assert batonflow.model.__all__ == EXPECTED


def test_every_exported_name_exists() -> None:
    missing = [name for name in batonflow.model.__all__ if not hasattr(batonflow.model, name)]

    assert missing == []
