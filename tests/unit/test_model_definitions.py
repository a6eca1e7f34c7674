"""TaskDef / WorkflowDef / WorkflowTask: defaults, wire names and nesting (REFERENCE 1.2 to 1.5)."""

import pydantic
import pytest

from batonflow.model import (
    RateLimitConfig,
    SubWorkflowParams,
    TaskDef,
    TaskType,
    WorkflowDef,
    WorkflowTask,
    WorkflowTimeoutPolicy,
)


def test_minimal_task_def_gets_conductors_defaults() -> None:
    # What conductor-python's worker auto-registration sends (python-sdk-wire 3a.1).
    parsed = TaskDef.from_conductor({"name": "greet", "enforceSchema": False})

    assert parsed.to_conductor() == {
        "name": "greet",
        "retryCount": 3,
        "timeoutSeconds": 0,
        "inputKeys": [],
        "outputKeys": [],
        "runtimeMetadata": [],
        "timeoutPolicy": "TIME_OUT_WF",
        "retryLogic": "FIXED",
        "retryDelaySeconds": 60,
        "responseTimeoutSeconds": 3600,
        "inputTemplate": {},
        "rateLimitPerFrequency": 0,
        "rateLimitFrequencyInSeconds": 1,
        "backoffScaleFactor": 1,
        "maxRetryDelaySeconds": 0,
        "backoffJitterMs": 0,
        "totalTimeoutSeconds": 0,
        "taskStatusListenerEnabled": True,
        "enforceSchema": False,
    }


def test_optional_task_def_limits_are_written_only_when_set() -> None:
    written = TaskDef(name="t", concurrent_exec_limit=2, poll_timeout_seconds=0).to_conductor()

    assert (written["concurrentExecLimit"], written["pollTimeoutSeconds"]) == (2, 0)


def test_minimal_workflow_def_gets_conductors_defaults() -> None:
    assert WorkflowDef(name="w").to_conductor() == {
        "name": "w",
        "version": 1,
        "tasks": [],
        "inputParameters": [],
        "outputParameters": {},
        "schemaVersion": 2,
        "restartable": True,
        "workflowStatusListenerEnabled": False,
        "timeoutPolicy": "ALERT_ONLY",
        "timeoutSeconds": 0,
        "variables": {},
        "inputTemplate": {},
        "enforceSchema": True,
        "metadata": {},
        "maskedFields": [],
    }


def test_python_sdk_builder_definition_parses() -> None:
    # Captured from conductor-python's ConductorWorkflow.register() (python-sdk-wire 4).
    body = {
        "name": "greetings_code",
        "description": "builder",
        "version": 1,
        "tasks": [
            {
                "name": "greet",
                "taskReferenceName": "greet_ref",
                "inputParameters": {"name": "${workflow.input.name}"},
                "type": "SIMPLE",
            }
        ],
        "inputParameters": ["name"],
        "outputParameters": {"greeting": "${greet_ref.output.greeting}"},
        "failureWorkflow": "",
        "schemaVersion": 2,
        "workflowStatusListenerEnabled": False,
        "timeoutSeconds": 60,
        "variables": {},
        "inputTemplate": {},
        "enforceSchema": False,
    }

    parsed = WorkflowDef.from_conductor(body)

    assert parsed.timeout_policy is WorkflowTimeoutPolicy.ALERT_ONLY  # so its 60 s timeout never fires
    assert (parsed.failure_workflow, parsed.restartable, parsed.timeout_seconds) == ("", True, 60)
    assert parsed.tasks[0].task_reference_name == "greet_ref"


def test_workflow_task_defaults() -> None:
    written = WorkflowTask(name="a", task_reference_name="a_ref").to_conductor()

    assert written == {
        "name": "a",
        "taskReferenceName": "a_ref",
        "inputParameters": {},
        "type": "SIMPLE",
        "decisionCases": {},
        "defaultCase": [],
        "forkTasks": [],
        "startDelay": 0,
        "joinOn": [],
        "optional": False,
        "defaultExclusiveJoinTask": [],
        "asyncComplete": False,
        "loopOver": [],
        "onStateChange": {},
        "permissive": False,
        "metadata": {},
    }


