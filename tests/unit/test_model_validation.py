"""Registration-time validation with Conductor's messages (REFERENCE 6)."""

from typing import Any

import pytest

from batonflow.model import (
    StartWorkflowRequest,
    TaskDef,
    TaskResult,
    ValidationErrorItem,
    ValidationRules,
    WorkflowDef,
    validate_start_request,
    validate_task_def,
    validate_task_defs,
    validate_task_result,
    validate_workflow_def,
)


def task(ref: str, type_: str = "SIMPLE", **fields: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": type_, **fields}


def workflow(*tasks: dict[str, Any], **fields: Any) -> WorkflowDef:
    return WorkflowDef.from_conductor({"name": "wf", "tasks": list(tasks), **fields})


def messages(errors: list[ValidationErrorItem]) -> list[str | None]:
    return [e.message for e in errors]


def errors_of(
    *tasks: dict[str, Any], rules: ValidationRules | None = None
) -> list[tuple[str | None, str | None]]:
    return [(e.path, e.message) for e in validate_workflow_def(workflow(*tasks), rules)]


# --- workflow definition --------------------------------------------------------------------------------


def test_valid_definition_has_no_errors() -> None:
    assert validate_workflow_def(workflow(task("a", inputParameters={"x": "${workflow.input.x}"}))) == []


def test_empty_definition() -> None:
    errors = validate_workflow_def(WorkflowDef())

    assert [(e.path, e.message) for e in errors] == [
        ("name", "WorkflowDef name cannot be null or empty"),
        ("tasks", "WorkflowTask list cannot be empty"),
    ]


def test_only_schema_version_2_is_supported() -> None:
    errors = validate_workflow_def(workflow(task("a"), schemaVersion=1))

    assert [(e.path, e.message, e.invalid_value) for e in errors] == [
        ("schemaVersion", "workflowDef schemaVersion: 2 is only supported", "1")
    ]


def test_owner_email_only_when_mandatory() -> None:
    definition = workflow(task("a"))

    assert validate_workflow_def(definition) == []
    assert messages(validate_workflow_def(definition, ValidationRules(owner_email_mandatory=True))) == [
        "ownerEmail cannot be empty"
    ]


def test_nested_tasks_need_name_and_reference_name() -> None:
    unnamed = {"type": "SIMPLE"}
    errors = errors_of(
        task("sw", "SWITCH", evaluatorType="value-param", expression="x", decisionCases={"a": [unnamed]}),
        task("dc", "DECISION", caseValueParam="x", decisionCases={"a": [task("ok")]}, defaultCase=[unnamed]),
        task("fork", "FORK_JOIN", forkTasks=[[task("f1")], [task("f2"), unnamed]]),
        task("loop", "DO_WHILE", loopCondition="false", loopOver=[unnamed]),
    )

    name, ref = (
        "WorkflowTask name cannot be empty or null",
        "WorkflowTask taskReferenceName name cannot be empty or null",
    )
    assert errors == [
        ("tasks[0].decisionCases[a][0].name", name),
        ("tasks[0].decisionCases[a][0].taskReferenceName", ref),
        ("tasks[1].defaultCase[0].name", name),
        ("tasks[1].defaultCase[0].taskReferenceName", ref),
        ("tasks[2].forkTasks[1][1].name", name),
        ("tasks[2].forkTasks[1][1].taskReferenceName", ref),
        ("tasks[3].loopOver[0].name", name),
        ("tasks[3].loopOver[0].taskReferenceName", ref),
    ]


def test_reference_names_are_unique_across_nested_tasks_and_loop_bodies() -> None:
    errors = errors_of(
        task("a"),
        task("fork", "FORK_JOIN", forkTasks=[[task("a")], [task("b")]]),
        task("join", "JOIN"),
        task("loop", "DO_WHILE", loopCondition="false", loopOver=[task("b")]),
    )

    unique = "should be unique across tasks for a given workflowDefinition: wf"
    assert errors == [
        ("tasks", f"taskReferenceName: a {unique}"),
        ("tasks", f"taskReferenceName: b {unique}"),
    ]


def test_negative_start_delay() -> None:
    assert errors_of(task("a", startDelay=-1)) == [
        ("tasks[0].startDelay", "must be greater than or equal to 0")
    ]


# --- per-type rules -------------------------------------------------------------------------------------

SWITCH_OK = {"evaluatorType": "value-param", "expression": "x", "decisionCases": {"a": [task("a1")]}}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (
            task("s", "SWITCH", expression="x", decisionCases={}),
            [
                "evaluatorType field is required for taskType: SWITCH taskName: s",
                "decisionCases should have atleast one task for taskType: SWITCH taskName: s",
            ],
        ),
        (
            task("s", "SWITCH", evaluatorType="javascript", decisionCases={"a": [task("a1")]}),
            ["expression field is required for taskType: SWITCH taskName: s"],
        ),
        (
            task("d", "DECISION"),
            [
                "caseValueParam or caseExpression field is required for taskType: DECISION taskName: d",
                "decisionCases should have atleast one task for taskType: DECISION taskName: d",
            ],
        ),
        (
            task("l", "DO_WHILE"),
            [
                "loopCondition field is required for taskType: DO_WHILE taskName: l",
                "loopOver field is required for taskType: DO_WHILE taskName: l",
            ],
        ),
        (
            task("l", "DO_WHILE", items=" ", inputParameters={"_items": {}}, loopOver=[task("b")]),
            ["loopCondition field is required for taskType: DO_WHILE taskName: l"],
        ),
        (
            task("f", "FORK_JOIN"),
            ["forkTasks should have atleast one task for taskType: FORK_JOIN taskName: f"],
        ),
        (
            task("f", "FORK_JOIN_DYNAMIC"),
            [
                "dynamicForkTasksParam field is required for taskType: FORK_JOIN_DYNAMIC taskName: f",
                "dynamicForkTasksInputParamName field is required for taskType: FORK_JOIN_DYNAMIC "
                "taskName: f",
            ],
        ),
        (
            task("f", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="legacy", dynamicForkTasksParam="new"),
            [
                "dynamicForkJoinTasksParam or combination of dynamicForkTasksInputParamName and "
                "dynamicForkTasksParam cam be used for taskType: FORK_JOIN_DYNAMIC taskName: f"
            ],
        ),
        (task("d", "DYNAMIC"), ["dynamicTaskNameParam field is required for taskType: DYNAMIC taskName: d"]),
        (
            task("s", "SUB_WORKFLOW"),
            ["subWorkflowParam field is required for taskType: SUB_WORKFLOW taskName: s"],
        ),
        (task("e", "EVENT"), ["sink field is required for taskType: EVENT taskName: e"]),
        (
            task("h", "HTTP"),
            [
                "inputParameters.http_request or inputParameters.uri field is required for taskType: HTTP "
                "taskName: h"
            ],
        ),
        (
            task("k", "KAFKA_PUBLISH"),
            ["inputParameters.kafka_request field is required for taskType: KAFKA_PUBLISH taskName: k"],
        ),
        (
            task("j", "JSON_JQ_TRANSFORM"),
            ["inputParameters.queryExpression field is required for taskType: JSON_JQ_TRANSFORM taskName: j"],
        ),
        (
            task(
                "t", "TERMINATE", optional=True, inputParameters={"terminationStatus": "${workflow.input.s}"}
            ),
            [
                "terminate task cannot be optional, taskName: t",
                "terminate task must have an terminationStatus parameter and must be set to COMPLETED or "
                "FAILED, taskName: t",
            ],
        ),
        (
            task("w", "WAIT", inputParameters={"duration": "5s", "until": "2025-06-15 09:00"}),
            ["Both 'duration' and 'until' specified. Please provide only one input"],
        ),
        (
            task("w", "WAIT", inputParameters={"duration": "5"}),
            ["Either date or duration is passed as null "],
        ),
        (
            task("w", "WAIT", inputParameters={"duration": "5s 1m"}),
            ["Either date or duration is passed as null "],
        ),
        (task("w", "WAIT", inputParameters={"until": "next tuesday"}), ["Unable to parse date "]),
    ],
)
def test_type_rule_messages(definition: dict[str, Any], expected: list[str]) -> None:
    errors = validate_workflow_def(workflow(definition))

    assert messages(errors) == expected
    assert {e.path for e in errors} == {"tasks[0]"}


