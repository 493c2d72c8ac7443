"""The two optimizers this project trains with, written out instead of taken from `torch.optim`.

Building any `torch.optim` optimizer imports `torch._dynamo`, and that import does two things we
cannot afford:

- it looks up a compile-cache directory through `tempfile.gettempdir()`, which raises when no
  directory is writable: the suggestion pod runs with a read-only root filesystem and, without
  `resumePolicy: FromVolume`, nothing writable at all, so its first `GetSuggestions` failed;
- it costs over a second and about 100 MiB per process (every trial is a new process).

Each update is the same arithmetic, in the same order, as its `torch.optim` counterpart on CPU
(the single-tensor code path); tests compare them step by step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch


class Adam:
    """`torch.optim.Adam` without weight decay or amsgrad (the ENAS controller's optimizer)."""

    def __init__(
        self,
        parameters: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.parameters: list[torch.Tensor] = list(parameters)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        # Per parameter index, created at its first gradient as torch.optim does.
        self.steps: dict[int, int] = {}
        self.exp_avg: dict[int, torch.Tensor] = {}
        self.exp_avg_sq: dict[int, torch.Tensor] = {}

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for index, param in enumerate(self.parameters):
            grad = param.grad
            if grad is None:
                continue
            if index not in self.steps:
                self.steps[index] = 0
                self.exp_avg[index] = torch.zeros_like(param)
                self.exp_avg_sq[index] = torch.zeros_like(param)
            self.steps[index] += 1
            step = self.steps[index]
            exp_avg, exp_avg_sq = self.exp_avg[index], self.exp_avg_sq[index]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step_size = self.lr / (1 - beta1**step)
            denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": dict(self.steps),
            "exp_avg": {i: t.clone() for i, t in self.exp_avg.items()},
            "exp_avg_sq": {i: t.clone() for i, t in self.exp_avg_sq.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        steps = {int(i): int(s) for i, s in state["steps"].items()}
        for name in ("exp_avg", "exp_avg_sq"):
            for i, tensor in state[name].items():
                if int(i) not in steps or tensor.shape != self.parameters[int(i)].shape:
                    raise ValueError(f"optimizer state {name}[{i}] does not fit the parameters")
        self.steps = steps
        self.exp_avg = {int(i): t.clone() for i, t in state["exp_avg"].items()}
        self.exp_avg_sq = {int(i): t.clone() for i, t in state["exp_avg_sq"].items()}


class NesterovSGD:
    """`torch.optim.SGD(nesterov=True)` without dampening: `zero_grad()`, then `step(lr)`.

    g = grad + weight_decay * p
    buf = momentum * buf + g        (buf = g on the first step)
    p -= lr * (g + momentum * buf)
    """

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