def test_unknown_task_type_parses_and_means_user_defined() -> None:
    task = WorkflowTask.from_conductor({"name": "a", "taskReferenceName": "a", "type": "USER_TASK"})

    assert task.type == "USER_TASK"
    assert task.task_type is TaskType.USER_DEFINED
    assert task.to_conductor()["type"] == "USER_TASK"


@pytest.mark.parametrize(
    ("model", "python_name", "wire_name"),
    [
        (TaskDef, "isolation_group_id", "isolationGroupId"),
        (TaskDef, "execution_name_space", "executionNameSpace"),
        (TaskDef, "rate_limit_frequency_in_seconds", "rateLimitFrequencyInSeconds"),
        (WorkflowTask, "task_reference_name", "taskReferenceName"),
        (WorkflowTask, "loop_over", "loopOver"),
        (WorkflowTask, "sub_workflow_param", "subWorkflowParam"),
        (WorkflowTask, "dynamic_fork_tasks_input_param_name", "dynamicForkTasksInputParamName"),
        (WorkflowTask, "dynamic_fork_join_tasks_param", "dynamicForkJoinTasksParam"),
        (WorkflowTask, "default_exclusive_join_task", "defaultExclusiveJoinTask"),
        (SubWorkflowParams, "workflow_definition", "workflowDefinition"),
        (SubWorkflowParams, "task_to_domain", "taskToDomain"),
        (WorkflowDef, "workflow_status_listener_sink", "workflowStatusListenerSink"),
        (WorkflowDef, "failure_workflow_version", "failureWorkflowVersion"),
        (RateLimitConfig, "concurrent_exec_limit", "concurrentExecLimit"),
    ],
)
def test_wire_names_are_conductors(model: type[pydantic.BaseModel], python_name: str, wire_name: str) -> None:
    assert model.model_fields[python_name].alias == wire_name


def test_sub_workflow_definition_may_be_an_expression() -> None:
    params = SubWorkflowParams.from_conductor({"name": "child", "workflowDefinition": "${t1.output.def}"})

    assert params.workflow_definition == "${t1.output.def}"
    assert params.to_conductor() == {"name": "child", "workflowDefinition": "${t1.output.def}"}


def test_sub_workflow_definition_rejects_other_strings() -> None:
    with pytest.raises(pydantic.ValidationError, match="not a valid DSL string"):
        SubWorkflowParams.from_conductor({"workflowDefinition": "child_wf"})


def test_sub_workflow_priority_keeps_numbers_and_templates() -> None:
    assert SubWorkflowParams.from_conductor({"priority": 5}).priority == 5
    assert (
        SubWorkflowParams.from_conductor({"priority": "${workflow.input.p}"}).priority
        == "${workflow.input.p}"
    )


def _task(ref: str, type_: str = "SIMPLE", **fields: object) -> dict[str, object]:
    return {"name": ref, "taskReferenceName": ref, "type": type_, **fields}


def test_all_tasks_follows_the_fields_each_type_uses() -> None:
    definition = WorkflowDef.from_conductor(
        {
            "name": "w",
            "tasks": [
                _task(
                    "sw",
                    "SWITCH",
                    decisionCases={"a": [_task("a1")], "b": [_task("b1"), _task("b2")]},
                    defaultCase=[_task("d1")],
                    forkTasks=[[_task("ignored_fork_on_a_switch")]],
                ),
                _task("fork", "FORK_JOIN", forkTasks=[[_task("f1")], [_task("f2")]]),
                _task("join", "JOIN", joinOn=["f1", "f2"]),
                _task("loop", "DO_WHILE", loopCondition="false", loopOver=[_task("l1")]),
            ],
        }
    )

    refs = [t.task_reference_name for t in definition.all_tasks()]

    assert refs == ["sw", "a1", "b1", "b2", "d1", "fork", "f1", "f2", "join", "loop", "l1"]
    assert definition.task_by_ref("l1") is definition.tasks[3].loop_over[0]
    assert definition.task_by_ref("ignored_fork_on_a_switch") is None
