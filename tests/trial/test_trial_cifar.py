"""The CIFAR-10 loader on tiny files in the real python-pickle format, written here."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from trial_support import DIGITS_ARCHITECTURE, DIGITS_OPERATIONS, TrialRunner, nn_config

from enas_trial import cifar10
from enas_trial.errors import TrialInputError

PER_FILE = 12


def write_batch(path: Path, seed: int) -> tuple[np.ndarray, list[int]]:
    """One batch as the CIFAR-10 python version stores it (a protocol-2 pickle, bytes keys)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (PER_FILE, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, PER_FILE)]
    record = {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(PER_FILE)],
    }
    path.write_bytes(pickle.dumps(record, protocol=2))
    return data, labels


def write_dataset(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate((*cifar10.TRAIN_FILES, cifar10.TEST_FILE)):
        write_batch(folder / name, seed)


def tarball(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    write_dataset(source / cifar10.FOLDER)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / cifar10.FOLDER, arcname=cifar10.FOLDER)
    return archive


def test_batch_reads_as_channel_major_images(tmp_path: Path) -> None:
    data, labels = write_batch(tmp_path / "data_batch_1", 3)
    images, read_labels = cifar10.read_batch(tmp_path / "data_batch_1")
    assert images.shape == (PER_FILE, 3, 32, 32) and images.dtype == np.uint8
    assert read_labels.tolist() == labels
    # Red plane first, then green, then blue, each row-major: the format's documented layout.
    assert images[5, 0, 0, 0] == data[5, 0] and images[5, 1, 0, 0] == data[5, 1024]
    assert images[5, 2, 31, 31] == data[5, 3071] and images[5, 0, 1, 0] == data[5, 32]


def test_load_finds_the_batches_in_the_folder_or_its_subfolder(tmp_path: Path) -> None:
    write_dataset(tmp_path / cifar10.FOLDER)
    folder = cifar10.require_batches(tmp_path, download=False)
    assert folder == tmp_path / cifar10.FOLDER
    train_x, train_y, test_x, test_y = cifar10.load(folder)
    assert train_x.shape == (5 * PER_FILE, 3, 32, 32) and len(train_y) == 5 * PER_FILE
    assert test_x.shape == (PER_FILE, 3, 32, 32) and len(test_y) == PER_FILE
    assert cifar10.find_batches(folder) == folder


def test_missing_batch_is_a_clear_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(TrialInputError, match="holds no CIFAR-10 python batches"):
        cifar10.require_batches(tmp_path, download=False)


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(TrialInputError, match=r"not a CIFAR-10 python batch .*unexpected object"):
        cifar10.read_batch(path)
    assert not marker.exists()


def test_wrong_shape_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "test_batch"
    record = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    path.write_bytes(pickle.dumps(record, protocol=2))
    with pytest.raises(TrialInputError, match="must be N x 3072 uint8"):
        cifar10.read_batch(path)


def test_download_checks_the_md5_and_unpacks(tmp_path: Path) -> None:
    archive = tarball(tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    target = tmp_path / "data"
    folder = cifar10.require_batches(target, download=True, url=archive.as_uri(), md5=md5)
    assert folder == target / cifar10.FOLDER
    assert cifar10.load(folder)[0].shape == (5 * PER_FILE, 3, 32, 32)
    assert sorted(p.name for p in target.iterdir()) == [cifar10.FOLDER]  # no leftovers


def test_download_with_a_bad_checksum_fails_cleanly(run_trial: TrialRunner, tmp_path: Path) -> None:
    archive = tarball(tmp_path)
    target = tmp_path / "data"
    result = run_trial(
        "--architecture",
        DIGITS_ARCHITECTURE,
        "--nn_config",
        nn_config(DIGITS_OPERATIONS, [32, 32, 3]),
        "--data-dir",
        str(target),
        "--download",
        f"--download-url={archive.as_uri()}",
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    actual = hashlib.md5(archive.read_bytes()).hexdigest()
    assert line == (
        f"enas-trial: error: --download: checksum mismatch for {archive.as_uri()}: "
        f"MD5 {actual}, expected {cifar10.MD5}"
    )
    assert list(target.iterdir()) == []  # nothing half-written is left behind


@pytest.mark.slow
def test_cifar_trial_trains_on_the_tiny_files(run_trial: TrialRunner, tmp_path: Path) -> None:
    write_dataset(tmp_path / "cifar")
    result = run_trial(
        "--architecture",
        DIGITS_ARCHITECTURE,
        "--nn_config",
        nn_config(DIGITS_OPERATIONS, [32, 32, 3]),
        "--data-dir",
        str(tmp_path / "cifar"),
        "--num_epochs",
        "2",
        "--batch-size",
        "16",
        "--validation-fraction",
        "0.2",
    )
    assert result.returncode == 0, result.stderr
    names = [line.split(" ")[1].split("=")[0] for line in result.stdout.splitlines()]
    assert names.count("Validation-Accuracy") == 2 and names[-1] == "Test-Accuracy"
    # 12 of 60 training images are held out: accuracy moves in steps of 1/12.
    values = [
        float(line.split("=")[1])
        for line in result.stdout.splitlines()
        if "Validation-Accuracy" in line
    ]
    assert all(abs(v * 12 - round(v * 12)) < 1e-4 for v in values)


def test_archive_bytes_are_the_real_format(tmp_path: Path) -> None:
    # The pickle must load with the stock reader's settings (encoding="bytes") too.
    write_batch(tmp_path / "b", 1)
    raw = pickle.load(io.BytesIO((tmp_path / "b").read_bytes()), encoding="bytes")
    assert set(raw) == {b"batch_label", b"labels", b"data", b"filenames"}
