"""CIFAR-10 in its standard python-pickle form: find, download (checksummed) and read the batches.

No torchvision: the format is five `data_batch_N` files and one `test_batch`, each a pickled dict
with `data` (N x 3072 uint8, channel-major 32x32 images) and `labels`. The files are pickles, so
they are read with an unpickler that only builds the few numpy types the format needs: a
tampered data volume cannot run code in the trial.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from enas_trial.errors import TrialInputError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e9d4a1f"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"

Images = npt.NDArray[np.uint8]
Labels = npt.NDArray[np.int64]


def find_batches(data_dir: Path) -> Path | None:
    """The folder holding the batches: `data_dir` itself or its `cifar-10-batches-py`."""
    for folder in (data_dir, data_dir / FOLDER):
        if all((folder / name).is_file() for name in (*TRAIN_FILES, TEST_FILE)):
            return folder
    return None


def require_batches(data_dir: Path, *, download: bool, url: str = URL, md5: str = MD5) -> Path:
    """The batch folder, downloading it first when allowed; a clear error when it is missing."""
    folder = find_batches(data_dir)
    if folder is not None:
        return folder
    if not download:
        raise TrialInputError(
            f"--data-dir: {data_dir} holds no CIFAR-10 python batches "
            f"({', '.join(TRAIN_FILES)}, {TEST_FILE}); add --download or mount them there"
        )
    download_batches(data_dir, url, md5)
    folder = find_batches(data_dir)
    if folder is None:
        raise TrialInputError(f"--download: the archive from {url} holds no {FOLDER}/ batches")
    return folder


def download_batches(data_dir: Path, url: str, md5: str) -> None:
    """Fetch the archive, check its MD5, and unpack `cifar-10-batches-py/` into `data_dir`."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrialInputError(f"--data-dir: cannot create {data_dir}: {error.strerror}") from None
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".download-") as tmp:
        archive = Path(tmp) / "cifar-10-python.tar.gz"
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise TrialInputError(f"--download: cannot fetch {url}: {error}") from None
        if digest.hexdigest() != md5:
            raise TrialInputError(
                f"--download: checksum mismatch for {url}: MD5 {digest.hexdigest()}, expected {md5}"
            )
        unpacked = Path(tmp) / "unpacked"
        try:
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith(f"{FOLDER}/")]
                tar.extractall(unpacked, members=members, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise TrialInputError(f"--download: {url} is not a readable archive: {error}") from None
        target = data_dir / FOLDER
        if target.exists():
            shutil.rmtree(target)
        # The finished folder appears in one rename: a reader never sees half an archive.
        os.replace(unpacked / FOLDER, target)


class _BatchUnpickler(pickle.Unpickler):
    """Builds only what a CIFAR batch contains: dicts, lists, strings and numpy arrays."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1").
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[Images, Labels]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of one batch file."""
    try:
        raw = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise TrialInputError(f"{path}: not a CIFAR-10 python batch ({error})") from None
    if not isinstance(raw, dict):
        raise TrialInputError(f"{path}: not a CIFAR-10 python batch (expected a dict)")
    entries = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
    if "data" not in entries or "labels" not in entries:
        raise TrialInputError(f"{path}: CIFAR-10 batch without 'data' and 'labels'")
    data = np.asarray(entries["data"])
    labels = np.asarray(entries["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise TrialInputError(
            f"{path}: 'data' must be N x 3072 uint8, got {data.shape} {data.dtype}"
        )
    if labels.shape != (data.shape[0],) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise TrialInputError(f"{path}: 'labels' must be one class in 0..9 per image")
    return data.reshape(-1, 3, 32, 32), labels


def load(folder: Path) -> tuple[Images, Labels, Images, Labels]:
    """Training images and labels (all five batches), then the test batch."""
    parts = [read_batch(folder / name) for name in TRAIN_FILES]
    train_x = np.concatenate([x for x, _ in parts])
    train_y = np.concatenate([y for _, y in parts])
    test_x, test_y = read_batch(folder / TEST_FILE)
    return train_x, train_y, test_x, test_y
