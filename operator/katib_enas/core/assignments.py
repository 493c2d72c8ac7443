"""Assignments as a retrain or an export needs them: the child alone, without search-time extras.

With weight sharing the suggestion service adds a `shared` key to `nn_config` (where the shared
weights live and how long a slice trains); a trial given it trains a slice of shared weights
instead of a child from scratch. Retraining and exporting must build the child from scratch
with the full schedule, so they drop that key first.
"""

from __future__ import annotations

import json

from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.core.sharing.reference import SHARED


def strip_sharing(nn_config: str) -> str:
    """`nn_config` without its `shared` key, in Katib's quoting; unchanged when it has none."""
    try:
        config = from_katib_json(nn_config)
    except json.JSONDecodeError as error:
        raise InvalidArchitectureError(
            f"nn_config: not valid JSON ({error.msg} at {error.pos})"
        ) from None
    if not isinstance(config, dict) or SHARED not in config:
        return nn_config
    return to_katib_json({key: value for key, value in config.items() if key != SHARED})
