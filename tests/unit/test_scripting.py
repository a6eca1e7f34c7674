"""JavaScript evaluation for SWITCH / DO_WHILE / INLINE / LAMBDA (REFERENCE §4.0).

Expressions marked "fixture" are copied from Conductor's workflow fixtures; expected values are what
Conductor's GraalJS evaluator returns for them.

Micro-benchmark, run by hand: ``python tests/unit/test_scripting.py``.
"""

from __future__ import annotations

import copy
import threading
import time
import timeit
from typing import Any

import pytest

from batonflow.engine import scripting
from batonflow.engine.scripting import ScriptError, case_value, evaluate, evaluate_function_body, truthy

SHORT_MS = 50
# The limit counts CPU time; wall time on a busy machine may be longer, but never by this much.
WALL_BOUND_S = 5.0
GENEROUS_MS = 5000


@pytest.mark.parametrize(
    ("expression", "inputs", "expected"),
    [
        ("$.loop_task['iteration'] < 3", {"loop_task": {"iteration": 2}}, True),
        ("$.loop_task['iteration'] < 3", {"loop_task": {"iteration": 3}}, False),
        # fixture: do_while_*_integration_test loopCondition
        (
            "if ($.loopTask['iteration'] < $.value ) { true; } else { false; }",
            {"loopTask": {"iteration": 1}, "value": 2},
            True,
        ),
        (
            "if ($.loopTask['iteration'] < $.value ) { true; } else { false; }",
            {"loopTask": {"iteration": 2}, "value": 2},
            False,
        ),
        # fixture: do_while_timeline_ui_demo loopCondition
        (
            "(function () {if ($.do_while_fork_ref['iteration'] < $.loop_limit) {return true;}"
            " return false;})();",
            {"do_while_fork_ref": {"iteration": 1}, "loop_limit": 3},
            True,
        ),
        # fixture: do_while_with_decision_task (GraalJS sees Java lists: .length and .get(i) both work)
        ("$.LoopTask['iteration'] < $.list.length", {"LoopTask": {"iteration": 2}, "list": [1, 2, 3]}, True),
        (
            "function getElement() { return $.list.get($.iterator - 1); } getElement();",
            {"list": [{"number": 7}, {"number": 8}], "iterator": 2},
            {"number": 8},
        ),
        ("$.param > 0", {"param": 5}, True),
        ("function compute() { return $.number+10; } compute();", {"number": 5}, 15),
        # fixture: json_jq_transform_result_integration_test caseExpression
        (
            'if ($.availableActions.indexOf($.requestedAction) >= 0) { "true" } else { "false" }',
            {"availableActions": ["approve", "reject"], "requestedAction": "reject"},
            "true",
        ),
        ("({processed: true, id: 1})", {}, {"processed": True, "id": 1}),
        (
            "(function() { return { total_iterations: $.do_while_loop_ref['iteration'],"
            " message: 'done' }; })()",
            {"do_while_loop_ref": {"iteration": 4}},
            {"total_iterations": 4, "message": "done"},
        ),
        ("$.value === 'x'", {"value": "x"}, True),
        ("$.a > 1 ? 'x' : 'y'", {"a": 1}, "y"),
        (
            "[$.list.size(), $.list.isEmpty(), $.list.contains(2), [].isEmpty()]",
            {"list": [1, 2]},
            [2, False, True, True],
        ),
        ("let total = 0; for (const n of $.numbers) { total += n; } total", {"numbers": [1, 2, 3]}, 6),
        ("JSON.stringify($)", {"b": [1, None], "a": "é"}, '{"b":[1,null],"a":"é"}'),
        ("", {}, None),
    ],
)
def test_fixture_style_expressions(expression: str, inputs: dict[str, Any], expected: Any) -> None:
    assert evaluate(expression, inputs) == expected


@pytest.mark.parametrize(
    ("body", "inputs", "expected"),
    [
        ("return $.index - 1;", {"index": 3}, 2),  # fixture: do_while_high_iteration_test
        ("return {locationRanId: 'some location id'}", {}, {"locationRanId": "some location id"}),
        (
            "if ($.input.a==1){return {testvalue: true}} else{return {testvalue: false} }",
            {"input": {"a": 1}},
            {"testvalue": True},
        ),
        (
            "var i = 10; if ($.lambdaValue == 1){ return {testvalue: 'Lambda value was 1', iValue: i} }"
            " else { return {testvalue: 'Lambda value was NOT 1', iValue: i + 3} }",
            {"lambdaValue": 2},
            {"testvalue": "Lambda value was NOT 1", "iValue": 13},
        ),
        # A body that never returns gives null, in Conductor too (it only wraps the body in a function).
        ("function e() { return {'result': 'processed item'}; } e();", {}, None),
        ("return $.n * 2 // a trailing comment does not swallow the closing brace", {"n": 4}, 8),
    ],
)
def test_function_bodies_return_their_value(body: str, inputs: dict[str, Any], expected: Any) -> None:
    assert evaluate_function_body(body, inputs) == expected


