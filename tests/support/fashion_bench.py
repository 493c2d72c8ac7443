"""Shared pieces of the Fashion-MNIST weight-sharing benchmarks: real `enas-trial` and
`katib-enas` processes, their CPU seconds from rusage (user + system of the process and its
children, not wall time), architectures sampled uniformly from an Experiment's space, and the
ranking statistics.

Stages cache their results as JSON in the benchmark's work folder, keyed by what they ran, so
an interrupted benchmark resumes where it stopped (`KATIB_ENAS_BENCH_DIR`).
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from scipy.stats import kendalltau, spearmanr

from katib_enas.core import strategies
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.experiment import load_experiment

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FASHION_SHARED = REPO / "manifests" / "local" / "fashion-shared.yaml"
T = TypeVar("T")
R = TypeVar("R")
TRIAL_FLAGS = ["--dataset=fashion-mnist", "--batch-size=64", "--num_gpus=0", "--threads=1"]


@dataclass(frozen=True)
class Finished:
    returncode: int
    cpu_seconds: float
    output: str


def run_process(argv: Sequence[str], cwd: Path, timeout: float = 7200) -> Finished:
    """Run `argv`; its CPU seconds (user + system) from the kernel's accounting of that
    process alone (`wait4`), so that parallel runs do not blur each other's figures."""
    with subprocess.Popen(
        list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(process.returncode, usage.ru_utime + usage.ru_stime, output)


def children_cpu_seconds() -> float:
    """CPU seconds of every waited-for descendant so far (for `katib-enas run`'s trials)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def katib_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":")).replace('"', "'")


def uniform_architectures(path: Path, count: int, seed: int) -> list[dict[str, str]]:
    """`count` distinct architectures drawn uniformly from the Experiment's space, with the
    `nn_config` its own settings give (the skip rule included), without a store reference."""
    experiment = load_experiment(path)
    assert experiment.nas_config is not None
    settings = experiment.settings()
    uniform = strategies.build(
        experiment.nas_config,
        experiment.objective,
        type(settings)(**{**settings.__dict__, "strategy": "random"}),
    )
    picked: dict[str, dict[str, str]] = {}
    for architecture in uniform.suggest(count * 10, seed):
        assignments = uniform.assignments(architecture)
        picked.setdefault(assignments["architecture"], assignments)
        if len(picked) == count:
            break
    return list(picked.values())


def train_alone(
    assignments: dict[str, str], seed: int, epochs: int, work: Path, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """The child trained from scratch by a real `enas-trial`: its summary plus `cpu_seconds`."""
    work.mkdir(parents=True, exist_ok=True)
    tag = "".join(f"-{flag.lstrip('-')}" for flag in extra)
    summary = work / f"summary-{seed}-{epochs}{tag}.json"
    if not summary.is_file():
        done = run_process(
            [str(BIN / "enas-trial"), *TRIAL_FLAGS, f"--num_epochs={epochs}", f"--seed={seed}",
             f"--summary-file={summary}", f"--architecture={assignments['architecture']}",
             f"--nn_config={strip_sharing(assignments['nn_config'])}", *extra],
            work,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"enas-trial failed: {done.output[-2000:]}")
        result = json.loads(summary.read_text())
        result["cpu_seconds"] = done.cpu_seconds
        summary.write_text(json.dumps(result))
    loaded: dict[str, Any] = json.loads(summary.read_text())
    return loaded


def parallel(function: Callable[[T], R], items: Sequence[T], workers: int = 2) -> list[R]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


def experiment_variant(path: Path, out: Path, **changes: Any) -> Path:
    """A copy of the Experiment with `maxTrialCount`, settings or the trial command changed:
    `trials`, `settings` (name -> value), `command` (replaces the trial's flags after
    `enas-trial` that are not Katib's assignments) and `name`."""
    doc = yaml.safe_load(path.read_text())
    spec = doc["spec"]
    if "trials" in changes:
        spec["maxTrialCount"] = changes["trials"]
    if "name" in changes:
        doc["metadata"]["name"] = changes["name"]
    settings = {s["name"]: s["value"] for s in spec["algorithm"]["algorithmSettings"]}
    settings.update(changes.get("settings", {}))
    spec["algorithm"]["algorithmSettings"] = [
        {"name": k, "value": str(v)} for k, v in settings.items() if v is not None
    ]
    if "command" in changes:
        container = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
        kept = [c for c in container["command"] if c.startswith(("--architecture", "--nn_config"))]
        container["command"] = ["enas-trial", *changes["command"], *kept]
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def run_search(spec: Path, run_dir: Path) -> float:
    """`katib-enas run` of `spec` into `run_dir`; the CPU seconds of the whole run (the
    service, the runner and every trial: all are this process's descendants)."""
    marker = run_dir / "cpu-seconds.json"
    if marker.is_file():
        return float(json.loads(marker.read_text()))
    done = run_process(
        [str(BIN / "katib-enas"), "run", str(spec), "--run-dir", str(run_dir)], spec.parent
    )
    if done.returncode != 0:
        raise AssertionError(f"katib-enas run failed: {done.output[-3000:]}")
    marker.write_text(json.dumps(done.cpu_seconds))
    return done.cpu_seconds


def succeeded_trials(run_dir: Path) -> list[tuple[dict[str, str], float]]:
    """(assignments, objective) of every succeeded trial of a local run."""
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute(
            "SELECT assignments, objective FROM trials WHERE condition = 'Succeeded'"
        ).fetchall()
    return [(dict(json.loads(a)), float(o)) for a, o in rows]


@dataclass(frozen=True)
class Ranking:
    tau: float
    tau_low: float
    tau_high: float
    spearman: float
    top1_regret: float
    top3_regret: float


def ranking(score: Sequence[float], truth: Sequence[float], seed: int = 0) -> Ranking:
    """How well `score` ranks by `truth`: Kendall tau with a 95 % bootstrap interval (2,000
    resamples of the architectures), Spearman's rho, and the regret of trusting the score:
    the best truth minus the truth of the score's top-1 (and best of its top-3)."""
    tau = float(kendalltau(score, truth).statistic)
    rng = random.Random(seed)
    n = len(score)
    taus = []
    for _ in range(2000):
        pick = [rng.randrange(n) for _ in range(n)]
        value = kendalltau([score[i] for i in pick], [truth[i] for i in pick]).statistic
        if not math.isnan(value):  # NaN when a resample has one distinct value
            taus.append(float(value))
    taus.sort()
    order = sorted(range(n), key=lambda i: -score[i])
    best = max(truth)
    return Ranking(
        tau,
        taus[int(0.025 * len(taus))],
        taus[int(0.975 * len(taus)) - 1],
        float(spearmanr(score, truth).statistic),
        best - truth[order[0]],
        best - max(truth[i] for i in order[:3]),
    )


def mean_spread(values: Sequence[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} +- {statistics.stdev(values):.4f}"
