"""The shared learning rate of a weight-sharing search: warm restarts with a floor, so the
trials at the end of a search still train (a schedule decaying to zero collapsed their
rewards), carried to every trial in its `nn_config`."""

from __future__ import annotations

from pathlib import Path

import pytest
from grpc_service import connect
from shared_support import children, shared_experiment

from katib_enas.core.sharing.reference import StoreReference, reference_of
from katib_enas.core.sharing.schedule import warm_restarts

PEAK = 0.05


def test_the_rate_restarts_and_never_falls_below_its_floor() -> None:
    rates = [warm_restarts(PEAK, step, 10, 2, 0.1) for step in range(10 + 20 + 40 + 80)]
    assert min(rates) >= 0.1 * PEAK - 1e-12
    # Each cycle starts at the peak again: steps 0, 10, 30, 70 (cycles of 10, 20, 40, 80).
    assert [s for s in range(1, len(rates)) if rates[s] > rates[s - 1]] == [10, 30, 70]
    assert all(rates[s] == pytest.approx(PEAK) for s in (0, 10, 30, 70))
    assert rates[69] == pytest.approx(0.1 * PEAK, rel=0.02)  # the end of a cycle: the floor


def test_constant_cycles_repeat_without_walking_every_cycle() -> None:
    assert warm_restarts(PEAK, 10**15 + 3, 10, 1, 0.0) == warm_restarts(PEAK, 3, 10, 1, 0.0)


def test_a_reference_from_before_the_schedule_keys_is_one_cosine_to_zero() -> None:
    old = StoreReference("svc:6789", "e", 20, 800, 256)
    assert old.learning_rate(PEAK, 0) == pytest.approx(PEAK)
    assert old.learning_rate(PEAK, 400) == pytest.approx(PEAK / 2)
    assert old.learning_rate(PEAK, 799) == pytest.approx(0.0, abs=1e-5)


def test_every_trial_of_a_search_trains_at_a_rate_above_the_floor(tmp_path: Path) -> None:
    """The service's defaults: four cycles ending with the experiment, floor 0.1 x peak; the
    settings travel to the trial inside nn_config."""
    (tmp_path / "state").mkdir()
    service = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    try:
        [child] = children(service, shared_experiment(), 1)
    finally:
        service.channel.close()
        service.server.stop(0)
    reference = reference_of(child.nn_config)
    assert reference is not None
    schedule = reference.schedule_steps  # maxTrialCount 40 x 20-step slices
    assert schedule == 800 and reference.restart_steps == 800 // 15
    assert (reference.restart_mult, reference.lr_floor) == (2, 0.1)
    rates = [reference.learning_rate(PEAK, step) for step in range(schedule)]
    assert min(rates) >= 0.1 * PEAK - 1e-12
    assert max(rates[-100:]) > 0.2 * PEAK  # the last trials train in earnest, no collapse
