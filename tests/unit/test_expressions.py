"""``${...}`` parameter resolution (REFERENCE §2.2-§2.5, §2.8).

Expected values are what Conductor's ``ParametersUtils`` answers for the same input, document and
environment (checked against its code on Jayway 2.10), unless a test says otherwise.

Micro-benchmark, run by hand: ``python tests/unit/test_expressions.py``.
"""

from __future__ import annotations

import copy
import timeit
from typing import Any

import pytest

from batonflow.engine.expressions import resolve
from batonflow.engine.jsonpath import java_text

DOC: dict[str, Any] = {
    "workflow": {
        "input": {
            "count": 3,
            "ratio": 2.5,
            "whole": 5.0,
            "big": 12345678.0,
            "tiny": 0.0001,
            "flag": True,
            "nothing": None,
            "name": "ada",
            "which": "name",
            "index": 1,
            "list": [1, "x", None, True, 2.0],
            "map": {"a": 1, "b": "x", "c": {"d": [1, 2]}},
            "key with space": "spaced",
            "path": "a/b",
        },
        "output": {},
        "status": "RUNNING",
        "workflowId": "wf-1",
        "workflowType": "order_flow",
        "version": 2,
        "variables": {"counter": 7},
    },
    "t1": {
        "input": {},
        "output": {"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}], "op": "done"},
        "status": "COMPLETED",
        "taskId": "task-t1",
    },
}
ENVIRONMENT = {
    "NETFLIX_ENV": "prod",
    "STACK2": "blue",
    "CONDUCTOR_ENV_REGION": "eu-west-1",
    "CONDUCTOR_ENV_DB": '{"host": "db.local", "port": 5432, "opts": {"ssl": true}, "hosts": ["a", "b"]}',
    "CONDUCTOR_ENV_PLAIN": "not json",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # a whole-string expression keeps the value's type (§2.3)
        ("${workflow.input.count}", 3),
        ("${workflow.input.ratio}", 2.5),
        ("${workflow.input.flag}", True),
        ("${workflow.input.nothing}", None),
        ("${workflow.input.list}", [1, "x", None, True, 2.0]),
        ("${workflow.input.map}", {"a": 1, "b": "x", "c": {"d": [1, 2]}}),
        ("${workflow.input.map.c.d[1]}", 2),
        ("${workflow.status}", "RUNNING"),
        ("${workflow.workflowType}", "order_flow"),
        ("${t1.output.op}", "done"),
        ("${t1.status}", "COMPLETED"),
        ("${$.workflow.version}", 2),
        ("${workflow.input['key with space']}", "spaced"),
        ("${t1.output.items[-1].id}", "c"),
        # anything else interpolates Java toString text
        ("n=${workflow.input.count}", "n=3"),
        ("r=${workflow.input.ratio}", "r=2.5"),
        ("w=${workflow.input.whole}", "w=5.0"),
        ("b=${workflow.input.big}", "b=1.2345678E7"),
        ("t=${workflow.input.tiny}", "t=1.0E-4"),
        ("f=${workflow.input.flag}", "f=true"),
        ("x=${workflow.input.nothing}", "x=null"),
        ("l=${workflow.input.list}", "l=[1, x, null, true, 2.0]"),
        ("m=${workflow.input.map}", "m={a=1, b=x, c={d=[1, 2]}}"),
        ("${workflow.input.name}-${workflow.input.count}", "ada-3"),
        ("${workflow.input.count}${workflow.input.count}", "33"),
        (" ${workflow.input.count}", " 3"),
        ("Name: ${workflow.input.name};\r\nCount: ${workflow.input.count};", "Name: ada;\r\nCount: 3;"),
        # lists Jayway builds (wildcard, filter, scan, slice) print as compact JSON
        ("${t1.output.items[*].id}", ["a", "b", "c"]),
        ("ids=${t1.output.items[*].id}", 'ids=["a","b","c"]'),
        ("${t1.output.items[?(@.n > 1)].id}", ["b", "c"]),
        ("${t1.output.items[?(@.id == 'z')]}", []),
        ("${t1..id}", ["a", "b", "c"]),
        ("${t1.output.items[0:1]}", [{"id": "a", "n": 1}]),
        ("s=${t1.output.items[0:1]}", 's=[{"id":"a","n":1}]'),
        ("p=${$..path}", 'p=["a\\/b"]'),
        ("${t1.output.items.length()}", 3),
        ("n=${t1.output.items.length()}", "n=3"),
        # missing references (§2.8)
        ("${workflow.input.missing}", None),
        ("${t9.output.x}", None),
        ("v=${t9.output.x}", "v=null"),
        ("${workflow.taskToDomain}", None),
        ("${workflow.input.list[9]}", None),
        # malformed paths never raise
        ("${workflow.input.a b}", None),
        ("${ workflow.input.count}", None),
        ("${workflow.input.count }", 3),
        ("${workflow.input.}", None),
        ("${$workflow}", None),
        ("x${workflow.input[?(@.a ==)]}", "xnull"),
        # nested expressions resolve inside out, as text
        ("${workflow.input.${workflow.input.which}}", "ada"),
        ("${workflow.input.list[${workflow.input.index}]}", "x"),
        ("${t1.output.items[${workflow.input.index}].id}", "b"),
        ("x${workflow.input.${workflow.input.which}}", "xada"),
        ("${workflow.input.${workflow.input.missing}}", None),
        ("${t1.output.items[${t1.output.items[0].n}].n}", 2),
        # blank expressions and the $${ escape (§2.2)
        ("${}", ""),
        ("${   }", ""),
        ("a${}b${ }c", "abc"),
        ("$${workflow.input.count}", "${workflow.input.count}"),
        ("$${workflow.input.count} ${workflow.input.count}", "${workflow.input.count} 3"),
        ("$$${workflow.input.count}", "$${workflow.input.count}"),
        ("cost: $${x}", "cost: ${x}"),
        ("$${a.${workflow.input.which}}", "${a.name}"),
        # text that is not an expression
        ("plain", "plain"),
        ("$", "$"),
        ("${", "${"),
        ("}", "}"),
        ("{workflow.input.count}", "{workflow.input.count}"),
        ("$ {x}", "$ {x}"),
        # once an expression's braces never balance, nothing later in the string resolves either
        ("${workflow.input.count", "${workflow.input.count"),
        ("${workflow.input.count} ${a{ ${workflow.input.count}", "3 ${a{ ${workflow.input.count}"),
        ("${x{ ${workflow.input.count}", "${x{ ${workflow.input.count}"),
        ("${workflow.input.map.c{}}", None),
    ],
)
def test_resolve_string(template: str, expected: Any) -> None:
    assert resolve(template, DOC) == expected


