# ruff: noqa: E501  (fixture text is copied verbatim; some JavaScript expressions are long single strings)
"""Conductor's own test-harness definitions parse, validate and round-trip unchanged.

The definitions below are copied verbatim from conductor-oss/conductor (Apache-2.0),
``test-harness/src/test/resources/`` at b54f0d4, so that the tests never read files outside the repo.
They mix every style users write: explicit defaults (``"decisionCases": {}``), nested decision cases,
forks, loop bodies holding SWITCH and FORK_JOIN_DYNAMIC, inline task and sub-workflow definitions, and a
literal ``null`` inside ``inputParameters``.
"""

import json
from typing import Any

import pytest

from batonflow.model import SubWorkflowParams, TaskDef, WorkflowDef, validate_workflow_def

# simple_workflow_1_integration_test.json
SIMPLE_WORKFLOW_1 = json.loads(
    """
{
 "name": "integration_test_wf",
 "description": "integration_test_wf",
 "version": 1,
 "tasks": [
           {
            "name": "integration_task_1",
            "taskReferenceName": "t1",
            "inputParameters": {
                                "p1": "${workflow.input.param1}",
                                "p2": "${workflow.input.param2}",
                                "p3": "${CPEWF_TASK_ID}",
                                "someNullKey": null
                               },
            "type": "SIMPLE"
           },
           {
            "name": "integration_task_2",
            "taskReferenceName": "t2",
            "inputParameters": {
                                "tp1": "${workflow.input.param1}",
                                "tp2": "${t1.output.op}",
                                "tp3": "${CPEWF_TASK_ID}"
                               },
            "type": "SIMPLE"
           }
          ],
 "inputParameters": ["param1", "param2"],
 "outputParameters": {
                      "o1": "${workflow.input.param1}",
                      "o2": "${t2.output.uuid}",
                      "o3": "${t1.output.op}"
                     },
 "failureWorkflow": "$workflow.input.failureWfName",
 "schemaVersion": 2,
 "restartable": true,
 "workflowStatusListenerEnabled": false,
 "timeoutPolicy": "ALERT_ONLY",
 "timeoutSeconds": 0,
 "ownerEmail": "test@harness.com"
}
"""
)


# fork_join_integration_test.json
FORK_JOIN = json.loads(
    """
{
 "name": "FanInOutTest",
 "description": "FanInOutTest",
 "version": 1,
 "tasks": [
           {
            "name": "fork",
            "taskReferenceName": "fanouttask",
            "inputParameters": {},
            "type": "FORK_JOIN",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [
                          [
                           {
                            "name": "integration_task_1",
                            "taskReferenceName": "t1",
                            "inputParameters": {
                                                "p1": "workflow.input.param1",
                                                "p2": "workflow.input.param2"
                                               },
                            "type": "SIMPLE",
                            "decisionCases": {},
                            "defaultCase": [],
                            "forkTasks": [],
                            "startDelay": 0,
                            "joinOn": [],
                            "optional": false,
                            "defaultExclusiveJoinTask": [],
                            "asyncComplete": false,
                            "loopOver": []
                           },
                           {
                            "name": "integration_task_3",
                            "taskReferenceName": "t3",
                            "inputParameters": {
                                                "p1": "workflow.input.param1",
                                                "p2": "workflow.input.param2"
                                               },
                            "type": "SIMPLE",
                            "decisionCases": {},
                            "defaultCase": [],
                            "forkTasks": [],
                            "startDelay": 0,
                            "joinOn": [],
                            "optional": false,
                            "defaultExclusiveJoinTask": [],
                            "asyncComplete": false,
                            "loopOver": []
                           }
                          ],
                          [
                           {
                            "name": "integration_task_2",
                            "taskReferenceName": "t2",
                            "inputParameters": {"tp1": "workflow.input.param1"},
                            "type": "SIMPLE",
                            "decisionCases": {},
                            "defaultCase": [],
                            "forkTasks": [],
                            "startDelay": 0,
                            "joinOn": [],
                            "optional": false,
                            "defaultExclusiveJoinTask": [],
                            "asyncComplete": false,
                            "loopOver": []
                           }
                          ]
                         ],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "join",
            "taskReferenceName": "fanouttask_join",
            "inputParameters": {},
            "type": "JOIN",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": ["t3", "t2"],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "integration_task_4",
            "taskReferenceName": "t4",
            "inputParameters": {"tp1": "workflow.input.param1"},
            "type": "SIMPLE",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           }
          ],
 "inputParameters": ["param1", "param2"],
 "outputParameters": {},
 "schemaVersion": 2,
 "restartable": true,
 "workflowStatusListenerEnabled": false,
 "timeoutPolicy": "ALERT_ONLY",
 "timeoutSeconds": 0,
 "ownerEmail": "test@harness.com"
}
"""
)


