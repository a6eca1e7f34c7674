"""``EnvironPatch``: stacks set their variables in ``os.environ`` and put them back, in any order."""

from __future__ import annotations

import os

import pytest

from batonflow.emulator.environment import EnvironPatch


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_TEST_VAR", raising=False)


def test_restore_puts_back_what_was_there_before():
    os.environ["BATON_TEST_VAR"] = "original"
    patch = EnvironPatch()
    patch.apply({"BATON_TEST_VAR": "stack"})
    assert os.environ["BATON_TEST_VAR"] == "stack"
    patch.restore()
    assert os.environ["BATON_TEST_VAR"] == "original"


def test_a_stack_stopping_first_leaves_the_variables_of_a_stack_started_after_it():
    first, second = EnvironPatch(), EnvironPatch()
    first.apply({"BATON_TEST_VAR": "first"})
    second.apply({"BATON_TEST_VAR": "second"})

    first.restore()  # not last in, not last out: the running second stack keeps its environment
    assert os.environ["BATON_TEST_VAR"] == "second"
    second.restore()
    assert "BATON_TEST_VAR" not in os.environ  # both gone: what was there before either


def test_stacks_stopping_in_reverse_order_restore_the_original():
    first, second = EnvironPatch(), EnvironPatch()
    first.apply({"BATON_TEST_VAR": "first"})
    second.apply({"BATON_TEST_VAR": "second"})
    second.restore()
    assert os.environ["BATON_TEST_VAR"] == "first"
    first.restore()
    assert "BATON_TEST_VAR" not in os.environ


def test_a_variable_two_stacks_set_to_the_same_value_stays_while_one_of_them_runs():
    first, second = EnvironPatch(), EnvironPatch()
    first.apply({"BATON_TEST_VAR": "testing"})
    second.apply({"BATON_TEST_VAR": "testing"})
    first.restore()
    assert os.environ["BATON_TEST_VAR"] == "testing"  # the second stack still needs it
    second.restore()
    assert "BATON_TEST_VAR" not in os.environ
