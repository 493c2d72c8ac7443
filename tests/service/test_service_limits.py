"""A request costs what it is, not what it describes: requests that describe huge ranges, lists or
strings are refused with INVALID_ARGUMENT naming the field, by both RPCs of both services, and
the real `katib-enas serve` answers them without its memory moving (issue 23: a range of 10^10
values once answered UNKNOWN MemoryError, and one of 1.5 million cost 1.3 s and 20 MB)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fuzz_campaign import HUGE_RANGES, INT_TYPE, with_int_range
from grpc_service import Running, connect, katib_trial
from serve_process import ServeProcess
from shared_support import children, shared_experiment

from katib_enas.core.sharing import store
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.service import limits
from katib_enas.service.convert import experiment_from_proto
from katib_enas.service.sessions import MAX_SETUPS, Sessions
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

INT = INT_TYPE


def _status_mib(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    return info.value.details() or ""


@pytest.mark.slow
def test_huge_ranges_are_refused_by_both_rpcs_without_memory_moving(
    tmp_path: Path, cpu_experiment: Any
) -> None:
    serve = ServeProcess(None, tmp_path / "serve.log").start()
    channel = grpc.insecure_channel(serve.address)
    stub = pb_grpc.SuggestionStub(channel)
    try:
        # Warm up every path a refusal takes (gRPC buffers, the session code, logging).
        warm = with_int_range(cpu_experiment, "32", "64", "32")
        stub.ValidateAlgorithmSettings(pb.ValidateAlgorithmSettingsRequest(experiment=warm))
        for _ in range(3):
            _refused(
                lambda: stub.ValidateAlgorithmSettings(
                    pb.ValidateAlgorithmSettingsRequest(
                        experiment=with_int_range(cpu_experiment, "1", "200000", "1")
                    ),
                    timeout=30,
                )
            )
        before = _status_mib(serve.pid)
        for _, (low, high, step), message in HUGE_RANGES:
            experiment = with_int_range(cpu_experiment, low, high, step)
            validate = pb.ValidateAlgorithmSettingsRequest(experiment=experiment)
            suggest = pb.GetSuggestionsRequest(
                experiment=experiment, current_request_number=1, total_request_number=1
            )
            assert message in _refused(
                lambda r=validate: stub.ValidateAlgorithmSettings(r, timeout=30)  # type: ignore[misc]
            )
            assert message in _refused(
                lambda r=suggest: stub.GetSuggestions(r, timeout=30)  # type: ignore[misc]
            )
        after = _status_mib(serve.pid)
    finally:
        channel.close()
        serve.stop()
    # Materialising the smallest of them (1.5 million ints) took 20 MB; the peak must not move.
    assert after["VmHWM"] - before["VmHWM"] < 4, (before, after)
    assert after["VmRSS"] - before["VmRSS"] < 4, (before, after)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    service = connect(tmp_path_factory.mktemp("limits"), advertise="127.0.0.1:{port}")
    yield service
    service.channel.close()
    service.server.stop(0)


def _mutated(base: Any, mutate: Callable[[Any], None]) -> Any:
    experiment = copy.deepcopy(base)
    mutate(experiment.spec)
    return experiment


def _int_range_of_first_parameter(spec: Any, high: str) -> None:
    parameter = spec.nas_config.operations.operation[0].parameter_specs.parameters[0]
    parameter.parameter_type = INT
    parameter.feasible_space.ClearField("list")
    parameter.feasible_space.min, parameter.feasible_space.max = "1", high


def _long(n: int) -> str:
    return "a" * (n + 1)


EXPERIMENT_CASES: list[tuple[str, Callable[[Any], None], str]] = [
    (
        "settings",
        lambda s: s.algorithm.algorithm_settings.extend(
            pb.AlgorithmSetting(name="seed", value="1") for _ in range(limits.MAX_SETTINGS + 1)
        ),
        "algorithm.algorithmSettings has 257 entries",
    ),
    (
        "setting-value",
        lambda s: s.algorithm.algorithm_settings.add(name="seed", value="1" * 100_000),
        "algorithmSettings.seed is 100000 characters long",
    ),
    (
        "metric-names",
        lambda s: s.objective.additional_metric_names.extend(["m"] * 300),
        "objective.additionalMetricNames has 300 entries",
    ),
    (
        "input-sizes",
        lambda s: s.nas_config.graph_config.input_sizes.extend([1] * 20),
        "nasConfig.graphConfig.inputSizes has",
    ),
    (
        "operations",
        lambda s: s.nas_config.operations.operation.extend(
            [s.nas_config.operations.operation[0]] * 100_001
        ),
        "nasConfig.operations has 100005 entries, more than 100000",
    ),
    (
        "list",
        lambda s: s.nas_config.operations.operation[0]
        .parameter_specs.parameters[0]
        .feasible_space.list.extend(["3"] * 100_001),
        "nasConfig.operations[0].parameters[0].feasibleSpace.list has 100004 entries",
    ),
    (
        "list-value",
        lambda s: s.nas_config.operations.operation[0]
        .parameter_specs.parameters[0]
        .feasible_space.list.append(_long(limits.MAX_SHORT_CHARS)),
        "nasConfig.operations[0].parameters[0].feasibleSpace.list[] is 1025 characters",
    ),
    (
        "operation-type",
        lambda s: setattr(s.nas_config.operations.operation[0], "operation_type", _long(5000)),
        "nasConfig.operations[0].operationType is 5001 characters",
    ),
    (
        "number-text",
        lambda s: _int_range_of_first_parameter(s, "9" * 10**6),  # 10^6 digits: never parsed
        "(filter_size).feasibleSpace.max: '99999999999999999999'... is 1000000 characters",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "message"),
    [(m, text) for _, m, text in EXPERIMENT_CASES],
    ids=[name for name, _, _ in EXPERIMENT_CASES],
)
def test_oversized_experiments_are_refused_by_both_rpcs_naming_the_field(
    running: Running, cpu_experiment: Any, mutate: Callable[[Any], None], message: str
) -> None:
    experiment = _mutated(cpu_experiment, mutate)
    stub = running.suggestion
    validate = pb.ValidateAlgorithmSettingsRequest(experiment=experiment)
    assert message in _refused(lambda: stub.ValidateAlgorithmSettings(validate, timeout=30))
    suggest = pb.GetSuggestionsRequest(
        experiment=experiment, current_request_number=1, total_request_number=1
    )
    assert message in _refused(lambda: stub.GetSuggestions(suggest, timeout=30))


def _trial(experiment: Any, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "t-1",
        "assignments": {"architecture": "[[0]]", "nn_config": "{}"},
        "metrics": {"Validation-Accuracy": "0.5"},
        "completion_time": "2026-11-29T00:00:00Z",
    }
    fields.update(changes)
    return katib_trial(
        experiment,
        fields["name"],
        fields["assignments"],
        metrics=fields["metrics"],
        completion_time=fields["completion_time"],
    )


TRIAL_CASES: list[tuple[str, Callable[[Any], list[Any]], str]] = [
    (
        "trials",
        lambda e: [pb.Trial(name=f"t{i}") for i in range(limits.MAX_TRIALS + 1)],
        "trials has 100001 entries",
    ),
    ("trial-name", lambda e: [_trial(e, name=_long(5000))], "trials[].name is 5001 characters"),
    (
        "assignment",
        lambda e: [_trial(e, assignments={"nn_config": "x" * (limits.MAX_ASSIGNMENT_CHARS + 1)})],
        "trial 't-1': assignment 'nn_config' is 16777217 characters",
    ),
    (
        "metric-value",
        lambda e: [_trial(e, metrics={"Validation-Accuracy": "1" * 5000})],
        "trial 't-1': metric 'Validation-Accuracy' is 5000 characters",
    ),
    (
        "metrics",
        lambda e: [_trial(e, metrics={f"m{i}": "1" for i in range(2000)})],
        "trial 't-1': observation.metrics has 2000 entries",
    ),
]


@pytest.mark.parametrize(
    ("trials", "message"),
    [(t, text) for _, t, text in TRIAL_CASES],
    ids=[name for name, _, _ in TRIAL_CASES],
)
def test_oversized_histories_are_refused_naming_the_field(
    running: Running, cpu_experiment: Any, trials: Callable[[Any], list[Any]], message: str
) -> None:
    request = pb.GetSuggestionsRequest(
        experiment=cpu_experiment,
        trials=trials(cpu_experiment),
        current_request_number=1,
        total_request_number=1,
    )
    assert message in _refused(lambda: running.suggestion.GetSuggestions(request, timeout=60))


def test_oversized_shared_weights_requests_are_refused_naming_the_field(
    running: Running,
) -> None:
    [child] = children(running, shared_experiment(), 1)
    stub = sw_grpc.SharedWeightsStub(running.channel)
    key = "macro/layer0/x"

    def pull(request: sw.PullRequest) -> str:
        return _refused(lambda: list(stub.Pull(request, timeout=60)))

    many = [sw.TensorSpec(key=key, shape=[1]) for _ in range(limits.MAX_TENSORS + 1)]
    assert "tensors has 100001 entries" in pull(sw.PullRequest(child=child, tensors=many))
    deep = [sw.TensorSpec(key=key, shape=[1] * 9)]
    assert f"tensor {key!r}: shape has 9 entries" in pull(sw.PullRequest(child=child, tensors=deep))
    huge = sw.Child(experiment=child.experiment, architecture=child.architecture,
                    nn_config="x" * (limits.MAX_ASSIGNMENT_CHARS + 1))  # fmt: skip
    assert "child.nn_config is 16777217 characters" in pull(sw.PullRequest(child=huge))
    sample = sw.SampleRequest(experiment=_long(limits.MAX_NAME_CHARS), count=1)
    assert "experiment is 1025 characters" in _refused(lambda: stub.Sample(sample, timeout=30))


def test_a_store_holds_a_bounded_number_of_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each tensor costs memory beyond its bytes: a flood of tiny ones is refused whole."""
    import torch

    monkeypatch.setattr(store, "MAX_TENSORS", 3)
    shared = store.SharedStore("e", slice_steps=1, schedule_steps=1, max_bytes=1 << 20)
    one = torch.zeros(1)
    shared.push(0, 1, [store.Update(f"a/{i}", one, one) for i in range(2)], frozenset({"a/"}))
    with pytest.raises(store.InvalidSharingError, match="would hold 4 tensors, more than 3"):
        shared.push(
            1, 1, [store.Update(f"a/{i}", one, one) for i in range(2, 4)], frozenset({"a/"})
        )
    assert (shared.version, sorted(shared.tensors)) == (1, ["a/0", "a/1"])


def test_variants_of_one_experiment_keep_a_bounded_number_of_sessions(
    cpu_experiment: Any,
) -> None:
    """A Katib experiment keeps one setup; endless variants of one name (a fuzzer, a buggy
    client) keep only the latest few controllers, and the latest is the one `Sample` uses."""
    held = Sessions(None, lambda experiment, algorithm: "127.0.0.1:6789")
    for size in range(1, 11):
        variant = _mutated(
            cpu_experiment,
            lambda s, n=size: s.algorithm.algorithm_settings.add(  # type: ignore[misc]
                name="controller_hidden_size", value=str(n)
            ),
        )
        latest = held.get(experiment_from_proto(variant))
    assert held.count(cpu_experiment.name) == MAX_SETUPS
    assert held.latest(cpu_experiment.name) is latest
    assert latest.settings.controller_hidden_size == 10
