"""What a trial does before its first step, made cheap without changing what it computes: the
IDX dataset read once per launcher (and read again when its files change), the normalisation
statistics from histograms, freed memory kept mapped for the next batch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from idx_files import write_idx

from enas_trial import augment, data, idx

SPLITS = {"download": False, "download_url": "", "validation_fraction": 0.25, "split_seed": 0}


def test_channel_stats_are_those_of_the_pixels_as_floats() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (50, 3, 9, 7), dtype=torch.uint8, generator=generator)
    images[:, 2] = 17  # a constant channel: its deviation is clamped, never zero
    mean, std = augment.channel_stats(images)
    pixels = images.transpose(0, 1).reshape(3, -1).double() / 255.0
    assert torch.allclose(mean.flatten().double(), pixels.mean(dim=1), atol=1e-6)
    assert torch.allclose(std.flatten()[:2].double(), pixels[:2].std(dim=1), atol=1e-6)
    assert std.flatten()[2].item() == pytest.approx(1e-3)


def test_a_preloaded_dataset_is_reused_and_read_again_when_its_files_change(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "mnist"
    write_idx(folder, train=40, test=8, seed=1)
    data.preload("mnist", folder)
    first = data.load_splits("mnist", data_dir=folder, **SPLITS)
    again = data.load_splits("mnist", data_dir=folder, **SPLITS)
    # The same arrays, not a second read of the files.
    assert np.shares_memory(np.asarray(first.test_x), np.asarray(again.test_x))
    write_idx(folder, train=40, test=12, seed=2)  # other files in the same place
    changed = data.load_splits("mnist", data_dir=folder, **SPLITS)
    assert len(changed.test_y) == 12
    assert (np.asarray(changed.test_x) == idx.load(idx.MNIST, folder)[2]).all()


def test_preloading_a_missing_dataset_leaves_the_error_to_the_trial(tmp_path: Path) -> None:
    data.preload("fashion-mnist", tmp_path / "nowhere")  # no exception: the trial reports it
    data.preload("digits", None)  # not an IDX dataset: nothing to read ahead


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_activations_stay_mapped_for_the_next_batch() -> None:
    """64 buffers of 1 MiB allocated and freed ten times, as a training step does: with glibc's
    defaults every round faults its pages in again; kept, almost none."""
    probe = textwrap.dedent(
        """
        import resource, sys
        import numpy as np
        from enas_trial import heap

        if sys.argv[1] == "keep":
            assert heap.keep_freed_memory()

        def step():
            activations = [np.ones(1 << 17) for _ in range(64)]
            del activations

        step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            step()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    faults = {}
    for mode in ("default", "keep"):
        done = subprocess.run(
            [sys.executable, "-c", probe, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        faults[mode] = int(done.stdout)
    assert faults["default"] > 5 * 64 * 256  # ten rounds of 64 MiB in 4 KiB pages: about 160,000
    assert faults["keep"] < faults["default"] / 10, faults
