"""Fuzzed requests for both services over real gRPC: generators (Hypothesis) and a campaign that
sends them and tallies the answers. Used by the suite (`tests/service/test_service_fuzz.py`, a
bounded number of examples) and by the long campaign in `tests/benchmarks/test_bench_fuzz.py`.

The generators mutate a valid stock experiment field by field, so most examples get deep into
the service; every numeric field also gets huge values (int32/int64 extremes, 1e30, 10^9-digit
exponents, 100,000-digit strings), the inputs that once cost memory or answered UNKNOWN.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_service import katib_trial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katib_enas.core.settings import RULES
from katib_enas.katib_api import pb
from katib_enas.v1 import shared_weights_pb2 as sw

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
HUGE_NUMBERS = [
    "3000000", "10000000000", "1e30", "-1e30", "1e999999999", "-1e999999999", "1e-999999999",
    "9" * 64, "9" * 65, "9" * 100_000, "0." + "0" * 5000 + "1", "2147483648",
    "-9223372036854775809",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "None", "nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", "1.5e3"]),
    st.sampled_from(HUGE_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=200, max_value=500).map(lambda n: "9" * n),  # overflowed floats once
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
small_numbers = st.one_of(st.integers(-3, 200).map(str), st.sampled_from(HUGE_NUMBERS))
setting_names = st.one_of(st.sampled_from(sorted(RULES)), st.text(max_size=20))
settings_lists = st.lists(st.tuples(setting_names, texts), max_size=6)
conditions = st.one_of(st.integers(min_value=-3, max_value=12), INT32)
assignment_values = st.one_of(
    texts,
    st.sampled_from(
        ["[[0]]", "[[0],[1,1]]", "[[5],[1,0]]", "[]", "[[-1]]", "{'a':1}", "[[0],[1]]"]
    ),
    st.sampled_from(["[" * 100_000, "[[" + "9" * 5000 + "]]", "{'embedding':" * 50_000]),
)
INT_TYPE = 2


def _sometimes(draw: st.DrawFn) -> bool:
    """One mutation in four: most examples stay valid enough to reach the strategy."""
    return draw(st.integers(0, 3)) == 0


def _rarely(draw: st.DrawFn) -> bool:
    """One in eight: for mutations that are refused at the first check (not 0 or 7: Hypothesis
    draws the ends of a range far more often)."""
    return draw(st.integers(0, 7)) == 5


def _mutate_parameter(draw: st.DrawFn, parameter: Any) -> None:
    space = parameter.feasible_space
    if draw(st.booleans()):
        # An int range of any size: the path that once materialised 10^10 values.
        parameter.parameter_type = INT_TYPE
        space.ClearField("list")
        space.min, space.max = draw(small_numbers), draw(small_numbers)
        space.step = draw(st.one_of(st.just(""), small_numbers))
        return
    parameter.parameter_type = draw(st.one_of(st.integers(0, 6), INT32))
    space.min, space.max, space.step = draw(texts), draw(texts), draw(texts)
    space.distribution = draw(st.one_of(st.integers(0, 5), INT32))
    space.ClearField("list")
    space.list.extend(draw(st.lists(texts, max_size=3)))


@st.composite
def experiments(draw: st.DrawFn, base: Any) -> Any:
    experiment = copy.deepcopy(base)
    names = ["fuzz", "fuzz-b", "", "x" * 300]
    experiment.name = draw(st.sampled_from(["y" * 2000] if _rarely(draw) else names))
    spec = experiment.spec
    if _sometimes(draw):
        spec.algorithm.ClearField("algorithm_settings")
        for name, value in draw(settings_lists):
            spec.algorithm.algorithm_settings.add(name=name, value=value)
    if _sometimes(draw):
        spec.max_trial_count = draw(INT32)
        spec.parallel_trial_count = draw(INT32)
    graph = spec.nas_config.graph_config
    if _sometimes(draw):
        # Small spaces (a request for a 1,000-layer child is valid, and slow to answer: fine
        # for Katib, too slow for a fuzz loop) and the limits around them.
        choices = st.sampled_from([-5, 0, 1, 2, 3, 5, 8, 1001, 3000])
        graph.num_layers = draw(st.one_of(choices, INT32.filter(lambda n: n > 1000 or n < 1)))
    if _sometimes(draw):
        graph.ClearField("input_sizes")
        graph.input_sizes.extend(
            draw(st.lists(st.one_of(st.integers(-3, 10**6), INT32), max_size=4))
        )
    if _sometimes(draw):
        graph.ClearField("output_sizes")
        graph.output_sizes.extend(draw(st.lists(st.one_of(st.integers(-3, 20), INT32), max_size=3)))
    operations = spec.nas_config.operations.operation
    if operations and _sometimes(draw):
        op = operations[draw(st.integers(0, len(operations) - 1))]
        op.operation_type = draw(st.one_of(st.text(max_size=8), st.just(op.operation_type)))
        for parameter in op.parameter_specs.parameters:
            if _sometimes(draw):
                _mutate_parameter(draw, parameter)
    if _sometimes(draw):
        spec.objective.type = draw(INT32 if _rarely(draw) else st.integers(0, 4))
        spec.objective.objective_metric_name = draw(st.sampled_from(["", "Validation-Accuracy"]))
        spec.objective.goal = draw(st.floats(allow_nan=True, allow_infinity=True))
    return experiment


@st.composite
def suggestion_requests(draw: st.DrawFn, base: Any) -> Any:
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
            condition=draw(conditions),
            metrics={draw(st.sampled_from(["Validation-Accuracy", "x"])): draw(texts)},
            completion_time=draw(st.sampled_from(["", "2026-11-29T00:00:00Z", "garbage"])),
        )
        trials.append(trial)
    return pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        # Valid counts stay small: thousands of suggestions are valid, and slow for a fuzz loop.
        current_request_number=draw(
            INT32.filter(lambda n: n < 0 or n > 10_000)
            if _rarely(draw)
            else st.sampled_from([1, 2, 3, 0, 1, 2, 3, 1, 2, 0, 1, 2, 3, 1, -1, 10_001])
        ),
        total_request_number=draw(st.one_of(st.integers(-5, 10**9), INT32)),
    )


@dataclass
class Tally:
    """Answers by status code name, and the slowest reply."""

    outcomes: list[str] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (code, details)
    slowest_s: float = 0.0

    def call(self, rpc: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            reply = rpc()
        except grpc.RpcError as error:
            self._done(started)
            code = error.code()
            self.outcomes.append(code.name)
            if code is not grpc.StatusCode.INVALID_ARGUMENT:
                self.unexpected.append((code.name, error.details() or ""))
            return None
        self._done(started)
        self.outcomes.append("OK")
        return reply

    def _done(self, started: float) -> None:
        self.slowest_s = max(self.slowest_s, time.perf_counter() - started)


def _campaign_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples every run: a failure reproduces
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def suggestion_campaign(stub: Any, base: Any, examples: int) -> Tally:
    """`examples` fuzzed requests, each sent to ValidateAlgorithmSettings and GetSuggestions
    (so twice as many calls). An OK GetSuggestions must hold exactly the assignments asked."""
    tally = Tally()

    @_campaign_settings(examples)
    @given(suggestion_requests(base))
    def check(request: Any) -> None:
        validate = pb.ValidateAlgorithmSettingsRequest(experiment=request.experiment)
        tally.call(lambda: stub.ValidateAlgorithmSettings(validate, timeout=30))
        reply = tally.call(lambda: stub.GetSuggestions(request, timeout=60))
        if reply is not None:
            assert len(reply.parameter_assignments) == request.current_request_number

    check()
    return tally


@st.composite
def _tensor_parts(draw: st.DrawFn, key: str) -> sw.PushChunk:
    shape = draw(st.lists(st.one_of(st.integers(-2, 4), INT64), max_size=10))
    part = sw.TensorPart(
        key=draw(st.one_of(st.just(key), st.text(max_size=8))),
        shape=shape,
        offset=draw(st.one_of(st.integers(-1, 4), INT64)),
        data=bytes(draw(st.sampled_from([0, 3, 4, 8, 64]))),
        role=draw(st.one_of(st.sampled_from(list(sw.TensorPart.Role.values())), INT32)),
    )
    return sw.PushChunk(part=part)


def shared_weights_campaign(stub: Any, child: Any, key: str, examples: int) -> Tally:
    """`examples` fuzzed Pull, Push and Sample calls (huge numbers in every numeric field)
    against the store of `child`'s experiment (`key`: one of its tensors)."""
    tally = Tally()
    children = st.sampled_from(
        [child, sw.Child(experiment=child.experiment, architecture="[[0]]", nn_config="{}")]
    )

    @_campaign_settings(examples)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        one = data.draw(children)
        wanted = data.draw(
            st.lists(st.tuples(st.sampled_from([key, "x", ""]), st.lists(INT64, max_size=9)))
        )
        tensors = [sw.TensorSpec(key=k, shape=s) for k, s in wanted[:4]]
        tally.call(lambda: list(stub.Pull(sw.PullRequest(child=one, tensors=tensors), timeout=30)))
        header = sw.PushHeader(child=one, base_version=data.draw(INT64), steps=data.draw(INT64))
        pieces = data.draw(st.lists(_tensor_parts(key), max_size=4))
        chunks = [sw.PushChunk(header=header), *pieces]
        tally.call(lambda: stub.Push(iter(chunks), timeout=30))
        # Valid counts stay small: sampling 1,000 children is valid, and slow for a fuzz loop.
        count = data.draw(st.one_of(st.integers(-1, 3), INT32.filter(lambda n: n > 1000 or n < 0)))
        sample = sw.SampleRequest(experiment=one.experiment, count=count)
        tally.call(lambda: stub.Sample(sample, timeout=30))

    check()
    return tally


def with_int_range(base: Any, low: str, high: str, step: str) -> Any:
    """`base` with the first operation's `num_filter` turned into an int range."""
    experiment = copy.deepcopy(base)
    parameter = experiment.spec.nas_config.operations.operation[0].parameter_specs.parameters[1]
    assert parameter.name == "num_filter"
    parameter.parameter_type = INT_TYPE
    parameter.feasible_space.ClearField("list")
    parameter.feasible_space.min, parameter.feasible_space.max = low, high
    parameter.feasible_space.step = step
    return experiment


# The three requests of issue 23, and what each answer must name.
HUGE_RANGES = [
    ("3e6-step-2", ("1", "3000000", "2"), "nasConfig.operations expand to more than 100000"),
    ("1e10", ("1", "10000000000", "1"), "nasConfig.operations expand to more than 100000"),
    ("1e30", ("1", "1e30", "1"), "(num_filter).feasibleSpace.max: '1e30' is out of range"),
]