def test_a_bare_return_is_a_syntax_error_outside_a_function_body() -> None:
    with pytest.raises(ScriptError, match="SyntaxError"):
        evaluate("return 1", {})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1", 1),
        ("2.0", 2),  # JS has one number type: an integral value comes back as an int
        ("2.5", 2.5),
        ("-0.125", -0.125),
        ("2**62", 4611686018427387904),  # exact, although JSON.stringify prints 4611686018427388000
        ("-(2**63)", -(2**63)),
        ("2**63", 9.223372036854776e18),  # does not fit a long: a double, as in Conductor
        ("1e21", 1e21),
        ("'text'", "text"),
        ("'é€😀\\u0000'", "é€😀\x00"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("undefined", None),
        ("NaN", None),
        ("[1, 'a', null, undefined, [true]]", [1, "a", None, None, [True]]),
        ("({a: {b: [1.5]}, skipped: undefined, f: function () {}})", {"a": {"b": [1.5]}}),
        ("new Date(0)", "1970-01-01T00:00:00.000Z"),
    ],
)
def test_results_convert_to_json_values(expression: str, expected: Any) -> None:
    result = evaluate(expression, {})
    assert result == expected
    assert type(result) is type(expected)


def test_dollar_is_a_copy_of_the_inputs() -> None:
    inputs = {"list": [1], "nested": {"k": "v"}}
    original = copy.deepcopy(inputs)
    result = evaluate("$.list.push(2); $.nested.k = 'changed'; $.added = true; $", inputs)
    assert result == {"list": [1, 2], "nested": {"k": "changed"}, "added": True}
    assert inputs == original
    assert evaluate("$", inputs) == original


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0.5, True),
        (0, False),
        (-1, False),
        (float("nan"), False),
        ("true", False),
        ("1", False),
        ({"a": 1}, False),
        ([1], False),
        (None, False),
    ],
)
def test_truthy_follows_conductor_to_boolean(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, "2"),
        (2.5, "2.5"),
        (1.0, "1.0"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ("a", "a"),
        ([1, "b"], "[1, b]"),
    ],
)
def test_case_value_is_java_string_value_of(value: Any, expected: str) -> None:
    assert case_value(value) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 1", "2"),
        ("1.0", "1"),
        ("$.x / 4", "0.5"),
        ("$.x > 1", "true"),
        ("$.missing", "null"),
        ("'b'", "b"),
    ],
)
def test_case_value_of_script_results(expression: str, expected: str) -> None:
    assert case_value(evaluate(expression, {"x": 2})) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 +", "Error evaluating the script `SyntaxError: unexpected token in expression: ''` at line 1"),
        (
            "var x = 1;\nmissing()",
            "Error evaluating the script `ReferenceError: missing is not defined` at line 2",
        ),
        (
            "$.a.b.c",
            "Error evaluating the script `TypeError: cannot read property 'c' of undefined` at line 1",
        ),
        ("throw 'plain'", "Error evaluating the script `plain`"),
        ("throw null", "Script failed with null: it threw null or exceeded the memory limit of 64 MB."),
        ("throw new Error('custom')", "Error evaluating the script `Error: custom` at line 1"),
        (
            "\n$.list.get(5)",
            "Error evaluating the script `RangeError: Index 5 out of bounds for length 1` at line 2",
        ),
        ("var o = {}; o.self = o; o", "Error evaluating the script `TypeError: circular reference`"),
        (
            "function f() { return f() + 1; } f()",
            "Error evaluating the script `RangeError: Maximum call stack size exceeded`",
        ),
        ("1\x00", "Error evaluating the script `SyntaxError"),
        ("'\ud800'", "Error evaluating the script `SyntaxError: lone surrogate in source`"),
    ],
)
def test_script_errors_raise_script_error_with_a_clear_message(expression: str, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        evaluate(expression, {"a": {}, "list": [1]})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "expression",
    [
        "for (;;) {}",
        "while (true) { try { for (;;) {} } catch (e) {} }",  # the interrupt cannot be caught
        "/(a+)+$/.test('a'.repeat(40) + 'b')",  # catastrophic backtracking is interrupted too
        "(function spin() { var n = 0; while (true) { n++; } })()",
    ],
)
def test_the_time_limit_interrupts_endless_scripts(expression: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptError, match=rf"^Script timed out after {SHORT_MS} ms, interrupted\.$"):
        evaluate(expression, {}, time_limit_ms=SHORT_MS)
    assert time.monotonic() - started < WALL_BOUND_S
    assert evaluate("$.after", {"after": "still works"}) == "still works"


@pytest.mark.parametrize(
    "expression",
    [
        "var keep = []; for (;;) { keep.push(new Array(100000).fill(1)); }",
        "'x'.repeat(2 ** 29)",
        "var o = {}; for (var i = 0; ; i++) { o['key' + i] = [i]; }",
    ],
)
def test_the_memory_limit_stops_allocation_bombs(expression: str) -> None:
    with pytest.raises(ScriptError, match=r"exceeded the memory limit of 64 MB\.$"):
        evaluate(expression, {}, time_limit_ms=GENEROUS_MS)
    assert evaluate("[1, 2].length", {}) == 2


