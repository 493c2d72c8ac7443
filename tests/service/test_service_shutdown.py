"""SIGTERM while a call is still learning (a cold start of thousands of trials): `serve` ends
after its grace period instead of when the learning would have finished, and a restarted
service on the same volume loses nothing (it learns those trials again from the history)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_service import assignments_of, katib_trial
from serve_process import ServeProcess

from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.requests import experiment_message

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TRIALS = 2000


def _request(experiment: Any, trials: list[Any], count: int, total: int) -> Any:
    return pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        current_request_number=count,
        total_request_number=total,
    )


def test_sigterm_during_a_long_learning_call_ends_after_the_grace_period(tmp_path: Path) -> None:
    experiment = experiment_message(
        load_experiment(REPO / "manifests/experiments/enas-macro-cifar10-gpu.yaml")
    )
    state = tmp_path / "state"
    state.mkdir()
    serve = ServeProcess(state, tmp_path / "serve.log").start("--grace", "1")
    channel = grpc.insecure_channel(serve.address)
    stub = pb_grpc.SuggestionStub(channel)
    issued: list[dict[str, str]] = []
    while len(issued) < TRIALS:  # Katib asks in batches; 1,000 at a time stays under 4 MiB
        reply = stub.GetSuggestions(_request(experiment, [], 1000, len(issued) + 1000), timeout=60)
        issued += assignments_of(reply)
    history = [
        katib_trial(
            experiment, f"t-{i:05d}", one, pb.TrialStatus.SUCCEEDED,
            metrics={"Validation-Accuracy": f"{0.3 + (i % 50) / 100:.2f}"},
            completion_time=f"2026-11-28T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        )
        for i, one in enumerate(issued)
    ]  # fmt: skip
    outcome: list[grpc.StatusCode] = []

    def learn() -> None:
        try:
            stub.GetSuggestions(_request(experiment, history, 1, TRIALS + 1), timeout=600)
            outcome.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            outcome.append(error.code())

    caller = threading.Thread(target=learn)
    caller.start()
    assert serve.process is not None
    # Terminate once the service is learning: its log says nothing until the call ends.
    threading.Event().wait(1.5)
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=60) == 0
    caller.join(timeout=60)
    channel.close()
    log = serve.log.read_text()
    assert "received SIGTERM: shutting down" in log
    assert outcome == [grpc.StatusCode.UNAVAILABLE], log  # cancelled, not answered
    assert f"learned from {TRIALS} trials" not in log  # it did not wait for the learning

    again = ServeProcess(state, tmp_path / "again.log").start()
    try:
        with grpc.insecure_channel(again.address) as fresh:
            reply = pb_grpc.SuggestionStub(fresh).GetSuggestions(
                _request(experiment, history, 1, TRIALS + 1), timeout=600
            )
        assert len(reply.parameter_assignments) == 1
    finally:
        assert again.stop() == 0
    assert f"learned from {TRIALS} trials" in again.log.read_text()
