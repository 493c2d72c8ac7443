"""A trained child network from its model file, ready to classify raw images.

A model file is what `enas-trial --save-model`, `katib-enas retrain` and `katib-enas export`
write (`training.save_checkpoint`): the weights, the two assignments that built the network
and the per-channel normalisation of its training images. `load_model` rebuilds the network
with the trial's own builder and wraps it so that it takes pixels as they come:

    import enas_trial
    model = enas_trial.load_model("model.pt")         # an nn.Module, in eval mode
    logits = model(images)                            # N x C x H x W, pixel values 0..255

The model checks that scale on every eager call: values outside 0..255 are refused, and a
batch whose largest value is 16 or less (scikit-learn's raw digits, images in 0..1) warns.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from enas_trial.builders import builder_for
from enas_trial.errors import TrialInputError


class Classifier(nn.Module):
    """Pixels in, logits out: the training normalisation, then the child network."""

    def __init__(self, network: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.network = network
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.trained = False
        self.architecture = ""
        self.nn_config = ""
        self.input_shape: tuple[int, ...] = ()
        self.layers: list[str] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not (torch.compiler.is_compiling() or torch.compiler.is_exporting()):
            check_scale(images)  # eager calls only: a traced program has no data to look at
        scaled = (images.float() / 255.0 - self.mean) / self.std
        return self.network(scaled)  # type: ignore[no-any-return]


# Below this the batch is almost surely on another scale: 0..1 floats, or scikit-learn's raw
# digits (0..16) that the trial scaled to 0..255 before training; a model fed those scores
# about 10 % without a word.
SMALL_SCALE = 16.0
SCALE_HINT = (
    "the model takes pixel values 0..255, as its training images were (scikit-learn's digits: "
    "multiply by 255/16; images in 0..1: multiply by 255)"
)


def check_scale(images: torch.Tensor) -> None:
    """Refuse values outside 0..255; warn when a whole batch is 16 or below."""
    if images.numel() == 0 or images.dtype == torch.uint8:
        return
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise ValueError(f"images hold values {low:g}..{high:g}: {SCALE_HINT}")
    if high <= SMALL_SCALE and high > 0:
        warnings.warn(
            f"images hold values 0..{high:g} at most: {SCALE_HINT}", UserWarning, stacklevel=3
        )


def read_model_file(path: Path | str) -> dict[str, Any]:
    """The saved dictionary, checked; a clear error for anything else."""
    try:
        saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrialInputError(f"{path}: no such model file") from None
    except Exception as error:  # a torn or foreign file: say so in one line
        raise TrialInputError(f"{path}: not a model file ({type(error).__name__})") from None
    if not isinstance(saved, dict) or not {"architecture", "nn_config"} <= set(saved):
        raise TrialInputError(f"{path}: not a katib-enas model file (no architecture)")
    return saved


def load_model(path: Path | str) -> Classifier:
    """The network saved in `path`, in eval mode, taking N x C x H x W images with pixel values
    0..255 (uint8 or float) and returning logits. Without saved weights (an export of a trial
    that did not save them) the network is freshly initialised: `model.trained` says which."""
    return classifier(read_model_file(path))


def classifier(saved: dict[str, Any]) -> Classifier:
    """`load_model` on an already read model file."""
    builder = builder_for(saved["nn_config"])
    plan = builder.plan(saved["architecture"], saved["nn_config"])
    network = builder.build(plan, 0.0)
    if "state_dict" in saved:
        network.load_state_dict(saved["state_dict"])
    channels = plan.in_channels
    norm = saved.get("normalization") or {}
    mean = torch.as_tensor(norm.get("mean", torch.zeros(channels)), dtype=torch.float32)
    std = torch.as_tensor(norm.get("std", torch.ones(channels)), dtype=torch.float32)
    model = Classifier(network, mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1))
    model.trained = "state_dict" in saved
    model.architecture = saved["architecture"]
    model.nn_config = saved["nn_config"]
    model.input_shape = (channels, *plan.in_size)
    model.layers = plan.describe()
    return model.eval()
