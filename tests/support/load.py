"""Concurrent load on a running `katib-enas serve`: health checks and GetSuggestions mixed, from
several client processes (so the clients' own GIL does not throttle them), as many threads each.

Used by the bounded smoke test in the suite and by `tests/benchmarks/test_bench_load.py`.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBE = "manager.v1beta1.Suggestion"


@dataclass
class LoadResult:
    health_s: list[float] = field(default_factory=list)
    suggest_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: LoadResult) -> None:
        self.health_s += other.health_s
        self.suggest_s += other.suggest_s
        self.errors += other.errors

    @property
    def requests(self) -> int:
        return len(self.health_s) + len(self.suggest_s) + len(self.errors)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def requests_for(address: str, experiment_file: Path, experiments: int, history: int) -> list[Any]:
    """One GetSuggestions request per experiment, each with `history` finished trials of
    architectures the service itself suggested (serialised, to ship to client processes)."""
    import grpc
    from grpc_service import assignments_of, katib_trial

    from katib_enas.experiment import load_experiment
    from katib_enas.katib_api import pb, pb_grpc
    from katib_enas.local.requests import experiment_message

    base = experiment_message(load_experiment(experiment_file))
    serialized = []
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.SuggestionStub(channel)
        for index in range(experiments):
            experiment = pb.Experiment()
            experiment.CopyFrom(base)
            experiment.name = f"load-{index}"
            first = pb.GetSuggestionsRequest(
                experiment=experiment, current_request_number=history, total_request_number=history
            )
            trials = [
                katib_trial(
                    experiment,
                    f"load-{index}-{i:03d}",
                    one,
                    metrics={"Validation-Accuracy": f"{0.3 + 0.6 * (i % 11) / 11:.3f}"},
                    completion_time=f"2026-11-29T00:{i // 60:02d}:{i % 60:02d}Z",
                )
                for i, one in enumerate(assignments_of(stub.GetSuggestions(first, timeout=120)))
            ]
            request = pb.GetSuggestionsRequest(
                experiment=experiment,
                trials=trials,
                current_request_number=1,
                total_request_number=history + 1,
            )
            stub.GetSuggestions(request, timeout=120)  # learns the history once
            serialized.append(request.SerializeToString())
    return serialized


def _client_process(
    address: str, requests: list[bytes], threads: int, seconds: float, queue: Any
) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from katib_enas.katib_api import pb, pb_grpc

    parsed = [pb.GetSuggestionsRequest.FromString(r) for r in requests]
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        options = [("grpc.max_receive_message_length", 64 << 20)]
        with grpc.insecure_channel(address, options=options) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            suggestion = pb_grpc.SuggestionStub(channel)
            probe = health_pb2.HealthCheckRequest(service=PROBE)
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    if rng.random() < 0.5:
                        health.Check(probe, timeout=5)
                        kind = "health"
                    else:
                        suggestion.GetSuggestions(rng.choice(parsed), timeout=60)
                        kind = "suggest"
                except grpc.RpcError as error:
                    with lock:
                        result.errors.append(f"{error.code().name}: {error.details()}")
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    (result.health_s if kind == "health" else result.suggest_s).append(elapsed)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(result)


def run_load(
    address: str, requests: list[bytes], *, clients: int, processes: int, seconds: float
) -> LoadResult:
    """`clients` concurrent clients (spread over `processes`) for `seconds`."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    per_process = max(1, clients // processes)
    children = [
        context.Process(
            target=_client_process, args=(address, requests, per_process, seconds, queue)
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    total = LoadResult()
    for _ in children:
        total.merge(queue.get(timeout=seconds + 120))
    for child in children:
        child.join(timeout=30)
    return total


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")
