"""Search-space kinds, by the name the `search_space` algorithm setting gives them.

The contract every kind implements is in `base.py`; adding a kind is one subpackage beside
`macro/` plus one line in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from katib_enas.core.errors import InvalidSettingsError
from katib_enas.core.settings_schema import EnasSettings
from katib_enas.core.spaces.base import (
    ARCHITECTURE,
    ASSIGNMENT_NAMES,
    NN_CONFIG,
    Space,
    SpaceKind,
)
from katib_enas.core.spaces.macro import MacroKind
from katib_enas.core.spaces.micro import MicroKind
from katib_enas.core.spaces.operations import NasConfig

KINDS: Mapping[str, SpaceKind] = {kind.name: kind for kind in (MacroKind(), MicroKind())}
DEFAULT_KIND = "macro"


def space_kind(name: str) -> SpaceKind:
    kind = KINDS.get(name)
    if kind is None:
        raise InvalidSettingsError(
            f"algorithmSettings.search_space: unknown kind {name!r} (known: {', '.join(KINDS)})"
        )
    return kind


def parse_space(nas: NasConfig, settings: EnasSettings) -> Space[Any]:
    """The experiment's space, of the kind its settings name."""
    return space_kind(settings.search_space).parse(nas, settings)


def kind_of(assignments: Mapping[str, str]) -> SpaceKind | None:
    """The kind whose format these assignments are in (None: no kind reads them)."""
    return next((kind for kind in KINDS.values() if kind.owns(assignments)), None)


def describe(assignments: Mapping[str, str]) -> list[str]:
    """A trial's architecture for people, whatever its kind (empty without NAS assignments)."""
    if not all(name in assignments for name in ASSIGNMENT_NAMES):
        return []
    # Nothing owns an unreadable nn_config: the default kind says what is wrong with it.
    kind = kind_of(assignments) or KINDS[DEFAULT_KIND]
    return kind.describe(assignments)


__all__ = [
    "ARCHITECTURE",
    "ASSIGNMENT_NAMES",
    "DEFAULT_KIND",
    "KINDS",
    "NN_CONFIG",
    "Space",
    "SpaceKind",
    "describe",
    "kind_of",
    "parse_space",
    "space_kind",
]
