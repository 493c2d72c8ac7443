"""A child's parameters as blocks of supernet tensors.

A parameter is one supernet tensor, or several laid side by side along one dimension: a macro
layer's convolution reads the concatenation of its inputs, so its weight is one block per input
(keyed by the input's position and width), and each block is trained by every child that has
that input there, whatever else it reads. Builders say how (`Builder.shared_tensors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Block:
    """Elements `start .. start+length-1` of a parameter along `dim`, stored under `key`."""

    key: str
    dim: int
    start: int
    length: int


@dataclass(frozen=True)
class SharedTensor:
    """One parameter of the child and the supernet blocks it is made of."""

    parameter: Tensor
    blocks: tuple[Block, ...]

    def view(self, block: Block) -> Tensor:
        return self.parameter.detach().narrow(block.dim, block.start, block.length)


def whole(key: str, parameter: Tensor) -> SharedTensor:
    """A parameter that is one supernet tensor."""
    return SharedTensor(parameter, (Block(key, 0, 0, parameter.shape[0]),))


def side_by_side(
    prefix: str, parameter: Tensor, dim: int, parts: Sequence[tuple[str, int]]
) -> SharedTensor:
    """A parameter cut along `dim` into consecutive blocks `prefix + name` of the given sizes."""
    blocks, start = [], 0
    for name, length in parts:
        blocks.append(Block(prefix + name, dim, start, length))
        start += length
    assert start == parameter.shape[dim], (prefix, start, parameter.shape)
    return SharedTensor(parameter, tuple(blocks))


def module_tensors(prefix: str, module: nn.Module) -> list[SharedTensor]:
    """Every parameter of `module` as one supernet tensor, keyed by its name in the module."""
    return [whole(prefix + name, p) for name, p in module.named_parameters()]


def block_shapes(tensors: Sequence[SharedTensor]) -> dict[str, tuple[int, ...]]:
    """Every block's key and shape; a key appears once (builders never reuse one)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for tensor in tensors:
        for block in tensor.blocks:
            shape = list(tensor.parameter.shape)
            shape[block.dim] = block.length
            assert block.key not in shapes, block.key
            shapes[block.key] = tuple(shape)
    return shapes


def snapshot(tensors: Sequence[SharedTensor]) -> dict[str, Tensor]:
    """Every block's current value (float32, CPU), by key."""
    return {
        block.key: tensor.view(block).to("cpu", torch.float32, copy=True)
        for tensor in tensors
        for block in tensor.blocks
    }


@torch.no_grad()
def load(tensors: Sequence[SharedTensor], values: dict[str, Tensor]) -> None:
    """Copy the given blocks' values into the child's parameters (others keep theirs)."""
    for tensor in tensors:
        for block in tensor.blocks:
            value = values.get(block.key)
            if value is not None:
                tensor.view(block).copy_(value)