def test_type_preservation_from_reference() -> None:
    assert resolve({"n": "${workflow.input.count}"}, DOC) == {"n": 3}
    assert isinstance(resolve("${workflow.input.whole}", DOC), float)
    assert resolve("${workflow.input.flag}", DOC) is True


def test_input_template_fixture_shape() -> None:
    # simple_workflow_1_input_template_integration_test.json, task t1
    parameters = {
        "p1": "${workflow.input.param1}",
        "p2": "${workflow.input.param2}",
        "p3": "${CPEWF_TASK_ID}",
        "someNullKey": None,
    }
    document = {
        "workflow": {
            "input": {"param1": {"nested_object": {"nested_key": "nested_value"}}, "param2": ["list"]}
        }
    }
    assert resolve(parameters, document, task_id="t-42") == {
        "p1": {"nested_object": {"nested_key": "nested_value"}},
        "p2": ["list"],
        "p3": "t-42",
        "someNullKey": None,
    }


def test_walks_maps_and_lists_without_touching_keys_or_the_input() -> None:
    parameters = {
        "${workflow.input.name}": "${workflow.input.name}",
        "list": [
            "${workflow.input.count}",
            ["${workflow.input.ratio}", 3],
            {"k": "${workflow.input.nothing}"},
        ],
        "number": 7,
        "float": 1.5,
        "bool": False,
        "none": None,
        "empty": {},
    }
    original = copy.deepcopy(parameters)
    assert resolve(parameters, DOC) == {
        "${workflow.input.name}": "ada",
        "list": [3, [2.5, 3], {"k": None}],
        "number": 7,
        "float": 1.5,
        "bool": False,
        "none": None,
        "empty": {},
    }
    assert parameters == original


@pytest.mark.parametrize(
    ("template", "task_id", "expected"),
    [
        ("${CPEWF_TASK_ID}", "t-1", "t-1"),
        ("id-${CPEWF_TASK_ID}", "t-1", "id-t-1"),
        ("${CPEWF_TASK_ID}", None, "${CPEWF_TASK_ID}"),
        ("id-${CPEWF_TASK_ID}", None, "id-${CPEWF_TASK_ID}"),
        ("${NETFLIX_ENV}", None, "prod"),
        ("${NETFLIX_STACK}", None, "${NETFLIX_STACK}"),
        ("s=${NETFLIX_STACK}!", None, "s=${NETFLIX_STACK}!"),
        ("${STACK2}", None, "blue"),
        ("${UNSET_NAME}", None, None),
        ("${workflow.env.REGION}", None, "eu-west-1"),
        ("r=${workflow.env.REGION}", None, "r=eu-west-1"),
        ("${workflow.env.MISSING}", None, None),
        ("${workflow.env.DB.host}", None, "db.local"),
        ("${workflow.env.DB.port}", None, 5432),
        ("${workflow.env.DB.opts}", None, {"ssl": True}),
        ("o=${workflow.env.DB.opts}", None, "o={ssl=true}"),
        ("h=${workflow.env.DB.hosts}", None, 'h=["a","b"]'),
        ("${workflow.secrets.DB_PASSWORD}", "t-1", "${workflow.secrets.DB_PASSWORD}"),
        (
            "Bearer ${workflow.secrets.TOKEN} ${workflow.input.count}",
            None,
            "Bearer ${workflow.secrets.TOKEN} 3",
        ),
        ("${workflow.secrets.${workflow.input.which}}", None, "${workflow.secrets.${workflow.input.which}}"),
    ],
)
def test_special_names(template: str, task_id: str | None, expected: Any) -> None:
    assert resolve(template, DOC, task_id=task_id, environment=ENVIRONMENT) == expected


