"""A trial's connection to its experiment's shared-weights store: pull the child's tensors into
the network, push what the slice changed.

An unreachable store is retried with backoff for a bounded time, then the trial fails with one
line: it never falls back to training from scratch, which would feed the controller a reward
of another kind. Pull is retried on any transient error; Push only when the store did not take
the request (UNAVAILABLE), since a push applied twice would count twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
from torch import Tensor

from enas_trial.errors import TrialRuntimeError
from enas_trial.sharing.blocks import SharedTensor, block_shapes, load, snapshot
from katib_enas.core.errors import InvalidSharingError
from katib_enas.tensor_wire import Assembler, WireError, parts
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT_S = 120.0
_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 8 << 20),
    ("grpc.max_send_message_length", 8 << 20),
]


@dataclass(frozen=True)
class Pulled:
    """What a pull gave: the store's status, every block's starting value, the absent keys."""

    status: sw.StoreStatus
    start: dict[str, Tensor]
    absent: frozenset[str]


class StoreLink:
    def __init__(self, address: str, child: sw.Child, timeout_s: float) -> None:
        self.address = address
        self.child = child
        self.timeout_s = timeout_s
        self.channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
        self.stub = sw_grpc.SharedWeightsStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def pull(self, tensors: Sequence[SharedTensor]) -> Pulled:
        """Load the stored blocks into the child (absent ones keep their fresh init)."""
        shapes = block_shapes(tensors)
        request = sw.PullRequest(
            child=self.child,
            tensors=[sw.TensorSpec(key=k, shape=list(s)) for k, s in shapes.items()],
        )

        def call() -> tuple[sw.StoreStatus, dict[str, Tensor], set[str]]:
            assembler = Assembler(max_bytes=1 << 40)
            status, absent = None, set()
            for chunk in self.stub.Pull(request, timeout=CALL_TIMEOUT_S):
                body = chunk.WhichOneof("body")
                if body == "status":
                    status = chunk.status
                elif body == "absent":
                    absent.add(chunk.absent)
                elif body == "part":
                    assembler.add(chunk.part)
            if status is None:
                raise WireError("the store sent no status")
            values = {key: t for (key, _), t in assembler.tensors().items()}
            return status, values, absent

        status, values, absent = self._retrying("pull", call, _TRANSIENT)
        unexpected = (set(values) | absent) ^ set(shapes) | (set(values) & absent)
        if unexpected:
            raise TrialRuntimeError(
                f"shared weights at {self.address}: the store answered other tensors "
                f"({sorted(unexpected)[:3]})"
            )
        load(tensors, values)
        log.info(
            "shared weights: pulled %d of %d tensors (%d new) at version %d, step %d of %d",
            len(values),
            len(shapes),
            len(absent),
            status.version,
            status.global_step,
            status.schedule_steps,
        )
        return Pulled(status, snapshot(tensors), frozenset(absent))

    def push(self, tensors: Sequence[SharedTensor], pulled: Pulled, steps: int) -> sw.PushReply:
        """Send each block's change since the pull (and the start of blocks that were absent)."""
        now = snapshot(tensors)
        header = sw.PushHeader(child=self.child, base_version=pulled.status.version, steps=steps)

        def chunks() -> Iterator[sw.PushChunk]:
            yield sw.PushChunk(header=header)
            for key, value in now.items():
                for part in parts(key, value - pulled.start[key], sw.TensorPart.DELTA):
                    yield sw.PushChunk(part=part)
                if key in pulled.absent:
                    for part in parts(key, pulled.start[key], sw.TensorPart.INITIAL):
                        yield sw.PushChunk(part=part)

        reply = self._retrying(
            "push",
            lambda: self.stub.Push(chunks(), timeout=CALL_TIMEOUT_S),
            {grpc.StatusCode.UNAVAILABLE},
        )
        log.info(
            "shared weights: pushed %d tensors; store at version %d, step %d",
            reply.tensors,
            reply.status.version,
            reply.status.global_step,
        )
        return reply

    def _retrying(self, what: str, call: Callable[[], T], transient: set[grpc.StatusCode]) -> T:
        deadline = time.monotonic() + self.timeout_s
        pause = 0.5
        while True:
            try:
                return call()
            except grpc.RpcError as error:
                code = error.code()
                details = error.details() or code.name
                if code == grpc.StatusCode.INVALID_ARGUMENT:
                    raise InvalidSharingError(
                        f"shared weights at {self.address} refused the {what}: {details}"
                    ) from None
                left = deadline - time.monotonic()
                if code not in transient or left <= 0:
                    raise TrialRuntimeError(
                        f"shared weights at {self.address}: {what} failed ({code.name}: "
                        f"{details}) after {self.timeout_s:g} s; the trial does not train "
                        "from scratch instead"
                    ) from None
                log.warning(
                    "shared weights at %s: %s %s; retrying for %.0f more s",
                    self.address,
                    what,
                    code.name,
                    left,
                )
                time.sleep(min(pause, max(left, 0.0)))
                pause = min(pause * 2, 10.0)
            except WireError as error:
                raise TrialRuntimeError(f"shared weights at {self.address}: {error}") from None
