"""The types the Experiment checks rely on match their sources: Katib's OpenAPI spec for the
v1beta1 types, Kubernetes v1.34's schema (kubernetes-validate) for the generated Job types."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from katib_enas.experiment.types import KATIB_TYPES, kube_types

# Katib's OpenAPI names the two Go types it cannot describe; our checker's names for them.
SPECIAL = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.unstructured.Unstructured": "unstructured",
    "v1beta1.ExperimentStatus": "any",
}


def _openapi_type(prop: dict[str, Any]) -> Any:
    if "allOf" in prop:
        return _openapi_type(prop["allOf"][0])
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return SPECIAL.get(name, name)
    if prop.get("type") == "array":
        return {"list": _openapi_type(prop["items"])}
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return {"map": _openapi_type(prop["additionalProperties"])}
    return prop["type"]


def test_katib_types_match_katib_openapi(katib_dir: Path) -> None:
    spec = json.loads((katib_dir / "openapi.json").read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    for name, ours in KATIB_TYPES.items():
        theirs = {field: _openapi_type(prop) for field, prop in schemas[name]["properties"].items()}
        assert dict(ours.fields) == theirs, name


def test_kube_types_are_generated_and_fresh(repo_root: Path) -> None:
    script = repo_root / "scripts" / "generate_kube_types.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    types = kube_types()
    container = types["io.k8s.api.core.v1.Container"]
    assert container.required == {"name"}
    assert container.fields["command"] == {"list": "string"}
    assert types["io.k8s.api.core.v1.ResourceRequirements"].fields["limits"] == {"map": "quantity"}
    # Every type the Katib types name is there.
    for ours in KATIB_TYPES.values():
        for expr in ours.fields.values():
            if isinstance(expr, str) and expr.startswith("io.k8s."):
                assert expr in types, expr
