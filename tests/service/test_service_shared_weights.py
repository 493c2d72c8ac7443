"""The shared-weights store over real gRPC on the suggestion server's port: Katib's
assignments carry the store's address, trials' pulls and pushes (chunked, concurrent) all count,
bad pushes get INVALID_ARGUMENT and change nothing, and a restart keeps the weights."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import torch
from grpc_service import Running, connect
from shared_support import children, network, shared_experiment

from enas_trial.sharing.blocks import block_shapes, snapshot
from enas_trial.sharing.link import StoreLink
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.core.sharing.reference import reference_of
from katib_enas.tensor_wire import parts
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

DELTA, INITIAL = sw.TensorPart.DELTA, sw.TensorPart.INITIAL


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    service = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    (tmp_path / "state").mkdir()
    yield service
    service.channel.close()
    service.server.stop(0)


def stub(service: Running) -> Any:
    return sw_grpc.SharedWeightsStub(service.channel)


def link(service: Running, child: sw.Child) -> StoreLink:
    return StoreLink(f"127.0.0.1:{service.server.port}", child, timeout_s=10)


def test_assignments_carry_the_store_reference_only_with_weight_sharing(
    running: Running, repo_root: Path
) -> None:
    [child] = children(running, shared_experiment(), 1)
    reference = reference_of(child.nn_config)
    assert reference is not None
    assert reference.address == f"127.0.0.1:{running.server.port}"
    assert (reference.experiment, reference.slice_steps) == ("enas-digits-shared", 20)
    assert reference.schedule_steps == 40 * 20  # maxTrialCount x slice
    plain = shared_experiment(repo_root / "manifests/local/digits.yaml")
    [other] = children(running, plain, 1)
    assert reference_of(other.nn_config) is None and "shared" not in other.nn_config


def test_katib_address_names_the_suggestion_service(tmp_path: Path) -> None:
    service = connect(tmp_path)
    try:
        [child] = children(service, shared_experiment(), 1)
    finally:
        service.server.stop(0)
    reference = reference_of(child.nn_config)
    assert reference is not None
    assert reference.address.startswith("enas-digits-shared-enas-torch")
    assert reference.address.endswith(":6789")


def test_a_slice_pulled_and_pushed_is_what_the_next_child_pulls(running: Running) -> None:
    [child] = children(running, shared_experiment(), 1)
    first = network(child, seed=1)
    pulled = link(running, child).pull(first.tensors)
    assert pulled.absent == set(block_shapes(first.tensors))  # a fresh store
    with torch.no_grad():
        for p in first.model.parameters():
            p.add_(0.5)
    link(running, child).push(first.tensors, pulled, steps=20)
    second = network(child, seed=2)  # another initialisation, same architecture
    again = link(running, child).pull(second.tensors)
    assert again.absent == frozenset() and again.status.version == 1
    assert again.status.global_step == 20
    for key, value in snapshot(first.tensors).items():
        assert torch.equal(snapshot(second.tensors)[key], value), key


def test_concurrent_pushes_from_parallel_trials_all_count(running: Running) -> None:
    [child] = children(running, shared_experiment(), 1)
    base = network(child)
    with torch.no_grad():
        for p in base.model.parameters():
            p.zero_()
    start = link(running, child).pull(base.tensors)
    link(running, child).push(base.tensors, start, steps=0)  # the store holds zeros now

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def trial(number: int) -> None:
        try:
            net = network(child)
            connection = link(running, child)
            pulled = connection.pull(net.tensors)
            barrier.wait()
            with torch.no_grad():
                for p in net.model.parameters():
                    p.add_(float(number))
            connection.push(net.tensors, pulled, steps=1)
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=trial, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    final = network(child)
    status = link(running, child).pull(final.tensors).status
    assert (status.version, status.global_step) == (1 + 8, 8)
    for p in final.model.parameters():
        assert torch.all(p == 36.0)  # 1 + 2 + ... + 8, never only the last writer's 8


def test_a_tensor_over_4_mib_travels_in_chunks_to_a_default_client(running: Running) -> None:
    [child] = children(running, shared_experiment(), 1)
    key = "macro/head/weight/big"
    value = torch.arange(2_000_000, dtype=torch.float32)  # 8 MB
    header = sw.PushHeader(child=child, base_version=0, steps=0)
    chunks = [sw.PushChunk(header=header)]
    chunks += [sw.PushChunk(part=p) for p in parts(key, torch.zeros_like(value), DELTA)]
    chunks += [sw.PushChunk(part=p) for p in parts(key, value, INITIAL)]
    assert max(c.ByteSize() for c in chunks) < 1.1 * 2**20
    default = grpc.insecure_channel(f"127.0.0.1:{running.server.port}")  # 4 MiB limits
    try:
        reply = sw_grpc.SharedWeightsStub(default).Push(iter(chunks), timeout=60)
        assert reply.tensors == 1
        request = sw.PullRequest(child=child, tensors=[sw.TensorSpec(key=key, shape=[2_000_000])])
        pulled = list(sw_grpc.SharedWeightsStub(default).Pull(request, timeout=60))
    finally:
        default.close()
    data = b"".join(c.part.data for c in pulled if c.WhichOneof("body") == "part")
    assert torch.equal(torch.frombuffer(bytearray(data), dtype=torch.float32), value)


def _without_shared(child: sw.Child) -> sw.Child:
    config = from_katib_json(child.nn_config)
    config.pop("shared")
    return sw.Child(
        experiment=child.experiment,
        architecture=child.architecture,
        nn_config=to_katib_json(config),
    )


def _push(child: sw.Child, *pieces: sw.PushChunk, base: int = 0, steps: int = 1) -> list[Any]:
    return [
        sw.PushChunk(header=sw.PushHeader(child=child, base_version=base, steps=steps)),
        *pieces,
    ]


def _raw(key: str, shape: Any, data: bytes, offset: int = 0) -> sw.PushChunk:
    """A delta part as a broken client might send it."""
    part = sw.TensorPart(role=DELTA, key=key, shape=list(shape), offset=offset, data=data)
    return sw.PushChunk(part=part)


def _part(key: str, value: torch.Tensor, role: Any = DELTA) -> sw.PushChunk:
    [only] = list(parts(key, value, role))
    return sw.PushChunk(part=only)


BadPush = Callable[[sw.Child, str, tuple[int, ...]], list[Any]]
BAD_PUSHES: list[tuple[str, BadPush, str]] = [
    ("shape", lambda c, k, s: _push(c, _part(k, torch.zeros(3))), "differs from the stored"),
    ("nan", lambda c, k, s: _push(c, _part(k, torch.full(s, float("nan")))), "NaN or Inf"),
    ("inf", lambda c, k, s: _push(c, _part(k, torch.full(s, float("inf")))), "NaN or Inf"),
    (
        "not-float32",
        lambda c, k, s: _push(c, _raw(k, s, b"abc")),
        "float32",
    ),
    ("future", lambda c, k, s: _push(c, _part(k, torch.zeros(s)), base=99), "not a version"),
    (
        "no-sharing",
        lambda c, k, s: _push(_without_shared(c), _part(k, torch.zeros(s))),
        "shares no weights",
    ),
    (
        "other-experiment",
        lambda c, k, s: _push(
            sw.Child(experiment="intruder", architecture=c.architecture, nn_config=c.nn_config),
            _part(k, torch.zeros(s)),
        ),
        "child.experiment 'intruder' differs",
    ),
    (
        "not-its-architecture",
        lambda c, k, s: _push(c, _part("macro/layer9/op0/conv/in0x1", torch.zeros(1))),
        "not used by this architecture",
    ),
    (
        "bad-architecture",
        lambda c, k, s: _push(
            sw.Child(experiment=c.experiment, architecture="[[7]]", nn_config=c.nn_config),
            _part(k, torch.zeros(s)),
        ),
        "the child's architecture",
    ),
    (
        "oversize-part",
        lambda c, k, s: _push(c, _raw(k, [1 << 20], bytes(3 << 20))),
        "at most 2 MiB",
    ),
    ("empty-part", lambda c, k, s: _push(c, _raw(k, s, b"")), "at least 4 B"),
    ("nine-dims", lambda c, k, s: _push(c, _raw(k, [1] * 9, bytes(4))), "9 dimensions"),
    ("no-header", lambda c, k, s: [_part(k, torch.zeros(s))], "starts with its header"),
    ("out-of-order", lambda c, k, s: _push(c, _raw(k, s, bytes(4), 1)), "out of order"),
    (
        "short",
        lambda c, k, s: _push(c, _raw(k, s, bytes(4))),
        "ended before its last part",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("bad", "message"), [(b, m) for _, b, m in BAD_PUSHES],
                         ids=[name for name, _, _ in BAD_PUSHES])  # fmt: skip
def test_a_bad_push_gets_invalid_argument_naming_it_and_changes_nothing(
    running: Running, bad: BadPush, message: str
) -> None:
    [child] = children(running, shared_experiment(), 1)
    net = network(child)
    connection = link(running, child)
    connection.push(net.tensors, connection.pull(net.tensors), steps=0)
    before = snapshot(net.tensors)
    key, shape = next(iter(block_shapes(net.tensors).items()))
    with pytest.raises(grpc.RpcError) as info:
        stub(running).Push(iter(bad(child, key, shape)), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (info.value.details() or ""), info.value.details()
    fresh = network(child, seed=5)
    status = link(running, child).pull(fresh.tensors).status
    assert status.version == 1
    for k, value in snapshot(fresh.tensors).items():
        assert torch.equal(value, before[k]), k


def test_a_restarted_service_keeps_the_weights(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    first = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    try:
        [child] = children(first, shared_experiment(), 1)
        net = network(child, seed=3)
        connection = link(first, child)
        connection.push(net.tensors, connection.pull(net.tensors), steps=20)
    finally:
        first.server.stop(1)  # saves the store
    second = connect(tmp_path / "state")
    try:
        # A trial of the old service pulls before Katib calls the new one.
        again = network(child, seed=4)
        pulled = link(second, child).pull(again.tensors)
    finally:
        second.server.stop(0)
    assert (pulled.status.version, pulled.status.global_step) == (1, 20)
    assert pulled.absent == frozenset()
    assert all(torch.equal(v, snapshot(net.tensors)[k]) for k, v in pulled.start.items())


def test_without_a_volume_the_store_starts_fresh_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = connect(None, advertise="127.0.0.1:{port}")
    try:
        with caplog.at_level(logging.WARNING):
            [child] = children(service, shared_experiment(), 1)
            net = network(child)
            pulled = link(service, child).pull(net.tensors)
    finally:
        service.server.stop(0)
    assert pulled.status.version == 0
    assert "no state volume: shared weights start fresh" in caplog.text


def test_sample_draws_children_from_the_trained_controller(running: Running) -> None:
    experiment = shared_experiment()
    children(running, experiment, 2)
    reply = stub(running).Sample(sw.SampleRequest(experiment=experiment.name, count=3), timeout=30)
    assert len(reply.children) == 3
    assert all(reference_of(c.nn_config) is not None for c in reply.children)
    for request, message in (
        (sw.SampleRequest(experiment="nobody", count=1), "no controller in this service"),
        (sw.SampleRequest(experiment=experiment.name, count=0), "count must be in 1..1000"),
    ):
        with pytest.raises(grpc.RpcError) as info:
            stub(running).Sample(request, timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (info.value.details() or "")


def test_unknown_experiments_are_refused_and_a_dedicated_service_serves_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "state").mkdir()
    service = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    try:
        [child] = children(service, shared_experiment(), 1)
    finally:
        service.server.stop(0)
    # A restarted service without the experiment's checkpoint, as in a pod without a volume:
    monkeypatch.setenv("KATIB_ENAS_EXPERIMENT", "enas-digits-shared")
    dedicated = connect(tmp_path / "elsewhere", advertise="127.0.0.1:{port}")
    try:
        net = network(child)
        pulled = link(dedicated, child).pull(net.tensors)  # before Katib calls: fresh weights
        assert pulled.status.version == 0
        other = sw.Child(
            experiment="other",
            architecture=child.architecture,
            nn_config=child.nn_config.replace("enas-digits-shared", "other"),
        )
        with pytest.raises(grpc.RpcError) as info:
            list(stub(dedicated).Pull(sw.PullRequest(child=other), timeout=10))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "serves experiment 'enas-digits-shared'" in (info.value.details() or "")
    finally:
        dedicated.server.stop(0)
    monkeypatch.delenv("KATIB_ENAS_EXPERIMENT")
    shared = connect(tmp_path / "elsewhere", advertise="127.0.0.1:{port}")
    try:
        with pytest.raises(grpc.RpcError) as info:
            list(stub(shared).Pull(sw.PullRequest(child=child), timeout=10))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "'enas-digits-shared' is unknown here: no session" in (info.value.details() or "")
    finally:
        shared.server.stop(0)


def test_a_client_flooding_the_store_gets_its_share_and_others_still_get_theirs(
    running: Running,
) -> None:
    """Issue 23: concurrent store calls are admitted per client connection (2 each, 16 in all);
    a third concurrent push from one client is refused UNAVAILABLE at once (trials retry it, and
    it changed nothing), while another trial and Katib's GetSuggestions are answered."""
    [child] = children(running, shared_experiment(), 1)
    net = network(child)
    address = f"127.0.0.1:{running.server.port}"
    own = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    flooder = sw_grpc.SharedWeightsStub(own)
    release = threading.Event()

    def held() -> Iterator[sw.PushChunk]:
        yield sw.PushChunk(header=sw.PushHeader(child=child, base_version=0, steps=0))
        release.wait(30)  # a push that holds its slot until the test lets it end

    pending = [flooder.Push.future(held(), timeout=60) for _ in range(2)]
    try:
        refused: grpc.RpcError | None = None
        deadline = time.monotonic() + 10
        while refused is None and time.monotonic() < deadline:
            # A held push that arrived while a probe held a slot was itself refused: send it
            # again, so that a probe is refused only once both held pushes hold their slots.
            pending = [f if not f.done() else flooder.Push.future(held(), timeout=60)
                       for f in pending]  # fmt: skip
            time.sleep(0.05)
            try:  # admitted until the two held pushes have taken their slots
                flooder.Push(iter(_push(child, steps=0)), timeout=10)
            except grpc.RpcError as error:
                refused = error
        assert refused is not None and refused.code() == grpc.StatusCode.UNAVAILABLE
        assert "busy" in (refused.details() or "")
        # Another client still pulls and pushes, and Katib is still answered.
        other = link(running, child)
        other.push(net.tensors, other.pull(net.tensors), steps=1)
        assert len(children(running, shared_experiment(), 2)) == 2
    finally:
        release.set()
        for future in pending:
            future.result(timeout=30)
        own.close()