# exclusive_join_integration_test.json
EXCLUSIVE_JOIN = json.loads(
    """
{
 "name": "ExclusiveJoinTestWorkflow",
 "description": "Exclusive Join Test Workflow",
 "version": 1,
 "tasks": [
           {
            "name": "integration_task_1",
            "taskReferenceName": "task1",
            "inputParameters": {"payload": "${workflow.input.payload}"},
            "type": "SIMPLE",
            "startDelay": 0,
            "optional": false
           },
           {
            "name": "decide_task",
            "taskReferenceName": "decision1",
            "inputParameters": {"decision_1": "${workflow.input.decision_1}"},
            "type": "DECISION",
            "caseValueParam": "decision_1",
            "decisionCases": {
                              "true": [
                                       {
                                        "name": "integration_task_2",
                                        "taskReferenceName": "task2",
                                        "inputParameters": {
                                                            "payload": "${task1.output.payload}"
                                                           },
                                        "type": "SIMPLE",
                                        "startDelay": 0,
                                        "optional": false
                                       },
                                       {
                                        "name": "decide_task",
                                        "taskReferenceName": "decision2",
                                        "inputParameters": {
                                                            "decision_2": "${workflow.input.decision_2}"
                                                           },
                                        "type": "DECISION",
                                        "caseValueParam": "decision_2",
                                        "decisionCases": {
                                                          "true": [
                                                                   {
                                                                    "name": "integration_task_3",
                                                                    "taskReferenceName": "task3",
                                                                    "inputParameters": {
                                                                                        "payload": "${task2.output.payload}"
                                                                                       },
                                                                    "type": "SIMPLE",
                                                                    "startDelay": 0,
                                                                    "optional": false
                                                                   }
                                                                  ]
                                                         }
                                       }
                                      ],
                              "false": [
                                        {
                                         "name": "integration_task_4",
                                         "taskReferenceName": "task4",
                                         "inputParameters": {
                                                             "payload": "${task1.output.payload}"
                                                            },
                                         "type": "SIMPLE",
                                         "startDelay": 0,
                                         "optional": false
                                        },
                                        {
                                         "name": "decide_task",
                                         "taskReferenceName": "decision3",
                                         "inputParameters": {
                                                             "decision_3": "${workflow.input.decision_3}"
                                                            },
                                         "type": "DECISION",
                                         "caseValueParam": "decision_3",
                                         "decisionCases": {
                                                           "true": [
                                                                    {
                                                                     "name": "integration_task_5",
                                                                     "taskReferenceName": "task5",
                                                                     "inputParameters": {
                                                                                         "payload": "${task4.output.payload}"
                                                                                        },
                                                                     "type": "SIMPLE",
                                                                     "startDelay": 0,
                                                                     "optional": false
                                                                    }
                                                                   ]
                                                          }
                                        }
                                       ]
                             }
           },
           {
            "name": "exclusive_join",
            "taskReferenceName": "exclusiveJoin",
            "type": "EXCLUSIVE_JOIN",
            "joinOn": ["task3", "task5"],
            "defaultExclusiveJoinTask": ["task2", "task4", "task1"]
           }
          ],
 "schemaVersion": 2,
 "ownerEmail": "test@harness.com"
}
"""
)


