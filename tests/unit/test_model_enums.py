"""Status flags and task types (REFERENCE 1.8, TaskType.of)."""

import pytest

from batonflow.model import TaskResultStatus, TaskStatus, TaskType, WorkflowStatus

# REFERENCE 1.8: status -> (terminal, successful, retriable)
TASK_FLAGS = {
    "SCHEDULED": (False, True, True),
    "IN_PROGRESS": (False, True, True),
    "COMPLETED": (True, True, True),
    "COMPLETED_WITH_ERRORS": (True, True, True),
    "FAILED": (True, False, True),
    "FAILED_WITH_TERMINAL_ERROR": (True, False, False),
    "TIMED_OUT": (True, False, True),
    "CANCELED": (True, False, False),
    "SKIPPED": (True, True, False),
}


def test_task_status_members_are_conductors() -> None:
    assert {s.value for s in TaskStatus} == set(TASK_FLAGS)


@pytest.mark.parametrize(("name", "flags"), TASK_FLAGS.items())
def test_task_status_flags(name: str, flags: tuple[bool, bool, bool]) -> None:
    status = TaskStatus(name)

    assert (status.is_terminal, status.is_successful, status.is_retriable) == flags


@pytest.mark.parametrize(
    ("name", "terminal", "successful"),
    [
        ("RUNNING", False, False),
        ("PAUSED", False, True),
        ("COMPLETED", True, True),
        ("FAILED", True, False),
        ("TIMED_OUT", True, False),
        ("TERMINATED", True, False),
    ],
)
def test_workflow_status_flags(name: str, terminal: bool, successful: bool) -> None:
    status = WorkflowStatus(name)

    assert (status.is_terminal, status.is_successful) == (terminal, successful)
    assert len(WorkflowStatus) == 6


def test_task_result_statuses_map_onto_task_statuses() -> None:
    assert [s.value for s in TaskResultStatus] == [
        "IN_PROGRESS",
        "FAILED",
        "FAILED_WITH_TERMINAL_ERROR",
        "COMPLETED",
        "CANCELED",
    ]
    assert (
        TaskResultStatus.FAILED_WITH_TERMINAL_ERROR.to_task_status() is TaskStatus.FAILED_WITH_TERMINAL_ERROR
    )


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("SIMPLE", TaskType.SIMPLE),
        ("SWITCH", TaskType.SWITCH),
        ("JSON_JQ_TRANSFORM", TaskType.JSON_JQ_TRANSFORM),
        ("my_worker_queue", TaskType.USER_DEFINED),
        ("switch", TaskType.USER_DEFINED),  # names are case-sensitive, as in Java
        ("LLM_TEXT_COMPLETE", TaskType.USER_DEFINED),  # OSS add-ons run as worker tasks
    ],
)
def test_task_type_of_falls_back_to_user_defined(type_name: str, expected: TaskType) -> None:
    assert TaskType.of(type_name) is expected
