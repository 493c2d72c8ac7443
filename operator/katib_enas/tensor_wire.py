"""Tensors over `katib_enas.v1`: float32 tensors cut into `TensorPart` chunks of at most 1 MiB,
and put back together with every part checked, so that no message nears gRPC's 4 MiB default and
a malformed stream can never yield a wrong tensor."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from katib_enas.v1 import shared_weights_pb2 as sw

CHUNK_BYTES = 1 << 20
MAX_PART_BYTES = 1 << 21  # what a receiver accepts in one part (a sender uses CHUNK_BYTES)
_ELEMENT = 4  # float32


class WireError(ValueError):
    """A tensor stream that does not add up; the message names the tensor."""


def parts(
    key: str, tensor: Tensor, role: sw.TensorPart.Role.ValueType = sw.TensorPart.VALUE
) -> Iterator[sw.TensorPart]:
    """`tensor` (float32) as consecutive parts of at most `CHUNK_BYTES` bytes each."""
    flat = tensor.detach().to(torch.float32).contiguous().view(-1).cpu().numpy()
    data = flat.astype("<f4", copy=False).tobytes()
    shape = list(tensor.shape)
    step = CHUNK_BYTES // _ELEMENT
    for offset in range(0, max(flat.size, 1), step):
        yield sw.TensorPart(
            key=key,
            shape=shape,
            offset=offset,
            data=data[offset * _ELEMENT : (offset + step) * _ELEMENT],
            role=role,
        )


class Assembler:
    """Collects parts into whole tensors, by (key, role); at most `max_bytes` in all, at most
    `max_tensors` tensors of at most `max_dims` dimensions (each tensor costs memory beyond its
    bytes, so a stream of tiny tensors is bounded too)."""

    def __init__(self, max_bytes: int, max_tensors: int = 100_000, max_dims: int = 8) -> None:
        self.max_bytes = max_bytes
        self.max_tensors = max_tensors
        self.max_dims = max_dims
        self.received = 0
        self._buffers: dict[tuple[str, int], tuple[tuple[int, ...], bytearray]] = {}

    def add(self, part: sw.TensorPart) -> None:
        key = (part.key, int(part.role))
        name = f"tensor {part.key[:80]!r}"
        if not part.data or len(part.data) > MAX_PART_BYTES or len(part.data) % _ELEMENT:
            raise WireError(
                f"{name}: a part of {len(part.data)} bytes (float32, at least 4 B, at most 2 MiB)"
            )
        self.received += len(part.data)
        if self.received > self.max_bytes:
            raise WireError(f"the message carries over {self.max_bytes / 2**20:g} MiB of tensors")
        if len(part.shape) > self.max_dims:
            dims = len(part.shape)
            raise WireError(f"{name}: shape has {dims} dimensions, more than {self.max_dims}")
        shape = tuple(int(s) for s in part.shape)
        if not shape or any(s < 1 for s in shape) or math.prod(shape) * _ELEMENT > self.max_bytes:
            raise WireError(f"{name}: shape {list(shape)} is not a shape it can carry")
        held = self._buffers.get(key)
        if held is None:
            if len(self._buffers) >= self.max_tensors:
                raise WireError(f"the message carries more than {self.max_tensors} tensors")
            held = (shape, bytearray())
            self._buffers[key] = held
        if held[0] != shape:
            raise WireError(f"{name}: parts disagree on its shape")
        if part.offset * _ELEMENT != len(held[1]):
            raise WireError(f"{name}: part at element {part.offset} is out of order")
        held[1].extend(part.data)
        if len(held[1]) > math.prod(shape) * _ELEMENT:
            raise WireError(f"{name}: more data than its shape {list(shape)} holds")

    def tensors(self) -> dict[tuple[str, int], Tensor]:
        """Every complete tensor by (key, role); raises if one is short."""
        out = {}
        for (key, role), (shape, data) in self._buffers.items():
            if len(data) != math.prod(shape) * _ELEMENT:
                raise WireError(f"tensor {key[:80]!r}: the stream ended before its last part")
            array = np.frombuffer(bytes(data), dtype="<f4").reshape(shape)
            out[(key, role)] = torch.from_numpy(array.astype(np.float32))
        return out
