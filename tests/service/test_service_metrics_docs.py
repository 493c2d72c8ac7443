"""The README's metric list names every family the service exports, so that none goes unnoticed
(`katib_enas_controller_replays_total` once did)."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from katib_enas.core.katib import Condition
from katib_enas.core.strategies import LearnReport
from katib_enas.service.metrics import ServiceMetrics


def test_readme_lists_every_exported_family(repo_root: Path) -> None:
    metrics = ServiceMetrics(memory_limit_bytes=1 << 30)
    report = LearnReport(
        learned=1, updates=1, replayed=True, seconds=0.1, counts={Condition.SUCCEEDED: 1},
        best_metric=0.9, last_reward=0.9, loss=0.1, entropy=3.0, baseline=0.5,
    )  # fmt: skip
    metrics.record_request("an-experiment", report, 1)
    families = {
        family.name
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        if family.name.startswith("katib_enas_")
    }
    assert len(families) >= 14
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Monitoring", 1)[1].split("\n## ", 1)[0]
    # Counters are listed by their exported name (`_total`), labels may follow in braces.
    missing = [
        name for name in sorted(families) if not re.search(rf"`{name}(_total)?[`{{]", section)
    ]
    assert missing == []
