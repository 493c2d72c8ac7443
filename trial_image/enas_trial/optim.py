"""SGD with Nesterov momentum and weight decay, without `torch.optim`'s start-up cost.

`torch.optim` optimizers import `torch._dynamo` (over a second) the first time one is built;
a trial is a short process and a local search starts hundreds of them, so the update is written
out here. It is the same update as `torch.optim.SGD(..., nesterov=True)` with no dampening
(a test compares them step by step):

    g = grad + weight_decay * p
    buf = momentum * buf + g        (buf = g on the first step)
    p -= lr * (g + momentum * buf)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class NesterovSGD:
    """Minimal SGD: `zero_grad()`, then `step(lr)` after each backward pass."""

    def __init__(
        self, parameters: Iterable[torch.nn.Parameter], *, momentum: float, weight_decay: float
    ) -> None:
        self.parameters: list[torch.Tensor] = [p for p in parameters if p.requires_grad]
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.buffers: list[torch.Tensor] | None = None

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: float) -> None:
        params = self.parameters
        # A parameter without a gradient (unused this step) still decays, like a zero gradient.
        grads: list[torch.Tensor] | tuple[torch.Tensor, ...] = [
            p.grad if p.grad is not None else torch.zeros_like(p) for p in params
        ]
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        if self.momentum:
            if self.buffers is None:
                self.buffers = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads)
            grads = torch._foreach_add(grads, self.buffers, alpha=self.momentum)
        torch._foreach_add_(params, grads, alpha=-lr)


def cosine(peak: float, step: int, total: int) -> float:
    """Learning rate at `step` of `total`: from `peak` down to 0 along half a cosine."""
    return 0.5 * peak * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
