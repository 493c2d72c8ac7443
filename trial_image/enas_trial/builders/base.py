"""The trial's network-builder seam: one builder per search-space kind.

`enas-trial` reads the kind from `nn_config` (`kind`; stock macro configs name none) and asks the
registered builder (`enas_trial.builders.BUILDERS`) for two things:

- `plan(architecture, nn_config)`: plain Python, no torch. It decodes the two assignments with
  the kind's format module in `katib_enas.core.spaces` (the one the suggestion service encodes
  with), checks that every layer fits, and works out the shapes. Bad input raises
  `InvalidArchitectureError` naming the field: the command then ends with one line and exit 2
  before paying for `import torch`.
- `build(plan, dropout)`: the `torch.nn.Module` that `enas_trial.training` trains; it maps
  (N, C, H, W) images of the plan's input shape to logits over `plan.num_classes`.

A plan also says, for the log, what was decoded (`describe`) and how big the child is; `modules`
names what `build` imports, so that the trial launcher (`enas_trial.forkserver`) has it
imported before it forks a trial. With weight sharing, `shared_tensors` says which supernet
tensors the built network's parameters are.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from katib_enas.core.errors import InvalidArchitectureError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from torch import nn

    from enas_trial.sharing.blocks import SharedTensor


class Plan(Protocol):
    """What training needs to know about a child before building it."""

    @property
    def in_channels(self) -> int: ...

    @property
    def in_size(self) -> tuple[int, int]: ...

    @property
    def num_classes(self) -> int: ...

    @property
    def depth(self) -> int:
        """Layers (macro) or cells (micro), for the log."""
        ...

    def parameter_count(self) -> int: ...

    def describe(self) -> list[str]:
        """The decoded architecture, one line per layer or node."""
        ...


class Builder(abc.ABC):
    """Plans and builds the child networks of one search-space kind."""

    kind: str
    modules: ClassVar[tuple[str, ...]] = ()  # imported by `build`: the launcher preloads them

    @abc.abstractmethod
    def plan(self, architecture: str, nn_config: str) -> Plan:
        """Decode and check the assignments; shapes of every layer (no torch)."""

    @abc.abstractmethod
    def build(self, plan: Any, dropout: float) -> nn.Module:
        """The network (imports torch)."""

    @abc.abstractmethod
    def shared_tensors(self, model: nn.Module, plan: Any) -> list[SharedTensor]:
        """Weight sharing: every trainable parameter of `model` (built from `plan`) as blocks
        of supernet tensors, keyed under the kind's `SpaceKind.shared_scopes`, each key once."""


def image_shape(input_sizes: Sequence[int]) -> tuple[int, int, int]:
    """(channels, height, width) from `nn_config.input_sizes`, given as [height, width, channels]
    (Keras order, as in Katib's examples) or [height, width] for one channel."""
    if len(input_sizes) == 3:
        return input_sizes[2], input_sizes[0], input_sizes[1]
    if len(input_sizes) == 2:
        return 1, input_sizes[0], input_sizes[1]
    raise InvalidArchitectureError(
        f"nn_config.input_sizes: expected [height, width, channels], got {list(input_sizes)}"
    )


def class_count(output_sizes: Sequence[int]) -> int:
    """The number of classes: the last of `nn_config.output_sizes`, at least 2."""
    num_classes = output_sizes[-1]
    if num_classes < 2:
        raise InvalidArchitectureError(
            f"nn_config.output_sizes: the last entry is the number of classes, got {num_classes}"
        )
    return num_classes
