"""Network builders by search-space kind; see `base.py` for the contract. Adding a kind is one
subpackage beside `macro/` plus one line in `BUILDERS`."""

from __future__ import annotations

from collections.abc import Mapping

from enas_trial.builders.base import Builder, Plan
from enas_trial.builders.macro import MacroBuilder
from enas_trial.builders.micro import MicroBuilder
from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.spaces.assignment_json import decode_json

BUILDERS: Mapping[str, Builder] = {
    builder.kind: builder for builder in (MacroBuilder(), MicroBuilder())
}


def builder_for(nn_config: str) -> Builder:
    """The builder of the kind `nn_config` names (stock configs name none: macro)."""
    config = decode_json(nn_config, "nn_config")
    kind = config.get("kind", "macro") if isinstance(config, dict) else "macro"
    builder = BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise InvalidArchitectureError(
            f"nn_config.kind: unknown search-space kind {kind!r} (known: {', '.join(BUILDERS)})"
        )
    return builder


__all__ = ["BUILDERS", "Builder", "Plan", "builder_for"]
