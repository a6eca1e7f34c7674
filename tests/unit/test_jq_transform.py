"""jq for JSON_JQ_TRANSFORM (REFERENCE §4.14).

Queries marked "fixture" are copied from Conductor's workflow fixtures.

Micro-benchmark, run by hand: ``python tests/unit/test_jq_transform.py``.
"""

from __future__ import annotations

import os
import re
import threading
import timeit
from typing import Any

import pytest

from batonflow.engine import jq_transform
from batonflow.engine.jq_transform import MAX_RESULTS, JqError, transform


@pytest.mark.parametrize(
    ("query", "inputs", "result_list"),
    [
        # fixture: simple_json_jq_transform_integration_test
        (
            ".input as $_ | { out: ($_.in1.array + $_.in2.array) }",
            {"input": {"in1": {"array": ["a", "b"]}, "in2": {"array": ["c"]}}},
            [{"out": ["a", "b", "c"]}],
        ),
        # fixture: json_jq_transform_result_integration_test
        ('if(.data | length >0) then "EXISTS" else "CREATE" end', {"data": [1]}, ["EXISTS"]),
        ('if(.data | length >0) then "EXISTS" else "CREATE" end', {"data": []}, ["CREATE"]),
        # fixture: sequential_json_jq_transform_integration_test
        (
            '{ out: ({ "locationId": .locationIdValue }) }',
            {"locationIdValue": "L1"},
            [{"out": {"locationId": "L1"}}],
        ),
        (
            ".inputData.request.transitions | map(.name)",
            {"inputData": {"request": {"transitions": [{"name": "a"}, {"name": "b"}]}}},
            [["a", "b"]],
        ),
        (".tp2.TEST_SAMPLE | length", {"tp2": {"TEST_SAMPLE": [1, 2, 3]}}, [3]),
        (
            '{ method: .input.method // "GET", document: .input.document // "rgt_results" }',
            {"input": {"method": "POST"}},
            [{"method": "POST", "document": "rgt_results"}],
        ),
        (".a, .b, 3", {"a": 1}, [1, None, 3]),
        (".[]", {"x": 1, "y": 2}, [1, 2]),
        ("empty", {}, []),
        # Conductor's input document is the whole inputData, the query included.
        (".queryExpression", {"queryExpression": ".queryExpression"}, [".queryExpression"]),
    ],
)
def test_result_and_result_list(query: str, inputs: dict[str, Any], result_list: list[Any]) -> None:
    assert transform(query, inputs) == {
        "result": result_list[0] if result_list else None,
        "resultList": result_list,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1", 1),
        ("1.0", 1),
        ("2.5", 2.5),
        ("5 / 2", 2.5),
        ("9223372036854775807 * 4", 3.6893488147419103e19),  # past a long: a double
        ("nan", None),
        ("infinite", 1.7976931348623157e308),  # what jq itself prints
        ("[nan, {a: -infinite}]", [None, {"a": -1.7976931348623157e308}]),
        ("true", True),
    ],
)
def test_numbers_are_normalised(query: str, expected: Any) -> None:
    result = transform(query, {})["result"]
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (".a +", "jq: error: syntax error, unexpected end of file at <top-level>, line 1, column 4"),
        (".a |\n(1 +)", "jq: error: syntax error, unexpected ')' at <top-level>, line 2, column 5"),
        ("undefined_function", "jq: error: undefined_function/0 is not defined at <top-level>, line 1"),
    ],
)
def test_compile_errors_carry_jqs_message_at_the_querys_position(query: str, message: str) -> None:
    with pytest.raises(JqError) as raised:
        transform(query, {})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("query", "inputs", "message"),
    [
        (".a + 1", {"a": "text"}, 'string ("text") and number (1) cannot be added'),
        ('error("boom")', {}, "boom"),
        (".a[0]", {"a": {"k": 1}}, "Cannot index object with number"),
    ],
)
def test_runtime_errors(query: str, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(JqError, match=f"^{re.escape(message)}"):
        transform(query, inputs)


def test_the_process_environment_is_not_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert transform("$ENV, env", {})["resultList"] == [{}, {}]
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "secret"


@pytest.mark.parametrize("query", ['import "data" as $data; $data', 'include "lib"; .'])
def test_modules_cannot_be_loaded(query: str) -> None:
    with pytest.raises(JqError, match=r"syntax error, unexpected (import|include)"):
        transform(query, {})


def test_endless_generators_are_cut_off() -> None:
    with pytest.raises(JqError, match=f"more than {MAX_RESULTS} results"):
        transform("range(1e12)", {})
    assert len(transform(f"range({MAX_RESULTS})", {})["resultList"]) == MAX_RESULTS


def test_one_compiled_program_from_several_threads_at_once() -> None:
    threads = 4
    barrier = threading.Barrier(threads)
    results: dict[int, list[Any]] = {}

    def work(worker: int) -> None:
        barrier.wait()
        results[worker] = [
            transform("[.w, .i] | add", {"w": worker * 1000, "i": i})["result"] for i in range(200)
        ]

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert results == {worker: [worker * 1000 + i for i in range(200)] for worker in range(threads)}


def test_compiled_programs_are_cached() -> None:
    jq_transform._compile.cache_clear()
    transform(".a", {"a": 1})
    transform(".a", {"a": 2})
    info = jq_transform._compile.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def _benchmark() -> None:
    inputs = {"input": {"in1": {"array": ["a", "b"]}, "in2": {"array": ["c"]}}, "queryExpression": "..."}
    query = ".input as $_ | { out: ($_.in1.array + $_.in2.array) }"
    runs = 20_000
    transform(query, inputs)
    seconds = min(timeit.repeat(lambda: transform(query, inputs), number=runs, repeat=5))
    print(f"transform() with a cached program: {seconds / runs * 1e6:.1f} µs")

    def compile_and_run() -> None:
        jq_transform._compile.cache_clear()
        transform(query, inputs)

    seconds = min(timeit.repeat(compile_and_run, number=200, repeat=3))
    print(f"transform() compiling first: {seconds / 200 * 1e6:.0f} µs")


if __name__ == "__main__":
    _benchmark()
