"""ENAS algorithm settings: parsed once from Katib's `algorithm.algorithmSettings` into a frozen
dataclass, with the stock `enas` names, ranges and `"None"` rules, plus the few settings ours adds.

Where our defaults differ from Katib's stock ones it is because the stock values come from a
language-model controller trained for tens of thousands of steps; a Katib experiment gives the
controller a few hundred trials, one reward each, so it needs a larger step and a faster baseline.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from katib_enas.core.errors import InvalidSettingsError

NONE = "None"


@dataclass(frozen=True)
class _Rule:
    kind: type  # int, float, bool or str
    low: float | None  # None: no lower bound
    high: float | None
    low_open: bool  # True: value must be > low (else >= low)
    none_ok: bool  # the literal "None" switches the feature off
    choices: tuple[str, ...] = ()
    high_open: bool = False  # True: value must be < high (else <= high)
    names: bool = False  # a registry's name, checked by the registry (`spaces`, `strategies`)
    or_number: bool = False  # str rules: a number is accepted besides the choices


@dataclass(frozen=True)
class EnasSettings:
    """Every setting the ENAS service reads. Defaults are ours; see `STOCK_DEFAULTS`."""

    controller_hidden_size: int = 64
    """LSTM hidden units (stock 64; the paper used 100). int in 1..4096: a larger controller
    (with its optimizer state) no longer fits the suggestion pod's 1Gi memory limit."""
    controller_temperature: float | None = 5.0
    """Logits are divided by this before the tanh squashing (stock 5.0). float > 0 or None."""
    controller_tanh_const: float | None = 2.25
    """Logits are squashed to [-c, c] with c * tanh(logits) (stock 2.25). float > 0 or None."""
    controller_entropy_weight: float | None = 1e-4
    """Weight of the entropy bonus in the loss; keeps the policy exploring (stock 1e-5, original
    ENAS code 1e-4). float > 0 or None."""
    controller_baseline_decay: float = 0.9
    """Decay of the moving-average reward baseline (stock 0.999, which after a few hundred trials
    still sits near its start). float in (0, 1]."""
    controller_learning_rate: float = 0.05
    """Adam step size (stock 5e-5, from a language-model setup: it barely moves the policy in a
    few hundred updates). float in (0, 1]."""
    controller_skip_target: float = 0.4
    """Target share of skip connections (stock 0.4). float in (0, 1)."""
    controller_skip_weight: float | None = 0.8
    """Weight of the KL(skip rate || target) penalty (stock 0.8). float > 0 or None."""
    controller_train_steps: int = 1
    """Gradient steps taken on each batch of finished trials (stock 50, where each step sampled a
    fresh, never-trained architecture). With the stock learning rate 5e-5 that the Katib UI
    pre-fills, 50 steps make an effective step of 2.5e-3, so old experiments still learn.
    int in 1..1000: each step is a pass over the batch, and more steps could push one
    GetSuggestions call past Katib's 60 s deadline."""
    controller_batch_size: int = 4
    """Finished trials per controller update; their gradients are averaged (ours; the original
    ENAS averaged 20 samples, NNI's RL strategy updates every 20). A restart without a
    checkpoint relearns the history one update per batch, so larger batches restart faster and
    smaller ones learn sooner. int in 1..1000."""
    controller_log_every_steps: int = 10
    """Log a line every this many controller updates (stock 10). int >= 1."""
    controller_grad_bound: float | None = 5.0
    """Clip the gradient's global norm to this (ours; the original ENAS code clips too). float > 0
    or None."""
    failed_trial_reward: str = "worst"
    """How a FAILED trial (or one whose objective metric is missing or not a number) teaches the
    controller (ours): `worst` - the lowest reward seen so far (skipped until a trial succeeded);
    `skip` - not at all; or a number: the metric value a failed trial counts as (e.g. 0 for an
    accuracy, 10 for a minimised loss). KILLED trials are never learned from."""
    seed: int = -1
    """Seed of every random choice (ours). -1: derived from the experiment name, and echoed back
    to Katib so that a restarted service uses the same one. int >= -1."""
    search_space: str = "macro"
    """The kind of search space `nasConfig` describes (ours): `macro` - one operation per layer
    plus skip connections, Katib's stock `enas` format; `micro` - ENAS's normal and reduction
    cells, stacked `numLayers` times (see "Micro search space")."""
    num_nodes: int = 5
    """Micro only: nodes per cell (ENAS and DARTS use 5 and 4). int in 1..20."""
    init_channels: int = 20
    """Micro only: channels of the first cells; each reduction cell doubles them (ENAS's search
    used 20, DARTS 16). int in 1..1024."""
    stem_multiplier: int = 3
    """Micro only: the stem convolution has `init_channels x stem_multiplier` channels (as in
    DARTS). int in 1..16."""
    strategy: str = "reinforce"
    """How architectures are chosen (ours): `reinforce` - the ENAS controller trained with
    REINFORCE; `random` - uniformly at random, learning nothing (the baseline to compare with,
    at the same budget)."""
    weight_sharing: bool = False
    """ENAS's shared weights (ours, see "Weight sharing"): `true` - the service holds the
    supernet's weights and every trial pulls its child's, trains a slice of
    `shared_slice_steps` steps, pushes what it learned and reports the accuracy with them;
    `false` - every trial trains its child from scratch. true or false."""
    shared_slice_steps: int = 100
    """Weight sharing only: training steps (batches) of each trial's slice. int in 0..1000000
    (0: evaluate the shared weights without training, as `derive` does)."""
    shared_schedule_steps: int = 0
    """Weight sharing only: length of the learning-rate schedule shared by all slices (cosine
    over the experiment, driven by the steps pushed so far). 0: `maxTrialCount` x
    `shared_slice_steps`. int in 0..1000000000."""
    skip_rule: str = "auto"
    """Macro only: how a layer combines the outputs it skips from with the previous layer's
    (ours): `concat` - side by side along channels, as Katib's stock trial does; `sum` - added
    (after pooling to the same size, zero-padded to the previous layer's width), as ENAS's own
    macro child does, so one weight set per (layer, operation) serves every skip pattern;
    `auto` - `sum` with `weight_sharing`, else `concat`. The rule travels in `nn_config`."""
    shared_restart_steps: int = 0
    """Weight sharing only: length of the first cycle of the shared learning rate's warm
    restarts (SGDR, as ENAS trains its shared weights), in steps; each cycle is
    `shared_restart_mult` times longer than the one before. 0: one tenth of
    `shared_schedule_steps`. int in 0..1000000000."""
    shared_restart_mult: int = 2
    """Weight sharing only: growth of each warm-restart cycle (ENAS's T_mul). int in 1..16."""
    shared_lr_floor: float = 0.1
    """Weight sharing only: the shared learning rate never falls below this share of its peak,
    so the last trials of a search still train (a schedule reaching zero collapses their
    rewards). float in 0..1."""
    shared_store_mib: int = 256
    """Weight sharing only: the most memory the experiment's shared weights may take in the
    service, in MiB; a push that would exceed it is refused, naming this setting. Keep it under
    half the suggestion pod's memory limit (the checkpoint is serialised in memory). int in
    1..65536."""

    @property
    def macro_skip_rule(self) -> str:
        """`skip_rule` with `auto` resolved."""
        if self.skip_rule != "auto":
            return self.skip_rule
        return "sum" if self.weight_sharing else "concat"

    @property
    def failed_reward_value(self) -> float | None:
        """The fixed reward for failed trials, or None for the `worst`/`skip` rules."""
        if self.failed_trial_reward in ("worst", "skip"):
            return None
        return float(self.failed_trial_reward)