@pytest.mark.parametrize(
    "definition",
    [
        task("s", "SWITCH", **SWITCH_OK),
        task("d", "DECISION", caseExpression="$.x ? 'a' : 'b'", decisionCases={"a": [task("a1")]}),
        task("f", "FORK_JOIN_DYNAMIC", inputParameters={"forkTaskInputs": []}),
        task("f", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="legacy"),
        task("f", "FORK_JOIN_DYNAMIC", dynamicForkTasksParam="a", dynamicForkTasksInputParamName="b"),
        task("h", "HTTP", inputParameters={"http_request": {"uri": "http://x", "method": "GET"}}),
        task("h", "HTTP", inputParameters={"uri": "http://x"}),
        task("h", "HTTP", taskDefinition={"name": "h", "inputTemplate": {"http_request": {}}}),
        task("t", "TERMINATE", inputParameters={"terminationStatus": "TERMINATED"}),
        task("l", "DO_WHILE", items="${workflow.input.list}", loopOver=[task("b")]),
        task("l", "DO_WHILE", inputParameters={"_items": "${workflow.input.list}"}, loopOver=[task("b")]),
        task("l", "DO_WHILE", inputParameters={"_items": [1, 2]}, loopOver=[task("b")]),
        task("w", "WAIT", inputParameters={"duration": "2 hours 30 minutes"}),
        task("w", "WAIT", inputParameters={"duration": "1d2h3m4s"}),
        task("w", "WAIT", inputParameters={"duration": "${workflow.input.wait}", "until": ""}),
        task("w", "WAIT", inputParameters={"until": "2025-06-15 09:00 GMT+00:00"}),
        task("w", "WAIT", inputParameters={"until": "2025-06-15"}),
        task("w", "WAIT"),
        task("n", "NOOP"),
        task("i", "INLINE"),
        task("u", "USER_TASK"),
    ],
    ids=lambda d: f"{d['type']}-{sorted(k for k in d if k not in ('name', 'taskReferenceName', 'type'))}",
)
def test_type_rules_accept_valid_tasks(definition: dict[str, Any]) -> None:
    assert validate_workflow_def(workflow(definition)) == []


