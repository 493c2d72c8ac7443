"""The service's answers are pinned: the same requests and seed give byte-identical replies.

`golden_replies.json` holds the SHA-256 of every reply (deterministic serialisation) of a
scripted conversation over real gRPC: Katib's stock examples and the bundled digits search,
validation, then rounds of GetSuggestions whose history grows with succeeded, failed, killed and
running trials, and a second experiment sharing the service. A refactoring must not change one
byte of them; a deliberate change of answers regenerates the file with
`KATIB_ENAS_REGENERATE_GOLDEN=1 pytest tests/service/test_service_golden.py` and says why in the
commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from grpc_service import Running, assignments_of, katib_trial

from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message

GOLDEN = Path(__file__).with_name("golden_replies.json")
ACC = "Validation-Accuracy"


def _digest(message: Any) -> str:
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()


def _conversation(service: Running, experiment: Any) -> list[str]:
    digests = [
        _digest(
            service.suggestion.ValidateAlgorithmSettings(
                pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=30
            )
        )
    ]
    trials: list[Any] = []
    conditions = [
        pb.TrialStatus.SUCCEEDED,
        pb.TrialStatus.SUCCEEDED,
        pb.TrialStatus.FAILED,
        pb.TrialStatus.SUCCEEDED,
        pb.TrialStatus.KILLED,
        pb.TrialStatus.SUCCEEDED,
        pb.TrialStatus.EARLYSTOPPED,
    ]
    for round_number in range(5):
        request = pb.GetSuggestionsRequest(
            experiment=experiment,
            trials=trials,
            current_request_number=3,
            total_request_number=len(trials) + 3,
        )
        reply = service.suggestion.GetSuggestions(request, timeout=60)
        digests.append(_digest(reply))
        for index, assignments in enumerate(assignments_of(reply)):
            number = len(trials)
            condition = conditions[number % len(conditions)]
            if round_number == 4 and index == 2:
                condition = pb.TrialStatus.RUNNING
            finished = condition != pb.TrialStatus.RUNNING
            metrics = (
                {ACC: f"{0.2 + 0.7 * ((number * 37) % 11) / 11:.4f}", "Training-Accuracy": "0.5"}
                if condition in (pb.TrialStatus.SUCCEEDED, pb.TrialStatus.EARLYSTOPPED)
                else {}
            )
            trials.append(
                katib_trial(
                    experiment,
                    f"{experiment.name}-{number:03d}",
                    assignments,
                    condition,
                    metrics=metrics,
                    completion_time=f"2026-11-29T00:{number:02d}:00Z" if finished else "",
                )
            )
    return digests


def test_replies_are_byte_identical_to_the_pinned_ones(
    service: Running, katib_examples: Path, repo_root: Path
) -> None:
    files = {
        "enas-gpu": katib_examples / "enas-gpu.yaml",
        "enas-cpu": katib_examples / "enas-cpu.yaml",
        "digits": repo_root / "manifests" / "local" / "digits.yaml",
    }
    seen = {
        name: _conversation(service, experiment_message(load_experiment(path)))
        for name, path in files.items()
    }
    if os.environ.get("KATIB_ENAS_REGENERATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(seen, indent=2, sort_keys=True) + "\n")
    assert seen == json.loads(GOLDEN.read_text())
