"""The strategy contract once more through the real gRPC server: every registered strategy over
every registered space kind, selected with the `strategy` and `search_space` settings as a
Katib Experiment selects them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_service import Running, assignments_of, connect, katib_trial
from space_samples import sample

from katib_enas.core import spaces, strategies
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message

PAIRS = [(name, kind) for name in sorted(strategies.STRATEGIES) for kind in sorted(spaces.KINDS)]


def _experiment(name: str, kind: str, **settings: str) -> Any:
    message = experiment_message(sample(kind))
    message.spec.algorithm.ClearField("algorithm_settings")
    for key, value in {"strategy": name, "search_space": kind, **settings}.items():
        message.spec.algorithm.algorithm_settings.add(name=key, value=value)
    return message


def _request(experiment: Any, trials: list[Any], count: int) -> Any:
    return pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        current_request_number=count,
        total_request_number=len(trials) + count,
    )


def _rounds(service: Running, experiment: Any, rounds: int) -> list[Any]:
    trials: list[Any] = []
    for _ in range(rounds):
        reply = service.suggestion.GetSuggestions(_request(experiment, trials, 2), timeout=60)
        assert len(reply.parameter_assignments) == 2
        for assignments in assignments_of(reply):
            number = len(trials)
            trials.append(
                katib_trial(
                    experiment,
                    f"t-{number:03d}",
                    assignments,
                    metrics={"Validation-Accuracy": f"{0.3 + 0.05 * (number % 9):.2f}"},
                    completion_time=f"2026-11-29T00:00:{number:02d}Z",
                )
            )
    return trials


@pytest.mark.parametrize(("name", "kind"), PAIRS, ids=[f"{n}-{k}" for n, k in PAIRS])
def test_strategy_through_grpc_is_deterministic_and_survives_a_restart(
    name: str, kind: str, service: Running, tmp_path: Path
) -> None:
    experiment = _experiment(name, kind, seed="7")
    service.suggestion.ValidateAlgorithmSettings(
        pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=30
    )
    trials = _rounds(service, experiment, 3)
    request = _request(experiment, trials, 3)
    first = service.suggestion.GetSuggestions(request, timeout=60)
    assert service.suggestion.GetSuggestions(request, timeout=60) == first  # Katib may repeat
    fresh = connect(tmp_path / "other")  # a restarted pod without a volume
    try:
        again = fresh.suggestion.GetSuggestions(request, timeout=60)
    finally:
        fresh.channel.close()
        fresh.server.stop(0)
    assert assignments_of(again) == assignments_of(first)


@pytest.mark.parametrize(("setting", "value"), [("strategy", "grid"), ("search_space", "cells")])
def test_unknown_names_get_invalid_argument_naming_the_setting(
    setting: str, value: str, service: Running
) -> None:
    experiment = _experiment("reinforce", "macro", **{setting: value})
    for call in (
        lambda: service.suggestion.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=10
        ),
        lambda: service.suggestion.GetSuggestions(_request(experiment, [], 1), timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"algorithmSettings.{setting}" in (info.value.details() or "")
