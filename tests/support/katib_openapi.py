"""Validation against Katib's OpenAPI spec (`tests/fixtures/katib/openapi.json`), unknown keys
rejected: the packaging tests check our manifests with it, the results tests the Experiment and
Trial objects the API stand-in serves."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator


def _strict(node: Any) -> None:
    # The spec leaves extra keys allowed; Katib's decoder would silently drop them, hiding typos.
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


def schema_checker(katib_dir: Path) -> Callable[[str, Any], list[str]]:
    """Errors of a value against a named schema of the spec (`v1beta1.Experiment`,
    `.v1beta1.Trial`...)."""
    spec = json.loads((katib_dir / "openapi.json").read_text())
    components = copy.deepcopy(spec["components"])
    _strict(components)

    def errors(schema_name: str, value: Any) -> list[str]:
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
        return [
            f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
            for error in OAS30Validator(schema).iter_errors(value)
        ]

    return errors
