"""Fashion-MNIST and MNIST in their standard IDX form: find, download (checked) and read them.

Both datasets are four gzipped IDX files (`train-images-idx3-ubyte.gz`, `train-labels-...`,
`t10k-images-...`, `t10k-labels-...`): a big-endian header (magic number, then one 32-bit size
per dimension) followed by uint8 values. Fashion-MNIST (Zalando, MIT licence) is the offline
dataset that separates architectures here: on Debian the package `dataset-fashion-mnist` puts
the files in `/usr/share/datasets/fashion-mnist/`, which is the default `--data-dir`.

Fashion-MNIST's files are checked by the SHA-256 of their *uncompressed* bytes: Debian
recompresses them, so the `.gz` bytes differ from the canonical download while the data are the
same. A corrupt or truncated file fails with one line naming both ways to get a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from enas_trial.cifar10 import Images, Labels
from enas_trial.errors import TrialInputError

IMAGE_MAGIC = 0x00000803  # uint8, 3 dimensions
LABEL_MAGIC = 0x00000801  # uint8, 1 dimension
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class IdxDataset:
    """Where a dataset's files come from and what their uncompressed bytes hash to."""

    name: str
    default_dir: Path
    url: str  # the folder holding the four files
    debian_package: str | None
    sha256: dict[str, str] | None  # uncompressed SHA-256 per file; None: not pinned

    def how_to_get(self) -> str:
        ways = [f"add --download (fetches them from {self.url})"]
        if self.debian_package:
            ways.insert(0, f"apt-get install {self.debian_package} (files in {self.default_dir})")
        return " or ".join(ways)


FASHION_MNIST = IdxDataset(
    name="fashion-mnist",
    default_dir=Path("/usr/share/datasets/fashion-mnist"),
    url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    debian_package="dataset-fashion-mnist",
    sha256={
        "train-images-idx3-ubyte.gz": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte.gz": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
)
# MNIST has the same layout. Its checksums are not pinned (no copy of it exists on the machines
# this project is built on to take them from); gzip's own CRC and the header checks still catch
# a corrupt or truncated file.
MNIST = IdxDataset(
    name="mnist",
    default_dir=Path("/data/mnist"),
    url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    debian_package=None,
    sha256=None,
)
DATASETS = {dataset.name: dataset for dataset in (FASHION_MNIST, MNIST)}


def require_files(dataset: IdxDataset, data_dir: Path, *, download: bool) -> Path:
    """`data_dir` once it holds the four files, downloading missing ones when allowed."""
    missing = [name for name in FILES if not (data_dir / name).is_file()]
    if missing and download:
        for name in missing:
            _download(dataset, data_dir, name)
        missing = []
    if missing:
        raise TrialInputError(
            f"--data-dir: {data_dir} has no {dataset.name} file {missing[0]}; "
            f"{dataset.how_to_get()}, or point --data-dir at a folder holding them"
        )
    return data_dir


def load(dataset: IdxDataset, folder: Path) -> tuple[Images, Labels, Images, Labels]:
    """Training images (N, 1, 28, 28) uint8 and labels, then the test split."""
    train_x = read_images(dataset, folder / FILES[0])
    train_y = read_labels(dataset, folder / FILES[1])
    test_x = read_images(dataset, folder / FILES[2])
    test_y = read_labels(dataset, folder / FILES[3])
    for images, labels, name in ((train_x, train_y, FILES[0]), (test_x, test_y, FILES[2])):
        if len(images) != len(labels):
            raise TrialInputError(
                f"{folder / name}: {len(images)} images but {len(labels)} labels; "
                f"{dataset.how_to_get()}"
            )
    return train_x, train_y, test_x, test_y


def read_images(dataset: IdxDataset, path: Path) -> Images:
    raw = _read(dataset, path)
    count, rows, cols = _header(dataset, path, raw, IMAGE_MAGIC, 3)
    body = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if body.size != count * rows * cols:
        _corrupt(dataset, path, f"expected {count}x{rows}x{cols} pixels, found {body.size}")
    return body.reshape(count, 1, rows, cols).copy()


def read_labels(dataset: IdxDataset, path: Path) -> Labels:
    raw = _read(dataset, path)
    (count,) = _header(dataset, path, raw, LABEL_MAGIC, 1)
    body = np.frombuffer(raw, dtype=np.uint8, offset=8)
    if body.size != count:
        _corrupt(dataset, path, f"expected {count} labels, found {body.size}")
    if body.size and int(body.max()) > 9:
        _corrupt(dataset, path, f"label {int(body.max())} is not a class in 0..9")
    return body.astype(np.int64)


def _read(dataset: IdxDataset, path: Path) -> bytes:
    raw, problem = _contents(dataset, path, path.name)
    if problem:
        _corrupt(dataset, path, problem)
    return raw


def _contents(dataset: IdxDataset, path: Path, name: str) -> tuple[bytes, str]:
    """The uncompressed bytes of file `name` stored at `path`, and what is wrong with them
    (empty when nothing is): not gzip, or a checksum that differs from the published one."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        return b"", f"not a readable gzip file ({error})"
    expected = (dataset.sha256 or {}).get(name)
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        return raw, "SHA-256 of its contents differs from the published data"
    return raw, ""


def _header(dataset: IdxDataset, path: Path, raw: bytes, magic: int, dims: int) -> tuple[int, ...]:
    size = 4 + 4 * dims
    if len(raw) < size or int.from_bytes(raw[:4], "big") != magic:
        _corrupt(dataset, path, "not an IDX file of uint8 values in the expected shape")
    return tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))


def _corrupt(dataset: IdxDataset, path: Path, why: str) -> NoReturn:
    raise TrialInputError(
        f"{path}: {why}; get a good copy: {dataset.how_to_get()}, "
        "or point --data-dir at a folder holding the four files"
    )


def _download(dataset: IdxDataset, data_dir: Path, name: str) -> None:
    """One file, fetched to a temporary name and renamed once whole and checked."""
    url = dataset.url + name
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrialInputError(f"--data-dir: cannot create {data_dir}: {error.strerror}") from None
    handle, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise TrialInputError(f"--download: cannot fetch {url}: {error}") from None
        _, problem = _contents(dataset, Path(tmp), name)
        if problem:
            raise TrialInputError(f"--download: {url}: {problem}")
        os.replace(tmp, data_dir / name)
    finally:
        Path(tmp).unlink(missing_ok=True)
