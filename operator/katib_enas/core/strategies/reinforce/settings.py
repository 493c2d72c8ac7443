"""The settings the ENAS controller reads, declared by the strategy that owns them.

The ten with a `stock` default are Katib's stock `enas` settings (Katib's UI pre-fills them for
every `enas` Experiment): `katib_enas.core.settings` accepts those whatever the strategy. The
reward shaping's two (`controller_baseline_decay`, `failed_trial_reward`) are declared by
`katib_enas.core.rewards`, beside the rules that read them.
"""

from __future__ import annotations

from katib_enas.core import rewards
from katib_enas.core.settings_schema import Rule, Setting

_FLOAT_POS = Rule(float, 0.0, None, low_open=True, none_ok=True)
# In the order the docs' table shows them.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "controller_hidden_size",
        Rule(int, 1, 4096),
        64,
        """LSTM hidden units (stock 64; the paper used 100). int in 1..4096: a larger controller
        (with its optimizer state) no longer fits the suggestion pod's 1Gi memory limit.""",
        stock="64",
    ),
    Setting(
        "controller_temperature",
        _FLOAT_POS,
        5.0,
        """Logits are divided by this before the tanh squashing (stock 5.0). float > 0 or None.""",
        stock="5.0",
    ),
    Setting(
        "controller_tanh_const",
        _FLOAT_POS,
        2.25,
        """Logits are squashed to [-c, c] with c * tanh(logits) (stock 2.25). float > 0 or
        None.""",
        stock="2.25",
    ),
    Setting(
        "controller_entropy_weight",
        _FLOAT_POS,
        1e-4,
        """Weight of the entropy bonus in the loss; keeps the policy exploring (stock 1e-5,
        original ENAS code 1e-4). float > 0 or None.""",
        stock="1e-5",
    ),
    rewards.BASELINE_DECAY,
    Setting(
        "controller_learning_rate",
        Rule(float, 0.0, 1.0, low_open=True),
        0.05,
        """Adam step size (stock 5e-5, from a language-model setup: it barely moves the policy in
        a few hundred updates). float in (0, 1].""",
        stock="5e-5",
    ),
    Setting(
        "controller_skip_target",
        # The stock check accepts 1.0, which makes the stock loss infinite: we exclude both ends.
        Rule(float, 0.0, 1.0, low_open=True, high_open=True),
        0.4,
        """Target share of skip connections (stock 0.4). float in (0, 1).""",
        stock="0.4",
    ),
    Setting(
        "controller_skip_weight",
        _FLOAT_POS,
        0.8,
        """Weight of the KL(skip rate || target) penalty (stock 0.8). float > 0 or None.""",
        stock="0.8",
    ),
    Setting(
        "controller_train_steps",
        Rule(int, 1, 1000),
        1,
        """Gradient steps taken on each batch of finished trials (stock 50, where each step
        sampled a fresh, never-trained architecture). With the stock learning rate 5e-5 that the
        Katib UI pre-fills, 50 steps make an effective step of 2.5e-3, so old experiments still
        learn. int in 1..1000: each step is a pass over the batch, and more steps could push one
        GetSuggestions call past Katib's 60 s deadline.""",
        stock="50",
    ),
    Setting(
        "controller_batch_size",
        Rule(int, 1, 1000),
        4,
        """Finished trials per controller update; their gradients are averaged (ours; the original
        ENAS averaged 20 samples, NNI's RL strategy updates every 20). A restart without a
        checkpoint relearns the history one update per batch, so larger batches restart faster
        and smaller ones learn sooner. int in 1..1000.""",
    ),
    Setting(
        "controller_log_every_steps",
        Rule(int, 1, None),
        10,
        """Log a line every this many controller updates (stock 10). int >= 1.""",
        stock="10",
    ),
    Setting(
        "controller_grad_bound",
        _FLOAT_POS,
        5.0,
        """Clip the gradient's global norm to this (ours; the original ENAS code clips too).
        float > 0 or None.""",
    ),
    rewards.FAILED_TRIAL_REWARD,
)