_FLOAT_POS = _Rule(float, 0.0, None, True, True)
RULES: Mapping[str, _Rule] = {
    "controller_hidden_size": _Rule(int, 1, 4096, False, False),
    "controller_temperature": _FLOAT_POS,
    "controller_tanh_const": _FLOAT_POS,
    "controller_entropy_weight": _FLOAT_POS,
    "controller_baseline_decay": _Rule(float, 0.0, 1.0, True, False),
    "controller_learning_rate": _Rule(float, 0.0, 1.0, True, False),
    # The stock check accepts 1.0, which makes the stock loss infinite: we exclude both ends.
    "controller_skip_target": _Rule(float, 0.0, 1.0, True, False, high_open=True),
    "controller_skip_weight": _FLOAT_POS,
    "controller_train_steps": _Rule(int, 1, 1000, False, False),
    "controller_batch_size": _Rule(int, 1, 1000, False, False),
    "controller_log_every_steps": _Rule(int, 1, None, False, False),
    "controller_grad_bound": _FLOAT_POS,
    "failed_trial_reward": _Rule(str, None, None, False, False, ("worst", "skip"), or_number=True),
    "seed": _Rule(int, -1, 2**31 - 1, False, False),
    # Names the registries check (`katib_enas.core.spaces`, `katib_enas.core.strategies`).
    "search_space": _Rule(str, None, None, False, False, names=True),
    "num_nodes": _Rule(int, 1, 20, False, False),
    "init_channels": _Rule(int, 1, 1024, False, False),
    "stem_multiplier": _Rule(int, 1, 16, False, False),
    "strategy": _Rule(str, None, None, False, False, names=True),
    "weight_sharing": _Rule(bool, None, None, False, False),
    "shared_slice_steps": _Rule(int, 0, 1_000_000, False, False),
    "shared_schedule_steps": _Rule(int, 0, 1_000_000_000, False, False),
    "skip_rule": _Rule(str, None, None, False, False, ("auto", "concat", "sum")),
    "shared_restart_steps": _Rule(int, 0, 1_000_000_000, False, False),
    "shared_restart_mult": _Rule(int, 1, 16, False, False),
    "shared_lr_floor": _Rule(float, 0.0, 1.0, False, False),
    "shared_store_mib": _Rule(int, 1, 65536, False, False),
}

