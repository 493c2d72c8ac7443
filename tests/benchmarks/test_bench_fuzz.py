"""Benchmark: the long fuzz campaign of issue 23 against the real `katib-enas serve`: 10,000
fuzzed experiments, each sent to ValidateAlgorithmSettings and GetSuggestions (20,000 Suggestion
requests), and 2,500 rounds of fuzzed Pull, Push and Sample (7,500 SharedWeights calls), with
huge numbers in every numeric field. Targets: 0 UNKNOWN, 0 INTERNAL, no reply slower than 1 s,
and the service's memory not growing with the refusals. Baseline in the same run: the latency of
a valid GetSuggestions. The suite runs the same generators with fewer examples
(`tests/service/test_service_fuzz.py`).

Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_fuzz.py -s`
(`KATIB_ENAS_FUZZ_EXAMPLES` sets the number of experiments).
"""

from __future__ import annotations

import collections
import contextlib
import os
import statistics
import time
from pathlib import Path

import grpc
from bench_support import machine_load
from fuzz_campaign import (
    HUGE_RANGES,
    shared_weights_campaign,
    suggestion_campaign,
    with_int_range,
)
from serve_process import ServeProcess
from shared_support import children_of, network, shared_experiment

from enas_trial.sharing.blocks import block_shapes
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.requests import experiment_message
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

EXAMPLES = int(os.environ.get("KATIB_ENAS_FUZZ_EXAMPLES", "10000"))


def _rss_mib(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def test_bench_fuzz_20000_requests(katib_examples: Path, tmp_path: Path) -> None:
    base = experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))
    serve = ServeProcess(None, tmp_path / "serve.log").start()
    channel = grpc.insecure_channel(serve.address)
    try:
        stub = pb_grpc.SuggestionStub(channel)
        valid = pb.GetSuggestionsRequest(
            experiment=base, current_request_number=1, total_request_number=1
        )
        baseline = []
        for _ in range(50):
            started = time.perf_counter()
            stub.GetSuggestions(valid, timeout=60)
            baseline.append(time.perf_counter() - started)
        before = _rss_mib(serve.pid)
        started = time.perf_counter()
        suggestion = suggestion_campaign(stub, base, EXAMPLES)
        suggestion_s = time.perf_counter() - started
        [child] = children_of(stub, shared_experiment(), 1)
        key = next(iter(block_shapes(network(child).tensors)))
        started = time.perf_counter()
        shared = shared_weights_campaign(
            sw_grpc.SharedWeightsStub(channel), child, key, EXAMPLES // 4
        )
        shared_s = time.perf_counter() - started
        after = _rss_mib(serve.pid)
    finally:
        channel.close()
        serve.stop()
    print(f"\nfuzz campaign against `katib-enas serve` ({machine_load()})")
    print(f"valid GetSuggestions p50 (baseline): {statistics.median(baseline) * 1e3:.1f} ms")
    for label, tally, seconds in (
        ("Suggestion", suggestion, suggestion_s),
        ("SharedWeights", shared, shared_s),
    ):
        counts = collections.Counter(tally.outcomes)
        print(
            f"{label:>13}: {len(tally.outcomes)} calls in {seconds:.0f} s, {dict(counts)}, "
            f"slowest reply {tally.slowest_s * 1e3:.0f} ms"
        )
    print(
        f"serve RSS {before[0]:.0f} -> {after[0]:.0f} MiB, peak {before[1]:.0f} -> {after[1]:.0f}"
    )
    assert suggestion.unexpected == [] and shared.unexpected == []
    assert max(suggestion.slowest_s, shared.slowest_s) < 1.0


def test_bench_the_issues_three_requests(katib_examples: Path, tmp_path: Path) -> None:
    """Issue 23's three requests (an int range of 1.5 million, 10^10 and 1e30 values), each to
    both RPCs of a real `serve`: the time of each refusal and the service's memory before and
    after (`tests/service/test_service_limits.py` asserts the same without timing)."""
    base = experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))
    serve = ServeProcess(None, tmp_path / "serve.log").start()
    channel = grpc.insecure_channel(serve.address)
    stub = pb_grpc.SuggestionStub(channel)
    try:
        warm = with_int_range(base, "1", "200000", "1")
        for _ in range(3):  # the paths a refusal takes, warmed up
            with contextlib.suppress(grpc.RpcError):
                stub.ValidateAlgorithmSettings(pb.ValidateAlgorithmSettingsRequest(experiment=warm))
        before = _rss_mib(serve.pid)
        print(f"\nissue 23's requests against `katib-enas serve` ({machine_load()})")
        for name, (low, high, step), _ in HUGE_RANGES:
            experiment = with_int_range(base, low, high, step)
            calls = {
                "ValidateAlgorithmSettings": lambda e=experiment: stub.ValidateAlgorithmSettings(
                    pb.ValidateAlgorithmSettingsRequest(experiment=e), timeout=30
                ),
                "GetSuggestions": lambda e=experiment: stub.GetSuggestions(
                    pb.GetSuggestionsRequest(
                        experiment=e, current_request_number=1, total_request_number=1
                    ),
                    timeout=30,
                ),
            }
            for rpc, call in calls.items():
                started = time.perf_counter()
                try:
                    call()
                    code = "OK"
                except grpc.RpcError as error:
                    code = error.code().name
                ms = (time.perf_counter() - started) * 1e3
                print(f"{name:>11} {rpc:>26}: {code} in {ms:.1f} ms")
                assert code == "INVALID_ARGUMENT"
        after = _rss_mib(serve.pid)
    finally:
        channel.close()
        serve.stop()
    print(
        f"serve RSS {before[0]:.2f} -> {after[0]:.2f} MiB, peak {before[1]:.2f} -> {after[1]:.2f}"
    )
