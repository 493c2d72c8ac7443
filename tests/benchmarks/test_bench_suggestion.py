"""Benchmark: GetSuggestions latency and memory of the suggestion service, and how much it learns.

Run with `make bench` or `.venv/bin/python -m pytest tests/benchmarks/test_bench_suggestion.py -s`.
The service runs as its real command (`katib-enas serve`), pinned to one CPU core where
`taskset` exists, and is called over gRPC exactly as Katib calls it: each call carries the whole
history and adds one newly finished trial. Baselines in the same run: the round trip of a call
with no history (so the ratio shows what the history costs), and, for learning, the stock
service's update rule emulated on the same controller.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import torch
from bench_support import machine_load
from grpc_service import assignments_of, katib_trial
from micro_search import search

from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.policies import PolicyConfig
from katib_enas.core.settings import STOCK_DEFAULTS, parse_settings
from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import Architecture
from katib_enas.core.spaces.macro.policy import MacroPolicy
from katib_enas.core.strategies import RandomStrategy, ReinforceStrategy
from katib_enas.core.strategies import reinforce as reinforce_module
from katib_enas.core.trials import TrialRecord
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.requests import experiment_message

ACC = "Validation-Accuracy"
CALLS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`katib-enas serve` as a subprocess on one core, with a client channel."""

    def __init__(self, state_dir: Path) -> None:
        self.port = _free_port()
        command = [
            str(Path(sys.executable).parent / "katib-enas"),
            "--log-level",
            "WARNING",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--metrics-port",
            "0",
            "--state-dir",
            str(state_dir),
        ]
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        self.process = subprocess.Popen(command)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=60)
        self.stub = pb_grpc.SuggestionStub(self.channel)

    def call(
        self, experiment: Any, trials: list[Any], current: int, total: int
    ) -> tuple[Any, float]:
        request = pb.GetSuggestionsRequest(
            experiment=experiment,
            trials=trials,
            current_request_number=current,
            total_request_number=total,
        )
        started = time.perf_counter()
        reply = self.stub.GetSuggestions(request, timeout=120)
        return reply, time.perf_counter() - started

    def rss_mib(self) -> tuple[float, float]:
        """(current, peak) resident memory of the service process."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def cpu_seconds(self) -> float:
        """CPU time the service process has used (user + system): on a shared machine the
        wall time of a call also counts the other jobs' share of the core."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=120)  # a loaded machine can take long to end a process


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "state").mkdir()
    running = Service(tmp_path / "state")
    yield running
    running.close()


