"""Micro (cell) children: the real `enas-trial` builds, trains and reports them like macro ones,
logs the decoded cells first, and refuses malformed micro assignments with one line, before
torch is imported."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from space_samples import parts
from trial_support import TrialRunner

from enas_trial.builders import builder_for
from enas_trial.training import parameter_count
from katib_enas.core import spaces
from katib_enas.core.katib import to_katib_json
from katib_enas.core.spaces.micro import MicroSpace


@pytest.fixture(scope="module")
def space() -> MicroSpace:
    nas, _, settings = parts("micro")
    parsed = spaces.space_kind("micro").parse(nas, settings)
    assert isinstance(parsed, MicroSpace)
    return parsed


def _sample(space: MicroSpace, seed: int) -> dict[str, str]:
    return space.encode(space.sample_uniform(torch.Generator().manual_seed(seed)))


def test_random_micro_children_build_with_the_planned_shapes_and_parameters(
    space: MicroSpace,
) -> None:
    for seed in range(6):
        assignments = _sample(space, seed)
        builder = builder_for(assignments["nn_config"])
        plan = builder.plan(assignments["architecture"], assignments["nn_config"])
        net = builder.build(plan, 0.0).eval()
        assert parameter_count(net) == plan.parameter_count()
        sizes = []
        x = net.stem(torch.randn(2, 1, 8, 8))
        s0 = s1 = x
        for cell in net.cells:
            s0, s1 = s1, cell(s0, s1)
            sizes.append(tuple(s1.shape[1:]))
        # reductions at cells 1 and 2: 8x8 -> 4x4 -> 2x2, channels 8 -> 16 -> 32
        assert sizes == [(8, 8, 8), (16, 4, 4), (32, 2, 2)], sizes
        assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.slow
def test_a_micro_digits_trial_trains_reports_and_logs_its_cells(
    space: MicroSpace, run_trial: TrialRunner
) -> None:
    assignments = _sample(space, 3)
    result = run_trial(
        "--dataset=digits", "--num_epochs=2", "--batch-size=64", "--num_gpus=0",
        f"--architecture={assignments['architecture']}",
        f"--nn_config={assignments['nn_config']}",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    log = result.stderr.splitlines()
    assert log[0] == "enas-trial: micro child network:"
    assert "enas-trial:   normal cell:" in log and "enas-trial:   reduction cell:" in log
    values = [
        line.split("=")[1] for line in result.stdout.splitlines() if "Validation-Accuracy=" in line
    ]
    assert len(values) == 2 and all(0.0 <= float(v) <= 1.0 for v in values)


def _mutated(space: MicroSpace, change: str) -> tuple[str, str]:
    assignments = _sample(space, 5)
    arch = json.loads(assignments["architecture"].replace("'", '"'))
    config = json.loads(assignments["nn_config"].replace("'", '"'))
    if change == "missing-cell":
        del arch["reduction"]
    elif change == "future-input":
        arch["normal"][0][0] = 3
    elif change == "unknown-op":
        arch["normal"][0][1] = 99
    elif change == "node-count":
        config["num_nodes"] = 5
    elif change == "even-window":
        for entry in config["embedding"].values():
            if "filter_size" in entry["opt_params"] or "pool_size" in entry["opt_params"]:
                key = "filter_size" if "filter_size" in entry["opt_params"] else "pool_size"
                entry["opt_params"][key] = "4"
    elif change == "unknown-kind":
        config["kind"] = "hyper"
    elif change == "stride-param":
        first = next(iter(config["embedding"].values()))
        first["opt_params"]["stride"] = "2"
    return to_katib_json(arch), to_katib_json(config)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "missing-cell",
            "architecture: expected an object with the cells 'normal' and 'reduction'",
        ),
        ("future-input", "does not exist yet"),
        ("unknown-op", "op id(s) [99]"),
        ("node-count", "nn_config.num_nodes is 5"),
        ("even-window", "must be odd"),
        ("unknown-kind", "nn_config.kind: unknown search-space kind 'hyper'"),
        ("stride-param", "unknown parameter 'stride'"),
    ],
)
def test_malformed_micro_assignments_are_one_line_and_exit_2_before_torch(
    space: MicroSpace, change: str, message: str, tmp_path: Path
) -> None:
    random.seed(change)
    architecture, config = _mutated(space, change)
    code = (
        "import sys; from enas_trial.cli import main; "
        f"rc = main(['--dataset=digits', '--architecture', {architecture!r}, "
        f"'--nn_config', {config!r}]); print(rc, 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.stdout.split() == ["2", "False"], result.stdout + result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("enas-trial: error: "), result.stderr
    assert message in errors[0]
