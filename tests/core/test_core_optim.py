"""Our optimizers make torch.optim's updates (compared step by step); the schedule is a cosine."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from katib_enas.optim import Adam, NesterovSGD, cosine


@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.9, 2.5e-4), (0.0, 0.0), (0.5, 0.1)])
def test_updates_match_torch_sgd_step_by_step(momentum: float, weight_decay: float) -> None:
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    theirs.load_state_dict(ours.state_dict())
    optimizer = NesterovSGD(ours.parameters(), momentum=momentum, weight_decay=weight_decay)
    reference = torch.optim.SGD(
        theirs.parameters(),
        lr=0.1,
        momentum=momentum,
        nesterov=momentum > 0,
        weight_decay=weight_decay,
    )
    for step in range(5):
        lr = cosine(0.1, step, 5)
        for group in reference.param_groups:
            group["lr"] = lr
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        for model, opt in ((ours, optimizer), (theirs, reference)):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
        optimizer.step(lr)
        reference.step()
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(a, b)


def test_cosine_starts_at_the_peak_and_ends_at_zero() -> None:
    assert cosine(0.05, 0, 100) == pytest.approx(0.05)
    assert cosine(0.05, 50, 100) == pytest.approx(0.025)
    assert cosine(0.05, 100, 100) == pytest.approx(0.0)
    values = [cosine(0.05, s, 100) for s in range(101)]
    assert values == sorted(values, reverse=True)


def _twins() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


@pytest.mark.parametrize(("betas", "eps"), [((0.0, 0.999), 1e-3), ((0.9, 0.999), 1e-8)])
def test_adam_matches_torch_adam_bit_for_bit_including_unused_parameters(
    betas: tuple[float, float], eps: float
) -> None:
    ours, theirs = _twins()
    optimizer = Adam(ours.parameters(), lr=0.02, betas=betas, eps=eps)
    reference = torch.optim.Adam(theirs.parameters(), lr=0.02, betas=betas, eps=eps)
    for step in range(6):
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        for model, opt in ((ours, optimizer), (theirs, reference)):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
            if step % 2:  # the last layer's bias has no gradient on odd steps: skipped
                model[2].bias.grad = None
        optimizer.step()
        reference.step()
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            assert torch.equal(a, b)


def test_adam_state_round_trips_and_refuses_a_foreign_state() -> None:
    ours, _ = _twins()
    optimizer = Adam(ours.parameters(), lr=0.1)
    F.cross_entropy(ours(torch.randn(4, 6)), torch.tensor([0, 1, 2, 0])).backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    restored = Adam(ours.parameters(), lr=0.1)
    restored.load_state_dict(optimizer.state_dict())
    assert restored.steps == optimizer.steps
    for index, tensor in optimizer.exp_avg_sq.items():
        assert torch.equal(restored.exp_avg_sq[index], tensor)
    other = Adam(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="does not fit"):
        other.load_state_dict(optimizer.state_dict())
