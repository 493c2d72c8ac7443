"""Benchmark: peak memory of the shipped containers against the memory their manifests declare.

Run with `.venv/bin/python -m pytest tests/benchmarks/test_bench_memory.py -s` (as root: the
containers run in the pod sandbox, read-only root and all; see tests/support/pod_sandbox.py).

- The suggestion pod (the katib-config entry of `manifests/install`, which a packaging test keeps
  equal to the chart's) with its FromVolume volume, driven through a 1,000-trial experiment of
  the paper's macro CIFAR-10 space (`enas-macro-cifar10-gpu.yaml`: 12 layers, 6 operations):
  every GetSuggestions call carries the whole history, ten more finished trials each time.
  Baseline in the same run: the same pod idle after its first health probe.
- The CPU trial pod of every shipped CPU Experiment, at its own epoch count, measured by a
  wrapper that reports its children's peak RSS (`getrusage(RUSAGE_CHILDREN)`). Baseline: a
  process that only imports torch, measured the same way in the same sandbox.

Figures are resident set sizes (what the kernel's OOM killer weighs first); the container limit
also counts page cache, so the margin printed is an upper bound on the headroom.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import katib_pods
import pod_sandbox
import pytest
import yaml
from grpc_service import assignments_of, katib_trial

from katib_enas.experiment import load_experiment
from katib_enas.experiment.substitution import render_trial_spec
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message

ACC = "Validation-Accuracy"
MEASURE = [
    sys.executable,
    "-c",
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "file=sys.stderr); sys.exit(code)",
]
UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}


@pytest.fixture(autouse=True)
def _sandbox() -> None:
    reason = pod_sandbox.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def _status_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def _entry() -> dict[str, Any]:
    config_map = katib_pods.REPO_ROOT / "manifests" / "install" / "katib-config.yaml"
    config = yaml.safe_load(config_map.read_text())
    [entry] = [s for s in config["runtime"]["suggestions"] if s["algorithmName"] == "enas-torch"]
    return dict(entry)


def _row(name: str, peak: float, resources: dict[str, Any]) -> str:
    request, limit = mib(resources["requests"]["memory"]), mib(resources["limits"]["memory"])
    return (
        f"{name:<44} {peak:8.0f} {request:8.0f} {limit:8.0f} {peak / request:9.2f} "
        f"{peak / limit:9.2f}"
    )


HEADER = f"{'container':<44} {'peak MiB':>8} {'req MiB':>8} {'lim MiB':>8} {'peak/req':>9} " + (
    f"{'peak/lim':>9}"
)


def test_bench_suggestion_pod_memory_over_1000_trials(tmp_path: Path) -> None:
    entry = _entry()
    path = katib_pods.REPO_ROOT / "manifests/experiments/enas-macro-cifar10-gpu.yaml"
    experiment = experiment_message(load_experiment(path))
    volume = tmp_path / "volume"
    volume.mkdir()
    volume.chmod(0o2775)
    rng = random.Random(0)
    trials: list[Any] = []
    started = time.perf_counter()
    with katib_pods.serve(entry, tmp_path / "pod", volume=volume) as service:
        idle = _status_mib(service.process.pid, "VmRSS")
        while len(trials) < 1000:
            reply = service.stub.GetSuggestions(
                pb.GetSuggestionsRequest(
                    experiment=experiment,
                    trials=trials,
                    current_request_number=10,
                    total_request_number=len(trials) + 10,
                ),
                timeout=120,
            )
            for one in assignments_of(reply):
                i = len(trials)
                trials.append(
                    katib_trial(
                        experiment,
                        f"trial-{i:04d}",
                        one,
                        metrics={ACC: f"{rng.uniform(0.3, 0.9):.4f}"},
                        completion_time=f"2026-11-29T{i // 3600:02d}:{i // 60 % 60:02d}:"
                        f"{i % 60:02d}Z",
                    )
                )
        service.stub.GetSuggestions(
            pb.GetSuggestionsRequest(
                experiment=experiment, trials=trials, current_request_number=1,
                total_request_number=len(trials) + 1,
            ),
            timeout=120,
        )  # fmt: skip
        peak = _status_mib(service.process.pid, "VmHWM")
        request_mib = experiment.ByteSize() / 2**20 + sum(t.ByteSize() for t in trials) / 2**20
    seconds = time.perf_counter() - started
    print(f"\nsuggestion pod, {path.name}, 1,000 trials in 101 calls, {seconds:.0f} s")
    print(f"last request {request_mib:.1f} MiB; idle RSS after the first probe {idle:.0f} MiB")
    print(HEADER)
    print(_row("suggestion (katib-config enas-torch entry)", peak, entry["resources"]))
    print(_row("  idle baseline, same pod", idle, entry["resources"]))


def _cpu_trial_specs() -> list[Path]:
    return [
        katib_pods.REPO_ROOT / "manifests/local/digits-cluster.yaml",
        katib_pods.REPO_ROOT / "manifests/experiments/enas-cpu-smoke.yaml",
    ]


def _peak_kib(output: str) -> float:
    [value] = re.findall(r"^peak_rss_kib (\d+)$", output, flags=re.MULTILINE)
    return int(value) / 1024


def test_bench_cpu_trial_pod_memory(tmp_path: Path) -> None:
    from grpc_service import connect

    running = connect()
    print()
    print(HEADER)
    try:
        for path in _cpu_trial_specs():
            experiment = load_experiment(path)
            request = pb.GetSuggestionsRequest(
                experiment=experiment_message(experiment),
                current_request_number=1,
                total_request_number=1,
            )
            [assignments] = assignments_of(running.suggestion.GetSuggestions(request, timeout=60))
            spec = render_trial_spec(
                experiment.trial_template, assignments, trial_name="t", namespace="katib-enas"
            )
            folder = tmp_path / path.stem
            primary = experiment.trial_template.primary_container_name
            pod, container = katib_pods.trial_pod(spec, primary, folder, wrapper=MEASURE)
            started = time.perf_counter()
            result = pod_sandbox.run(pod, folder / "stage", timeout=600)
            seconds = time.perf_counter() - started
            assert result.returncode == 0, result.stdout
            print(_row(f"trial of {path.name} ({seconds:.0f} s)", _peak_kib(result.stdout),
                       container["resources"]))  # fmt: skip
            baseline = pod_sandbox.Pod(
                [*MEASURE, sys.executable, "-c", "import torch"],
                pod.env, pod.workdir, uid=pod.uid, image_dirs=pod.image_dirs,
            )  # fmt: skip
            result = pod_sandbox.run(baseline, folder / "stage-baseline", timeout=120)
            print(_row("  baseline: import torch, same sandbox", _peak_kib(result.stdout),
                       container["resources"]))  # fmt: skip
    finally:
        running.channel.close()
        running.server.stop(0)
