"""ENAS algorithm settings: every owner's declarations collected, parsed once from Katib's
`algorithm.algorithmSettings` into `EnasSettings`, and checked against the Experiment's space kind
and strategy.

Each setting is declared (name, rule, default, meaning) by what reads it:

- the service, here: `seed`, `search_space` and `strategy`, for every Experiment;
- weight sharing (`katib_enas.core.sharing.settings`), for every Experiment;
- each space kind (`SpaceKind.owned_settings`): only when `search_space` names that kind, so the
  micro-only `num_nodes` is refused for a macro space instead of silently ignored;
- each strategy (`SearchStrategy.owned_settings`): only when `strategy` names it. Katib's ten
  stock `enas` settings are the exception: Katib's UI pre-fills them for every `enas` Experiment
  and the random baseline is "the same Experiment with `strategy: random`", so every strategy
  accepts them and one that does not own them ignores them.

Where our defaults differ from Katib's stock ones it is because the stock values come from a
language-model controller trained for tens of thousands of steps; a Katib experiment gives the
controller a few hundred trials, one reward each, so it needs a larger step and a faster baseline.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from katib_enas.core.errors import InvalidSettingsError
from katib_enas.core.settings_schema import NONE, EnasSettings, Rule, Setting, parse_value
from katib_enas.core.sharing.settings import SETTINGS as SHARING_SETTINGS
from katib_enas.core.spaces import DEFAULT_KIND, KINDS
from katib_enas.core.strategies import STRATEGIES

SERVICE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "seed",
        Rule(int, -1, 2**31 - 1),
        -1,
        """Seed of every random choice (ours). -1: derived from the experiment name, and echoed
        back to Katib so that a restarted service uses the same one. int >= -1.""",
    ),
    Setting(
        "search_space",
        Rule(str, names=True),  # the registry checks the name (`katib_enas.core.spaces`)
        DEFAULT_KIND,
        """The kind of search space `nasConfig` describes (ours): `macro` - one operation per
        layer plus skip connections, Katib's stock `enas` format; `micro` - ENAS's normal and
        reduction cells, stacked `numLayers` times (see "Micro search space").""",
    ),
    Setting(
        "strategy",
        Rule(str, names=True),  # the registry checks the name (`katib_enas.core.strategies`)
        "reinforce",
        """How architectures are chosen (ours): `reinforce` - the ENAS controller trained with
        REINFORCE; `random` - uniformly at random, learning nothing (the baseline to compare
        with, at the same budget).""",
    ),
)

SPACE, STRATEGY = "search space", "strategy"


@dataclass(frozen=True)
class Owner:
    """Who declares a setting: `service` and `weight sharing` (every Experiment), or one
    space kind or strategy by name."""

    role: str  # "service", "weight sharing", SPACE or STRATEGY
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} {self.role}" if self.name else self.role


@dataclass(frozen=True)
class Declared:
    setting: Setting
    owners: tuple[Owner, ...]


def _catalogue() -> dict[str, Declared]:
    groups: list[tuple[Owner, Sequence[Setting]]] = [
        (Owner("service"), SERVICE_SETTINGS),
        *((Owner(STRATEGY, name), s.owned_settings) for name, s in STRATEGIES.items()),
        *((Owner(SPACE, name), kind.owned_settings) for name, kind in KINDS.items()),
        (Owner("weight sharing"), SHARING_SETTINGS),
    ]
    found: dict[str, Declared] = {}
    for owner, settings in groups:
        for setting in settings:
            seen = found.get(setting.name)
            if seen is not None and seen.setting != setting:
                raise AssertionError(f"setting {setting.name!r} declared twice, differently")
            owners = (*seen.owners, owner) if seen else (owner,)
            found[setting.name] = Declared(setting, owners)
    return found


CATALOGUE: Mapping[str, Declared] = _catalogue()
RULES: Mapping[str, Rule] = {name: d.setting.rule for name, d in CATALOGUE.items()}
STOCK_DEFAULTS: Mapping[str, str] = {
    name: d.setting.stock for name, d in CATALOGUE.items() if d.setting.stock is not None
}

# Settings that this service writes into `GetSuggestionsReply.algorithm`; Katib echoes them back.
ECHOED = ("seed",)


def parse_settings(raw: Iterable[tuple[str, str]], experiment_name: str = "") -> EnasSettings:
    """Validate `(name, value)` pairs; raise `InvalidSettingsError` naming the field."""
    values = {name: d.setting.default for name, d in CATALOGUE.items()}
    given: list[str] = []
    for name, text in raw:
        declared = CATALOGUE.get(name)
        if declared is None:
            known = ", ".join(sorted(CATALOGUE))
            raise InvalidSettingsError(
                f"algorithmSettings: unknown setting {name!r} (known: {known})"
            )
        values[name] = parse_value(name, text.strip(), declared.setting.rule)
        given.append(name)
    for name in given:
        _check_owner(name, str(values["search_space"]), str(values["strategy"]))
    settings = EnasSettings(**values)  # type: ignore[arg-type]
    if settings.seed == -1:
        settings = dataclasses.replace(settings, seed=derive_seed(experiment_name))
    return settings


def _check_owner(name: str, kind: str, strategy: str) -> None:
    """Refuse a setting that only another space kind or strategy reads. Unknown kind or strategy
    names pass here: their registry refuses them, naming the ones it knows."""
    declared = CATALOGUE[name]
    chosen = {SPACE: ("search_space", kind, kind in KINDS)}
    chosen[STRATEGY] = ("strategy", strategy, strategy in STRATEGIES)
    if declared.setting.stock is not None:
        chosen.pop(STRATEGY)  # Katib's stock settings: every strategy accepts them
    refused = []
    for owner in declared.owners:
        if owner.role not in chosen:
            return
        setting, value, known = chosen[owner.role]
        if owner.name == value or not known:
            return
        refused.append((owner, setting, value))
    owners = " or ".join(str(owner) for owner, _, _ in refused)
    _, setting, value = refused[0]
    raise InvalidSettingsError(
        f"algorithmSettings.{name}: setting {name!r} belongs to the {owners}; this Experiment's "
        f"{setting} is {value} (remove it, or set {setting}: {refused[0][0].name})"
    )


def derive_seed(experiment_name: str) -> int:
    """A stable seed from the experiment name: restarts agree, experiments differ."""
    return zlib.crc32(experiment_name.encode()) & 0x7FFFFFFF


def settings_table() -> str:
    """A Markdown table of every setting: name, owner, our default, stock default, meaning."""
    lines = [
        "| setting | owner | default | stock default | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, declared in CATALOGUE.items():
        setting = declared.setting
        ours = setting.default
        ours = str(ours).lower() if isinstance(ours, bool) else ours
        owners = ", ".join(str(owner) for owner in declared.owners)
        stock = setting.stock or "(not in stock)"
        lines.append(f"| `{name}` | {owners} | {ours} | {stock} | {setting.doc_line} |")
    return "\n".join(lines)


__all__ = [
    "CATALOGUE",
    "ECHOED",
    "NONE",
    "RULES",
    "SERVICE_SETTINGS",
    "STOCK_DEFAULTS",
    "Declared",
    "EnasSettings",
    "Owner",
    "derive_seed",
    "parse_settings",
    "settings_table",
]
