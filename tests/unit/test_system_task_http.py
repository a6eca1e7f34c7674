"""The pure parts of the HTTP task: reading the request, Conductor's defaults, shaping the response."""

from __future__ import annotations

import pytest

from batonflow.model import TaskStatus
from batonflow.system_tasks.http import (
    MISSING_METHOD,
    MISSING_URI,
    HttpRequest,
    completed,
    io_failure,
    parse_body,
    parse_request,
    reason_phrase,
    status_failure,
)
from batonflow.system_tasks.outcome import SystemOutcome


def request_of(input_data: dict) -> HttpRequest:
    parsed = parse_request(input_data)
    assert isinstance(parsed, HttpRequest), parsed
    return parsed


def test_defaults_apply_when_fields_are_absent():
    request = request_of({"http_request": {"uri": "http://h/p", "method": "get"}})

    assert (request.uri, request.method, request.body) == ("http://h/p", "GET", None)
    assert (request.connect_timeout_ms, request.read_timeout_ms) == (3000, 3000)
    assert request.headers == {"Accept": "application/json", "Content-Type": "application/json"}


def test_explicit_nulls_get_the_documented_short_timeouts():
    request = request_of({"uri": "http://h", "method": "GET", "connectionTimeOut": None, "readTimeOut": None})

    assert (request.connect_timeout_ms, request.read_timeout_ms) == (100, 150)


@pytest.mark.parametrize(("given", "expected"), [(1500, 1500), ("250", 250), ("soon", 3000), (0, 3000)])
def test_given_timeouts_are_milliseconds(given: object, expected: int):
    request = request_of(
        {"uri": "http://h", "method": "GET", "readTimeOut": given, "connectionTimeOut": given}
    )

    assert (request.connect_timeout_ms, request.read_timeout_ms) == (expected, expected)


def test_the_nested_request_wins_over_top_level_keys():
    request = request_of(
        {"uri": "http://top", "method": "PUT", "http_request": {"uri": "http://in", "method": "POST"}}
    )

    assert (request.uri, request.method) == ("http://in", "POST")


def test_headers_are_stringified_and_nulls_skipped_accept_lists_joined():
    request = request_of(
        {
            "uri": "http://h",
            "method": "POST",
            "headers": {"X-N": 5, "X-B": False, "X-Null": None, "X-Map": {"a": 1}},
            "accept": ["text/plain", None, "application/xml"],
            "contentType": "text/plain",
        }
    )

    assert request.headers == {
        "Accept": "text/plain, application/xml",
        "Content-Type": "text/plain",
        "X-N": "5",
        "X-B": "false",
        "X-Map": '{"a": 1}',
    }


@pytest.mark.parametrize(
    ("body", "encoded"),
    [(None, None), ("raw text", b"raw text"), ({"a": [1, 2.5]}, b'{"a":[1,2.5]}'), (7, b"7")],
)
def test_string_bodies_go_as_they_are_others_as_json(body: object, encoded: bytes | None):
    assert HttpRequest(uri="u", method="POST", body=body).encoded_body() == encoded


@pytest.mark.parametrize(
    ("input_data", "reason"),
    [
        ({"method": "GET"}, MISSING_URI),
        ({"uri": "  ", "method": "GET"}, MISSING_URI),
        ({"http_request": {"method": "GET"}}, MISSING_URI),
        ({"uri": "http://h"}, MISSING_METHOD),
        ({"uri": "http://h", "method": ""}, MISSING_METHOD),
    ],
)
def test_missing_uri_or_method_fails_with_conductors_reason(input_data: dict, reason: str):
    assert parse_request(input_data) == SystemOutcome(TaskStatus.FAILED, {}, reason)


def test_an_unknown_method_fails():
    failed = parse_request({"uri": "http://h", "method": "FETCH"})

    assert isinstance(failed, SystemOutcome) and failed.status == TaskStatus.FAILED
    assert failed.reason.startswith("Unsupported HTTP method: FETCH.")


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ('{"a": 1, "b": [1, 2]}', {"a": 1, "b": [1, 2]}),
        ("[1, 2]", [1, 2]),
        ("42", 42.0),
        ("-1.5e2", -150.0),
        ('"quoted"', "quoted"),
        ("true", "true"),
        ("null", "null"),
        ("not json", "not json"),
        ("", None),
        (None, None),
    ],
)
def test_bodies_parse_like_conductors_extract_body(text: str | None, body: object):
    parsed = parse_body(text)

    assert parsed == body
    assert type(parsed) is type(body)


def test_a_2xx_response_has_conductors_shape():
    outcome = completed(204, {"X-A": ["1", "2"]}, None, "whatever")

    assert outcome == SystemOutcome(
        TaskStatus.COMPLETED,
        {
            "response": {
                "statusCode": 204,
                "reasonPhrase": "No Content",
                "headers": {"X-A": ["1", "2"]},
                "body": None,
            }
        },
    )


def test_reason_phrases_are_the_standard_ones_unless_the_status_is_unknown():
    assert reason_phrase(418, "Short and stout") == "I'm a Teapot"
    assert reason_phrase(599, "Network Timeout") == "Network Timeout"


def test_a_non_2xx_response_fails_with_the_status_and_body_in_the_reason_and_no_status_code():
    outcome = status_failure(500, '{"error": "boom"}')

    text = 'java.lang.Exception: 500 Internal Server Error: "{"error": "boom"}"'
    assert outcome == SystemOutcome(
        TaskStatus.FAILED, {"response": text}, f"Failed to invoke HTTP task due to: {text}"
    )


def test_long_bodies_are_cut_and_empty_ones_named():
    assert status_failure(502, "x" * 300).reason.endswith('"' + "x" * 200 + ' (truncated)..."')
    assert status_failure(404, None).output == {"response": "java.lang.Exception: 404 Not Found: [no body]"}


def test_io_failures_read_like_status_failures():
    outcome = io_failure('I/O error on GET request for "http://h": Read timed out')

    assert outcome.reason == (
        'Failed to invoke HTTP task due to: java.lang.Exception: I/O error on GET request for "http://h": '
        "Read timed out"
    )
