"""Partial decides of large workflows: the same plans as a full decide, from a handful of tasks.

``World`` plays the store and the executor without moto: it keeps the full state plus the header's JOIN
counters and stamps, and answers a partial decide's ``NeedTasks``/``NeedFull`` from it, recording what
was loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from batonflow.engine.decider import decide
from batonflow.engine.plan import Plan
from batonflow.engine.state import LARGE_WORKFLOW_TASKS, NeedFull, NeedTasks, WorkflowState
from batonflow.model import TaskStatus, WorkflowStatus
from tests.support.engine import T0, apply, current, definition, new_workflow, worker_result

BRANCHES = LARGE_WORKFLOW_TASKS + 10


def fan_out_definition():
    return definition(
        [
            {
                "name": "fork",
                "taskReferenceName": "fork",
                "type": "FORK_JOIN_DYNAMIC",
                "inputParameters": {"forkTaskName": "leaf", "forkTaskInputs": "${workflow.input.items}"},
            },
            {"name": "join", "taskReferenceName": "join", "type": "JOIN"},
            {"name": "after", "taskReferenceName": "after", "inputParameters": {"all": "${join.output}"}},
        ],
        task_defs={"leaf": {"retryCount": 0}},
    )


def branch(index: int) -> str:
    return f"_leaf_{index}"


@dataclass
class World:
    state: WorkflowState
    loaded: set[str] = field(default_factory=set)
    focus: set[str] = field(default_factory=set)
    escalations: list[str] = field(default_factory=list)

    def full_plan(self, now: int) -> Plan:
        return decide(self.state, now)

    def partial_plan(self, task_ids: list[str], now: int) -> Plan:
        """What the executor does for a message naming ``task_ids``."""
        by_id = {t.task_id: t for t in self.state.workflow.tasks}
        self.focus = set(task_ids)
        references: set[str] | None = {by_id[i].reference_task_name for i in task_ids}
        self.loaded = set(references)
        while True:
            try:
                return decide(self._view(references), now)
            except NeedTasks as need:
                assert references is not None
                references |= need.references
                self.loaded |= need.references
            except NeedFull as need:
                self.escalations.append(need.reason)
                references = None

    def _view(self, references: set[str] | None) -> WorkflowState:
        tasks = [
            t for t in self.state.workflow.tasks if references is None or t.reference_task_name in references
        ]
        return replace(
            self.state,
            workflow=self.state.workflow.model_copy(update={"tasks": tasks}),
            loaded_references=None if references is None else frozenset(references),
            focus=frozenset(self.focus),
        )

    def commit(self, plan: Plan) -> None:
        applied = apply(self.state, plan)
        self.state = replace(
            self.state,
            workflow=applied.workflow,
            last_seq=max(self.state.last_seq, plan.last_seq),
            joins=self.state.joins if plan.joins is None else plan.joins,
            counted=self.state.counted | set(plan.counted),
        )

    def complete(self, reference: str, now: int, **result) -> str:
        updated = worker_result(self.state, reference, now, **result)
        self.state = replace(self.state, workflow=updated.workflow)
        return current(self.state, reference).task_id


def started_fan_out(branches: int = BRANCHES) -> World:
    world = World(new_workflow(fan_out_definition(), {"items": [{"n": i} for i in range(branches)]}))
    world.commit(world.full_plan(T0))
    return world


def comparable(plan: Plan) -> tuple:
    return (plan.new_tasks, plan.task_changes, plan.workflow, plan.dispatches)


def test_a_large_fork_starts_counting_its_join():
    world = started_fan_out()
    join = current(world.state, "join")
    [(join_id, count)] = world.state.joins.items()
    assert join_id == join.task_id
    assert (count.reference, count.remaining) == ("join", BRANCHES)
    firsts = [current(world.state, branch(i)).seq for i in range(BRANCHES)]
    assert (count.first_seq, count.last_seq) == (min(firsts), max(firsts))


def test_a_branch_completion_loads_only_that_branch_and_counts_it_once():
    world = started_fan_out()
    task_id = world.complete(branch(7), T0 + 1, output={"x": 7})

    plan = world.partial_plan([task_id], T0 + 2)
    assert world.loaded == {branch(7)}
    assert not world.escalations
    assert plan.counted == (task_id,)
    assert [c.remaining for c in plan.joins.values()] == [BRANCHES - 1]
    assert comparable(plan) == comparable(world.full_plan(T0 + 2)) == ((), (), None, ())
    world.commit(plan)

    again = world.partial_plan([task_id], T0 + 3)  # the same message delivered twice
    assert again.is_empty


def test_every_partial_plan_matches_the_full_plan_until_the_workflow_completes():
    world = started_fan_out()
    for index in range(BRANCHES):
        task_id = world.complete(branch(index), T0 + index, output={"x": index})
        full = world.full_plan(T0 + index)
        partial = world.partial_plan([task_id], T0 + index)
        assert comparable(partial) == comparable(full), index
        if index < BRANCHES - 1:
            assert world.loaded == {branch(index)}, index
        world.commit(partial)
    join = current(world.state, "join")
    assert join.status == TaskStatus.COMPLETED
    assert join.output_data == {branch(i): {"x": i} for i in range(BRANCHES)}
    assert current(world.state, "after").input_data["all"] == join.output_data
    assert world.state.joins == {}
    assert not world.escalations

    after = world.complete("after", T0 + 1000, output={"done": True})
    plan = world.partial_plan([after], T0 + 1001)
    assert plan.workflow is not None and plan.workflow.status == WorkflowStatus.COMPLETED
    assert len(world.escalations) == 1  # only the very end reads everything, to see that nothing is left


def test_a_failed_branch_takes_the_exact_path_over_the_whole_workflow():
    world = started_fan_out()
    task_id = world.complete(branch(3), T0 + 1, status=TaskStatus.FAILED, reason="boom")
    plan = world.partial_plan([task_id], T0 + 2)
    assert world.escalations
    assert comparable(plan) == comparable(world.full_plan(T0 + 2))
    assert plan.workflow is not None and plan.workflow.status == WorkflowStatus.FAILED


def test_a_full_decide_recounts_a_counter_that_lost_counts():
    world = started_fan_out()
    done = [world.complete(branch(i), T0 + i) for i in range(5)]
    plan = world.full_plan(T0 + 10)  # e.g. the redelivery after a crash between stamp and commit
    assert [c.remaining for c in plan.joins.values()] == [BRANCHES - 5]
    assert set(plan.counted) == set(done)


def test_a_sequential_step_loads_the_finished_task_and_its_successor():
    tasks = [{"name": f"t{i}", "taskReferenceName": f"t{i}"} for i in range(LARGE_WORKFLOW_TASKS + 5)]
    tasks[-1]["inputParameters"] = {"first": "${t0.output.v}"}
    world = World(new_workflow(definition(tasks), {}))
    world.commit(world.full_plan(T0))
    for index in range(len(tasks)):
        task_id = world.complete(f"t{index}", T0 + index, output={"v": index})
        if index < LARGE_WORKFLOW_TASKS:
            world.commit(world.full_plan(T0 + index))
            continue
        world.state = replace(world.state, last_seq=index + 1)
        plan = world.partial_plan([task_id], T0 + index)
        assert comparable(plan) == comparable(world.full_plan(T0 + index))
        world.commit(plan)
        if index + 1 < len(tasks) - 1:
            assert world.loaded == {f"t{index}", f"t{index + 1}"}
        elif index + 1 == len(tasks) - 1:  # the last task reads t0's output: t0 is read, not advanced
            assert world.loaded == {f"t{index}", f"t{index + 1}", "t0"}
    assert current(world.state, f"t{len(tasks) - 1}").input_data == {"first": 0}


def test_a_partial_decide_hands_over_from_a_skipped_task_it_meets():
    from batonflow.engine.skip import skip_task

    tasks = [{"name": f"t{i}", "taskReferenceName": f"t{i}"} for i in range(LARGE_WORKFLOW_TASKS + 5)]
    world = World(new_workflow(definition(tasks), {}))
    world.commit(world.full_plan(T0))
    for index in range(LARGE_WORKFLOW_TASKS):
        world.complete(f"t{index}", T0 + index)
        world.commit(world.full_plan(T0 + index))
    skipped = f"t{LARGE_WORKFLOW_TASKS + 1}"
    world.commit(skip_task(world.state, T0 + 100, skipped, task_output={"skipped": True}))

    last = world.complete(f"t{LARGE_WORKFLOW_TASKS}", T0 + 101)
    plan = world.partial_plan([last], T0 + 101)
    assert comparable(plan) == comparable(world.full_plan(T0 + 101))
    assert [t.reference_task_name for t in plan.new_tasks] == [f"t{LARGE_WORKFLOW_TASKS + 2}"]
    assert not world.escalations and world.loaded == {
        f"t{LARGE_WORKFLOW_TASKS}",
        skipped,
        plan.new_tasks[0].reference_task_name,
    }


def static_fan_out_definition(branches: int):
    fork = {
        "name": "fork",
        "taskReferenceName": "fork",
        "type": "FORK_JOIN",
        "forkTasks": [
            [
                {"name": "first", "taskReferenceName": f"first_{i}"},
                {
                    "name": "second",
                    "taskReferenceName": f"second_{i}",
                    "inputParameters": {"x": f"${{first_{i}.output.x}}"},
                },
            ]
            for i in range(branches)
        ],
    }
    join = {
        "name": "join",
        "taskReferenceName": "join",
        "type": "JOIN",
        "joinOn": [f"second_{i}" for i in range(branches)],
    }
    return definition(
        [fork, join],
        task_defs={"first": {"retryCount": 1, "retryDelaySeconds": 0}, "second": {"retryCount": 0}},
    )


def test_a_static_fork_with_retries_decides_the_same_from_partial_states_in_any_order():
    import random

    branches = LARGE_WORKFLOW_TASKS
    world = World(new_workflow(static_fan_out_definition(branches), {}))
    world.commit(world.full_plan(T0))
    assert [c.remaining for c in world.state.joins.values()] == [branches]
    order = list(range(branches))
    random.Random(7).shuffle(order)
    now = T0
    for index in order:
        for reference, result in (
            (f"first_{index}", {"status": TaskStatus.FAILED}),
            (f"first_{index}", {}),
            (f"second_{index}", {}),
        ):
            now += 1
            task_id = world.complete(reference, now, output={"x": index}, **result)
            partial = world.partial_plan([task_id], now)
            assert comparable(partial) == comparable(world.full_plan(now)), (reference, index)
            world.commit(partial)
            last = index == order[-1] and reference.startswith("second")
            # only the end of the workflow needs a look at every task
            assert len(world.escalations) == (1 if last else 0), (reference, index, world.escalations)
    assert current(world.state, "join").status == TaskStatus.COMPLETED
    assert current(world.state, "second_3").input_data == {"x": 3}
    assert world.state.workflow.status == WorkflowStatus.COMPLETED
