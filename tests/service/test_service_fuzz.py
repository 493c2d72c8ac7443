"""Fuzzed requests over real gRPC: whatever Katib (or anything else) sends, both RPCs answer OK or
INVALID_ARGUMENT, never INTERNAL or UNKNOWN, and an OK reply holds exactly the assignments asked
for. Property-based (Hypothesis), bounded in examples so the suite stays fast; the generators
mutate a valid stock experiment field by field, so most examples get deep into the service.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_service import Running, connect, katib_trial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katib_enas.core.settings import RULES
from katib_enas.katib_api import pb
from katib_enas.local.experiment import load_experiment
from katib_enas.local.requests import experiment_message

ALLOWED = {grpc.StatusCode.INVALID_ARGUMENT}
# The suite's bound; KATIB_ENAS_FUZZ_EXAMPLES=5000 runs a longer campaign.
EXAMPLES = int(os.environ.get("KATIB_ENAS_FUZZ_EXAMPLES", "300"))

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "None", "nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", "1.5e3"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=200, max_value=500).map(lambda n: "9" * n),  # overflowed floats once
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
setting_names = st.one_of(st.sampled_from(sorted(RULES)), st.text(max_size=20))
settings_lists = st.lists(st.tuples(setting_names, texts), max_size=6)
conditions = st.integers(min_value=-3, max_value=12)
assignment_values = st.one_of(
    texts,
    st.sampled_from(
        ["[[0]]", "[[0],[1,1]]", "[[5],[1,0]]", "[]", "[[-1]]", "{'a':1}", "[[0],[1]]"]
    ),
)


@pytest.fixture(scope="module")
def base(katib_examples: Path) -> Any:
    return experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = connect(tmp_path_factory.mktemp("fuzz-state"))
    yield running
    running.channel.close()
    running.server.stop(0)


def _sometimes(draw: st.DrawFn) -> bool:
    """One mutation in four: most examples stay valid enough to reach the strategy."""
    return draw(st.integers(0, 3)) == 0


@st.composite
def experiments(draw: st.DrawFn, base: Any) -> Any:
    experiment = copy.deepcopy(base)
    experiment.name = draw(st.sampled_from(["fuzz", "fuzz-b", "", "x" * 300]))
    spec = experiment.spec
    if _sometimes(draw):
        spec.algorithm.ClearField("algorithm_settings")
        for name, value in draw(settings_lists):
            spec.algorithm.algorithm_settings.add(name=name, value=value)
    graph = spec.nas_config.graph_config
    if _sometimes(draw):
        # Small spaces (a request for a 1,000-layer child is valid, and slow to answer: fine
        # for Katib, too slow for a fuzz loop) and the limits around them.
        graph.num_layers = draw(st.sampled_from([-5, 0, 1, 2, 3, 5, 8, 1001, 3000]))
    if _sometimes(draw):
        graph.ClearField("input_sizes")
        graph.input_sizes.extend(draw(st.lists(st.integers(-3, 10**6), max_size=4)))
    operations = spec.nas_config.operations.operation
    if operations and _sometimes(draw):
        op = operations[draw(st.integers(0, len(operations) - 1))]
        op.operation_type = draw(st.one_of(st.text(max_size=8), st.just(op.operation_type)))
        for parameter in op.parameter_specs.parameters:
            if _sometimes(draw):
                parameter.parameter_type = draw(st.integers(0, 6))  # type: ignore[assignment]
                space = parameter.feasible_space
                space.min, space.max, space.step = draw(texts), draw(texts), draw(texts)
                space.ClearField("list")
                space.list.extend(draw(st.lists(texts, max_size=3)))
    if _sometimes(draw):
        spec.objective.type = draw(st.integers(0, 4))  # type: ignore[assignment]
        spec.objective.objective_metric_name = draw(st.sampled_from(["", "Validation-Accuracy"]))
    return experiment


@st.composite
def requests(draw: st.DrawFn, base: Any) -> Any:
    experiment = draw(experiments(base))
    trials = []
    for index in range(draw(st.integers(0, 6))):
        trial = katib_trial(
            experiment,
            draw(st.sampled_from([f"t{index}", "", "dup"])),
            {
                "architecture": draw(assignment_values),
                "nn_config": draw(assignment_values),
            },
            condition=draw(conditions),  # type: ignore[arg-type]
            metrics={draw(st.sampled_from(["Validation-Accuracy", "x"])): draw(texts)},
            completion_time=draw(st.sampled_from(["", "2026-11-29T00:00:00Z", "garbage"])),
        )
        trials.append(trial)
    return pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        current_request_number=draw(st.sampled_from([1, 2, 3, 0, 1, 2, -1, 10_001])),
        total_request_number=draw(st.integers(-5, 10**9)),
    )


def _only_invalid_argument(call: Any, outcomes: list[str]) -> Any:
    try:
        reply = call()
    except grpc.RpcError as error:
        assert error.code() in ALLOWED, (error.code(), error.details())
        outcomes.append(error.code().name)
        return None
    outcomes.append("OK")
    return reply


@pytest.mark.slow
def test_fuzzed_requests_never_get_internal_or_unknown(fuzz_service: Running, base: Any) -> None:
    stub = fuzz_service.suggestion
    outcomes: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same examples every run: a failure reproduces
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(base))
    def check(request: Any) -> None:
        _only_invalid_argument(
            lambda: stub.ValidateAlgorithmSettings(
                pb.ValidateAlgorithmSettingsRequest(experiment=request.experiment), timeout=30
            ),
            outcomes,
        )
        reply = _only_invalid_argument(lambda: stub.GetSuggestions(request, timeout=60), outcomes)
        if reply is not None:
            assert len(reply.parameter_assignments) == request.current_request_number

    check()
    # The generators must reach deep into the service, not only bounce off the first check.
    assert outcomes.count("OK") >= len(outcomes) // 5, outcomes.count("OK")


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