# do_while_timeline_ui_demo.json
DO_WHILE_TIMELINE = json.loads(
    """
{
 "name": "do_while_timeline_ui_demo",
 "description": "Demonstrates Timeline UI fix for DO_WHILE with SWITCH and FORK_JOIN_DYNAMIC (Issue #534)",
 "version": 1,
 "tasks": [
           {
            "name": "do_while_with_switch",
            "taskReferenceName": "do_while_switch_ref",
            "inputParameters": {"loop_limit": 2},
            "type": "DO_WHILE",
            "loopCondition": "(function () {if ($.do_while_switch_ref['iteration'] < $.loop_limit) {return true;} return false;})();",
            "loopOver": [
                         {
                          "name": "switch_task",
                          "taskReferenceName": "switch_ref",
                          "inputParameters": {"decision_case": "default"},
                          "type": "SWITCH",
                          "evaluatorType": "value-param",
                          "expression": "decision_case",
                          "decisionCases": {
                                            "specific": [
                                                         {
                                                          "name": "specific_case",
                                                          "taskReferenceName": "specific_case_ref",
                                                          "inputParameters": {
                                                                              "evaluatorType": "javascript",
                                                                              "expression": "({result: 'specific case executed'})"
                                                                             },
                                                          "type": "INLINE"
                                                         }
                                                        ]
                                           },
                          "defaultCase": [
                                          {
                                           "name": "default_case",
                                           "taskReferenceName": "default_case_ref",
                                           "inputParameters": {
                                                               "evaluatorType": "javascript",
                                                               "expression": "({result: 'default case executed', iteration: $.do_while_switch_ref['iteration']})"
                                                              },
                                           "type": "INLINE"
                                          }
                                         ]
                         }
                        ]
           },
           {
            "name": "do_while_with_fork_join_dynamic",
            "taskReferenceName": "do_while_fork_ref",
            "inputParameters": {"loop_limit": 2},
            "type": "DO_WHILE",
            "loopCondition": "(function () {if ($.do_while_fork_ref['iteration'] < $.loop_limit) {return true;} return false;})();",
            "loopOver": [
                         {
                          "name": "prepare_fork",
                          "taskReferenceName": "prepare_fork_ref",
                          "inputParameters": {
                                              "queryExpression": "[{id: 1, value: 'task1'}, {id: 2, value: 'task2'}]"
                                             },
                          "type": "JSON_JQ_TRANSFORM"
                         },
                         {
                          "name": "dynamic_fork",
                          "taskReferenceName": "dynamic_fork_ref",
                          "inputParameters": {
                                              "forkTaskName": "inline_fork_task",
                                              "forkTaskType": "INLINE",
                                              "forkTaskInputs": "${prepare_fork_ref.output.result}",
                                              "dynamicTasks": [
                                                               {
                                                                "name": "inline_fork_task",
                                                                "taskReferenceName": "fork_task_1",
                                                                "type": "INLINE",
                                                                "inputParameters": {
                                                                                    "evaluatorType": "javascript",
                                                                                    "expression": "({processed: true, id: 1})"
                                                                                   }
                                                               },
                                                               {
                                                                "name": "inline_fork_task",
                                                                "taskReferenceName": "fork_task_2",
                                                                "type": "INLINE",
                                                                "inputParameters": {
                                                                                    "evaluatorType": "javascript",
                                                                                    "expression": "({processed: true, id: 2})"
                                                                                   }
                                                               }
                                                              ]
                                             },
                          "type": "FORK_JOIN_DYNAMIC",
                          "dynamicForkTasksParam": "dynamicTasks",
                          "dynamicForkTasksInputParamName": "forkTaskInputs"
                         },
                         {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN"}
                        ]
           },
           {
            "name": "final_summary",
            "taskReferenceName": "final_summary_ref",
            "inputParameters": {
                                "evaluatorType": "javascript",
                                "expression": "({message: 'Timeline UI should render correctly for both DO_WHILE scenarios', switch_iterations: $.do_while_switch_ref['iteration'], fork_iterations: $.do_while_fork_ref['iteration']})"
                               },
            "type": "INLINE"
           }
          ],
 "schemaVersion": 2,
 "ownerEmail": "test@conductor.io"
}
"""
)


