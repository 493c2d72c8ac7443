"""`${trialParameters.*}` substitution, done exactly as Katib's trial template does it.

Katib serialises the trial spec to a JSON string, replaces each `${trialParameters.<name>}` by the
assignment its `reference` names (or by trial metadata for `${trialSpec.Name}` and friends) with a
plain string replace, and decodes the result. A value holding `"` or `\\` therefore breaks the
manifest on a cluster; here it gives the same error, naming the parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from katib_enas.core.errors import KatibEnasError
from katib_enas.experiment import TrialTemplate
from katib_enas.experiment.containers import find_primary_container

_METADATA = re.compile(r"^\$\{trialSpec\.(\w+)(?:\[(.+)\])?\}$")


class SubstitutionError(KatibEnasError):
    """A trial's assignments cannot be placed into the trial template."""


def render_trial_spec(
    template: TrialTemplate,
    assignments: Mapping[str, str],
    *,
    trial_name: str,
    namespace: str,
) -> dict[str, Any]:
    """The trial's manifest: the template with every trial parameter substituted."""
    if template.trial_spec is None:
        raise SubstitutionError("spec.trialTemplate.trialSpec: local mode needs an inline spec")
    text = json.dumps(template.trial_spec)
    for param in template.trial_parameters:
        value = _resolve(param.reference, assignments, template.trial_spec, trial_name, namespace)
        if value is None:
            raise SubstitutionError(
                f"trialParameters.{param.name}: the suggestion gave no assignment "
                f"{param.reference!r} (got: {', '.join(sorted(assignments)) or 'none'})"
            )
        text = text.replace("${trialParameters." + param.name + "}", value)
    try:
        rendered = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubstitutionError(
            f"trial {trial_name}: an assignment value broke the trial spec JSON ({error.msg}); "
            'values must not contain " or \\'
        ) from None
    if not isinstance(rendered, dict):
        raise SubstitutionError(f"trial {trial_name}: the trial spec is not a mapping")
    return rendered


def _resolve(
    reference: str,
    assignments: Mapping[str, str],
    spec: Mapping[str, Any],
    trial_name: str,
    namespace: str,
) -> str | None:
    if reference in assignments:
        return assignments[reference]
    match = _METADATA.match(reference)
    if match is None:
        return None
    field, key = match.groups()
    metadata = spec.get("metadata") if isinstance(spec.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    if field == "Name":
        return trial_name
    if field == "Namespace":
        return namespace
    if field == "Kind":
        return str(spec.get("kind", ""))
    if field == "APIVersion":
        return str(spec.get("apiVersion", ""))
    if field in ("Labels", "Annotations") and key is not None:
        values = metadata.get(field.lower(), {})
        if isinstance(values, dict) and key in values:
            return str(values[key])
    return None


def primary_container(manifest: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The container named `name` (`primaryContainerName`) of a rendered Job manifest."""
    container = find_primary_container(manifest, name)
    if container is None:
        raise SubstitutionError(
            f"primaryContainerName: no container named {name!r} in the trial spec"
        )
    return container
