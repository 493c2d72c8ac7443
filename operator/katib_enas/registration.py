"""Adds or removes our suggestion entries in Katib's `katib-config` ConfigMap.

Katib owns `katib-config`, so Helm cannot template it; the chart's hook Jobs run
`katib-enas register` (`katib_enas.commands.register`) instead. `register` inserts or replaces
our entries under `runtime.suggestions` (so running it twice changes nothing); an entry it
replaces that is not ours (the stock `enas` one, when the chart takes that name over) is saved
in an annotation first. `unregister` removes our entries and puts the saved ones back, so the
ConfigMap ends as it was before the install. The change applies to the cluster's ConfigMap
(read, change, replace with its resourceVersion, retried on conflict) or to a ConfigMap YAML
file (tests and dry runs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, cast

import yaml

from katib_enas.atomic import write_atomic
from katib_enas.core.errors import KatibEnasError

CONFIG_KEY = "katib-config.yaml"
SAVED_ANNOTATION = "katib-enas.kubeflow.org/replaced-suggestions"
OWNED_ANNOTATION = "katib-enas.kubeflow.org/registered-suggestions"

Entry = dict[str, Any]
ConfigMap = dict[str, Any]


class RegistrationError(KatibEnasError):
    """The ConfigMap or the entries are not what Katib expects; the message names the field."""


def _suggestions(configmap: ConfigMap) -> tuple[dict[str, Any], list[Entry]]:
    text = (configmap.get("data") or {}).get(CONFIG_KEY)
    if not isinstance(text, str):
        raise RegistrationError(f"ConfigMap has no data.{CONFIG_KEY}")
    config = yaml.safe_load(text) or {}
    if not isinstance(config, dict):
        raise RegistrationError(f"data.{CONFIG_KEY} is not a mapping")
    runtime = config.setdefault("runtime", {})
    if not isinstance(runtime, dict):
        raise RegistrationError(f"data.{CONFIG_KEY}: runtime is not a mapping")
    suggestions = runtime.setdefault("suggestions", [])
    if not isinstance(suggestions, list):
        raise RegistrationError(f"data.{CONFIG_KEY}: runtime.suggestions is not a list")
    return config, suggestions


def _store(configmap: ConfigMap, config: dict[str, Any]) -> None:
    configmap.setdefault("data", {})[CONFIG_KEY] = yaml.safe_dump(config, sort_keys=False)


def _annotation(configmap: ConfigMap, key: str) -> dict[str, Any]:
    raw = ((configmap.get("metadata") or {}).get("annotations") or {}).get(key)
    return dict(json.loads(raw)) if raw else {}


def _set_annotation(configmap: ConfigMap, key: str, value: dict[str, Any]) -> None:
    annotations = configmap.setdefault("metadata", {}).setdefault("annotations", {})
    if value:
        annotations[key] = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        annotations.pop(key, None)


def check_entries(entries: object) -> list[Entry]:
    """The entries as a non-empty list of mappings with `algorithmName` and `image`."""
    if not isinstance(entries, list) or not entries:
        raise RegistrationError("entries: expected a non-empty list")
    for index, entry in enumerate(entries):
        name = entry.get("algorithmName") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"entries[{index}].algorithmName: missing")
        if not entry.get("image"):
            raise RegistrationError(f"entries[{index}].image: missing")
    return list(entries)


def register(configmap: ConfigMap, entries: list[Entry]) -> ConfigMap:
    """`configmap` with `entries` inserted (or replaced in place, keeping their position)."""
    config, suggestions = _suggestions(configmap)
    owned = _annotation(configmap, OWNED_ANNOTATION)
    saved = _annotation(configmap, SAVED_ANNOTATION)
    # An upgrade may drop a name an earlier release registered (`takeoverEnas` switched off):
    # give that slot back to what it held before, or remove it.
    wanted = {entry["algorithmName"] for entry in entries}
    for name in [name for name in owned if name not in wanted]:
        del owned[name]
        for i, old in enumerate(suggestions):
            if old.get("algorithmName") == name:
                if name in saved:
                    suggestions[i] = saved.pop(name)
                else:
                    del suggestions[i]
                break
    for entry in entries:
        name = entry["algorithmName"]
        index = next(
            (i for i, old in enumerate(suggestions) if old.get("algorithmName") == name), None
        )
        if index is None:
            suggestions.append(entry)
            continue
        # Save what we replace only the first time: later it is our own entry.
        if name not in owned and name not in saved:
            saved[name] = suggestions[index]
        suggestions[index] = entry
    for entry in entries:
        owned[entry["algorithmName"]] = True
    _store(configmap, config)
    _set_annotation(configmap, OWNED_ANNOTATION, owned)
    _set_annotation(configmap, SAVED_ANNOTATION, saved)
    return configmap


def unregister(configmap: ConfigMap) -> ConfigMap:
    """`configmap` without the entries `register` added, and with the ones it replaced restored."""
    config, suggestions = _suggestions(configmap)
    owned = _annotation(configmap, OWNED_ANNOTATION)
    saved = _annotation(configmap, SAVED_ANNOTATION)
    kept: list[Entry] = []
    for entry in suggestions:
        name = entry.get("algorithmName")
        if name in saved:
            kept.append(saved.pop(name))
        elif name not in owned:
            kept.append(entry)
    kept.extend(saved.values())  # replaced entries whose slot has gone meanwhile
    config["runtime"]["suggestions"] = kept
    _store(configmap, config)
    _set_annotation(configmap, OWNED_ANNOTATION, {})
    _set_annotation(configmap, SAVED_ANNOTATION, {})
    return configmap


def apply(action: str, configmap: ConfigMap, entries: list[Entry]) -> ConfigMap:
    """`register` or `unregister` on a ConfigMap as a dict."""
    return register(configmap, entries) if action == "register" else unregister(configmap)


def load_entries(path: Path) -> list[Entry]:
    try:
        return check_entries(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as error:
        raise RegistrationError(f"--entries {path}: {error}") from None


def apply_to_file(action: str, path: Path, entries: list[Entry]) -> None:
    """The change on a ConfigMap YAML file, replaced atomically (never half-written)."""
    try:
        configmap = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RegistrationError(f"--file {path}: {error}") from None
    if not isinstance(configmap, dict) or configmap.get("kind") != "ConfigMap":
        raise RegistrationError(f"--file {path}: not a ConfigMap")
    write_atomic(path, yaml.safe_dump(apply(action, configmap, entries), sort_keys=False))


def apply_in_cluster(action: str, namespace: str, name: str, entries: list[Entry]) -> None:
    """The change on the cluster's ConfigMap, as the pod's service account (get and update on
    this one ConfigMap, see the chart's rbac.yaml)."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    config.load_incluster_config()  # type: ignore[no-untyped-call]
    api = client.CoreV1Api()
    # `replace` carries the resourceVersion we read, so a concurrent edit makes it fail with 409
    # instead of being overwritten; then read again and redo the change.
    for attempt in range(10):
        current = api.read_namespaced_config_map(name, namespace)
        configmap = api.api_client.sanitize_for_serialization(current)
        updated = apply(action, configmap, entries)
        try:
            # The client sends a plain dict body as it is (no round trip through V1ConfigMap).
            api.replace_namespaced_config_map(name, namespace, cast(Any, updated))
            return
        except ApiException as error:
            if error.status != 409 or attempt == 9:
                raise RegistrationError(
                    f"{namespace}/{name}: the API answered {error.status} {error.reason}"
                ) from None
            time.sleep(0.5 * (attempt + 1))
