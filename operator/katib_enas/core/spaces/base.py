"""The search-space seam: what a kind of search space (macro, micro...) must provide.

A kind is registered by name in `katib_enas.core.spaces.KINDS`; the algorithm setting
`search_space` picks it (default `macro`). Everything downstream is written against these two
classes, so adding a kind is one new subpackage plus one registry line:

- the service parses the experiment's `nasConfig` with `SpaceKind.parse` and hands the `Space`
  to a search strategy;
- a strategy samples through `Space.policy` (REINFORCE) or `Space.sample_uniform` (random
  search), and turns architectures into Katib assignments with `Space.encode`, and the
  assignments of finished trials back with `Space.decode`;
- the results describe any trial's assignments for people with `SpaceKind.describe`;
- the trial picks its network builder by the kind its `nn_config` names (`enas_trial.builders`).

Contract (the contract suite `tests/core/test_core_space_kinds.py` runs every registered kind):

- `parse` is pure and deterministic; bad input raises `InvalidSearchSpaceError` whose message
  names the field (`nasConfig.graphConfig.numLayers ...`). It is called once per experiment
  session, and again by `ValidateAlgorithmSettings`.
- `encode` returns exactly the assignments `architecture` and `nn_config` (Katib's trial
  templates reference those two), each JSON with `'` for `"`, free of spaces, `"`, `\\`, `$`
  and backticks, so that they survive Katib's template substitution and `sh -c`.
- `decode(encode(a)) == a` for every architecture the space can produce; `decode` of anything
  else raises `InvalidArchitectureError` (never another exception) naming what is wrong.
- `sample_uniform` and the policy's `sample` draw only from the given generator (reproducible).
- `describe` never raises: for assignments it cannot read it returns one line saying why, and
  `owns` tells whether assignments are of this kind at all.
- `shared_scopes` names supernet positions by kind, position and operation, never by anything
  a child's other choices change, so that every child using an operation at a position trains
  the same tensors.
- Importing the kind, `parse`, `encode`, `decode` and `describe` do not import torch: the trial
  checks its assignments with the same format code before it pays for `import torch`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from katib_enas.core.settings_schema import EnasSettings, Setting
from katib_enas.core.spaces.operations import NasConfig
from katib_enas.core.updates import Decision

if TYPE_CHECKING:  # torch only where a policy samples: the trial decodes before importing it
    import torch

    from katib_enas.core.policies import Policy, PolicyConfig

ARCHITECTURE = "architecture"
NN_CONFIG = "nn_config"
ASSIGNMENT_NAMES = (ARCHITECTURE, NN_CONFIG)

A = TypeVar("A")


class Space(abc.ABC, Generic[A]):
    """One experiment's parsed search space, over architectures of type `A`."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def policy(self, config: PolicyConfig, seed: int) -> Policy[A]:
        """A fresh controller over this space, its weights drawn from `seed`."""

    @abc.abstractmethod
    def sample_uniform(self, generator: torch.Generator) -> A:
        """One architecture with every decision uniform (the random-search baseline)."""

    @abc.abstractmethod
    def encode(self, architecture: A) -> dict[str, str]:
        """Katib's assignments (`architecture`, `nn_config`) for one architecture."""

    @abc.abstractmethod
    def decode(self, assignments: Mapping[str, str]) -> A:
        """The architecture a trial ran, checked against this space."""

    @abc.abstractmethod
    def summary(self) -> str:
        """A few words for logs and `katib-enas validate`: `8 layers x 106 operations`."""

    def decisions(self, distributions: Sequence[Any]) -> tuple[Decision, ...]:
        """The policy's per-decision probabilities (`PolicyTerms.distributions` as lists, in
        its walk's order) named for people; a kind overrides this with its own words."""
        named: list[Decision] = []
        for index, rows in enumerate(distributions, start=1):
            flat = rows if rows and not isinstance(rows[0], list) else None
            for row, values in enumerate([flat] if flat is not None else rows):
                label = f"decision {index}" + ("" if flat is not None else f".{row}")
                choices = tuple(str(c) for c in range(len(values)))
                named.append(Decision(label, choices, rounded(values)))
        return tuple(named)


class SpaceKind(abc.ABC):
    """A kind of search space: how to parse it and how to read its assignments."""

    name: ClassVar[str]
    # The settings only this kind reads (`parse`): accepted only when the Experiment's
    # `search_space` is this kind (`katib_enas.core.settings` checks).
    owned_settings: ClassVar[tuple[Setting, ...]] = ()

    @abc.abstractmethod
    def parse(self, nas: NasConfig, settings: EnasSettings) -> Space[Any]:
        """The space an experiment's `nasConfig` and settings describe."""

    @abc.abstractmethod
    def owns(self, assignments: Mapping[str, str]) -> bool:
        """Whether these assignments are of this kind (their `nn_config` says)."""

    @abc.abstractmethod
    def describe(self, assignments: Mapping[str, str]) -> list[str]:
        """The architecture as lines a person reads; never raises."""

    @abc.abstractmethod
    def shared_scopes(self, assignments: Mapping[str, str]) -> frozenset[str]:
        """Weight sharing: the key prefixes (`<kind>/<position>/<operation>/`) of the supernet
        tensors this child uses; the store accepts no other key from its trial, and the trial's
        builder names its tensors under them. Raises `InvalidArchitectureError` for assignments
        that do not decode."""


def rounded(values: Sequence[float]) -> tuple[float, ...]:
    """Probabilities kept to 4 decimals: a heatmap needs no more, and the history stays small."""
    return tuple(round(float(v), 4) for v in values)
