"""What the controller learned, decision by decision: every update records each decision's
probabilities under the kind's own names (the report's heatmap), and they move towards what is
rewarded."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest
import torch
from space_samples import SAMPLES, parts

from katib_enas.core import strategies
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.settings import parse_settings
from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import Architecture
from katib_enas.core.strategies import ReinforceStrategy
from katib_enas.core.trials import TrialRecord

ACC = "Validation-Accuracy"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_update_names_each_decision_and_its_probabilities(kind: str) -> None:
    nas, objective, settings = parts(kind)
    settings = dataclasses.replace(settings, controller_batch_size=2)
    strategy = strategies.build(nas, objective, settings)
    generator = torch.Generator().manual_seed(0)
    trials = [
        TrialRecord(
            f"t{i}",
            Condition.SUCCEEDED,
            strategy.space.encode(strategy.space.sample_uniform(generator)),
            {objective.metric_name: str(0.1 * i)},
            f"2026-01-01T00:00:0{i}Z",
        )
        for i in range(4)
    ]
    history = strategy.observe(trials).history
    assert [u.number for u in history] == [1, 2]
    decisions = history[-1].decisions
    for decision in decisions:
        assert len(decision.probabilities) == len(decision.choices)
        assert math.isclose(sum(decision.probabilities), 1.0, abs_tol=1e-3), decision.label
    labels = [d.label for d in decisions]
    assert len(set(labels)) == len(labels)  # one heatmap row group per decision
    assert "decision 1" not in labels  # the kind names its decisions (not the generic names)
    if kind == "macro":
        layers = nas.graph.num_layers
        assert labels[:3] == [
            "layer 0: operation", "layer 1: operation", "layer 1: input from layer 0",
        ]  # fmt: skip
        assert len(labels) == layers + layers * (layers - 1) // 2
        assert decisions[0].choices[0] == "convolution 3x3, 32 filters, stride 1"
    elif kind == "micro":
        assert labels[:4] == [
            "normal node 2: input 1", "normal node 2: input 2",
            "normal node 2: operation 1", "normal node 2: operation 2",
        ]  # fmt: skip
        assert decisions[0].choices == ("cell k-2", "cell k-1")
        assert decisions[4].choices == ("cell k-2", "cell k-1", "node 2")
        assert labels[-1].startswith("reduction node ")


def test_the_rewarded_operation_gains_probability_across_updates(
    gpu_space: MacroSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    """Rewarding 5x5 convolutions (10 of 106 operations) raises their share of each layer's
    operation decision, from about 10/106 at the first update."""
    settings = parse_settings([("seed", "2"), ("controller_batch_size", "2")])
    strategy = ReinforceStrategy(gpu_space, Objective(ObjectiveType.MAXIMIZE, ACC), settings)
    good = [
        op.op_id
        for op in gpu_space.operations
        if op.op_type == "convolution" and op.param_dict["filter_size"] == "5"
    ]
    history = []
    done: list[TrialRecord] = []
    for i in range(60):  # a sequential experiment: each call learns the trial that just ended
        history.extend(strategy.observe(done).history)
        arch = strategy.suggest(1, i)[0]
        done.append(
            TrialRecord(
                f"t{i:04d}", Condition.SUCCEEDED, strategy.assignments(arch),
                {ACC: f"{five_by_five_share(arch):.6f}"}, f"2026-01-01T00:00:{i:02d}Z",
            )
        )  # fmt: skip

    def share(update: int) -> float:
        ops = [d for d in history[update].decisions if d.label.endswith(": operation")]
        return sum(sum(d.probabilities[i] for i in good) for d in ops) / len(ops)

    assert share(0) == pytest.approx(10 / 106, abs=0.03)
    assert share(-1) > 2 * share(0), (share(0), share(-1))  # measured: 0.094 -> 0.326
