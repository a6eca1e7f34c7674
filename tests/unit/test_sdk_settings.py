"""Worker settings from arguments and the environment ``baton up`` prints."""

from __future__ import annotations

import socket

import pytest

from batonflow.sdk import WorkerConfigError, WorkerSettings

ENV = {
    "BATON_QUEUE_PREFIX": "baton-dev-",
    "BATON_RESULTS_QUEUE_URL": "http://127.0.0.1:4566/q/baton-dev-results",
}


def test_settings_come_from_the_environment() -> None:
    settings = WorkerSettings.from_env(ENV)
    assert settings == WorkerSettings(
        queue_prefix="baton-dev-",
        results_queue_url="http://127.0.0.1:4566/q/baton-dev-results",
        worker_id=socket.gethostname(),
    )


def test_explicit_arguments_win_and_none_means_not_given() -> None:
    settings = WorkerSettings.from_env(ENV, queue_prefix="prod-", results_queue_url=None, worker_id="w-7")
    assert (settings.queue_prefix, settings.worker_id) == ("prod-", "w-7")
    assert settings.results_queue_url == ENV["BATON_RESULTS_QUEUE_URL"]


def test_without_a_results_url_the_queue_is_found_by_its_name() -> None:
    settings = WorkerSettings.from_env({"BATON_QUEUE_PREFIX": "baton-dev-"})
    assert settings.results_queue_url is None
    assert settings.results_queue_name == "baton-dev-results"


def test_a_missing_prefix_says_where_to_get_one() -> None:
    with pytest.raises(WorkerConfigError, match="BATON_QUEUE_PREFIX"):
        WorkerSettings.from_env({})
