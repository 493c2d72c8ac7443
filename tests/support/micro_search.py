"""A sequential micro search on a synthetic reward over both cells, for the learning test and the
benchmark: rewards that a learning controller raises and random search does not."""

from __future__ import annotations

from collections.abc import Callable

from katib_enas.core import strategies
from katib_enas.core.katib import Condition
from katib_enas.core.settings import parse_settings
from katib_enas.core.spaces.micro import MicroSpace
from katib_enas.core.spaces.micro.format import MicroArchitecture
from katib_enas.core.trials import TrialRecord
from katib_enas.experiment import Experiment

ACC = "Validation-Accuracy"


def cell_reward(space: MicroSpace) -> Callable[[MicroArchitecture], float]:
    """Half for 5x5 separable convolutions in the normal cell (1 of 5 operations), half for node
    inputs that are earlier nodes rather than the cell inputs, in both cells."""
    sep5 = {
        op.op_id
        for op in space.operations
        if op.op_type == "separable_convolution" and op.param_dict["filter_size"] == "5"
    }
    assert len(sep5) == 1

    def reward(architecture: MicroArchitecture) -> float:
        ops = [op for node in architecture.normal.nodes for op in node.ops]
        deep = [i >= 2 for cell in architecture.cells for node in cell.nodes for i in node.inputs]
        return 0.5 * sum(op in sep5 for op in ops) / len(ops) + 0.5 * sum(deep) / len(deep)

    return reward


def search(experiment: Experiment, strategy: str, seed: int, trials: int) -> list[float]:
    """The rewards of `trials` trials run one at a time, each learned before the next."""
    settings = parse_settings(
        [*experiment.algorithm.settings, ("seed", str(seed)), ("strategy", strategy)], "micro"
    )
    assert experiment.nas_config is not None
    chosen = strategies.build(experiment.nas_config, experiment.objective, settings)
    space = experiment.search_space()
    assert isinstance(space, MicroSpace)
    reward = cell_reward(space)
    done: list[TrialRecord] = []
    rewards: list[float] = []
    for i in range(trials):
        chosen.observe(done)
        architecture = chosen.suggest(1, i)[0]
        rewards.append(reward(architecture))
        done.append(
            TrialRecord(
                f"t{i:04d}",
                Condition.SUCCEEDED,
                chosen.assignments(architecture),
                {ACC: f"{rewards[-1]:.6f}"},
                f"{i:06d}",
            )
        )
    return rewards
