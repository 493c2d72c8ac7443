"""The `katib_enas.v1.SharedWeights` servicer: the stores' Pull, Push and Sample over gRPC, on the
suggestion server's port. Chunks are checked and assembled (`tensor_wire`), then the store's
rules apply (`core.sharing.store`); errors map as `guard` says, and a bad push changes nothing.
Every call first takes a slot (`admission`), so that trials never starve Katib's calls or each
other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import TypeVar

import grpc
from torch import Tensor

from katib_enas.core.errors import InvalidSharingError, KatibEnasError
from katib_enas.core.sharing.reference import StoreReference, reference_of
from katib_enas.core.sharing.store import SharedStore, StoreStatus, Update
from katib_enas.core.spaces import ARCHITECTURE, NN_CONFIG, kind_of
from katib_enas.service import limits
from katib_enas.service.admission import Admission
from katib_enas.service.guard import guarded
from katib_enas.service.limits import check_count, check_text
from katib_enas.service.metrics import ServiceMetrics
from katib_enas.service.sessions import Sessions
from katib_enas.service.stores import Stores
from katib_enas.tensor_wire import Assembler, WireError, parts
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

log = logging.getLogger(__name__)
R = TypeVar("R")

MAX_SAMPLE = 1000
SAMPLE_KEY = -2  # its own stream of draws: sampling never shifts what Katib is suggested
DELTA, INITIAL = sw.TensorPart.DELTA, sw.TensorPart.INITIAL


class SharedWeightsServicer(sw_grpc.SharedWeightsServicer):
    def __init__(
        self,
        metrics: ServiceMetrics,
        sessions: Sessions,
        stores: Stores,
        admission: Admission | None = None,
    ) -> None:
        self.metrics = metrics
        self.sessions = sessions
        self.stores = stores
        self.admission = admission or Admission()

    def Pull(  # noqa: N802 (gRPC method name)
        self, request: sw.PullRequest, context: grpc.ServicerContext
    ) -> Iterator[sw.PullChunk]:
        # Everything is checked and copied before the first chunk goes out: a stream that has
        # started cannot turn into INVALID_ARGUMENT. The slot is held until the last chunk.
        with ExitStack() as slot:

            def pull() -> list[sw.PullChunk]:
                slot.enter_context(self.admission.admit(context.peer()))
                return self._pull(request)

            chunks = guarded(self.metrics, "Pull", context, pull)
            for chunk in chunks:
                self.admission.yield_to_katib()
                yield chunk

    def Push(  # noqa: N802 (gRPC method name)
        self, request_iterator: Iterator[sw.PushChunk], context: grpc.ServicerContext
    ) -> sw.PushReply:
        return guarded(
            self.metrics,
            "Push",
            context,
            self._admitted(context, lambda: self._push(request_iterator)),
        )

    def Sample(  # noqa: N802 (gRPC method name)
        self, request: sw.SampleRequest, context: grpc.ServicerContext
    ) -> sw.SampleReply:
        return guarded(
            self.metrics, "Sample", context, self._admitted(context, lambda: self._sample(request))
        )

    def _admitted(self, context: grpc.ServicerContext, body: Callable[[], R]) -> Callable[[], R]:
        """`body`, run holding a slot of the client's (refused at once when none is free)."""

        def run() -> R:
            with self.admission.admit(context.peer()):
                return body()

        return run

    def _pull(self, request: sw.PullRequest) -> list[sw.PullChunk]:
        self.admission.yield_to_katib()
        store, scopes = self._open(request.child)
        check_count("tensors", request.tensors, limits.MAX_TENSORS)
        for t in request.tensors:
            check_text("tensors[].key", t.key, limits.MAX_NAME_CHARS)
            check_count(f"tensor {t.key!r}: shape", t.shape, limits.MAX_DIMS)
        wanted = [(t.key, tuple(int(s) for s in t.shape)) for t in request.tensors]
        status, found = store.pull(wanted, scopes)
        chunks = [sw.PullChunk(status=_status(status))]
        sent = 0
        for key, tensor in found.items():
            self.admission.yield_to_katib()
            if tensor is None:
                chunks.append(sw.PullChunk(absent=key))
                continue
            sent += tensor.numel() * 4
            chunks.extend(sw.PullChunk(part=part) for part in parts(key, tensor))
        self.metrics.record_transfer(store.experiment, "pull", sent)
        return chunks

    def _push(self, chunks: Iterator[sw.PushChunk]) -> sw.PushReply:
        first = next(chunks, None)
        if first is None or first.WhichOneof("body") != "header":
            raise InvalidSharingError("a push starts with its header (child, base_version, steps)")
        header = first.header
        store, scopes = self._open(header.child)
        assembler = Assembler(
            max_bytes=2 * store.max_bytes, max_tensors=limits.MAX_TENSORS, max_dims=limits.MAX_DIMS
        )
        try:
            for chunk in chunks:
                self.admission.yield_to_katib()
                if chunk.WhichOneof("body") != "part":
                    raise InvalidSharingError("a push has one header, then tensor parts")
                if chunk.part.role not in (DELTA, INITIAL):
                    raise InvalidSharingError(f"tensor {chunk.part.key!r}: a push sends deltas")
                assembler.add(chunk.part)
            self.admission.yield_to_katib()
            received = assembler.tensors()
        except WireError as error:
            raise InvalidSharingError(str(error)) from None
        updates = _updates(received)
        self.admission.yield_to_katib()
        status = store.push(int(header.base_version), int(header.steps), updates, scopes)
        self.metrics.record_transfer(store.experiment, "push", assembler.received)
        self.metrics.record_store(store)
        self.stores.after_push(store.experiment)
        return sw.PushReply(status=_status(status), tensors=len(updates))

    def _sample(self, request: sw.SampleRequest) -> sw.SampleReply:
        if not 1 <= request.count <= MAX_SAMPLE:
            raise InvalidSharingError(f"count must be in 1..{MAX_SAMPLE}, got {request.count}")
        check_text("experiment", request.experiment, limits.MAX_NAME_CHARS)
        session = self.sessions.latest(request.experiment)
        with session.lock:
            architectures = session.strategy.suggest(int(request.count), SAMPLE_KEY)
            assignments = [session.assignments(a) for a in architectures]
        return sw.SampleReply(
            children=[
                sw.Child(
                    experiment=request.experiment,
                    architecture=a[ARCHITECTURE],
                    nn_config=a[NN_CONFIG],
                )
                for a in assignments
            ]
        )

    def _open(self, child: sw.Child) -> tuple[SharedStore, frozenset[str]]:
        """The child's store and the scopes its architecture may touch."""
        reference = _reference(child)
        assignments = {ARCHITECTURE: child.architecture, NN_CONFIG: child.nn_config}
        kind = kind_of(assignments)
        if kind is None:
            raise InvalidSharingError("nn_config: no search-space kind reads it")
        try:
            scopes = kind.shared_scopes(assignments)
        except KatibEnasError as error:
            raise InvalidSharingError(f"the child's architecture: {error}") from None
        known = self.sessions.knows(reference.experiment)
        return self.stores.open(reference, known=known), scopes


