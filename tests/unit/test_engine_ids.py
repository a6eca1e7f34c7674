"""Task ids name their workflow: ``<workflowId>-<32 hex>``, deterministic, read back by ``workflow_id_of``."""

from __future__ import annotations

import uuid

import pytest

from batonflow.engine.ids import new_workflow_id, task_id_for, workflow_id_of
from batonflow.engine.operators.sub_workflow import workflow_id_for

WORKFLOW = "0f8a4c52-1f0e-4c3e-9d55-6a1c2b3d4e5f"


def test_a_task_id_is_its_workflow_id_and_a_hash():
    task_id = task_id_for(WORKFLOW, 0, "charge_ref", 0)
    workflow, _, suffix = task_id.rpartition("-")
    assert workflow == WORKFLOW
    assert len(suffix) == 32 and set(suffix) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "workflow_id",
    [
        WORKFLOW,
        new_workflow_id(),
        str(uuid.uuid5(uuid.NAMESPACE_URL, "idempotent start")),
        workflow_id_for(task_id_for(WORKFLOW, 0, "child_ref", 0)),  # a sub-workflow's id
        "not-a-uuid-but-a-workflow-id",
    ],
)
def test_the_workflow_id_reads_back_from_the_task_id(workflow_id: str):
    for generation, reference, attempt in [(0, "a", 0), (3, "loop__2", 5), (1, "a-b-c", 0)]:
        assert workflow_id_of(task_id_for(workflow_id, generation, reference, attempt)) == workflow_id


def test_the_same_inputs_give_the_same_id():
    assert task_id_for(WORKFLOW, 2, "ship_ref", 1) == task_id_for(WORKFLOW, 2, "ship_ref", 1)


@pytest.mark.parametrize(
    "other",
    [
        (WORKFLOW, 1, "ship_ref", 1),  # a restart: a new generation
        (WORKFLOW, 2, "ship_ref", 2),  # the next attempt
        (WORKFLOW, 2, "charge_ref", 1),
        ("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", 2, "ship_ref", 1),
    ],
)
def test_any_other_input_gives_another_id(other: tuple[str, int, str, int]):
    assert task_id_for(*other) != task_id_for(WORKFLOW, 2, "ship_ref", 1)


@pytest.mark.parametrize(
    "task_id",
    [
        "8d2b6f0e-3c1a-5b7e-9f40-2a6c8e1d3b57",  # an older, bare UUID task id
        uuid.uuid4().hex,
        "",
        "no-such-task",
        "-" + "a" * 32,  # no workflow id
        f"{WORKFLOW}-{'a' * 31}",
        f"{WORKFLOW}-{'a' * 33}",
        f"{WORKFLOW}-{'A' * 32}",
        f"{WORKFLOW}-{'g' * 32}",
        f"{WORKFLOW}{'a' * 32}",
        f"{WORKFLOW}-{'a' * 32}-",
    ],
)
def test_a_string_not_made_by_task_id_for_names_no_workflow(task_id: str):
    assert workflow_id_of(task_id) is None
