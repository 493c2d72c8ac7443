"""Katib's rules for `spec.trialTemplate` (webhook `validateTrialTemplate`, v0.19), in its order.

Katib serialises the trial spec to JSON, checks each trialParameter (name and reference set,
neither repeated, the reference a search parameter or trial metadata, its placeholder present)
and replaces its placeholder by a test value, refuses placeholders left over, then reads the
result back: no `metadata.name`/`namespace`, an `apiVersion` and a `kind`, and a batch/v1 Job
must convert to Go's Job unchanged. A template in a ConfigMap is read from the cluster: only the
checks that do not need its text run here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from katib_enas.experiment import shape
from katib_enas.experiment.defaults import KUBEFLOW_KINDS
from katib_enas.experiment.fields import InvalidExperimentError, items
from katib_enas.experiment.types import JOB, JOB_POLICY, registry

WHERE = "spec.trialTemplate"
META_KEYS = ("Name", "Namespace", "Kind", "APIVersion", "Annotations", "Labels")
_LEFTOVER = re.compile(r"\$\{trialParameters\..+?\}")
_META = re.compile(r"\$\{trialSpec\.(.+?)\}")
_INDEXED = re.compile(r"(.+)\[(.+)]")
# Go's encoding/json escapes these inside strings; placeholders are found in that text.
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}


def is_meta_reference(reference: str) -> bool:
    """`${trialSpec.Name}`, `${trialSpec.Labels[key]}`...: filled from the trial, not assigned."""
    match = _META.search(reference)
    if match is None:
        return False
    key = match.group(1)
    indexed = _INDEXED.fullmatch(key)
    return key in META_KEYS or (indexed is not None and indexed.group(1) in META_KEYS)


def validate(spec: dict[str, Any]) -> None:
    """Raise at the first rule of Katib's `validateTrialTemplate` the template breaks."""
    template = spec.get("trialTemplate")
    if template is None:
        raise InvalidExperimentError(f"{WHERE}: required")
    if not template.get("primaryContainerName"):
        raise InvalidExperimentError(f"{WHERE}.primaryContainerName: required")
    _conditions(template)
    if "trialParameters" not in template:
        raise InvalidExperimentError(f"{WHERE}.trialParameters: required (it may be empty)")
    trial_spec, config_map = template.get("trialSpec"), template.get("configMap")
    if trial_spec is None and config_map is None:
        raise InvalidExperimentError(f"{WHERE}: set spec.trialTemplate.trialSpec or .configMap")
    if trial_spec is not None and config_map is not None:
        raise InvalidExperimentError(f"{WHERE}: set only one of trialSpec and configMap")
    if config_map is not None:
        keys = ("configMapName", "configMapNamespace", "templatePath")
        missing = [key for key in keys if not config_map.get(key)]
        if missing:
            raise InvalidExperimentError(
                f"{WHERE}.configMap.{missing[0]}: required (configMapName, configMapNamespace "
                "and templatePath)"
            )
    text = _go_json(trial_spec) if trial_spec is not None else None
    text = _check_parameters(template, spec, text)
    if text is not None:
        _check_rendered(text)


def _conditions(template: dict[str, Any]) -> None:
    """Set by the defaults for a Job or Kubeflow kind; any other template must give both."""
    for key in ("successCondition", "failureCondition"):
        if template.get(key):
            continue
        trial_spec = template.get("trialSpec")
        if isinstance(trial_spec, dict):
            source = f"a trial of kind {trial_spec.get('kind')!r}"
        else:
            source = "a template from a ConfigMap"
        known = ", ".join(["Job", *sorted(KUBEFLOW_KINDS)])
        raise InvalidExperimentError(
            f"{WHERE}.{key}: required for {source} (Katib fills in successCondition and "
            f"failureCondition only for an inline trialSpec of kind {known})"
        )


def _check_parameters(
    template: dict[str, Any], spec: dict[str, Any], text: str | None
) -> str | None:
    """Each trialParameter in Katib's order; returns the text with its placeholders replaced."""
    searched = {p.get("name") for p in items(spec.get("parameters"))}
    names: set[str] = set()
    references: set[str] = set()
    for index, parameter in enumerate(items(template.get("trialParameters"))):
        at = f"{WHERE}.trialParameters[{index}]"
        name, reference = parameter.get("name", ""), parameter.get("reference", "")
        if not name or not reference or "{" in name or "}" in name:
            raise InvalidExperimentError(
                f"{at}: name and reference are required, and the name must not contain {{ or }}"
            )
        if name in names:
            raise InvalidExperimentError(f"{at}.name: {name!r} is declared twice")
        if reference in references:
            raise InvalidExperimentError(
                f"{at}.reference: {reference!r} is already the reference of another trialParameter"
            )
        names.add(name)
        references.add(reference)
        if searched and not is_meta_reference(reference) and reference not in searched:
            raise InvalidExperimentError(
                f"{at}.reference: {reference!r} is neither a name in spec.parameters "
                f"({', '.join(sorted(str(s) for s in searched))}) nor trial metadata like "
                "${trialSpec.Name}"
            )
        if text is None:
            continue  # the template is in a ConfigMap: the cluster checks its placeholders
        placeholder = f"${{trialParameters.{name}}}"
        if placeholder not in text:
            raise InvalidExperimentError(
                f"{at}.name: {placeholder} appears nowhere in {WHERE}.trialSpec"
            )
        text = text.replace(placeholder, "test-value")
    return text


def _check_rendered(text: str) -> None:
    leftover = _LEFTOVER.findall(text)
    if leftover:
        raise InvalidExperimentError(
            f"{WHERE}.trialSpec: {leftover[0]} is not declared in {WHERE}.trialParameters"
        )
    rendered = json.loads(text)
    metadata = rendered.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for key in ("name", "namespace"):
        if _string(metadata.get(key)):
            raise InvalidExperimentError(
                f"{WHERE}.trialSpec.metadata.{key}: must be omitted (Katib names each trial's "
                "resource and puts it in the Experiment's namespace)"
            )
    api_version, kind = _string(rendered.get("apiVersion")), _string(rendered.get("kind"))
    if not api_version or not kind:
        missing = "apiVersion" if not api_version else "kind"
        raise InvalidExperimentError(f"{WHERE}.trialSpec.{missing}: required")
    if api_version == "batch/v1" and kind == "Job":
        shape.check(rendered, JOB, registry(), f"{WHERE}.trialSpec", JOB_POLICY)


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _go_json(value: object) -> str:
    """JSON as Go's encoding/json writes it (keys sorted, no spaces, HTML characters escaped)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
