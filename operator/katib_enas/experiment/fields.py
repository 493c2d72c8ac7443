"""The error every Experiment check raises, and the small helpers that word it: each message
starts with the field's full path (`spec.trialTemplate.trialParameters[1].reference`), so the
user knows what to fix, and says who refuses when it is not Katib's webhook."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from katib_enas.core.errors import KatibEnasError


class InvalidExperimentError(KatibEnasError):
    """The Experiment YAML is malformed, or a field holds a value Katib (or we) would reject."""


def child(where: str, key: str | int) -> str:
    """The path of a field or list item below `where`: `spec.x`, `spec.list[2]`."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`; did you mean `x`?` for the closest known name, or nothing when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"; did you mean `{close[0]}`?" if close else ""


def stricter(where: str, problem: str, consequence: str) -> InvalidExperimentError:
    """An error for something Katib's webhook admits but that cannot work, saying so."""
    return InvalidExperimentError(f"{where}: {problem} (Katib accepts this, but {consequence})")


def mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidExperimentError(f"{where}: expected a mapping, got {got}")
    return value


def dig(value: object, *keys: str) -> Any:
    """`value[k1][k2]...`, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def items(value: object) -> list[Any]:
    """A list field's items (an absent or null list has none)."""
    return value if isinstance(value, list) else []