def _history(service: Service, experiment: Any, n: int) -> list[Any]:
    # Asked for 1,000 at a time: a reply of 10,000 would pass gRPC's 4 MiB receive limit, and
    # Katib asks for at most parallelTrialCount per call anyway.
    assignments: list[Any] = []
    while len(assignments) < n:
        count = min(1000, n - len(assignments))
        reply, _ = service.call(experiment, [], count, len(assignments) + count)
        assignments.extend(assignments_of(reply))
    rng = random.Random(n)
    return [
        katib_trial(
            experiment,
            f"{experiment.name}-{i:05d}",
            one,
            pb.TrialStatus.SUCCEEDED,
            metrics={ACC: f"{rng.uniform(0.3, 0.9):.4f}"},
            completion_time=f"2026-11-28T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        )
        for i, one in enumerate(assignments)
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_bench_get_suggestions_latency_and_memory(
    service: Service, katib_examples: Path, tmp_path: Path
) -> None:
    base = experiment_message(load_experiment(katib_examples / "enas-gpu.yaml"))
    empty = [service.call(base, [], 1, i + 1)[1] for i in range(CALLS)]
    baseline_p50 = statistics.median(empty)
    print(f"\nGetSuggestions, 8-layer 106-op space (enas-gpu.yaml), one core, {CALLS} calls each")
    print(f"before: {machine_load()}")
    print(
        f"{'finished trials':>16} {'p50 ms':>8} {'p99 ms':>8} {'p50 / empty-history p50':>24} "
        f"{'CPU ms/call':>10}"
    )
    print(f"{0:>16} {baseline_p50 * 1e3:8.1f} {_percentile(empty, 0.99) * 1e3:8.1f} {1.0:24.1f}")
    p50s, cpu_ms = {}, {}
    for n in (10, 100, 1000):
        experiment = pb.Experiment()
        experiment.CopyFrom(base)
        experiment.name = f"bench-{n}"
        trials = _history(service, experiment, n + CALLS)
        service.call(experiment, trials[:n], 1, n + 1)  # learns the first n (replay)
        requests = [trials[: n + k + 1] for k in range(CALLS)]
        cpu = service.cpu_seconds()
        latencies = [service.call(experiment, r, 1, n + k + 2)[1] for k, r in enumerate(requests)]
        cpu_ms[n] = (service.cpu_seconds() - cpu) / CALLS * 1e3
        p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
        p50s[n] = p50
        print(
            f"{n:>16} {p50 * 1e3:8.1f} {p99 * 1e3:8.1f} {p50 / baseline_p50:24.1f} "
            f"{cpu_ms[n]:10.1f}"
        )
    rss, peak = service.rss_mib()
    print(f"p50 at 1,000 trials / p50 at 10 trials: {p50s[1000] / p50s[10]:.2f} (goal: <= 2)")
    print(f"service CPU per call at 1,000 / at 10 trials: {cpu_ms[1000] / cpu_ms[10]:.2f}")
    print(f"service resident memory: {rss:.0f} MiB now, {peak:.0f} MiB peak")
    print(f"after: {machine_load()}")


def test_bench_cold_start_1000_and_10000_trials(katib_examples: Path, tmp_path: Path) -> None:
    """The first call of a service that has no state for an experiment with N finished trials
    (a restart without a volume): it learns all N, one update per batch. Baseline in the same
    run: the same service's call with an empty history."""
    repo = Path(__file__).resolve().parents[2]
    spaces = {
        "enas-gpu.yaml (8 layers, 106 ops)": katib_examples / "enas-gpu.yaml",
        "macro CIFAR-10 (12 layers, 6 ops)": repo
        / "manifests/experiments/enas-macro-cifar10-gpu.yaml",
    }
    print("\ncold start: first GetSuggestions of a fresh service given N finished trials, one core")
    print(f"before: {machine_load()}")
    print(f"{'space':<36} {'N':>6} {'seconds':>8} {'CPU s':>6} {'x empty-history call':>21}")
    for label, path in spaces.items():
        base = experiment_message(load_experiment(path))
        tag = "gpu" if "106" in label else "cifar"
        (tmp_path / tag).mkdir()
        builder = Service(tmp_path / tag)
        try:
            empty = statistics.median(builder.call(base, [], 1, i + 1)[1] for i in range(20))
            histories = {n: _history(builder, base, n) for n in (1000, 10_000)}
        finally:
            builder.close()
        for n, trials in histories.items():
            state = tmp_path / f"{tag}-{n}"
            state.mkdir()
            fresh = Service(state)
            try:
                cpu = fresh.cpu_seconds()
                _, seconds = fresh.call(base, trials, 1, n + 1)
                cpu = fresh.cpu_seconds() - cpu
            finally:
                fresh.close()
            print(f"{label:<36} {n:>6} {seconds:8.2f} {cpu:6.2f} {seconds / empty:21.0f}")
    print(f"after: {machine_load()} (goals: 1,000 < 1 s, 10,000 < 10 s)")


def _stock_rule_search(
    space: MacroSpace, reward: Callable[[Architecture], float], trials: int, seed: int
) -> MacroPolicy:
    """The stock service's update, emulated: per call, 50 Adam steps (lr 5e-5) on freshly
    sampled architectures, all pushed with one global mean reward of the succeeded trials and a
    baseline (decay 0.999) that starts at 0."""
    s = parse_settings([*STOCK_DEFAULTS.items(), ("seed", str(seed))])
    policy = MacroPolicy(
        space.num_layers,
        space.num_operations,
        PolicyConfig(
            s.controller_hidden_size,
            s.controller_temperature,
            s.controller_tanh_const,
            s.controller_skip_target,
        ),
        seed,
    )
    optimizer = torch.optim.Adam(policy.parameters(), lr=s.controller_learning_rate)
    generator = torch.Generator().manual_seed(seed)
    baseline, rewards = 0.0, []
    for _ in range(trials):
        rewards.append(reward(policy.sample(generator)))
        mean_reward = sum(rewards) / len(rewards)
        for _ in range(s.controller_train_steps):
            terms = policy.evaluate([policy.sample(generator)])
            baseline = baseline - (1 - s.controller_baseline_decay) * (baseline - mean_reward)
            loss = -(mean_reward - baseline) * terms.log_prob + 0.8 * terms.penalty
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    return policy


def test_bench_learning_versus_random_and_the_stock_rule(katib_examples: Path) -> None:
    torch.set_num_threads(1)
    space = load_experiment(katib_examples / "enas-gpu.yaml").search_space()
    assert space is not None
    good = {
        op.op_id
        for op in space.operations
        if op.op_type == "convolution" and op.param_dict["filter_size"] == "5"
    }

    def reward(architecture: Architecture) -> float:
        return sum(op in good for op in architecture.op_ids) / len(architecture.layers)

    objective = Objective(ObjectiveType.MAXIMIZE, ACC)
    print("\nsynthetic reward = share of 5x5-conv layers; mean of 200 samples after 150 trials")
    print(f"{'seed':>4} {'random':>7} {'ours':>7} {'stock rule':>10}")
    for seed in (1, 2, 3):
        random_level = statistics.mean(
            reward(a)
            for a in RandomStrategy(
                space, objective, parse_settings([("seed", str(seed))])
            ).suggest(200, 0)
        )
        ours = ReinforceStrategy(space, objective, parse_settings([("seed", str(seed))]))
        done: list[TrialRecord] = []
        for i in range(150):
            ours.observe(done)
            arch = ours.suggest(1, i)[0]
            done.append(
                TrialRecord(
                    f"t{i:04d}",
                    Condition.SUCCEEDED,
                    ours.assignments(arch),
                    {ACC: str(reward(arch))},
                    f"{i:06d}",
                )
            )
        ours.observe(done)
        ours_level = statistics.mean(reward(a) for a in ours.suggest(200, -1))
        stock = _stock_rule_search(space, reward, 150, seed)
        generator = torch.Generator().manual_seed(seed)
        stock_level = statistics.mean(reward(stock.sample(generator)) for _ in range(200))
        print(f"{seed:>4} {random_level:7.3f} {ours_level:7.3f} {stock_level:10.3f}")
    print(f"(cores: {os.cpu_count()})")


def test_bench_micro_learning_versus_random(repo_root: Path) -> None:
    """Issue 10: the controller learns on micro decisions (`micro_search.cell_reward`)."""
    torch.set_num_threads(1)
    experiment = load_experiment(repo_root / "manifests/experiments/enas-micro-cifar10-gpu.yaml")
    print("\nsynthetic cell reward; mean reward of the last 30 of 300 trials (micro, defaults)")
    print(f"{'seed':>4} {'random':>7} {'ours':>7}")
    ratios = []
    for seed in (1, 2, 3):
        random_level = statistics.mean(search(experiment, "random", seed, 300)[-30:])
        ours_level = statistics.mean(search(experiment, "reinforce", seed, 300)[-30:])
        ratios.append(ours_level / random_level)
        print(f"{seed:>4} {random_level:7.3f} {ours_level:7.3f}")
    print(f"ours / random: {statistics.mean(ratios):.2f}x (cores: {os.cpu_count()})")


def test_bench_batched_replay_versus_exact_replay_and_live(
    katib_examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the batched replay of a long history (issue 23) costs and changes. A live search of
    1,000 trials on the synthetic reward (share of 5x5-conv layers, one call per trial), then
    its history replayed by a fresh controller twice: batched (at most 50 updates, the default)
    and exactly as live learning (the baseline, one update per 4 trials). Prints the CPU seconds
    of each replay on one thread and the mean reward of 200 samples from each controller."""
    torch.set_num_threads(1)
    space = load_experiment(katib_examples / "enas-gpu.yaml").search_space()
    assert space is not None
    good = {
        op.op_id
        for op in space.operations
        if op.op_type == "convolution" and op.param_dict["filter_size"] == "5"
    }

    def reward(architecture: Architecture) -> float:
        return sum(op in good for op in architecture.op_ids) / len(architecture.layers)

    objective = Objective(ObjectiveType.MAXIMIZE, ACC)
    print(f"\nreplay of a 1,000-trial history, one thread ({machine_load()})")
    print(
        f"{'seed':>4} {'live':>6} {'batched':>8} {'exact':>6} "
        f"{'batched CPU s':>14} {'exact CPU s':>12}"
    )
    for seed in (1, 2):
        settings = parse_settings([("seed", str(seed))])
        live = ReinforceStrategy(space, objective, settings)
        done: list[TrialRecord] = []
        for i in range(1000):
            live.observe(done)
            arch = live.suggest(1, i)[0]
            done.append(
                TrialRecord(
                    f"t{i:04d}",
                    Condition.SUCCEEDED,
                    live.assignments(arch),
                    {ACC: str(reward(arch))},
                    f"{i:06d}",
                )
            )
        live.observe(done)
        levels, seconds = [], []
        for exact in (False, True):
            with monkeypatch.context() as patch:
                if exact:
                    patch.setattr(reinforce_module, "EXACT_REPLAY_TRIALS", 10**9)
                replayed = ReinforceStrategy(space, objective, settings)
                started = time.process_time()  # CPU: the machine may be shared
                replayed.observe(done)
                seconds.append(time.process_time() - started)
            levels.append(statistics.mean(reward(a) for a in replayed.suggest(200, -1)))
        live_level = statistics.mean(reward(a) for a in live.suggest(200, -1))
        print(
            f"{seed:>4} {live_level:6.3f} {levels[0]:8.3f} {levels[1]:6.3f} "
            f"{seconds[0]:14.2f} {seconds[1]:12.2f}"
        )
    print(f"after: {machine_load()}")