def test_http_input_may_come_from_the_registered_task_def() -> None:
    registered = {
        "h": TaskDef(name="h", input_template={"http_request": {"uri": "http://x", "method": "GET"}})
    }
    rules = ValidationRules(task_defs=registered.get)

    assert validate_workflow_def(workflow(task("h", "HTTP")), rules) == []


def test_type_rules_apply_in_branches_but_not_in_loop_bodies() -> None:
    errors = errors_of(
        task("sw", "SWITCH", **SWITCH_OK | {"defaultCase": [task("e1", "EVENT")]}),
        task("loop", "DO_WHILE", loopCondition="false", loopOver=[task("e2", "EVENT")]),
    )

    assert errors == [("tasks[0].defaultCase[0]", "sink field is required for taskType: EVENT taskName: e1")]


def test_javascript_syntax_is_checked_by_the_given_parser() -> None:
    def check(script: str) -> None:
        if "(" in script:
            raise ValueError("unbalanced")

    rules = ValidationRules(check_script=check)
    js_switch = task(
        "s", "SWITCH", evaluatorType="javascript", expression="f(", decisionCases={"a": [task("s1")]}
    )
    value_param_switch = task(
        "v", "SWITCH", evaluatorType="value-param", expression="f(", decisionCases={"a": []}
    )
    decision = task("d", "DECISION", caseExpression="g(", decisionCases={"a": [task("d1")]})

    assert errors_of(js_switch, value_param_switch, decision, rules=rules) == [
        ("tasks[0]", "Expression is not well formatted: unbalanced, taskType: SWITCH taskName s"),
        ("tasks[2]", "Expression is not well formatted: unbalanced, taskType: DECISION taskName d"),
    ]


# --- ${...} references of top-level inputParameters -----------------------------------------------------


def test_input_parameters_must_reference_workflow_or_known_tasks() -> None:
    bad = "${missing.output.x}"
    errors = errors_of(task("a", inputParameters={"p": {"deep": [bad]}, "ok": "${workflow.input.x}"}))

    assert errors == [
        (
            "tasks[0].inputParameters",
            f"taskReferenceName: missing for given task: a input value: deep of input parameter: {bad} "
            "is not defined in workflow definition.",
        )
    ]


@pytest.mark.parametrize(
    "value",
    [
        "${b.output.x}",  # a later task
        "${nested.output.x}",  # a task nested in a fork
        "${CPEWF_TASK_ID}",
        "id ${CPEWF_TASK_ID} of ${NETFLIX_STACK}",
        "$${escaped.not.checked}",
        "${workflow.input.${workflow.input.which}}",
        '${b.output["key with space"]}',
        "",
        7,
        None,
    ],
)
def test_input_parameters_accepted(value: Any) -> None:
    definition = workflow(
        task("a", inputParameters={"p": value}),
        task("b"),
        task("fork", "FORK_JOIN", forkTasks=[[task("nested")]]),
        task("join", "JOIN"),
    )

    assert validate_workflow_def(definition) == []


def test_bare_names_need_to_be_allowed_explicitly() -> None:
    definition = workflow(task("a", inputParameters={"home": "${HOME}"}))

    assert messages(validate_workflow_def(definition)) == [
        "taskReferenceName: HOME for given task: a input value: home of input parameter: ${HOME} "
        "is not defined in workflow definition."
    ]
    assert validate_workflow_def(definition, ValidationRules(env_names=frozenset({"HOME"}))) == []


