"""How an algorithm setting is declared and parsed, and the typed values of all of them.

Each setting is declared by the one part of the algorithm that reads it (`Setting`): a space kind
(`SpaceKind.owned_settings`), a strategy (`SearchStrategy.owned_settings`), the reward shaping
(`katib_enas.core.rewards`), weight sharing (`katib_enas.core.sharing.settings`) or the service
itself (`katib_enas.core.settings`), which collects them all and checks an Experiment's settings
against its space kind and strategy. This module sits below all of them, so that each can declare
its settings and read `EnasSettings` without importing the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from katib_enas.core.errors import InvalidSettingsError

NONE = "None"


@dataclass(frozen=True)
class Rule:
    """What text a setting accepts."""

    kind: type  # int, float, bool or str
    low: float | None = None  # None: no lower bound
    high: float | None = None
    low_open: bool = False  # True: value must be > low (else >= low)
    none_ok: bool = False  # the literal "None" switches the feature off
    choices: tuple[str, ...] = ()
    high_open: bool = False  # True: value must be < high (else <= high)
    names: bool = False  # a registry's name, checked by the registry (`spaces`, `strategies`)
    or_number: bool = False  # str rules: a number is accepted besides the choices


@dataclass(frozen=True)
class Setting:
    """One algorithm setting, declared by its owner."""

    name: str
    rule: Rule
    default: object  # ours, as parsed
    doc: str  # meaning, unit, range: the docs' settings table shows it
    stock: str | None = None  # Katib's stock `enas` default; None: ours only

    @property
    def doc_line(self) -> str:
        return " ".join(self.doc.split())


@dataclass(frozen=True)
class EnasSettings:
    """The parsed value of every setting, one typed attribute each (`parse_settings` builds it;
    the declarations say what each means). The field order is part of the controller checkpoint's
    fingerprint (`strategies.reinforce`): a new setting goes at the end."""

    controller_hidden_size: int
    controller_temperature: float | None
    controller_tanh_const: float | None
    controller_entropy_weight: float | None
    controller_baseline_decay: float
    controller_learning_rate: float
    controller_skip_target: float
    controller_skip_weight: float | None
    controller_train_steps: int
    controller_batch_size: int
    controller_log_every_steps: int
    controller_grad_bound: float | None
    failed_trial_reward: str
    seed: int
    search_space: str
    num_nodes: int
    init_channels: int
    stem_multiplier: int
    strategy: str
    weight_sharing: bool
    shared_slice_steps: int
    shared_schedule_steps: int
    skip_rule: str
    shared_restart_steps: int
    shared_restart_mult: int
    shared_lr_floor: float
    shared_store_mib: int


def parse_value(name: str, text: str, rule: Rule) -> object:
    """`text` as `rule` reads it; `InvalidSettingsError` naming the setting otherwise."""
    where = f"algorithmSettings.{name}"
    if rule.none_ok and text == NONE:
        return None
    if rule.kind is bool:
        if text.lower() not in ("true", "false"):
            raise InvalidSettingsError(f"{where}: {_shown(text)} is not true or false")
        return text.lower() == "true"
    if rule.names:
        if not text:
            raise InvalidSettingsError(f"{where}: must not be empty")
        return text
    if rule.kind is str:
        if text in rule.choices:
            return text
        if not rule.or_number:
            raise InvalidSettingsError(
                f"{where}: {_shown(text)} must be one of {', '.join(rule.choices)}"
            )
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise InvalidSettingsError(
                f"{where}: {text!r} must be one of {', '.join(rule.choices)} or a number"
            )
        return text
    value = _number(where, text, rule)
    low_bad = rule.low is not None and (value <= rule.low if rule.low_open else value < rule.low)
    high_bad = rule.high is not None and (
        value >= rule.high if rule.high_open else value > rule.high
    )
    if low_bad or high_bad:
        raise InvalidSettingsError(f"{where}: {_shown(text)} is out of range ({_describe(rule)})")
    return value


def _number(where: str, text: str, rule: Rule) -> int | float:
    """`text` as the rule's kind. Integers stay Python ints (compared exactly, however large:
    `math.isfinite` on a 400-digit int overflows); floats must be finite."""
    try:
        value: int | float = int(text) if rule.kind is int else float(text)
    except ValueError:
        kind = "an integer" if rule.kind is int else "a number"
        extra = ' or "None"' if rule.none_ok else ""
        raise InvalidSettingsError(f"{where}: {_shown(text)} is not {kind}{extra}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidSettingsError(f"{where}: {_shown(text)} is not a finite number")
    return value


def _shown(text: str) -> str:
    """The value as a message shows it: quoted, and cut when it is very long."""
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _describe(rule: Rule) -> str:
    parts = []
    if rule.low is not None:
        parts.append(f"{'>' if rule.low_open else '>='} {rule.low:g}")
    if rule.high is not None:
        parts.append(f"{'<' if rule.high_open else '<='} {rule.high:g}")
    return " and ".join(parts)