# simple_workflow_with_sub_workflow_inline_def_integration_test.json
INLINE_SUB_WORKFLOW = json.loads(
    """
{
 "name": "WorkflowWithInlineSubWorkflow",
 "description": "WorkflowWithInlineSubWorkflow",
 "version": 1,
 "tasks": [
           {
            "name": "integration_task_1",
            "taskReferenceName": "t1",
            "inputParameters": {
                                "tp11": "${workflow.input.param1}",
                                "tp12": "${workflow.input.param2}"
                               },
            "type": "SIMPLE",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "swt",
            "taskReferenceName": "swt",
            "inputParameters": {"op": "${t1.output.op}", "imageType": "${t1.output.imageType}"},
            "type": "SUB_WORKFLOW",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "subWorkflowParam": {
                                 "name": "one_task_workflow",
                                 "version": 1,
                                 "workflowDefinition": {
                                                        "name": "one_task_workflow",
                                                        "version": 1,
                                                        "tasks": [
                                                                  {
                                                                   "name": "integration_task_3",
                                                                   "taskReferenceName": "t3",
                                                                   "inputParameters": {
                                                                                       "p1": "${workflow.input.imageType}"
                                                                                      },
                                                                   "type": "SIMPLE",
                                                                   "decisionCases": {},
                                                                   "defaultCase": [],
                                                                   "forkTasks": [],
                                                                   "startDelay": 0,
                                                                   "joinOn": [],
                                                                   "optional": false,
                                                                   "defaultExclusiveJoinTask": [],
                                                                   "asyncComplete": false,
                                                                   "loopOver": []
                                                                  }
                                                                 ],
                                                        "inputParameters": ["imageType", "op"],
                                                        "outputParameters": {
                                                                             "op": "${t3.output.op}"
                                                                            },
                                                        "schemaVersion": 2,
                                                        "restartable": true,
                                                        "workflowStatusListenerEnabled": false,
                                                        "timeoutPolicy": "ALERT_ONLY",
                                                        "timeoutSeconds": 0
                                                       }
                                },
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "integration_task_2",
            "taskReferenceName": "t2",
            "inputParameters": {"op": "${t1.output.op}"},
            "type": "SIMPLE",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           }
          ],
 "inputParameters": ["param1", "param2"],
 "outputParameters": {"o3": "${t1.output.op}"},
 "schemaVersion": 2,
 "restartable": true,
 "workflowStatusListenerEnabled": false,
 "timeoutPolicy": "ALERT_ONLY",
 "timeoutSeconds": 0,
 "ownerEmail": "test@harness.com"
}
"""
)


