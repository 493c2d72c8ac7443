"""Weight sharing on Fashion-MNIST, measured (issue 19): does a shared-weight score rank
children, and does sharing buy retrained quality per unit of compute?

`test_bench_fashion_ranking`:
  - ground truth: 30 architectures drawn uniformly from `fashion-shared.yaml`'s space, each
    trained from scratch by a real `enas-trial` for 400 steps (half an epoch, a full cosine
    schedule: `--max-steps`) with two seeds; their seed-to-seed Kendall tau is the ceiling any
    cheap score can reach;
  - for each of 3 search seeds, a weight-sharing search (`katib-enas run fashion-shared.yaml`),
    then every one of the 30 scored by `enas-trial --evaluate-shared` against the search's
    store, zero-shot and after 40 `--finetune-steps` (what `derive` does);
  - Kendall tau against the mean stand-alone test accuracy with a 95 % bootstrap interval,
    Spearman's rho, top-1 and top-3 regret.

`test_bench_fashion_compute_to_quality`, every search with the same number of trials:
  - sharing: the search + `derive` (16 candidates, 40 fine-tuning steps), for each of the 3
    search seeds (a search's winner varies with its seed), and over all three;
  - (i) the stand-alone ENAS search (each child trained from scratch for one epoch);
  - (ii) an equal-compute search without sharing (each child trained from scratch for its
    slice's 40 steps: `--max-steps`);
  - (iii) random architectures (3 of the ground truth's);
  each winner retrained from scratch with one recipe (2 epochs, seeds 1-3). Compute is CPU
  seconds from rusage (the run's service, runner and trials; derive's trials), not wall time.

Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_fashion.py -s` (about two CPU-hours
on 2 cores). `KATIB_ENAS_BENCH_DIR=DIR` keeps every stage's result there, so a second run (or
the other test) reuses what is done. `KATIB_ENAS_BENCH_RETRAIN_EPOCHS` (2) and
`KATIB_ENAS_BENCH_STANDALONE_TRIALS` (60) shorten the two dearest stages; the figures in
docs/weight-sharing.md were measured with 1 and 60.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fashion_bench import (
    BIN,
    FASHION_SHARED,
    TRIAL_FLAGS,
    Ranking,
    experiment_variant,
    mean_spread,
    parallel,
    ranking,
    run_process,
    run_search,
    succeeded_trials,
    train_alone,
    uniform_architectures,
)
from grpc_service import connect
from shared_support import children, shared_experiment

from katib_enas.core.sharing.reference import reference_of, strip_sharing, with_reference

ARCHITECTURES = 30
ARCHITECTURE_SEED = 7
TRUTH_FLAGS = ("--max-steps=400",)
SEARCH_SEEDS = (1, 2, 3)
FINETUNE = (0, 40)
TRIALS = 60  # as fashion-shared.yaml
# The stand-alone search trains every child for a whole epoch: by far the dearest stage.
# `KATIB_ENAS_BENCH_STANDALONE_TRIALS` runs it shorter (its CPU then scaled per trial, and said).
STANDALONE_TRIALS = int(os.environ.get("KATIB_ENAS_BENCH_STANDALONE_TRIALS", str(TRIALS)))
RETRAIN_EPOCHS = int(os.environ.get("KATIB_ENAS_BENCH_RETRAIN_EPOCHS", "2"))
RETRAIN_SEEDS = (1, 2, 3)
DERIVE_COUNT = 16


def _work() -> Path:
    configured = os.environ.get("KATIB_ENAS_BENCH_DIR")
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="fashion-bench-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nbenchmark work folder: {path} (load average {os.getloadavg()})")
    return path


def _truth(work: Path) -> tuple[list[dict[str, str]], list[dict[int, dict[str, Any]]]]:
    archs = uniform_architectures(FASHION_SHARED, ARCHITECTURES, ARCHITECTURE_SEED)
    jobs = [(i, seed) for seed in (1, 2) for i in range(len(archs))]
    results = parallel(
        lambda job: train_alone(
            archs[job[0]], job[1], 1, work / "truth" / f"arch-{job[0]}", TRUTH_FLAGS
        ),
        jobs,
    )
    per_arch: list[dict[int, dict[str, Any]]] = [{} for _ in archs]
    for (i, seed), result in zip(jobs, results, strict=True):
        per_arch[i][seed] = result
    return archs, per_arch


def _search(
    work: Path, name: str, seed: int, trials: int = TRIALS, **changes: Any
) -> tuple[Path, float]:
    spec = experiment_variant(
        FASHION_SHARED,
        work / f"{name}.yaml",
        trials=trials,
        name=f"bench-{name}",
        settings={"seed": seed, **changes.pop("settings", {})},
        **changes,
    )
    run_dir = work / name
    return run_dir, run_search(spec, run_dir)


def _shared_scores(
    run_dir: Path, archs: list[dict[str, str]], steps: int, work: Path
) -> list[float]:
    """Each architecture's validation accuracy with the search's shared weights after `steps`
    fine-tuning steps (a real `enas-trial --evaluate-shared` against the search's store)."""
    cache = work / f"scores-{steps}.json"
    if cache.is_file():
        return list(json.loads(cache.read_text()))
    service = connect(run_dir / "suggestion", advertise="127.0.0.1:{port}")
    try:
        experiment = shared_experiment(run_dir / "experiment.yaml")
        children(service, experiment, 0)  # the service opens the run's saved store
        [(trial, _), *_] = succeeded_trials(run_dir)
        searched = reference_of(trial["nn_config"])
        assert searched is not None
        reference = type(searched)(
            **{**searched.__dict__, "address": f"127.0.0.1:{service.server.port}"}
        )

        def score(number: int) -> float:
            assignments = with_reference(
                {**archs[number], "nn_config": strip_sharing(archs[number]["nn_config"])},
                reference,
            )
            folder = work / f"arch-{number}-{steps}"
            folder.mkdir(parents=True, exist_ok=True)
            summary = folder / "summary.json"
            done = run_process(
                [str(BIN / "enas-trial"), *TRIAL_FLAGS, "--evaluate-shared",
                 f"--finetune-steps={steps}", f"--summary-file={summary}",
                 f"--architecture={assignments['architecture']}",
                 f"--nn_config={assignments['nn_config']}"],
                folder,
            )  # fmt: skip
            assert done.returncode == 0, done.output[-2000:]
            return float(json.loads(summary.read_text())["final_validation_accuracy"])

        scores = parallel(score, list(range(len(archs))))
    finally:
        service.channel.close()
        service.server.stop(0)
    cache.write_text(json.dumps(scores))
    return scores


def _row(name: str, r: Ranking) -> str:
    return (
        f"{name:<28} tau {r.tau:6.3f} [{r.tau_low:6.3f}, {r.tau_high:6.3f}]  "
        f"rho {r.spearman:6.3f}  regret top-1 {r.top1_regret:.4f}  top-3 {r.top3_regret:.4f}"
    )


@pytest.mark.timeout(4 * 3600)
def test_bench_fashion_ranking() -> None:
    work = _work()
    archs, per_arch = _truth(work)
    truth = [statistics.mean(r[s]["test_accuracy"] for s in (1, 2)) for r in per_arch]
    seed1 = [r[1]["test_accuracy"] for r in per_arch]
    seed2 = [r[2]["test_accuracy"] for r in per_arch]
    print(
        f"ground truth: {len(archs)} uniform architectures, 400 steps from scratch, seeds 1-2; "
        f"test accuracy {min(truth):.4f} to {max(truth):.4f} (mean {statistics.mean(truth):.4f})"
    )
    print(_row("seed 1 vs seed 2 (ceiling)", ranking(seed1, seed2)))
    summary: dict[int, list[float]] = {steps: [] for steps in FINETUNE}
    for seed in SEARCH_SEEDS:
        run_dir, cpu = _search(work, f"search-{seed}", seed)
        rewards = [objective for _, objective in succeeded_trials(run_dir)]
        print(
            f"search seed {seed}: {len(rewards)} trials, {cpu:.0f} CPU s; rewards first "
            f"half {statistics.mean(rewards[: len(rewards) // 2]):.3f}, last tenth "
            f"{statistics.mean(rewards[-len(rewards) // 10 :]):.3f}"
        )
        for steps in FINETUNE:
            scores = _shared_scores(run_dir, archs, steps, work / f"scores-{seed}")
            result = ranking(scores, truth, seed)
            summary[steps].append(result.tau)
            print(_row(f"  {steps:>2} fine-tuning steps", result))
    for steps, taus in summary.items():
        print(f"{steps:>2} fine-tuning steps: Kendall tau over search seeds {mean_spread(taus)}")
    print(f"(cores: {os.cpu_count()}, load average now {os.getloadavg()})")


def _retrained(work: Path, name: str, assignments: dict[str, str]) -> list[float]:
    folder = work / "retrain" / name
    return [
        float(train_alone(assignments, seed, RETRAIN_EPOCHS, folder)["test_accuracy"])
        for seed in RETRAIN_SEEDS
    ]


def _derive(run_dir: Path) -> tuple[dict[str, str], float]:
    """`katib-enas derive` of the run: its rank 1 and the CPU seconds it took."""
    derived = run_dir / "derived.json"
    cpu_file = run_dir / "derive-cpu-seconds.json"
    if not derived.is_file() or not cpu_file.is_file():
        done = run_process(
            [str(BIN / "katib-enas"), "derive", str(run_dir), "--count", str(DERIVE_COUNT)],
            run_dir,
        )
        assert done.returncode == 0, done.output[-3000:]
        cpu_file.write_text(json.dumps(done.cpu_seconds))
    best = json.loads(derived.read_text())["derived"][0]
    return {"architecture": best["architecture"], "nn_config": best["nn_config"]}, float(
        json.loads(cpu_file.read_text())
    )


@pytest.mark.timeout(4 * 3600)
def test_bench_fashion_compute_to_quality() -> None:
    work = _work()
    rows: list[tuple[str, float, list[float]]] = []

    # A search's winner varies with its seed more than a retrain does: the sharing pipeline
    # runs for every search seed (the searches are the ranking test's), one row per seed.
    for seed in SEARCH_SEEDS:
        run_dir, cpu = _search(work, f"search-{seed}", seed)
        best, derive_cpu = _derive(run_dir)
        folder = "sharing" if seed == 1 else f"sharing-{seed}"
        name = f"sharing: search + derive, seed {seed}"
        rows.append((name, cpu + derive_cpu, _retrained(work, folder, best)))
    sharing = rows[:]

    standalone_flags = [*TRIAL_FLAGS, "--num_epochs=1"]
    run_dir, cpu = _search(
        work,
        "equal-compute-1",
        1,
        settings={"weight_sharing": "false"},
        command=[*standalone_flags, "--max-steps=40"],
    )
    best = max(succeeded_trials(run_dir), key=lambda t: t[1])[0]
    rows.append(("(ii) equal compute, no sharing", cpu, _retrained(work, "equal", best)))

    archs = uniform_architectures(FASHION_SHARED, ARCHITECTURES, ARCHITECTURE_SEED)[:3]
    random_accuracy = [
        float(train_alone(a, 1, RETRAIN_EPOCHS, work / "retrain" / f"random-{i}")["test_accuracy"])
        for i, a in enumerate(archs)
    ]
    rows.append(("(iii) random architectures", 0.0, random_accuracy))

    run_dir, cpu = _search(
        work,
        f"standalone-1-{STANDALONE_TRIALS}",
        1,
        STANDALONE_TRIALS,
        settings={"weight_sharing": "false"},
        command=standalone_flags,
    )
    trials = succeeded_trials(run_dir)
    best = max(trials, key=lambda t: t[1])[0]
    name = "(i) stand-alone search"
    if STANDALONE_TRIALS != TRIALS:
        name += f" ({STANDALONE_TRIALS} trials, CPU x{TRIALS}/{STANDALONE_TRIALS})"
        cpu *= TRIALS / STANDALONE_TRIALS
    rows.insert(len(sharing), (name, cpu, _retrained(work, "standalone", best)))
    rows.insert(
        len(sharing),
        (
            f"sharing, {len(sharing)} search seeds",
            statistics.mean(row[1] for row in sharing),
            [accuracy for row in sharing for accuracy in row[2]],
        ),
    )

    print(
        f"\nFashion-MNIST, {TRIALS} trials per search; winners retrained from scratch "
        f"{RETRAIN_EPOCHS} epochs, seeds {RETRAIN_SEEDS} (random: 3 architectures, seed 1)"
    )
    print(f"{'':<32} {'CPU s':>8} {'x less':>7}  retrained test accuracy")
    alone = rows[len(sharing) + 1][1]
    for name, cpu, accuracies in rows:
        ratio = f"{alone / cpu:6.1f}x" if cpu else "      -"
        print(f"{name:<32} {cpu:8.0f} {ratio}  {mean_spread(accuracies)}")
    print(f"(cores: {os.cpu_count()}, load average now {os.getloadavg()}, python {sys.version})")
