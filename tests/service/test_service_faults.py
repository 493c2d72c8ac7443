"""Faults of the service's state: a checkpoint that is torn or foreign is logged and ignored, and
the history in the request rebuilds the controller; the answers are those of a service that never
had a checkpoint. (A full volume is in `tests/packaging/test_packaging_sandbox_suggestion.py`,
which can mount a small filesystem.)"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from grpc_service import assignments_of, connect, katib_trial

from katib_enas.core.state import checkpoint_path
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message


def _history(experiment: Any, state_dir: Path | None, count: int) -> tuple[list[Any], Any]:
    """`count` finished trials learned by a service with `state_dir`; the request after them."""
    service = connect(state_dir)
    try:
        first = pb.GetSuggestionsRequest(
            experiment=experiment, current_request_number=count, total_request_number=count
        )
        reply = service.suggestion.GetSuggestions(first, timeout=60)
        trials = [
            katib_trial(
                experiment,
                f"t-{i:02d}",
                one,
                metrics={"Validation-Accuracy": f"{0.2 + 0.05 * i:.2f}"},
                completion_time=f"2026-11-29T00:00:{i:02d}Z",
            )
            for i, one in enumerate(assignments_of(reply))
        ]
        request = pb.GetSuggestionsRequest(
            experiment=experiment,
            trials=trials,
            current_request_number=2,
            total_request_number=count + 2,
        )
        service.suggestion.GetSuggestions(request, timeout=60)
    finally:
        service.channel.close()
        service.server.stop(0)
    return trials, request


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "a-directory"])
def test_a_damaged_checkpoint_is_ignored_and_the_history_rebuilds_the_state(
    damage: str, tmp_path: Path, repo_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    experiment = experiment_message(load_experiment(repo_root / "manifests/local/digits.yaml"))
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    _, request = _history(experiment, state_dir, 9)
    checkpoint = checkpoint_path(state_dir, experiment.name)
    data = checkpoint.read_bytes()
    if damage == "truncated":
        checkpoint.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        checkpoint.write_bytes(b"\x00not a checkpoint" * 100)
    elif damage == "empty":
        checkpoint.write_bytes(b"")
    else:
        checkpoint.unlink()
        checkpoint.mkdir()
    expected = None
    for directory in (None, state_dir):  # reference: a service without any checkpoint
        service = connect(directory)
        try:
            with caplog.at_level(logging.WARNING):
                reply = service.suggestion.GetSuggestions(request, timeout=60)
        finally:
            service.channel.close()
            service.server.stop(0)
        if expected is None:
            expected = assignments_of(reply)
    assert assignments_of(reply) == expected
    if damage != "a-directory":  # a directory is not a checkpoint file: nothing to warn about
        assert "ignoring unreadable checkpoint" in caplog.text