# dynamic_fork_join_integration_test.json
DYNAMIC_FORK_JOIN = json.loads(
    """
{
 "name": "DynamicFanInOutTest",
 "description": "DynamicFanInOutTest",
 "version": 1,
 "tasks": [
           {
            "name": "integration_task_1",
            "taskReferenceName": "dt1",
            "inputParameters": {
                                "p1": "${workflow.input.param1}",
                                "p2": "${workflow.input.param2}"
                               },
            "type": "SIMPLE",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "taskDefinition": {
                               "createdBy": "integration_app",
                               "name": "integration_task_1",
                               "description": "integration_task_1",
                               "retryCount": 1,
                               "timeoutSeconds": 120,
                               "inputKeys": [],
                               "outputKeys": [],
                               "timeoutPolicy": "TIME_OUT_WF",
                               "retryLogic": "FIXED",
                               "retryDelaySeconds": 60,
                               "responseTimeoutSeconds": 3600,
                               "inputTemplate": {},
                               "rateLimitPerFrequency": 0,
                               "rateLimitFrequencyInSeconds": 1
                              },
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "fork",
            "taskReferenceName": "dynamicfanouttask",
            "inputParameters": {
                                "dynamicTasks": "${dt1.output.dynamicTasks}",
                                "dynamicTasksInput": "${dt1.output.dynamicTasksInput}"
                               },
            "type": "FORK_JOIN_DYNAMIC",
            "decisionCases": {},
            "dynamicForkTasksParam": "dynamicTasks",
            "dynamicForkTasksInputParamName": "dynamicTasksInput",
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "join",
            "taskReferenceName": "dynamicfanouttask_join",
            "inputParameters": {},
            "type": "JOIN",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           },
           {
            "name": "integration_task_4",
            "taskReferenceName": "task4",
            "inputParameters": {},
            "type": "SIMPLE",
            "decisionCases": {},
            "defaultCase": [],
            "forkTasks": [],
            "startDelay": 0,
            "joinOn": [],
            "optional": false,
            "taskDefinition": {
                               "createdBy": "integration_app",
                               "name": "integration_task_4",
                               "description": "integration_task_4",
                               "retryCount": 1,
                               "timeoutSeconds": 120,
                               "inputKeys": [],
                               "outputKeys": [],
                               "timeoutPolicy": "TIME_OUT_WF",
                               "retryLogic": "FIXED",
                               "retryDelaySeconds": 60,
                               "responseTimeoutSeconds": 3600,
                               "inputTemplate": {},
                               "rateLimitPerFrequency": 0,
                               "rateLimitFrequencyInSeconds": 1
                              },
            "defaultExclusiveJoinTask": [],
            "asyncComplete": false,
            "loopOver": []
           }
          ],
 "inputParameters": ["param1", "param2"],
 "outputParameters": {},
 "schemaVersion": 2,
 "restartable": true,
 "workflowStatusListenerEnabled": false,
 "timeoutPolicy": "ALERT_ONLY",
 "timeoutSeconds": 0,
 "ownerEmail": "test@harness.com"
}
"""
)


ALL_FIXTURES = {
    "simple_workflow_1": SIMPLE_WORKFLOW_1,
    "fork_join": FORK_JOIN,
    "exclusive_join": EXCLUSIVE_JOIN,
    "do_while_timeline": DO_WHILE_TIMELINE,
    "inline_sub_workflow": INLINE_SUB_WORKFLOW,
    "dynamic_fork_join": DYNAMIC_FORK_JOIN,
}


def assert_written_back(original: Any, written: Any, path: str = "$") -> None:
    """Every value of the original survives (written output may add Conductor's defaults)."""
    if isinstance(original, dict):
        for key, value in original.items():
            assert key in written, f"{path}.{key} was dropped"
            assert_written_back(value, written[key], f"{path}.{key}")
    elif isinstance(original, list):
        assert len(original) == len(written), path
        for i, (a, b) in enumerate(zip(original, written, strict=True)):
            assert_written_back(a, b, f"{path}[{i}]")
    else:
        assert original == written, path


@pytest.mark.parametrize("data", ALL_FIXTURES.values(), ids=ALL_FIXTURES.keys())
def test_fixture_round_trips_without_losing_anything(data: dict[str, Any]) -> None:
    definition = WorkflowDef.from_conductor(data)

    written = definition.to_conductor()

    assert_written_back(data, written)
    assert WorkflowDef.from_conductor(written) == definition
    assert json.loads(definition.to_conductor_json()) == written