@pytest.mark.parametrize(
    "template", ["${workflow.env.DB.missing}", "${workflow.env.PLAIN.x}", "${workflow.env.DB.}"]
)
def test_unreadable_environment_json_resolves_to_none(template: str) -> None:
    # Conductor throws here (a missing path inside the value, or a value that is not JSON) and the task
    # cannot be scheduled; resolution never raises, so these read as None.
    assert resolve(template, DOC, environment=ENVIRONMENT) is None


def test_never_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_TEST_SECRET", "leaked")
    monkeypatch.setenv("CONDUCTOR_ENV_REGION", "leaked")
    monkeypatch.setenv("NETFLIX_ENV", "leaked")
    assert resolve("${BATON_TEST_SECRET}", DOC) is None
    assert resolve("${workflow.env.REGION}", DOC) is None
    assert resolve("${NETFLIX_ENV}", DOC) == "${NETFLIX_ENV}"


def test_conductor_escaped_tags_example() -> None:
    # ParametersUtilsTest.testReplaceWithEscapedTags
    document = {"someString": "conductor", "someNumber": 2}
    parameters = {
        "k1": "${$.someString} $${$.someNumber}${$.someNumber} ${$.someNumber}$${$.someString}",
        "k2": "$${$.someString}afterText",
        "k3": "beforeText$${$.someString}",
        "map": {"a": "${someString}", "b": "${someNumber}", "c": "$${someString} ${someNumber}"},
        "list": ["${someString}", "${someNumber}", "${someString} $${someNumber}"],
    }
    assert resolve(parameters, document) == {
        "k1": "conductor ${$.someNumber}2 2${$.someString}",
        "k2": "${$.someString}afterText",
        "k3": "beforeText${$.someString}",
        "map": {"a": "conductor", "b": 2, "c": "${someString} 2"},
        "list": ["conductor", 2, "conductor ${someNumber}"],
    }


def test_conductor_nested_path_example() -> None:
    # ParametersUtilsTest.testNestedPathExpressions
    document = {
        "index": 1,
        "mapValue": "a",
        "recordIds": [1, 2, 3],
        "map": {"a": [1, 2, 3], "b": [2, 4, 5], "c": [3, 7, 8]},
    }
    parameters = {
        "k1": "${recordIds[${index}]}",
        "k2": "${map.${mapValue}[${index}]}",
        "k3": "${map.b[${map.${mapValue}[${index}]}]}",
    }
    assert resolve(parameters, document) == {"k1": 2, "k2": 2, "k3": 5}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (5, "5"),
        (-7, "-7"),
        (5.0, "5.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.5, "1234567.5"),
        (12345678.0, "1.2345678E7"),
        (1e20, "1.0E20"),
        (-2.5e-10, "-2.5E-10"),
        (float("inf"), "Infinity"),
        (float("nan"), "NaN"),
        ("text", "text"),
        ([], "[]"),
        ({}, "{}"),
        ([1, [2, None], {"k": 1.5}], "[1, [2, null], {k=1.5}]"),
        ({"a": 1, "b": "x", "c": [True]}, "{a=1, b=x, c=[true]}"),
    ],
)
def test_java_text(value: Any, text: str) -> None:
    assert java_text(value) == text


def test_resolved_values_are_the_documents_own_objects() -> None:
    # As in Conductor, a whole-value expression hands out the document's own object (callers treat it as
    # read-only).
    assert resolve("${workflow.input.map}", DOC) is DOC["workflow"]["input"]["map"]


def _benchmark() -> None:
    parameters = {
        "orderId": "${workflow.input.name}",
        "count": "${workflow.input.count}",
        "first": "${t1.output.items[0].id}",
        "status": "${t1.status}",
        "label": "order ${workflow.input.name} x${workflow.input.count}",
    }
    resolve(parameters, DOC, task_id="t")
    runs = 50_000
    seconds = min(timeit.repeat(lambda: resolve(parameters, DOC, task_id="t"), number=runs, repeat=5))
    print(f"resolve() of a typical 5-key inputParameters map: {seconds / runs * 1e6:.2f} µs")


if __name__ == "__main__":
    _benchmark()