def _reference(child: sw.Child) -> StoreReference:
    if not child.experiment:
        raise InvalidSharingError("child.experiment is missing")
    check_text("child.experiment", child.experiment, limits.MAX_NAME_CHARS)
    check_text("child.architecture", child.architecture, limits.MAX_ASSIGNMENT_CHARS)
    check_text("child.nn_config", child.nn_config, limits.MAX_ASSIGNMENT_CHARS)
    reference = reference_of(child.nn_config)
    if reference is None:
        raise InvalidSharingError(
            f"experiment {child.experiment!r} shares no weights: its nn_config has no 'shared' "
            "entry (set the algorithm setting weight_sharing: true)"
        )
    if reference.experiment != child.experiment:
        raise InvalidSharingError(
            f"child.experiment {child.experiment!r} differs from its nn_config's "
            f"{reference.experiment!r}"
        )
    return reference


def _updates(received: dict[tuple[str, int], Tensor]) -> Sequence[Update]:
    initial = {key: t for (key, role), t in received.items() if role == INITIAL}
    updates = []
    for (key, role), delta in received.items():
        if role == DELTA:
            updates.append(Update(key, delta, initial.pop(key, None)))
    if initial:
        raise InvalidSharingError(f"tensor {next(iter(initial))!r}: an initial value, no delta")
    return updates


def _status(status: StoreStatus) -> sw.StoreStatus:
    return sw.StoreStatus(
        version=status.version,
        global_step=status.global_step,
        schedule_steps=status.schedule_steps,
        slice_steps=status.slice_steps,
    )
