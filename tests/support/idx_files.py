"""Tiny datasets in the standard gzipped IDX format (MNIST's and Fashion-MNIST's), written by
the tests that read them."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from enas_trial import idx


def write_idx(folder: Path, train: int = 64, test: int = 32, seed: int = 0) -> None:
    """The four files, in the standard format: a learnable class signal in random images."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        images[:, :3, :] = (labels * 20)[:, None, None]  # the class, written in the top rows
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as out:
            out.write(struct.pack(">IIII", idx.IMAGE_MAGIC, count, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as out:
            out.write(struct.pack(">II", idx.LABEL_MAGIC, count) + labels.tobytes())
