"""Many trials on one shared-weights store: each process plays a trial of a weight-sharing
Experiment (pull its child's tensors, change them, push the change), over and over, with the
real trial link; a flooding client pushes from several threads of one connection. Used by
`tests/benchmarks/test_bench_store_load.py`; processes, so that the clients' GIL does not
throttle them (as `load.py`).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from typing import Any

Child = tuple[str, str, str]  # experiment, architecture, nn_config


@dataclass
class TrialLoad:
    """What one trial process did."""

    pulls_s: list[float] = field(default_factory=list)
    pushes_s: list[float] = field(default_factory=list)
    steps: int = 0  # steps of the pushes the store acknowledged
    errors: list[str] = field(default_factory=list)


@dataclass
class FloodLoad:
    admitted: int = 0  # pushes the store applied (each 0 steps)
    refused_busy: int = 0
    refused_invalid: int = 0
    errors: list[str] = field(default_factory=list)


def _trial(address: str, children: list[Child], seconds: float, out: Any) -> None:
    import torch
    from shared_support import network

    from enas_trial.sharing.link import StoreLink
    from katib_enas.v1 import shared_weights_pb2 as sw

    torch.set_num_threads(1)
    result = TrialLoad()
    nets = [network(sw.Child(experiment=e, architecture=a, nn_config=n)) for e, a, n in children]
    links = [
        StoreLink(address, sw.Child(experiment=e, architecture=a, nn_config=n), timeout_s=120)
        for e, a, n in children
    ]
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        net, link = nets[turn % len(nets)], links[turn % len(links)]
        turn += 1
        try:
            started = time.perf_counter()
            pulled = link.pull(net.tensors)
            result.pulls_s.append(time.perf_counter() - started)
            with torch.no_grad():
                for parameter in net.model.parameters():
                    parameter.add_(1e-3)
            started = time.perf_counter()
            link.push(net.tensors, pulled, steps=1)
            result.pushes_s.append(time.perf_counter() - started)
            result.steps += 1
        except Exception as error:  # reported, not raised: the benchmark prints them
            result.errors.append(f"{type(error).__name__}: {error}"[:300])
    for link in links:
        link.close()
    out.put(("trial", result))


def _flood(  # noqa: PLR0917 (a process target takes positional arguments)
    address: str, child: Child, key: str, seconds: float, threads: int, out: Any
) -> None:
    """Pushes as fast as `threads` threads of one connection can send them: a header and no
    tensors (0 steps, applied and counted in the version), and now and then one over the cap."""
    import grpc

    from katib_enas.v1 import shared_weights_pb2 as sw
    from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

    result = FloodLoad()
    lock = threading.Lock()
    channel = grpc.insecure_channel(address)
    stub = sw_grpc.SharedWeightsStub(channel)
    target = sw.Child(experiment=child[0], architecture=child[1], nn_config=child[2])
    header = sw.PushChunk(header=sw.PushHeader(child=target, base_version=0, steps=0))
    oversize = sw.PushChunk(
        part=sw.TensorPart(key=key, shape=[1 << 40], offset=0, data=bytes(4), role=1)
    )
    deadline = time.monotonic() + seconds

    def flood(number: int) -> None:
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            chunks = [header, oversize] if sent % 10 == number % 10 else [header]
            try:
                stub.Push(iter(chunks), timeout=30)
                with lock:
                    result.admitted += 1
            except grpc.RpcError as error:
                with lock:
                    if error.code() == grpc.StatusCode.UNAVAILABLE:
                        result.refused_busy += 1
                    elif error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                        result.refused_invalid += 1
                    else:
                        result.errors.append(f"{error.code().name}: {error.details()}"[:300])

    workers = [threading.Thread(target=flood, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    channel.close()
    out.put(("flood", result))


def run_store_load(  # noqa: PLR0917 (the load's whole description, once)
    address: str,
    children: list[list[Child]],
    flood_child: Child,
    flood_key: str,
    seconds: float,
    flood_threads: int = 4,
) -> tuple[list[TrialLoad], FloodLoad]:
    """One process per entry of `children` (its children, in turn) and one flooder, for
    `seconds`; returns once all have reported."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [
        context.Process(target=_trial, args=(address, mine, seconds, out)) for mine in children
    ]
    processes.append(
        context.Process(
            target=_flood, args=(address, flood_child, flood_key, seconds, flood_threads, out)
        )
    )
    for process in processes:
        process.start()
    trials: list[TrialLoad] = []
    flood = FloodLoad()
    for _ in processes:
        kind, result = out.get(timeout=seconds + 600)
        if kind == "trial":
            trials.append(result)
        else:
            flood = result
    for process in processes:
        process.join(timeout=60)
    return trials, flood
