"""Scoring a child: loss and accuracy on a split, in evaluation mode, in large batches."""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F  # noqa: N812

from enas_trial import augment

EVAL_BATCH = 1024
# On the CPU, smaller: a batch's activations then stay under glibc's mmap threshold (`heap`),
# so they reuse pages already mapped instead of faulting fresh ones in at every batch.
CPU_EVAL_BATCH = 256


class Scoreable(Protocol):
    """What scoring reads of a training session (`training.Session` is one): a protocol, so
    that training imports evaluation and never the other way round."""

    @property
    def model(self) -> torch.nn.Module: ...
    @property
    def data(self) -> object: ...  # holds `<split>_x` and `<split>_y` tensors
    @property
    def mean(self) -> torch.Tensor: ...
    @property
    def std(self) -> torch.Tensor: ...
    @property
    def device(self) -> torch.device: ...


def evaluate_split(session: Scoreable, split: str, limit: int = 0) -> tuple[float, float]:
    """(loss, accuracy) on the session's `val` or `test` split (its first `limit` images when
    `limit` is not 0; the splits are drawn at random, so those are a random subset)."""
    images, labels = getattr(session.data, f"{split}_x"), getattr(session.data, f"{split}_y")
    if limit:
        images, labels = images[:limit], labels[:limit]
    return evaluate(
        session.model,
        images=images,
        labels=labels,
        mean=session.mean,
        std=session.std,
        device=session.device,
    )


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    *,
    images: torch.Tensor,
    labels: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    device: torch.device,
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on `images`, in evaluation mode."""
    model.eval()
    cuda = device.type == "cuda"
    batch = EVAL_BATCH if cuda else CPU_EVAL_BATCH
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(labels), batch):
        x = images[start : start + batch].to(device, non_blocking=True)
        y = labels[start : start + batch].to(device, non_blocking=True)
        x = augment.normalize(x, mean, std)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(dim=1) == y).sum()
    count = max(len(labels), 1)
    return loss_sum.item() / count, correct.item() / count
