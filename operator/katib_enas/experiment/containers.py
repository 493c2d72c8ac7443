"""The primary container of a trial's Job manifest: the one lookup every reader goes through.

Katib's `primaryContainerName` names the container whose metrics are collected. The runner runs
its command, `retrain` and `derive` rewrite it, the report shows its image and command; all of
them look into a batch Job's pod (`spec.template.spec.containers`), the only kind local mode
runs. (`strict_rules` looks into every kind's pods, for the admission check alone.)
"""

from __future__ import annotations

from typing import Any

from katib_enas.experiment.fields import dig


def find_primary_container(manifest: object, name: object) -> dict[str, Any] | None:
    """The container named `name` in a Job manifest's pod, or None (no such container, or
    not a Job-shaped manifest)."""
    containers = dig(manifest, "spec", "template", "spec", "containers")
    if not isinstance(containers, list):
        return None
    for container in containers:
        if isinstance(container, dict) and container.get("name") == name:
            return container
    return None
