"""`enas-trial` arguments as Katib passes them, and one clear line for every kind of bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from trial_support import DIGITS_ARCHITECTURE, DIGITS_OPERATIONS, TrialRunner, nn_config

from enas_trial.data import DEFAULT_DIRS
from enas_trial.flags import build_parser
from katib_enas.core.katib import unquote

CONFIG = nn_config(DIGITS_OPERATIONS, [8, 8, 1])
ARGS = ["--architecture", DIGITS_ARCHITECTURE, "--nn_config", CONFIG]


def test_katib_quoted_values_parse_in_both_flag_spellings() -> None:
    # Under the Push collector the YAML's literal quotes reach argv; `--x v` and `--x=v` both work.
    args = build_parser().parse_args(
        [
            f'--architecture="{DIGITS_ARCHITECTURE}"',
            "--nn_config",
            f'"{CONFIG}"',
            '--num_epochs="3"',
            "--num_gpus",
            '"0"',
            '--batch-size="64"',
            "--learning_rate=0.1",
            "--dataset='digits'",
        ]
    )
    assert args.architecture == DIGITS_ARCHITECTURE and args.nn_config == CONFIG
    assert (args.num_epochs, args.num_gpus, args.batch_size) == (3, 0, 64)
    assert args.learning_rate == 0.1 and args.dataset == "digits"


def test_defaults_follow_the_stock_trial() -> None:
    args = build_parser().parse_args(["--architecture", "[[0]]", "--nn_config", "{}"])
    assert args.num_epochs == 10 and args.dataset == "cifar10"
    # --data-dir follows the dataset: CIFAR-10 where the stock trial reads it.
    assert args.data_dir is None and DEFAULT_DIRS["cifar10"] == Path("/data/cifar10")
    assert DEFAULT_DIRS["fashion-mnist"] == Path("/usr/share/datasets/fashion-mnist")


def test_unquote_strips_only_matching_outer_quotes() -> None:
    assert unquote('"[[1]]"') == "[[1]]"
    assert unquote("'\"5\"'") == "5"
    assert unquote("{'a':1}") == "{'a':1}"


BAD_INPUTS = [
    (["--architecture", "[[0],[1", "--nn_config", CONFIG], "architecture: not valid JSON"),
    (["--architecture", "[[0],[9,1],[2,0,1],[3,1,0,1]]", "--nn_config", CONFIG], "op id(s) [9]"),
    (
        ["--architecture", "[[0],[1,1,1],[2,0,1],[3,1,0,1]]", "--nn_config", CONFIG],
        "architecture[1]",
    ),
    (
        [
            "--architecture",
            "[[0]]",
            "--nn_config",
            nn_config([{"opt_type": "dilated", "opt_params": {}}], [8, 8, 1]),
        ],
        "unknown operation type 'dilated'",
    ),
    (
        [
            "--architecture",
            "[[0]]",
            "--nn_config",
            nn_config(
                [
                    {
                        "opt_type": "convolution",
                        "opt_params": {"filter_size": "3", "num_filter": "8", "dilation": "2"},
                    }
                ],
                [8, 8, 1],
            ),
        ],
        "unknown parameter 'dilation'",
    ),
    (
        [
            "--architecture",
            "[[0]]",
            "--nn_config",
            nn_config(
                [
                    {
                        "opt_type": "convolution",
                        "opt_params": {"filter_size": "0", "num_filter": "8"},
                    }
                ],
                [8, 8, 1],
            ),
        ],
        "filter_size",
    ),
    (["--architecture", DIGITS_ARCHITECTURE, "--nn_config", "{'num_layers':4}"], "nn_config"),
    (
        ["--architecture", DIGITS_ARCHITECTURE, "--nn_config", CONFIG, "--num_epochs", "zero"],
        "argument --num_epochs: 'zero' is not a positive integer",
    ),
    (
        ["--architecture", DIGITS_ARCHITECTURE, "--nn_config", CONFIG, "--dataset", "imagenet"],
        "argument --dataset",
    ),
    (["--nn_config", CONFIG], "the following arguments are required: --architecture"),
    (
        [
            "--architecture",
            DIGITS_ARCHITECTURE,
            "--nn_config",
            CONFIG,
            "--data-dir",
            "/nonexistent",
        ],
        "--data-dir: /nonexistent holds no CIFAR-10 python batches",
    ),
    (
        [
            "--architecture",
            DIGITS_ARCHITECTURE,
            "--nn_config",
            CONFIG,
            "--dataset=digits",
            "--push-metrics",
        ],
        "KATIB_TRIAL_NAME is not set",
    ),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line(
    run_trial: TrialRunner, argv: list[str], message: str
) -> None:
    result = run_trial(*argv, env={"KATIB_TRIAL_NAME": ""})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("enas-trial: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [["--architecture", "[[5]]", "--nn_config", CONFIG], *(argv for argv, _ in BAD_INPUTS)],
    ids=["a row too short", *(m for _, m in BAD_INPUTS)],
)
def test_bad_input_is_refused_before_torch_is_imported(argv: list[str]) -> None:
    """Every bad input is refused before `import torch` (most of a trial's start-up), so many
    trials failing in a row cost little."""
    code = (
        "import sys\n"
        "from enas_trial.cli import main\n"
        "try:\n"
        f"    rc = main({argv!r})\n"
        "except SystemExit as stop:\n"
        "    rc = stop.code\n"
        "print(rc, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "KATIB_TRIAL_NAME": ""}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.stdout.split() == ["2", "False"], result.stderr


@pytest.mark.slow
def test_digits_of_another_size_is_refitted_to_the_input_sizes(run_trial: TrialRunner) -> None:
    # Katib's stock experiments declare 32x32x3: digits are resized and repeated to fit.
    config = nn_config(DIGITS_OPERATIONS, [16, 16, 3])
    result = run_trial(
        f"--architecture={DIGITS_ARCHITECTURE}",
        f"--nn_config={config}",
        "--dataset=digits",
        "--num_epochs=1",
    )
    assert result.returncode == 0, result.stderr
    assert "Validation-Accuracy=" in result.stdout


def test_classes_fewer_than_labels_is_bad_input(run_trial: TrialRunner) -> None:
    config = nn_config(DIGITS_OPERATIONS, [8, 8, 1], classes=5)
    result = run_trial(
        "--architecture",
        DIGITS_ARCHITECTURE,
        "--nn_config",
        config,
        "--dataset",
        "digits",
        "--num_epochs",
        "1",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "enas-trial: error: nn_config.output_sizes: 5 classes, "
        "but dataset digits has labels up to 9"
    ]


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_cuda_without_a_gpu_is_bad_input(run_trial: TrialRunner) -> None:
    result = run_trial(*ARGS, "--dataset=digits", "--device=cuda")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "enas-trial: error: --device cuda: no CUDA device is available"
    ]
