"""Benchmark: the weight store under load (issue 23). One real `katib-enas serve` (with a state
volume, so that the store is also saved every 10 s as in a cluster) holds the shared weights of a
macro CIFAR-10 Experiment (12 layers, 6 operations, 36 filters: the paper's size); 8 trial
processes pull their child's tensors, change them and push the change, over and over, with the
trial's real link, while one flooding client pushes from 4 threads of one connection (and now
and then a push over the cap), and Katib calls GetSuggestions every 0.1 s.

Prints pull and push p50/p99, pushes per trial process (fairness), what the flooder got, the
store's version and global step against the pushes and steps acknowledged (no lost update), the
service's RSS against the chart's 1 GiB limit, and GetSuggestions p50/p99 while the store is busy
against the same calls with the store idle (the baseline, measured first in the same run).

Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_store_load.py -s`;
`KATIB_ENAS_STORE_LOAD_S` sets the busy phase's seconds (default 60; issue 23 asks 300).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import yaml
from bench_support import machine_load
from grpc_service import assignments_of, katib_trial
from load import percentile
from serve_process import MEMORY_LIMIT, ServeProcess
from shared_support import network, shared_experiment
from store_load import run_store_load

from enas_trial.sharing.blocks import block_shapes
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

REPO = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("KATIB_ENAS_STORE_LOAD_S", "60"))
TRIALS = 8
BASELINE_S = 20.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _katib_calls(stub: Any, request: Any, seconds: float) -> list[float]:
    """GetSuggestions every 0.1 s for `seconds`, as Katib's controller calls it."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        stub.GetSuggestions(request, timeout=60)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.1)
    return latencies


def test_bench_store_under_load(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "manifests/experiments/enas-macro-cifar10-gpu.yaml").read_text())
    doc["spec"]["algorithm"]["algorithmSettings"] += [
        {"name": "weight_sharing", "value": "true"},
        {"name": "shared_slice_steps", "value": "1"},
    ]
    path = tmp_path / "cifar-shared.yaml"
    path.write_text(yaml.safe_dump(doc))
    experiment = shared_experiment(path)
    (tmp_path / "state").mkdir()
    # The service on core 0, every client on the others (trials run on other nodes in a
    # cluster): the service's latencies are then its own, not the clients' share of its core.
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cores[:1])
    try:
        serve = ServeProcess(tmp_path / "state", tmp_path / "serve.log").start(
            "--memory-limit", str(MEMORY_LIMIT)
        )
    finally:
        os.sched_setaffinity(0, cores[1:] or cores)
    channel = grpc.insecure_channel(serve.address)
    try:
        stub = pb_grpc.SuggestionStub(channel)
        first = pb.GetSuggestionsRequest(
            experiment=experiment, current_request_number=72, total_request_number=72
        )
        suggested = assignments_of(stub.GetSuggestions(first, timeout=120))
        children = [
            (experiment.name, one["architecture"], one["nn_config"]) for one in suggested[:65]
        ]
        history = [
            katib_trial(experiment, f"t{i:03d}", one, metrics={"Validation-Accuracy": "0.5"},
                        completion_time=f"2026-11-29T00:{i // 60:02d}:{i % 60:02d}Z")
            for i, one in enumerate(suggested)
        ]  # fmt: skip
        katib = pb.GetSuggestionsRequest(
            experiment=experiment, trials=history, current_request_number=1,
            total_request_number=73,
        )  # fmt: skip
        stub.GetSuggestions(katib, timeout=120)  # learns the history once
        flood_child = sw.Child(experiment=children[64][0], architecture=children[64][1],
                               nn_config=children[64][2])  # fmt: skip
        flood_key = next(iter(block_shapes(network(flood_child).tensors)))
        print(f"\nweight store under load: macro CIFAR-10, {TRIALS} trial processes + 1 flooder")
        print(f"serve on core {cores[0]}, the clients on {cores[1:] or cores}")
        print(f"before: {machine_load()}")
        idle = _katib_calls(stub, katib, BASELINE_S)
        rss = [_rss_mib(serve.pid)]
        sampling = threading.Event()

        def sample_rss() -> None:
            while not sampling.wait(1.0):
                rss.append(_rss_mib(serve.pid))

        sampler = threading.Thread(target=sample_rss)
        sampler.start()
        busy: list[float] = []
        katib_thread = threading.Thread(
            target=lambda: busy.extend(_katib_calls(stub, katib, SECONDS))
        )
        katib_thread.start()
        started = time.monotonic()
        trials, flood = run_store_load(
            serve.address,
            [children[k * 8 : k * 8 + 8] for k in range(TRIALS)],
            children[64],
            flood_key,
            SECONDS,
        )
        elapsed = time.monotonic() - started
        katib_thread.join()
        sampling.set()
        sampler.join()
        final = list(
            sw_grpc.SharedWeightsStub(channel).Pull(sw.PullRequest(child=flood_child), timeout=60)
        )
        status = final[0].status
        print(f"after: {machine_load()}")
    finally:
        channel.close()
        serve.stop()
        os.sched_setaffinity(0, cores)
    pulls = [s for t in trials for s in t.pulls_s]
    pushes = [s for t in trials for s in t.pushes_s]
    per_trial = sorted(len(t.pushes_s) for t in trials)
    steps = sum(t.steps for t in trials)
    acknowledged = len(pushes) + flood.admitted
    ms = 1e3
    print(f"busy phase: {elapsed:.0f} s; each trial pushes 1 step, 1.9 MiB each way")
    for name, values in (("pull", pulls), ("push", pushes)):
        p50, p99 = percentile(values, 0.5) * ms, percentile(values, 0.99) * ms
        print(f"{name:<5} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
    print(
        f"pushes per trial process: min {per_trial[0]}, max {per_trial[-1]} ({len(pushes)} in all)"
    )
    print(
        f"flooder: {flood.admitted} pushes applied, {flood.refused_busy} refused busy, "
        f"{flood.refused_invalid} refused over the cap, errors {flood.errors[:2]}"
    )
    print(
        f"store: version {status.version} (pushes acknowledged: {acknowledged}), "
        f"global step {status.global_step} (steps acknowledged: {steps})"
    )
    print(
        f"serve RSS: {rss[0]:.0f} MiB before, max {max(rss):.0f} MiB, last {rss[-1]:.0f} MiB "
        f"(chart limit {MEMORY_LIMIT / 2**20:.0f} MiB)"
    )
    idle_p99, busy_p99 = percentile(idle, 0.99), percentile(busy, 0.99)
    print(
        f"GetSuggestions idle: p50 {statistics.median(idle) * ms:.1f} ms, p99 {idle_p99 * ms:.1f} "
        f"ms; busy: p50 {statistics.median(busy) * ms:.1f} ms, p99 {busy_p99 * ms:.1f} ms "
        f"({busy_p99 / idle_p99:.2f}x; goal <= 2x)"
    )
    print(f"trial errors: {[e for t in trials for e in t.errors][:3]}")  # fmt: skip
    assert all(not t.errors for t in trials)
    assert (status.version, status.global_step) == (acknowledged, steps)  # no lost update
    assert max(rss) < MEMORY_LIMIT / 2**20