@pytest.mark.parametrize(
    "name",
    [
        "require",
        "process",
        "std",
        "os",
        "module",
        "exports",
        "console",
        "print",
        "load",
        "fetch",
        "XMLHttpRequest",
        "setTimeout",
        "Java",
        "Packages",
        "Polyglot",
    ],
)
def test_scripts_see_no_host_objects(name: str) -> None:
    assert evaluate(f"typeof {name}", {}) == "undefined"


@pytest.mark.parametrize(
    ("first", "probe", "expected"),
    [
        ("x = 1", "typeof x", "undefined"),
        ("var declared = 1", "typeof declared", "undefined"),
        ("function declaredFunction() {}", "typeof declaredFunction", "undefined"),
        ("this.viaThis = 1", "typeof viaThis", "undefined"),
        ("globalThis[Symbol.for('s')] = 1", "globalThis[Symbol.for('s')]", None),
        ("Object.defineProperty(globalThis, 'pinned', {value: 1})", "typeof pinned", "undefined"),
        ("(0, eval)('var indirect = 1')", "typeof indirect", "undefined"),
        ("Object.setPrototypeOf(globalThis, {inherited: 1})", "typeof inherited", "undefined"),
        ("Array.prototype.leak = 1", "[].leak", None),
        ("Object.prototype.leak = 1", "({}).leak", None),
        ("Object.prototype.toString = function () { return 'hacked'; }", "String({})", "[object Object]"),
        ("Math.max = function () { return 0; }", "Math.max(1, 2)", 2),
        ("JSON = null", "JSON.parse('3')", 3),
        ("Object.getPrototypeOf([][Symbol.iterator]()).next = null", "[...[1, 2]].length", 2),
        ("$.list.get = function () { return 'own'; }; $.list.get()", "[9].get(0)", 9),
        ("let dup = 1; dup", "let dup = 2; dup", 2),
    ],
)
def test_state_never_leaks_between_evaluations(first: str, probe: str, expected: Any) -> None:
    evaluate(first, {"list": [1]})
    assert evaluate(probe, {}) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("var o = {}; o.toString = function () { return 'mine'; }; String(o)", "mine"),
        ("var o = {}; o.valueOf = function () { return 41; }; o + 1", 42),
        (
            "function MyError() {} MyError.prototype = Object.create(Error.prototype);"
            " MyError.prototype.name = 'MyError'; MyError.prototype.constructor = MyError;"
            " new MyError().name",
            "MyError",
        ),
        ("var o = Object.freeze({}); o.toString = 1; typeof o.toString", "function"),
        ("var list = [1]; list.get = function () { return 'own'; }; list.get(0)", "own"),
    ],
)
def test_scripts_can_still_override_inherited_members_on_their_own_objects(
    expression: str, expected: Any
) -> None:
    assert evaluate(expression, {}) == expected


def test_a_sandbox_is_reused_until_an_error() -> None:
    evaluate("1", {})
    first = scripting._sandbox()
    evaluate("x = 2", {})
    assert scripting._sandbox() is first
    with pytest.raises(ScriptError):
        evaluate("null.x", {})
    assert scripting._sandbox() is not first


def test_evaluations_from_several_threads_at_once() -> None:
    threads = 4
    barrier = threading.Barrier(threads)
    results: dict[int, list[Any]] = {}

    def work(worker: int) -> None:
        barrier.wait()
        results[worker] = [
            evaluate("x = $.w; (function () { return $.w * 1000 + $.i; })()", {"w": worker, "i": i})
            for i in range(300)
        ]

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert results == {worker: [worker * 1000 + i for i in range(300)] for worker in range(threads)}


def test_a_100_kb_input() -> None:
    items = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"], "value": i * 1.5} for i in range(1400)]
    assert evaluate("$.items.filter(function (item) { return item.id % 2; }).length", {"items": items}) == 700


def _benchmark() -> None:
    small = {"loop_task": {"iteration": 2}, "value": "x"}
    large = {
        "items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"], "value": i * 1.5} for i in range(1400)]
    }
    cases = [
        ("comparison", "$.loop_task['iteration'] < 3", small, 20_000),
        (
            "IIFE",
            "(function () { if ($.loop_task['iteration'] < 3) { return true; } return false; })();",
            small,
            20_000,
        ),
        ("100 KB input", "$.items.length", large, 200),
    ]
    for label, expression, inputs, runs in cases:
        evaluate(expression, inputs)
        seconds = min(timeit.repeat(lambda e=expression, i=inputs: evaluate(e, i), number=runs, repeat=5))
        print(f"evaluate() {label}: {seconds / runs * 1e6:.1f} µs")
    seconds = min(timeit.repeat(scripting._Sandbox, number=20, repeat=5))
    print(f"new hardened sandbox (cold start, and after an error): {seconds / 20 * 1e3:.2f} ms")


if __name__ == "__main__":
    _benchmark()