@pytest.mark.parametrize("path", ["workflow.input.Space Value", "", "  ", "t.output[0", "workflow.input."])
def test_unparseable_paths(path: str) -> None:
    errors = validate_workflow_def(workflow(task("a", inputParameters={"blabla": "${" + path + "}"})))

    assert messages(errors) == [f"key: blabla input parameter value: {path} is not valid"]


def test_nested_tasks_input_parameters_are_not_checked() -> None:
    definition = workflow(
        task("fork", "FORK_JOIN", forkTasks=[[task("f", inputParameters={"x": "${nope.x}"})]])
    )

    assert validate_workflow_def(definition) == []


# --- task definitions -----------------------------------------------------------------------------------


def test_valid_task_def() -> None:
    assert validate_task_def(TaskDef(name="t", timeout_seconds=3600, total_timeout_seconds=7200)) == []


def test_task_def_minimums() -> None:
    bad = TaskDef(
        name="",
        retry_count=-1,
        response_timeout_seconds=0,
        poll_timeout_seconds=-1,
        backoff_scale_factor=0,
        max_retry_delay_seconds=-1,
        backoff_jitter_ms=-1,
        total_timeout_seconds=-1,
    )

    assert [(e.path, e.message, e.invalid_value) for e in validate_task_def(bad)] == [
        ("name", "TaskDef name cannot be null or empty", None),
        ("retryCount", "TaskDef retryCount: 0 must be >= 0", "-1"),
        ("responseTimeoutSeconds", "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second", "0"),
        ("pollTimeoutSeconds", "TaskDef pollTimeoutSeconds: 0 must be >= 0", "-1"),
        ("backoffScaleFactor", "Backoff scale factor. Applicable for LINEAR_BACKOFF", "0"),
        ("maxRetryDelaySeconds", "TaskDef maxRetryDelaySeconds: 0 must be >= 0", "-1"),
        ("backoffJitterMs", "TaskDef backoffJitterMs: 0 must be >= 0", "-1"),
        ("totalTimeoutSeconds", "TaskDef totalTimeoutSeconds: 0 must be >= 0", "-1"),
    ]


def test_task_def_timeouts_must_nest() -> None:
    bad = TaskDef(name="t", timeout_seconds=60, response_timeout_seconds=120, total_timeout_seconds=30)

    assert messages(validate_task_def(bad)) == [
        "TaskDef: t responseTimeoutSeconds: 120 must be less than timeoutSeconds: 60",
        "TaskDef: t timeoutSeconds: 60 must be less than or equal to totalTimeoutSeconds: 30",
    ]


def test_task_def_without_timeout_may_have_any_response_timeout() -> None:
    assert validate_task_def(TaskDef(name="t", timeout_seconds=0, response_timeout_seconds=86_400)) == []


def test_task_def_list() -> None:
    assert messages(validate_task_defs([])) == ["TaskDefList is empty"]
    errors = validate_task_defs([TaskDef(name="ok"), TaskDef(name="")])
    assert [(e.path, e.message) for e in errors] == [("[1].name", "TaskDef name cannot be null or empty")]


# --- requests -------------------------------------------------------------------------------------------


def test_start_request_rules() -> None:
    request = StartWorkflowRequest.from_conductor({"priority": 100, "workflowDef": {"name": "inline"}})

    assert [(e.path, e.message) for e in validate_start_request(request)] == [
        ("name", "Workflow name cannot be null or empty"),
        ("priority", "priority: 100 should be maximum 99"),
        ("workflowDef.tasks", "WorkflowTask list cannot be empty"),
    ]
    negative = StartWorkflowRequest(name="w", priority=-1)
    assert messages(validate_start_request(negative)) == ["priority: -1 should be minimum 0"]
    assert validate_start_request(StartWorkflowRequest(name="w", priority=99)) == []


def test_task_result_needs_ids() -> None:
    assert [(e.path, e.message) for e in validate_task_result(TaskResult(status="COMPLETED"))] == [
        ("workflowInstanceId", "Workflow Id cannot be null or empty"),
        ("taskId", "Task ID cannot be null or empty"),
    ]
    assert validate_task_result(TaskResult(workflow_instance_id="w", task_id="t")) == []


def test_a_join_naming_an_unknown_task_is_refused():
    from batonflow.model import WorkflowDef, validate_workflow_def

    definition = WorkflowDef.model_validate(
        {
            "name": "bad_join",
            "tasks": [
                {
                    "name": "fork",
                    "taskReferenceName": "fork",
                    "type": "FORK_JOIN",
                    "forkTasks": [[{"name": "a", "taskReferenceName": "a"}]],
                },
                {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "ghost"]},
            ],
        }
    )
    [error] = validate_workflow_def(definition)
    assert error.message == "joinOn task ghost of JOIN join is not in workflow bad_join"
    assert error.invalid_value == "ghost"
