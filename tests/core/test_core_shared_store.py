"""The shared-weights store's rules (`core.sharing.store`): deltas from parallel trials all
count, a bad push changes nothing, the state round-trips."""

from __future__ import annotations

import threading

import pytest
import torch

from katib_enas.core.errors import InvalidSharingError
from katib_enas.core.sharing.store import SharedStore, Update

SCOPES = frozenset({"macro/layer0/op1/", "macro/head/"})
KEY = "macro/layer0/op1/conv/in0x1"


def store(**kw: int) -> SharedStore:
    return SharedStore("exp", kw.get("slice", 10), 100, kw.get("max_bytes", 1 << 20))


def test_a_first_push_creates_from_its_initial_value_and_later_ones_add() -> None:
    s = store()
    status, found = s.pull([(KEY, (2, 3))], SCOPES)
    assert found == {KEY: None} and status.version == 0
    start = torch.ones(2, 3)
    s.push(0, 10, [Update(KEY, torch.full((2, 3), 0.5), start)], SCOPES)
    # A second trial pulled before the first pushed: its tensor was absent too.
    s.push(0, 10, [Update(KEY, torch.full((2, 3), 0.25), torch.zeros(2, 3))], SCOPES)
    status, found = s.pull([(KEY, (2, 3))], SCOPES)
    value = found[KEY]
    assert value is not None and torch.equal(value, torch.full((2, 3), 1.75))
    assert (status.version, status.global_step) == (2, 20)


def test_concurrent_pushes_all_count_never_last_writer_wins() -> None:
    s = store(slice=1)
    s.push(0, 0, [Update(KEY, torch.zeros(64), torch.zeros(64))], SCOPES)
    barrier = threading.Barrier(16)

    def trial(number: int) -> None:
        barrier.wait()
        for _ in range(25):
            s.push(1, 1, [Update(KEY, torch.full((64,), float(number)))], SCOPES)

    threads = [threading.Thread(target=trial, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, found = s.pull([(KEY, (64,))], SCOPES)
    assert torch.equal(found[KEY], torch.full((64,), 25.0 * sum(range(16))))  # type: ignore[arg-type]
    assert s.version == 1 + 16 * 25 and s.global_step == 16 * 25


@pytest.mark.parametrize(
    ("base", "steps", "updates", "message"),
    [
        (0, 1, [Update("macro/layer3/op0/conv/in0x1", torch.zeros(2, 3))], "not used by this"),
        (0, 1, [Update("macro/layer0/op1/a b\n", torch.zeros(2, 3))], "not a supernet key"),
        (0, 1, [Update(KEY, torch.zeros(3, 2))], "differs from the stored"),
        (0, 1, [Update(KEY, torch.full((2, 3), float("nan")))], "NaN or Inf"),
        (0, 1, [Update(KEY, torch.zeros(2, 3, dtype=torch.float64))], "float32"),
        (5, 1, [Update(KEY, torch.zeros(2, 3))], "base_version 5 is not a version"),
        (0, 11, [Update(KEY, torch.zeros(2, 3))], "steps 11 outside the slice"),
        (0, 1, [Update(KEY, torch.zeros(2, 3)), Update(KEY, torch.zeros(2, 3))], "twice"),
        (0, 1, [Update("macro/head/new", torch.zeros(2))], "must carry its initial value"),
        (
            0,
            1,
            [Update("macro/head/big", torch.zeros(300_000), torch.zeros(300_000))],
            "over shared_store_mib",
        ),
    ],
    ids=["other-scope", "bad-key", "shape", "nan", "dtype", "future", "steps", "twice",
         "no-initial", "over-cap"],
)  # fmt: skip
def test_a_bad_push_is_refused_whole_and_changes_nothing(
    base: int, steps: int, updates: list[Update], message: str
) -> None:
    s = store()
    s.push(0, 1, [Update(KEY, torch.zeros(2, 3), torch.ones(2, 3))], SCOPES)
    before = s.state_dict()
    good = Update("macro/head/bias", torch.ones(2), torch.zeros(2))  # would be valid alone
    with pytest.raises(InvalidSharingError, match=message):
        s.push(base, steps, [good, *updates], SCOPES)
    after = s.state_dict()
    assert after["version"] == before["version"] == 1 and after["global_step"] == 1
    assert after["tensors"].keys() == before["tensors"].keys() == {KEY}
    assert torch.equal(after["tensors"][KEY], before["tensors"][KEY])


def test_pull_refuses_keys_outside_the_architecture_and_wrong_shapes() -> None:
    s = store()
    s.push(0, 1, [Update(KEY, torch.zeros(2, 3), torch.ones(2, 3))], SCOPES)
    with pytest.raises(InvalidSharingError, match="not used by this architecture"):
        s.pull([("macro/layer1/op1/conv/in0x1", (2, 3))], SCOPES)
    with pytest.raises(InvalidSharingError, match="differs from the stored"):
        s.pull([(KEY, (6,))], SCOPES)


def test_state_round_trips_and_a_foreign_checkpoint_is_refused() -> None:
    s = store()
    s.push(0, 7, [Update(KEY, torch.full((2, 3), 2.0), torch.ones(2, 3))], SCOPES)
    again = store()
    again.load_state_dict(s.state_dict())
    assert (again.version, again.global_step) == (1, 7)
    assert torch.equal(again.tensors[KEY], torch.full((2, 3), 3.0))
    other = SharedStore("another", 10, 100, 1 << 20)
    with pytest.raises(InvalidSharingError, match="not a shared-weights checkpoint"):
        other.load_state_dict(s.state_dict())
    assert other.tensors == {}
