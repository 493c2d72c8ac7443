"""Katib's rules for `spec.metricsCollectorSpec` (webhook `validateMetricsCollector`, v0.19).

They run on the defaulted spec (`defaults`), so a File collector without `source` is valid (the
default path is filled in) and `kind: None`, removed from Katib, is refused like any unknown
kind. StdOut and Push stop there; for the other kinds Katib also checks each `metricsFormat`
filter (a valid regular expression with two parenthesised groups). The StdOut filters, which
Katib does not check, are this project's own rule (`strict_rules`).
"""

from __future__ import annotations

import re
from typing import Any

from katib_enas.experiment.fields import InvalidExperimentError, dig, items

WHERE = "spec.metricsCollectorSpec"
SOURCE = f"{WHERE}.source"
KINDS = ("StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "Push")
_TWO_GROUPS = re.compile(r".*\(.*\).*\(.*\).*")  # Katib's test, on the text of the pattern
# What Python's `re` accepts but Go's RE2 (Katib's regexp) refuses.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")


def validate(spec: dict[str, Any]) -> None:
    """Raise at the first of Katib's collector rules the (defaulted) spec breaks."""
    collector_spec: dict[str, Any] = spec["metricsCollectorSpec"]
    kind = dig(collector_spec, "collector", "kind") or ""
    source = collector_spec.get("source")
    path = dig(source, "fileSystemPath")
    if kind in ("StdOut", "Push"):
        return
    if kind == "File":
        _file(source, path)
    elif kind == "TensorFlowEvent":
        if not isinstance(path, dict) or path.get("kind") != "Directory" or not _absolute(path):
            raise InvalidExperimentError(
                f"{SOURCE}.fileSystemPath: the TensorFlowEvent collector needs an absolute "
                "directory path (kind Directory)"
            )
        if path.get("format"):
            raise InvalidExperimentError(
                f"{SOURCE}.fileSystemPath.format: must be empty for the TensorFlowEvent collector"
            )
    elif kind == "PrometheusMetric":
        _prometheus(dig(source, "httpGet") or {})
    elif kind == "Custom":
        if dig(collector_spec, "collector", "customCollector") is None:
            raise InvalidExperimentError(
                f"{WHERE}.collector.customCollector: required for the Custom collector (the "
                "collector's container)"
            )
        if isinstance(path, dict) and (
            not _absolute(path) or path.get("kind") not in ("Directory", "File")
        ):
            raise InvalidExperimentError(
                f"{SOURCE}.fileSystemPath: needs an absolute path and kind File or Directory"
            )
    else:
        raise InvalidExperimentError(
            f"{WHERE}.collector.kind: unknown kind {kind!r} (one of {', '.join(KINDS)})"
        )
    for index, pattern in enumerate(items(dig(source, "filter", "metricsFormat"))):
        check_filter(pattern, f"{SOURCE}.filter.metricsFormat[{index}]")


def check_filter(pattern: str, where: str) -> None:
    """Katib's filter rule: the pattern compiles, and has two groups as text."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise InvalidExperimentError(f"{where}: not a valid regular expression ({error})") from None
    if _NOT_RE2.search(pattern):
        raise InvalidExperimentError(
            f"{where}: Go's regular expressions (RE2) have no lookaround or backreferences"
        )
    if not _TWO_GROUPS.search(pattern):
        raise InvalidExperimentError(
            f"{where}: needs two groups, the metric name and the value, like "
            r"'([\w|-]+)\s*=\s*([+-]?\d+(\.\d+)?)'"
        )


def _file(source: object, path: object) -> None:
    if not isinstance(path, dict) or path.get("kind") != "File" or not _absolute(path):
        raise InvalidExperimentError(
            f"{SOURCE}.fileSystemPath.path: the File collector needs an absolute file path "
            "(kind File)"
        )
    file_format = path.get("format")
    if file_format not in ("TEXT", "JSON"):
        raise InvalidExperimentError(
            f"{SOURCE}.fileSystemPath.format: expected TEXT or JSON, got {file_format!r}"
        )
    if file_format == "JSON" and dig(source, "filter") is not None:
        raise InvalidExperimentError(
            f"{SOURCE}.filter: must be left out with the JSON format (even an empty one)"
        )


def _prometheus(http: dict[str, Any]) -> None:
    port = str(http.get("port"))  # Katib reads IntOrString.String() as a number
    if not re.fullmatch(r"[+-]?\d+", port) or int(port) <= 0:
        raise InvalidExperimentError(
            f"{SOURCE}.httpGet.port: expected a positive port number, got {port!r}"
        )
    if not str(http.get("path", "")).startswith("/"):
        raise InvalidExperimentError(
            f"{SOURCE}.httpGet.path: expected an absolute path like /metrics, "
            f"got {http.get('path')!r}"
        )


def _absolute(path: dict[str, Any]) -> bool:
    value = path.get("path")
    return isinstance(value, str) and value.startswith("/")
