"""Local metrics collectors by Katib collector kind; the contract is `base.Collector`.

`LOCAL_KINDS` (what `katib-enas run` can collect) comes from this registry; the other kinds Katib
knows load fine and are reported as not runnable locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from katib_enas.local.collectors.base import Collector
from katib_enas.local.collectors.file import FileCollector
from katib_enas.local.collectors.push import PushCollector
from katib_enas.local.collectors.stdout import StdOutCollector

if TYPE_CHECKING:
    from katib_enas.experiment import MetricsCollector

COLLECTORS: Mapping[str, type[Collector]] = {
    c.kind: c for c in (StdOutCollector, FileCollector, PushCollector)
}
LOCAL_KINDS = frozenset(COLLECTORS)


def create(spec: MetricsCollector, metric_names: tuple[str, ...]) -> Collector:
    return COLLECTORS[spec.kind](spec, metric_names)


__all__ = ["COLLECTORS", "LOCAL_KINDS", "Collector", "PushCollector", "create"]