STOCK_DEFAULTS: Mapping[str, str] = {
    "controller_hidden_size": "64",
    "controller_temperature": "5.0",
    "controller_tanh_const": "2.25",
    "controller_entropy_weight": "1e-5",
    "controller_baseline_decay": "0.999",
    "controller_learning_rate": "5e-5",
    "controller_skip_target": "0.4",
    "controller_skip_weight": "0.8",
    "controller_train_steps": "50",
    "controller_log_every_steps": "10",
}

# Settings that this service writes into `GetSuggestionsReply.algorithm`; Katib echoes them back.
ECHOED = ("seed",)


def parse_settings(raw: Iterable[tuple[str, str]], experiment_name: str = "") -> EnasSettings:
    """Validate `(name, value)` pairs; raise `InvalidSettingsError` naming the field."""
    values: dict[str, object] = {}
    for name, text in raw:
        rule = RULES.get(name)
        if rule is None:
            known = ", ".join(sorted(RULES))
            raise InvalidSettingsError(
                f"algorithmSettings: unknown setting {name!r} (known: {known})"
            )
        values[name] = _parse_value(name, text.strip(), rule)
    settings = EnasSettings(**values)  # type: ignore[arg-type]
    if settings.seed == -1:
        settings = _replace(settings, seed=derive_seed(experiment_name))
    return settings


def derive_seed(experiment_name: str) -> int:
    """A stable seed from the experiment name: restarts agree, experiments differ."""
    return zlib.crc32(experiment_name.encode()) & 0x7FFFFFFF


def _replace(settings: EnasSettings, **changes: object) -> EnasSettings:
    current = {f.name: getattr(settings, f.name) for f in fields(settings)}
    current.update(changes)
    return EnasSettings(**current)


def _parse_value(name: str, text: str, rule: _Rule) -> object:
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


def _number(where: str, text: str, rule: _Rule) -> int | float:
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


def _describe(rule: _Rule) -> str:
    parts = []
    if rule.low is not None:
        parts.append(f"{'>' if rule.low_open else '>='} {rule.low:g}")
    if rule.high is not None:
        parts.append(f"{'<' if rule.high_open else '<='} {rule.high:g}")
    return " and ".join(parts)


def settings_table() -> str:
    """A Markdown table of every setting: name, our default, stock default, meaning."""
    lines = ["| setting | default | stock default | meaning |", "|---|---|---|---|"]
    defaults = EnasSettings()
    docs = _field_docs()
    for f in fields(EnasSettings):
        ours = getattr(defaults, f.name)
        ours = str(ours).lower() if isinstance(ours, bool) else ours
        stock = STOCK_DEFAULTS.get(f.name, "(not in stock)")
        lines.append(f"| `{f.name}` | {ours} | {stock} | {docs.get(f.name, '')} |")
    return "\n".join(lines)


def _field_docs() -> dict[str, str]:
    import ast
    import inspect
    import itertools

    tree = ast.parse(inspect.getsource(EnasSettings))
    docs: dict[str, str] = {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs
