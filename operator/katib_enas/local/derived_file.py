"""`derived.json` (written by `katib-enas derive`) read for people: each entry's rank, score and
layers, whatever else a version of `derive` adds.

The summary and the report show the ranking; they must not break when `derive` gains fields or
scores differently, so every field is optional here and an unreadable file is "no ranking"
(`retrain --derived` reads the file strictly, in `analysis.selection`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.spaces import describe
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG

# The score's key, best first: a generic `score`, then any accuracy `derive` reports.
_SCORE_KEYS = (
    "score",
    "retrain_validation_accuracy",  # derive --retrain-top: what its top candidates rank by
    "fine_tuned_accuracy",
    "shared_validation_accuracy",
)


@dataclass(frozen=True)
class DerivedEntry:
    """One ranked architecture of `derived.json`."""

    rank: int
    score: float | None
    score_name: str  # the key the score came from ('' without one)
    layers: tuple[str, ...]


def read_derived(path: Path) -> list[DerivedEntry]:
    """The ranking in `path`, best first; empty when there is none or it cannot be read."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = document.get("derived") if isinstance(document, dict) else None
    found = [_entry(e) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    return sorted((e for e in found if e is not None), key=lambda e: e.rank)


def _entry(raw: dict[str, Any]) -> DerivedEntry | None:
    rank = raw.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool):
        return None
    name, score = _score(raw)
    layers = raw.get("layers")
    if isinstance(layers, list) and all(isinstance(x, str) for x in layers):
        words = tuple(layers)
    else:
        words = _described(raw)
    return DerivedEntry(rank, score, name, words)


def _score(raw: dict[str, Any]) -> tuple[str, float | None]:
    keys = [*_SCORE_KEYS, *sorted(k for k in raw if "accuracy" in k and k not in _SCORE_KEYS)]
    for key in keys:
        value = raw.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return key, float(value)
    return "", None


def _described(raw: dict[str, Any]) -> tuple[str, ...]:
    assignments = {k: raw[k] for k in (ARCHITECTURE, NN_CONFIG) if isinstance(raw.get(k), str)}
    try:
        return tuple(describe(assignments))
    except KatibEnasError:
        return ()
