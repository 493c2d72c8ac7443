"""The run's store keeps every update of the in-process controller (the report plots them):
a real suggestion service on loopback, asked as the runner asks it."""

from __future__ import annotations

from pathlib import Path

from katib_enas.core.katib import Condition
from katib_enas.experiment import load_experiment
from katib_enas.local.store import Store
from katib_enas.local.suggestion_client import SuggestionClient

DIGITS = Path(__file__).resolve().parents[2] / "manifests" / "local" / "digits.yaml"


def test_updates_of_the_in_process_controller_reach_the_store(tmp_path: Path) -> None:
    experiment = load_experiment(DIGITS)
    store = Store(tmp_path / "katib.db")
    client = SuggestionClient(experiment, store)
    client.connect(None, tmp_path / "suggestion")
    try:
        for index, suggested in enumerate(client.suggest([], 4)):
            name = f"t{index}"
            store.add_trial(name, suggested.assignments, suggested.labels)
            store.set_running(name, f"2026-01-01T00:00:0{index}.000000Z")
            value = str(0.5 + index / 10)
            store.finish_trial(
                name,
                condition=Condition.SUCCEEDED,
                completion_time=f"2026-01-01T00:01:0{index}.000000Z",
                message="",
                exit_code=0,
                objective=float(value),
                observation={"Validation-Accuracy": {"min": value, "max": value, "latest": value}},
            )
        assert store.controller_updates() == []
        client.suggest(store.trials(), 1)  # learns the four: one batch, one update
    finally:
        client.close()
    (update,) = store.controller_updates()
    assert update.number == 1 and update.trials == 4
    assert abs(update.mean_reward - 0.65) < 1e-6 and update.entropy > 0
    store.close()