@pytest.mark.parametrize("data", ALL_FIXTURES.values(), ids=ALL_FIXTURES.keys())
def test_fixture_is_a_valid_definition(data: dict[str, Any]) -> None:
    assert validate_workflow_def(WorkflowDef.from_conductor(data)) == []


@pytest.mark.parametrize(
    ("data", "refs"),
    [
        (FORK_JOIN, ["fanouttask", "t1", "t3", "t2", "fanouttask_join", "t4"]),
        (
            EXCLUSIVE_JOIN,
            [
                "task1",
                "decision1",
                "task2",
                "decision2",
                "task3",
                "task4",
                "decision3",
                "task5",
                "exclusiveJoin",
            ],
        ),
        (
            DO_WHILE_TIMELINE,
            [
                "do_while_switch_ref",
                "switch_ref",
                "specific_case_ref",
                "default_case_ref",
                "do_while_fork_ref",
                "prepare_fork_ref",
                "dynamic_fork_ref",
                "join_ref",
                "final_summary_ref",
            ],
        ),
    ],
    ids=["fork_join", "exclusive_join", "do_while_timeline"],
)
def test_all_tasks_reaches_nested_cases_forks_and_loop_bodies(data: dict[str, Any], refs: list[str]) -> None:
    definition = WorkflowDef.from_conductor(data)

    assert [t.task_reference_name for t in definition.all_tasks()] == refs


def test_nested_tasks_are_typed_models() -> None:
    definition = WorkflowDef.from_conductor(EXCLUSIVE_JOIN)

    decision = definition.tasks[1]
    nested = decision.decision_cases["true"][1]
    assert (nested.type, nested.case_value_param) == ("DECISION", "decision_2")
    assert nested.decision_cases["true"][0].input_parameters == {"payload": "${task2.output.payload}"}
    assert definition.tasks[2].default_exclusive_join_task == ["task2", "task4", "task1"]
    assert definition.task_by_ref("task5") is decision.decision_cases["false"][1].decision_cases["true"][0]


def test_loop_body_holds_switch_and_dynamic_fork() -> None:
    loop = WorkflowDef.from_conductor(DO_WHILE_TIMELINE).tasks[1]

    prepare, fork, join = loop.loop_over
    assert loop.loop_condition is not None and loop.loop_condition.startswith("(function ()")
    assert (fork.dynamic_fork_tasks_param, fork.dynamic_fork_tasks_input_param_name) == (
        "dynamicTasks",
        "forkTaskInputs",
    )
    # WorkflowTask-shaped JSON inside inputParameters stays plain data: only the engine resolves it.
    assert fork.input_parameters["dynamicTasks"][0]["taskReferenceName"] == "fork_task_1"
    assert (prepare.type, join.type) == ("JSON_JQ_TRANSFORM", "JOIN")


def test_literal_null_in_input_parameters_survives() -> None:
    definition = WorkflowDef.from_conductor(SIMPLE_WORKFLOW_1)

    assert definition.tasks[0].input_parameters["someNullKey"] is None
    assert definition.to_conductor()["tasks"][0]["inputParameters"]["someNullKey"] is None


def test_inline_sub_workflow_definition_is_a_workflow_def() -> None:
    params = WorkflowDef.from_conductor(INLINE_SUB_WORKFLOW).tasks[1].sub_workflow_param

    assert isinstance(params, SubWorkflowParams)
    assert isinstance(params.workflow_definition, WorkflowDef)
    assert params.workflow_definition.tasks[0].task_reference_name == "t3"
    assert params.workflow_definition.output_parameters == {"op": "${t3.output.op}"}


def test_inline_task_definition_is_a_task_def_with_its_own_values() -> None:
    task_def = WorkflowDef.from_conductor(DYNAMIC_FORK_JOIN).tasks[0].task_definition

    assert isinstance(task_def, TaskDef)
    assert (task_def.retry_count, task_def.timeout_seconds, task_def.created_by) == (
        1,
        120,
        "integration_app",
    )
