"""The trial's datasets as uint8 image arrays: train, held-out validation and test splits.

The reward Katib sees is accuracy on a validation split carved out of the training set (the
test set is evaluated once, at the end, and never steers the search). The split uses its own
seed, fixed by default, so that every trial of an experiment is scored on the same images.

- `cifar10`: the standard python batches (see `cifar10.py`).
- `fashion-mnist` and `mnist`: the standard gzipped IDX files (see `idx.py`); Fashion-MNIST is
  the offline dataset that separates architectures (Debian: `dataset-fashion-mnist`).
- `digits`: scikit-learn's 1,797 8x8 handwritten digits, shipped offline; a real tiny dataset
  for CPU demos and tests. Read straight from scikit-learn's data file, because importing
  scikit-learn would add over a second to every trial's start-up.
- `synthetic`: random images with a learnable class signal, for throughput benchmarks.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enas_trial import cifar10, idx
from enas_trial.cifar10 import Images, Labels
from enas_trial.errors import TrialInputError

DATASETS = ("cifar10", "fashion-mnist", "mnist", "digits", "synthetic")
# Where each dataset's files are looked for when --data-dir is not given.
DEFAULT_DIRS = {
    "cifar10": Path("/data/cifar10"),
    **{name: dataset.default_dir for name, dataset in idx.DATASETS.items()},
}
DIGITS_TEST_FRACTION = 0.2


def data_dir_for(name: str, given: Path | None) -> Path:
    """`--data-dir`, or where the dataset's files are looked for by default."""
    return given if given is not None else DEFAULT_DIRS.get(name, Path("/data"))


@dataclass(frozen=True)
class Splits:
    """Images are (N, C, H, W) uint8; labels (N,) int64."""

    name: str
    train_x: Images
    train_y: Labels
    val_x: Images
    val_y: Labels
    test_x: Images
    test_y: Labels
    num_classes: int
    flip: bool  # horizontal flips preserve the label (not for digits)
    crop_padding: int  # pixels of padding for the random-crop augmentation


def load_splits(
    name: str,
    *,
    data_dir: Path,
    download: bool,
    download_url: str,
    validation_fraction: float,
    split_seed: int,
    synthetic_shape: tuple[int, int, int] = (3, 32, 32),
    synthetic_size: int = 5000,
) -> Splits:
    """Load `name` and hold out `validation_fraction` of its training images."""
    if name == "cifar10":
        folder = cifar10.require_batches(data_dir, download=download, url=download_url)
        train_x, train_y, test_x, test_y = cifar10.load(folder)
        flip, pad, classes = True, 4, 10
    elif name in idx.DATASETS:
        dataset = idx.DATASETS[name]
        folder = idx.require_files(dataset, data_dir, download=download)
        train_x, train_y, test_x, test_y = _idx_arrays(dataset, folder)
        # Fashion-MNIST's classes are left/right symmetric garments; digits are not.
        flip, pad, classes = name == "fashion-mnist", 2, 10
    elif name == "digits":
        images, labels = read_digits()
        train_x, train_y, test_x, test_y = _split(images, labels, DIGITS_TEST_FRACTION, 0)
        flip, pad, classes = False, 1, 10
    elif name == "synthetic":
        images, labels = synthetic(synthetic_shape, synthetic_size + synthetic_size // 5, 10)
        train_x, train_y, test_x, test_y = _split(images, labels, 1 / 6, 0)
        flip, pad, classes = True, max(1, synthetic_shape[1] // 8), 10
    else:
        raise TrialInputError(f"--dataset: unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    train_x, train_y, val_x, val_y = _split(train_x, train_y, validation_fraction, split_seed)
    return Splits(name, train_x, train_y, val_x, val_y, test_x, test_y, classes, flip, pad)


def preload(name: str, data_dir: Path | None) -> None:
    """Read an IDX dataset ahead of the trials that will use it (the trial launcher does, once,
    before it forks them); a dataset that is missing or corrupt is left to the trial to report."""
    if name not in idx.DATASETS:
        return
    with contextlib.suppress(TrialInputError, OSError):
        _idx_arrays(idx.DATASETS[name], data_dir_for(name, data_dir))


# IDX arrays already read, by dataset, folder and the files' sizes and times: a trial forked by
# the launcher finds its dataset here instead of decompressing and checking 55 MB again.
_IDX_READ: dict[
    tuple[str, Path, tuple[tuple[int, int], ...]], tuple[Images, Labels, Images, Labels]
] = {}


def _idx_arrays(dataset: idx.IdxDataset, folder: Path) -> tuple[Images, Labels, Images, Labels]:
    stamps = tuple(
        (s.st_size, s.st_mtime_ns) for s in (folder.joinpath(n).stat() for n in idx.FILES)
    )
    key = (dataset.name, folder.resolve(), stamps)
    if key not in _IDX_READ:
        _IDX_READ.clear()  # one dataset at a time: a launcher serves one experiment
        _IDX_READ[key] = idx.load(dataset, folder)
    return _IDX_READ[key]


def prepare(name: str, data_dir: Path, *, download: bool, download_url: str) -> None:
    """Fetch (when allowed) or find the dataset's files; fail fast, before torch is imported."""
    if name == "cifar10":
        cifar10.require_batches(data_dir, download=download, url=download_url)
    if name in idx.DATASETS:
        idx.require_files(idx.DATASETS[name], data_dir, download=download)
    if name == "digits":
        _digits_file()


def read_digits() -> tuple[Images, Labels]:
    """scikit-learn's digits as (1797, 1, 8, 8) uint8 (0..16 scaled to 0..255) and labels."""
    path = _digits_file()
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float64)
    pixels = table[:, :-1].reshape(-1, 1, 8, 8)
    images = np.round(pixels * (255.0 / 16.0)).astype(np.uint8)
    return images, table[:, -1].astype(np.int64)


def _digits_file() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise TrialInputError("--dataset digits needs scikit-learn installed")
    for location in spec.submodule_search_locations:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise TrialInputError("--dataset digits: scikit-learn's digits.csv.gz was not found")


def synthetic(shape: tuple[int, int, int], count: int, classes: int) -> tuple[Images, Labels]:
    """Noise images whose per-class mean colour makes them learnable (seeded, reproducible)."""
    rng = np.random.default_rng(1234)
    labels = rng.integers(0, classes, count, dtype=np.int64)
    channels = shape[0]
    means = rng.uniform(60, 200, (classes, channels, 1, 1))
    noise = rng.normal(0, 40, (count, *shape))
    images = np.clip(means[labels] + noise, 0, 255).astype(np.uint8)
    return images, labels


def _split(
    images: Images, labels: Labels, fraction: float, seed: int
) -> tuple[Images, Labels, Images, Labels]:
    """(kept images, kept labels, held-out images, held-out labels), held-out chosen at random."""
    count = len(labels)
    held = round(count * fraction)
    if held < 1 or held >= count:
        raise TrialInputError(
            f"--validation-fraction: {fraction} leaves no validation or no training images "
            f"out of {count}"
        )
    order = np.random.default_rng(seed).permutation(count)
    keep, out = np.sort(order[held:]), np.sort(order[:held])
    return images[keep], labels[keep], images[out], labels[out]


def check_classes(splits: Splits, num_classes: int) -> None:
    """The network must have an output for every label the dataset holds."""
    labels_max = int(max(splits.train_y.max(), splits.val_y.max(), splits.test_y.max()))
    if labels_max >= num_classes:
        raise TrialInputError(
            f"nn_config.output_sizes: {num_classes} classes, but dataset {splits.name} "
            f"has labels up to {labels_max}"
        )
