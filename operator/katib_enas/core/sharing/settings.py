"""The weight-sharing settings: whether an Experiment shares its children's weights, and how the
service's store and its learning-rate schedule behave (`katib_enas.service.sessions` reads them).
Accepted for every space kind and strategy. See docs/weight-sharing.md."""

from __future__ import annotations

from katib_enas.core.settings_schema import Rule, Setting

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "weight_sharing",
        Rule(bool),
        False,
        """ENAS's shared weights (ours, see "Weight sharing"): `true` - the service holds the
        supernet's weights and every trial pulls its child's, trains a slice of
        `shared_slice_steps` steps, pushes what it learned and reports the accuracy with them;
        `false` - every trial trains its child from scratch. true or false.""",
    ),
    Setting(
        "shared_slice_steps",
        Rule(int, 0, 1_000_000),
        100,
        """Weight sharing only: training steps (batches) of each trial's slice. int in
        0..1000000 (0: evaluate the shared weights without training, as `derive` does).""",
    ),
    Setting(
        "shared_schedule_steps",
        Rule(int, 0, 1_000_000_000),
        0,
        """Weight sharing only: length of the learning-rate schedule shared by all slices
        (cosine over the experiment, driven by the steps pushed so far). 0: `maxTrialCount` x
        `shared_slice_steps`. int in 0..1000000000.""",
    ),
    Setting(
        "shared_restart_steps",
        Rule(int, 0, 1_000_000_000),
        0,
        """Weight sharing only: length of the first cycle of the shared learning rate's warm
        restarts (SGDR, as ENAS trains its shared weights), in steps; each cycle is
        `shared_restart_mult` times longer than the one before. 0: one tenth of
        `shared_schedule_steps`. int in 0..1000000000.""",
    ),
    Setting(
        "shared_restart_mult",
        Rule(int, 1, 16),
        2,
        "Weight sharing only: growth of each warm-restart cycle (ENAS's T_mul). int in 1..16.",
    ),
    Setting(
        "shared_lr_floor",
        Rule(float, 0.0, 1.0),
        0.1,
        """Weight sharing only: the shared learning rate never falls below this share of its
        peak, so the last trials of a search still train (a schedule reaching zero collapses
        their rewards). float in 0..1.""",
    ),
    Setting(
        "shared_store_mib",
        Rule(int, 1, 65536),
        256,
        """Weight sharing only: the most memory the experiment's shared weights may take in the
        service, in MiB; a push that would exceed it is refused, naming this setting. Keep it
        under half the suggestion pod's memory limit (the checkpoint is serialised in memory).
        int in 1..65536.""",
    ),
)
