"""Fault profiles: parsing presets and rates, and the drawing that only the event sources see."""

from __future__ import annotations

import pytest

from batonflow.emulator.faults import (
    FAULT_KINDS,
    PRESETS,
    FaultInjector,
    FaultProfile,
    FaultProfileError,
)


def test_a_preset_then_overrides_and_zero_rates_dropped():
    profile = FaultProfile.parse("default, throttle=0.5 ,lost_timer=0", seed=3)

    assert profile.seed == 3
    assert profile.rate("throttle") == 0.5
    assert profile.rate("lost_timer") == 0.0
    assert "lost_timer" not in profile.rates
    assert profile.rate("duplicate") == PRESETS["default"]["duplicate"]


def test_rates_alone_and_the_compact_form_round_trips():
    profile = FaultProfile.parse("duplicate=0.1,reorder=0.2,crash_after_write=0.02")

    assert dict(profile.rates) == {"duplicate": 0.1, "reorder": 0.2, "crash_after_write": 0.02}
    assert str(profile) == "duplicate=0.1,reorder=0.2,crash_after_write=0.02"
    assert FaultProfile.parse(str(profile)) == profile
    assert str(FaultProfile.parse("none")) == "none"


def test_every_preset_names_only_known_faults():
    for name, rates in PRESETS.items():
        assert set(rates) <= set(FAULT_KINDS), name
        assert FaultProfile.parse(name).rates == rates


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dupliate=0.1", "unknown fault 'dupliate'"),
        ("gentle", "unknown preset 'gentle'"),
        ("throttle=lots", "not a number"),
        ("throttle=1.5", "between 0 and 1"),
        ("dupliate=0", "unknown fault"),
    ],
)
def test_bad_profiles_are_refused_with_the_reason(text: str, message: str):
    with pytest.raises(FaultProfileError, match=message):
        FaultProfile.parse(text)


def test_from_env_reads_the_profile_and_seed():
    assert FaultProfile.from_env({}) is None
    profile = FaultProfile.from_env({"BATON_FAULTS": "heavy", "BATON_FAULTS_SEED": "9"})
    assert profile == FaultProfile(PRESETS["heavy"], seed=9)


def test_chance_follows_the_rate_and_counts_what_it_injects():
    never = FaultInjector(FaultProfile({"duplicate": 0.0}))
    always = FaultInjector(FaultProfile({"duplicate": 1.0}))

    assert not any(never.chance("duplicate", f"batch {n}") for n in range(50))
    assert all(always.chance("duplicate", f"batch {n}") for n in range(50))
    assert never.snapshot() == {}
    assert always.snapshot() == {"duplicate": 50}


def test_the_rate_is_the_share_of_occasions_hit():
    injector = FaultInjector(FaultProfile({"throttle": 0.3}))

    hits = sum(injector.chance("throttle", f"request {n}") for n in range(10_000))

    assert 2_800 < hits < 3_200


KEYS = [f"message {n}" for n in range(200)]


def decisions(seed: int, keys: list[str], kind: str = "vanish") -> dict[str, bool]:
    injector = FaultInjector(FaultProfile({kind: 0.5}, seed=seed))
    return {key: injector.chance(kind, key) for key in keys}


def test_the_same_seed_decides_the_same_key_alike_whatever_order_the_occasions_come_in():
    first = decisions(1, KEYS)
    interleaved = decisions(1, KEYS[1::2] + KEYS[::2])  # another thread got there first

    assert first == interleaved
    assert first != decisions(2, KEYS)
    assert first != decisions(1, KEYS, kind="duplicate")  # each kind draws on its own


def test_a_key_seen_again_draws_again_the_same_way_each_run():
    """A request botocore retries has the same body: a throttle must not hit every retry of it."""

    def repeats(seed: int) -> list[bool]:
        injector = FaultInjector(FaultProfile({"throttle": 0.5}, seed=seed))
        return [injector.chance("throttle", "PutItem {same body}") for _ in range(64)]

    assert repeats(3) == repeats(3)
    assert set(repeats(3)) == {True, False}


def test_a_key_is_made_only_when_the_fault_can_happen():
    made: list[str] = []

    def key() -> str:
        made.append("key")
        return "bodies"

    FaultInjector(FaultProfile({"duplicate": 0.5})).chance("reorder", key)
    assert made == []
    FaultInjector(FaultProfile({"duplicate": 0.5})).chance("duplicate", key)
    assert made == ["key"]


def _message(group: str, n: int) -> dict:
    return {"MessageId": f"{group}{n}", "Body": f"{group}{n}", "Attributes": {"MessageGroupId": group}}


def test_reordering_a_fifo_batch_keeps_each_group_in_order():
    batch = [_message(group, n) for n in range(3) for group in "abcd"]
    injector = FaultInjector(FaultProfile({"reorder": 1.0}, seed=5))

    orders = [[m["MessageId"] for m in injector.arrange(batch, fifo=True)] for _ in range(20)]

    for order in orders:
        assert sorted(order) == sorted(m["MessageId"] for m in batch)
        for group in "abcd":
            assert [i for i in order if i[0] == group] == [f"{group}0", f"{group}1", f"{group}2"]
    assert len({tuple(order) for order in orders}) > 1


def test_reordering_a_standard_batch_shuffles_it_and_no_rate_keeps_it():
    batch = [_message("", n) for n in range(10)]
    shuffled = FaultInjector(FaultProfile({"reorder": 1.0}, seed=1)).arrange(batch, fifo=False)
    kept = FaultInjector(FaultProfile()).arrange(batch, fifo=False)

    assert shuffled != batch and sorted(m["MessageId"] for m in shuffled) == sorted(
        m["MessageId"] for m in batch
    )
    assert kept == batch


@pytest.mark.parametrize("command", ["up", "chaos"])
def test_the_cli_refuses_a_bad_profile_before_starting_anything(command: str):
    from typer.testing import CliRunner

    from batonflow.cli.main import app

    result = CliRunner().invoke(app, [command, "--faults", "default,throttle=2"])

    assert result.exit_code == 2
    assert "between 0 and 1" in result.output


def test_the_same_batch_is_shuffled_alike_by_injectors_with_the_same_seed():
    batch = [_message("", n) for n in range(10)]

    def order(seed: int) -> list[str]:
        injector = FaultInjector(FaultProfile({"reorder": 1.0}, seed=seed))
        return [m["MessageId"] for m in injector.arrange(batch, fifo=False)]

    assert order(4) == order(4)
    assert order(4) != order(5)
