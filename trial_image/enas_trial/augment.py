"""Batch-level image preprocessing on whatever device holds the batch.

Working on whole batches of tensors (no per-image Python, no DataLoader workers) keeps a GPU fed
from data already in its memory, and keeps a CPU run free of worker-process start-up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from enas_trial.errors import TrialInputError


def fit_to_shape(images: torch.Tensor, shape: tuple[int, int, int], name: str) -> torch.Tensor:
    """uint8 images (N, C, H, W) resized and channel-matched to `shape` from `nn_config`.

    Lets a dataset serve any `input_sizes` (digits at 32x32x3 for Katib's stock examples):
    one channel is repeated to three, three are averaged to one, sizes are resized bilinearly.
    """
    channels, height, width = shape
    if images.shape[1] != channels:
        if images.shape[1] == 1:
            images = images.expand(-1, channels, -1, -1)
        elif channels == 1:
            images = images.float().mean(dim=1, keepdim=True).round().to(torch.uint8)
        else:
            raise TrialInputError(
                f"nn_config.input_sizes: {channels} channels, but dataset {name} has "
                f"{images.shape[1]}"
            )
    if images.shape[-2:] != (height, width):
        resized = F.interpolate(
            images.float(), size=(height, width), mode="bilinear", antialias=True
        )
        images = resized.round().clamp(0, 255).to(torch.uint8)
    return images.contiguous()


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation (in 0..1 units) of uint8 images.

    Computed from each channel's histogram of its 256 values: the same figures as converting
    every pixel to float, at a tenth of the cost (a trial computes them at every start).
    """
    values = torch.arange(256, dtype=torch.float64, device=images.device) / 255.0
    channels = images.transpose(0, 1).reshape(images.shape[1], -1)
    counts = torch.stack([torch.bincount(c, minlength=256) for c in channels]).double()
    total = counts.sum(dim=1)
    mean = counts @ values / total
    variance = (counts * (values - mean[:, None]) ** 2).sum(dim=1) / (total - 1).clamp_min(1)
    std = variance.sqrt().clamp_min(1e-3)  # a constant channel must not divide by zero
    return mean.float().view(1, -1, 1, 1), std.float().view(1, -1, 1, 1)


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 -> float32, scaled to 0..1 once, then standardised per channel."""
    return (images.float() / 255.0 - mean) / std


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad by `padding` zeros (the mean, after normalisation) and crop back at random offsets."""
    if padding <= 0:
        return images
    n, c, h, w = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), device=device, generator=generator)
    rows = dy[:, None] + torch.arange(h, device=device)
    cols = dx[:, None] + torch.arange(w, device=device)
    picked = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * padding))
    return picked.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror half of the images left-right."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)
