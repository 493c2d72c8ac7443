"""Fuzzed requests over real gRPC: whatever Katib, a trial (or anything else) sends, every RPC of
both services answers OK or INVALID_ARGUMENT, never INTERNAL or UNKNOWN, and an OK reply holds
exactly the assignments asked for. Property-based (Hypothesis, `fuzz_campaign`), with huge
numbers in every numeric field; bounded in examples so the suite stays fast (about 20 s):
`tests/benchmarks/test_bench_fuzz.py` runs the 20,000-request campaign and times every reply.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fuzz_campaign import shared_weights_campaign, suggestion_campaign
from grpc_service import Running, connect
from shared_support import children, network, shared_experiment

from enas_trial.sharing.blocks import block_shapes
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

# The suite's bound (examples; each is two calls); KATIB_ENAS_FUZZ_EXAMPLES raises it.
EXAMPLES = int(os.environ.get("KATIB_ENAS_FUZZ_EXAMPLES", "1000"))
SHARED_EXAMPLES = EXAMPLES // 4


@pytest.fixture(scope="module")
def base(katib_examples: Path) -> Any:
    return experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = connect(tmp_path_factory.mktemp("fuzz-state"), advertise="127.0.0.1:{port}")
    yield running
    running.channel.close()
    running.server.stop(0)


@pytest.mark.slow
def test_fuzzed_requests_never_get_internal_or_unknown(fuzz_service: Running, base: Any) -> None:
    tally = suggestion_campaign(fuzz_service.suggestion, base, EXAMPLES)
    assert tally.unexpected == []
    # The generators must reach deep into the service, not only bounce off the first check.
    assert tally.outcomes.count("OK") >= len(tally.outcomes) // 5, tally.outcomes.count("OK")


@pytest.mark.slow
def test_fuzzed_shared_weights_calls_never_get_internal_or_unknown(
    fuzz_service: Running,
) -> None:
    [child] = children(fuzz_service, shared_experiment(), 1)
    key = next(iter(block_shapes(network(child).tensors)))
    stub = sw_grpc.SharedWeightsStub(fuzz_service.channel)
    tally = shared_weights_campaign(stub, child, key, SHARED_EXAMPLES)
    assert tally.unexpected == []
    assert "OK" in tally.outcomes  # some calls got through to the store


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("controller_hidden_size", False),  # above its cap
        ("controller_train_steps", False),
        ("seed", False),
        ("controller_log_every_steps", True),  # no upper bound: a huge cadence just never logs
    ],
)
def test_huge_integer_settings_are_answered_never_internal(
    fuzz_service: Running, base: Any, name: str, valid: bool
) -> None:
    """The 20 INTERNAL answers of an external fuzz run all came from these four settings."""
    experiment = copy.deepcopy(base)
    experiment.spec.algorithm.algorithm_settings.add(name=name, value="9" * 400)
    request = pb.ValidateAlgorithmSettingsRequest(experiment=experiment)
    if valid:
        fuzz_service.suggestion.ValidateAlgorithmSettings(request, timeout=30)
        return
    with pytest.raises(grpc.RpcError) as info:
        fuzz_service.suggestion.ValidateAlgorithmSettings(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"algorithmSettings.{name}: '99999" in (info.value.details() or "")
