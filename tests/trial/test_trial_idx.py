"""Fashion-MNIST and MNIST as the trial reads them: the standard gzipped IDX files, checked; a
missing or corrupt file is one line naming both ways to get a good one. Tiny files in the real
format are written here; the real Fashion-MNIST is Debian's (`make test` installs it)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from idx_files import write_idx
from trial_support import DIGITS_ARCHITECTURE, DIGITS_OPERATIONS, TrialRunner, nn_config

from enas_trial import idx
from enas_trial.errors import TrialInputError

FASHION = Path("/usr/share/datasets/fashion-mnist")
CONFIG_28 = nn_config(DIGITS_OPERATIONS, [28, 28, 1])


def test_tiny_files_in_the_standard_format_train_a_child(
    run_trial: TrialRunner, tmp_path: Path
) -> None:
    write_idx(tmp_path / "mnist")
    done = run_trial(
        "--dataset=mnist", f"--data-dir={tmp_path / 'mnist'}", "--num_gpus=0", "--num_epochs=1",
        "--batch-size=16", "--summary-file=summary.json",
        f"--architecture={DIGITS_ARCHITECTURE}", f"--nn_config={CONFIG_28}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0


def test_the_reader_gives_images_and_labels_as_written(tmp_path: Path) -> None:
    write_idx(tmp_path, train=20, test=10)
    train_x, train_y, test_x, test_y = idx.load(idx.MNIST, tmp_path)
    assert train_x.shape == (20, 1, 28, 28) and train_x.dtype == np.uint8
    assert test_x.shape == (10, 1, 28, 28) and test_y.shape == (10,)
    assert (train_x[:, 0, 0, 0] == train_y * 20).all()


def test_a_missing_file_names_both_ways_to_get_it(run_trial: TrialRunner, tmp_path: Path) -> None:
    done = run_trial(
        "--dataset=fashion-mnist", f"--data-dir={tmp_path / 'none'}", "--num_gpus=0",
        f"--architecture={DIGITS_ARCHITECTURE}", f"--nn_config={CONFIG_28}",
    )  # fmt: skip
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("enas-trial: error: --data-dir: ")
    assert "has no fashion-mnist file train-images-idx3-ubyte.gz" in line
    assert "apt-get install dataset-fashion-mnist" in line and "--download" in line


def test_files_that_are_not_fashion_mnist_fail_its_checksum(tmp_path: Path) -> None:
    write_idx(tmp_path)
    with pytest.raises(TrialInputError) as caught:
        idx.load(idx.FASHION_MNIST, tmp_path)
    message = str(caught.value)
    assert "train-images-idx3-ubyte.gz: SHA-256 of its contents differs" in message
    assert "apt-get install dataset-fashion-mnist" in message


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda b: b[: len(b) // 2], "not a readable gzip file"),
        (lambda b: b"not gzip at all", "not a readable gzip file"),
        (lambda b: gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 12), "not an IDX file"),
    ],
    ids=["truncated", "garbage", "wrong-magic"],
)
def test_a_corrupt_file_is_one_clear_error(tmp_path: Path, damage: object, why: str) -> None:
    write_idx(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(TrialInputError, match=why):
        idx.load(idx.MNIST, tmp_path)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_the_real_fashion_mnist_passes_its_checksums() -> None:
    train_x, train_y, test_x, test_y = idx.load(idx.FASHION_MNIST, FASHION)
    assert train_x.shape == (60_000, 1, 28, 28) and test_x.shape == (10_000, 1, 28, 28)
    assert np.bincount(train_y).tolist() == [6_000] * 10
    assert np.bincount(test_y).tolist() == [1_000] * 10
