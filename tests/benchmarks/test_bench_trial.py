"""Benchmark: training throughput and start-up time of one trial (`enas-trial`) at CIFAR size.

Run with `make bench` or `.venv/bin/python -m pytest tests/benchmarks/test_bench_trial.py -s`.
The trial runs as its real command on `--dataset synthetic` (32x32x3, like CIFAR-10) with a
reference 12-layer macro child (ENAS's search depth; convolutions, separable convolutions and two
reductions, with skips). Baselines in the same run: a process that only imports torch (the floor
for start-up: a trial must import torch) and a bare PyTorch loop training the same network on
ready tensors (the ceiling for throughput), so the ratios show what our data pipeline and
start-up cost. On a CUDA machine the same figures are taken on the GPU too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from bench_support import import_torch_seconds

from enas_trial.builders.macro.model import ChildNetwork
from enas_trial.builders.macro.plan import plan_network
from katib_enas.core.spaces.macro.format import decode_architecture, decode_nn_config

C3 = {"opt_type": "convolution", "opt_params": {"filter_size": 3, "num_filter": 64, "stride": 1}}
C5 = {"opt_type": "convolution", "opt_params": {"filter_size": 5, "num_filter": 64, "stride": 1}}
S3 = {
    "opt_type": "separable_convolution",
    "opt_params": {"filter_size": 3, "num_filter": 64, "stride": 1, "depth_multiplier": 1},
}
S5 = {
    "opt_type": "separable_convolution",
    "opt_params": {"filter_size": 5, "num_filter": 64, "stride": 1, "depth_multiplier": 1},
}
MAX2 = {"opt_type": "reduction", "opt_params": {"reduction_type": "max_pooling", "pool_size": 2}}
AVG2 = {"opt_type": "reduction", "opt_params": {"reduction_type": "avg_pooling", "pool_size": 2}}
OPERATIONS = [C3, C5, S3, S5, MAX2, AVG2]
# Reductions after layers 3 and 7 (N/3 - 1 and 2N/3 - 1, as in ENAS), a few skips.
REFERENCE_ROWS = [
    [0],
    [3, 1],
    [1, 0, 1],
    [4, 1, 0, 1],
    [2, 0, 0, 0, 1],
    [0, 0, 1, 0, 0, 1],
    [3, 0, 0, 0, 1, 0, 0],
    [5, 1, 0, 0, 0, 0, 1, 0],
    [1, 0, 0, 0, 0, 0, 0, 0, 1],
    [2, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1],
    [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
]


def katib_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":")).replace('"', "'")


ARCHITECTURE = katib_json(REFERENCE_ROWS)
NN_CONFIG = katib_json(
    {
        "num_layers": 12,
        "input_sizes": [32, 32, 3],
        "output_sizes": [10],
        "embedding": {str(i): {"opt_id": i, **op} for i, op in enumerate(OPERATIONS)},
    }
)


def run_trial(device: str, images: int, tmp_path: Path) -> dict[str, float]:
    """Run `enas-trial` for one epoch; wall time to its first step, and its summary."""
    script = Path(sys.executable).with_name("enas-trial")
    summary = tmp_path / f"summary-{device}.json"
    command = [
        str(script),
        f"--architecture={ARCHITECTURE}",
        f"--nn_config={NN_CONFIG}",
        "--dataset=synthetic",
        f"--synthetic-size={images}",
        "--num_epochs=1",
        "--batch-size=128",
        f"--device={device}",
        f"--summary-file={summary}",
    ]
    started = time.monotonic()
    first_step = 0.0
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "first training step" in line and not first_step:
                first_step = time.monotonic() - started
        assert process.wait(timeout=900) == 0
    result: dict[str, float] = json.loads(summary.read_text())
    result["wall_to_first_step"] = first_step
    return result


def bare_loop_images_per_second(device: str, steps: int) -> float:
    """The same child trained on ready, normalised tensors: no data pipeline at all."""
    plan = plan_network(decode_architecture(ARCHITECTURE), decode_nn_config(NN_CONFIG))
    model = ChildNetwork(plan).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    x = torch.randn(128, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (128,), device=device)
    cuda = device == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = x.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=cuda):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    step()  # warm-up (allocator, cuDNN autotuning)
    if cuda:
        torch.cuda.synchronize()
    started = time.monotonic()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    return steps * 128 / (time.monotonic() - started)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_trial_throughput_and_start_up(device: str, tmp_path: Path) -> None:
    images = 640 if device == "cpu" else 20000
    torch_import = import_torch_seconds()
    trial = run_trial(device, images, tmp_path)
    bare = bare_loop_images_per_second(device, steps=4 if device == "cpu" else 100)
    print(
        f"\n[trial bench, {device}] reference 12-layer child, "
        f"{int(trial['parameters']):,} parameters, batch 128, 32x32x3 synthetic, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"  start-up: process start -> first training step {trial['wall_to_first_step']:.2f} s")
    print(f"            (trial's own clock {trial['seconds_to_first_step']:.2f} s)")
    print(f"  baseline: process start -> 'import torch' done {torch_import:.2f} s")
    print(f"  start-up beyond importing torch {trial['wall_to_first_step'] - torch_import:+.2f} s")
    print(f"  training throughput: enas-trial {trial['train_images_per_second']:.0f} images/s")
    print(f"  baseline: bare PyTorch loop on ready tensors {bare:.0f} images/s")
    print(f"  ratio trial/bare {trial['train_images_per_second'] / bare:.2f}")
    # Loose sanity bounds only: the figures above are the result.
    assert trial["train_images_per_second"] > 0.3 * bare
    assert trial["wall_to_first_step"] < torch_import + 3.0
