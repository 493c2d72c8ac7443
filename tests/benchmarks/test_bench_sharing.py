"""Weight sharing, measured (issue 9): compute to quality, ranking quality, store costs.

- `test_bench_compute_to_quality`: the same search on digits twice per seed, with the same
  number of trials (24) - children trained from scratch (`digits.yaml`'s 20 epochs) and children
  trained with sharing (`digits-shared.yaml`'s 20-step slices, about one epoch) - then the best
  architecture of each retrained from scratch with one recipe (20 epochs, three seeds). Prints
  the total trial compute (sum of trial wall seconds from the run database), the retrained test
  accuracies and the ratio.
- `test_bench_ranking_kendall_tau`: after a sharing search, 24 architectures sampled uniformly
  and 24 the trained controller samples (the candidates `derive` ranks) are scored with the
  shared weights (`enas-trial --evaluate-shared`) and trained stand-alone (10 epochs); Kendall
  tau between the two rankings, per set. Weight sharing's known weak point.
- `test_bench_store_costs`: the paper's macro CIFAR space (12 layers, 6 operations, 36
  filters): Pull and Push latency (p50, p95) and bytes per trial against `katib-enas serve` in
  its own process, and that process's RSS with the store loaded.

Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_sharing.py -s`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import grpc
import pytest
import torch
import yaml
from grpc_service import connect
from scipy.stats import kendalltau
from serve_process import ServeProcess
from shared_support import children, network, shared_experiment

from enas_trial.sharing.link import StoreLink
from katib_enas.analysis.derive import sample
from katib_enas.core import strategies
from katib_enas.core.sharing.reference import StoreReference, strip_sharing, with_reference
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.v1 import shared_weights_pb2 as sw

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "manifests" / "local"
BIN = Path(sys.executable).parent
RETRAIN_EPOCHS = 20
TRIALS = 24  # per search


def _run(path: Path, run_dir: Path, seed: int, trials: int) -> Path:
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["maxTrialCount"] = trials
    settings = doc["spec"]["algorithm"]["algorithmSettings"]
    for setting in settings:
        if setting["name"] == "seed":
            setting["value"] = str(seed)
    spec = run_dir.with_suffix(".yaml")
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    subprocess.run(
        [str(BIN / "katib-enas"), "run", str(spec), "--run-dir", str(run_dir)],
        check=True, capture_output=True, timeout=3600,
    )  # fmt: skip
    return run_dir


def _trials(run_dir: Path) -> list[tuple[str, str, float, float]]:
    """(architecture, nn_config, objective, wall seconds) of every succeeded trial."""
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute(
            "SELECT assignments, objective, start_time, completion_time FROM trials "
            "WHERE condition = 'Succeeded'"
        ).fetchall()
    out = []
    for assignments, objective, start, end in rows:
        values = dict(json.loads(assignments))
        seconds = (_time(end) - _time(start)).total_seconds()
        out.append((values["architecture"], values["nn_config"], float(objective), seconds))
    return out


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _train(architecture: str, nn_config: str, epochs: int, seed: int, work: Path) -> float:
    """Test accuracy of the architecture trained from scratch (a real enas-trial process)."""
    config = json.loads(nn_config.replace("'", '"'))
    config.pop("shared", None)
    summary = work / f"summary-{seed}.json"
    subprocess.run(
        [str(BIN / "enas-trial"), "--dataset=digits", "--batch-size=64", "--num_gpus=0",
         f"--num_epochs={epochs}", f"--seed={seed}", f"--summary-file={summary}",
         f"--architecture={architecture}",
         f"--nn_config={json.dumps(config, separators=(',', ':')).replace(chr(34), chr(39))}"],
        check=True, capture_output=True, timeout=3600, cwd=work,
    )  # fmt: skip
    return float(json.loads(summary.read_text())["test_accuracy"])


@pytest.mark.timeout(7200)
def test_bench_compute_to_quality(tmp_path: Path) -> None:
    print(
        f"\nsame search, {TRIALS} trials each, digits; "
        f"best retrained {RETRAIN_EPOCHS} epochs x 3 seeds"
    )
    print(f"{'seed':>4} {'mode':<8} {'trial s':>8} {'best reward':>11} {'retrained test acc':>20}")
    ratios = []
    for seed in (1, 2):
        compute = {}
        for mode, path in (
            ("scratch", LOCAL / "digits.yaml"),
            ("shared", LOCAL / "digits-shared.yaml"),
        ):
            run_dir = _run(path, tmp_path / f"{mode}-{seed}", seed, TRIALS)
            trials = _trials(run_dir)
            compute[mode] = sum(t[3] for t in trials)
            architecture, nn_config, reward, _ = max(trials, key=lambda t: t[2])
            work = tmp_path / f"retrain-{mode}-{seed}"
            work.mkdir()
            accuracies = [
                _train(architecture, nn_config, RETRAIN_EPOCHS, s, work) for s in (0, 1, 2)
            ]
            mean, spread = statistics.mean(accuracies), statistics.stdev(accuracies)
            print(
                f"{seed:>4} {mode:<8} {compute[mode]:8.1f} {reward:11.4f} "
                f"{mean:10.4f} +- {spread:.4f}"
            )
        ratios.append(compute["scratch"] / compute["shared"])
    print(f"trial compute, scratch / shared: {', '.join(f'{r:.1f}x' for r in ratios)} "
          f"(cores: {os.cpu_count()})")  # fmt: skip


@pytest.mark.timeout(7200)
def test_bench_ranking_kendall_tau(tmp_path: Path) -> None:
    run_dir = _run(LOCAL / "digits-shared.yaml", tmp_path / "search", 1, 80)
    experiment = load_experiment(run_dir / "experiment.yaml")
    assert experiment.nas_config is not None
    settings = experiment.settings()
    uniform = strategies.build(
        experiment.nas_config, experiment.objective,
        type(settings)(**{**settings.__dict__, "strategy": "random"}),
    )  # fmt: skip
    picked: dict[str, dict[str, str]] = {}
    for architecture in uniform.suggest(200, 7):
        assignments = uniform.assignments(architecture)
        picked.setdefault(assignments["architecture"], assignments)
        if len(picked) == 24:
            break
    service = connect(run_dir / "suggestion", advertise="127.0.0.1:{port}")
    try:
        children(service, shared_experiment(run_dir / "experiment.yaml"), 0)  # opens the store
        address = f"127.0.0.1:{service.server.port}"
        reference = StoreReference(address, experiment.name, 20, 1, 256)
        # The candidates `derive` ranks: what the trained controller samples (distinct ones).
        sampled = {
            c.architecture: {"architecture": c.architecture, "nn_config": c.nn_config}
            for c in sample(address, experiment.name, 200)
        }
        sets = {
            "uniform": list(picked.values()),
            "controller": list(sampled.values())[:24],
        }
        results = {
            name: _shared_and_alone(members, reference, tmp_path / name)
            for name, members in sets.items()
        }
    finally:
        service.server.stop(0)
    print("\nafter an 80-trial sharing search on digits: shared-weight val acc against")
    print("stand-alone (10 epochs) test acc")
    for name, (shared, alone) in results.items():
        tau = kendalltau(shared, alone)
        print(f"{len(shared):>3} {name:<10} architectures: "
              f"shared mean {statistics.mean(shared):.3f}, "
              f"stand-alone mean {statistics.mean(alone):.3f}, "
              f"Kendall tau = {tau.statistic:.3f} (p = {tau.pvalue:.3f})")  # fmt: skip


def _shared_and_alone(
    members: list[dict[str, str]], reference: StoreReference, work_dir: Path
) -> tuple[list[float], list[float]]:
    """Each architecture's validation accuracy with the shared weights (`enas-trial
    --evaluate-shared`) and its test accuracy trained stand-alone for 10 epochs."""
    shared, alone = [], []
    for number, assignments in enumerate(members):
        work = work_dir / f"arch-{number}"
        work.mkdir(parents=True)
        scored = with_reference(
            {**assignments, "nn_config": strip_sharing(assignments["nn_config"])}, reference
        )
        summary = work / "shared.json"
        subprocess.run(
            [str(BIN / "enas-trial"), "--dataset=digits", "--batch-size=64", "--num_gpus=0",
             "--evaluate-shared", f"--summary-file={summary}",
             f"--architecture={scored['architecture']}", f"--nn_config={scored['nn_config']}"],
            check=True, capture_output=True, timeout=600, cwd=work,
        )  # fmt: skip
        shared.append(float(json.loads(summary.read_text())["final_validation_accuracy"]))
        alone.append(_train(assignments["architecture"], assignments["nn_config"], 10, 0, work))
    return shared, alone


def test_bench_store_costs(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    experiment_path = REPO / "manifests" / "experiments" / "enas-macro-cifar10-gpu.yaml"
    doc = yaml.safe_load(experiment_path.read_text())
    doc["spec"]["algorithm"]["algorithmSettings"] += [
        {"name": "weight_sharing", "value": "true"},
        {"name": "shared_slice_steps", "value": "1"},
        {"name": "shared_store_mib", "value": "2048"},
    ]
    path = tmp_path / "cifar-shared.yaml"
    path.write_text(yaml.safe_dump(doc))
    experiment = shared_experiment(path)
    state = tmp_path / "state"
    state.mkdir()
    serve = ServeProcess(state, tmp_path / "serve.log").start()
    try:
        channel = grpc.insecure_channel(serve.address)
        request = pb.GetSuggestionsRequest(
            experiment=experiment, current_request_number=60, total_request_number=60
        )
        reply = pb_grpc.SuggestionStub(channel).GetSuggestions(request, timeout=120)
        pulls, pushes, sizes = [], [], []
        for item in reply.parameter_assignments:
            values = {a.name: a.value for a in item.assignments}
            child = sw.Child(experiment=experiment.name, architecture=values["architecture"],
                             nn_config=values["nn_config"])  # fmt: skip
            net = network(child)
            link = StoreLink(serve.address, child, 30)
            started = time.perf_counter()
            pulled = link.pull(net.tensors)
            pulls.append(time.perf_counter() - started)
            with torch.no_grad():
                for p in net.model.parameters():
                    p.add_(0.01)
            started = time.perf_counter()
            link.push(net.tensors, pulled, 1)
            pushes.append(time.perf_counter() - started)
            sizes.append(sum(t.parameter.numel() * 4 for t in net.tensors))
            link.close()
        rss = _rss_bytes(serve.pid)
        channel.close()
    finally:
        serve.stop()
    q = statistics.quantiles
    print(f"\nmacro CIFAR (12 layers, 6 ops, 36 filters), {len(pulls)} children, store in `serve`")
    print(f"pull  p50 {q(pulls, n=20)[9] * 1000:7.1f} ms  p95 {q(pulls, n=20)[18] * 1000:7.1f} ms")
    print(
        f"push  p50 {q(pushes, n=20)[9] * 1000:7.1f} ms  p95 {q(pushes, n=20)[18] * 1000:7.1f} ms"
    )
    print(f"bytes per trial (each way): mean {statistics.mean(sizes) / 2**20:.2f} MiB")
    print(f"serve RSS with the store loaded: {rss / 2**20:.0f} MiB (chart limit 1 GiB)")
    [saved] = state.glob("*/shared-weights.pt")
    print(f"store saved on stop: {saved.stat().st_size / 2**20:.1f} MiB")
