"""Write the field types of a Kubernetes v1.34 batch/v1 Job for the Experiment checks.

Katib v0.19 (built with k8s.io/api v0.34) converts a trial spec of kind batch/v1 Job into Go's
`batchv1.Job` and refuses the Experiment when anything does not survive the round trip: an
unknown field, a value of the wrong type. To say the same before `kubectl apply`, the checker
needs every field of a Job and of what a Job contains (pod template, containers, volumes, ...),
and its type. The `kubernetes-validate` package (a dev dependency) ships the Kubernetes
schemas per release; this script reduces the v1.34 Job schema to field names, types and the
required fields, and writes it as package data:

    .venv/bin/python scripts/generate_kube_types.py          # rewrite kube_types.json
    .venv/bin/python scripts/generate_kube_types.py --check  # exit 1 if it is stale

The file is committed; `tests/experiment/test_experiment_types.py` runs `--check`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate

KUBERNETES = "1.34.0"  # k8s.io/api v0.34.0 in Katib v0.19.0's go.mod
ROOT = "io.k8s.api.batch.v1.Job"
OUT = (
    Path(__file__).resolve().parent.parent
    / "operator"
    / "katib_enas"
    / "experiment"
    / "kube_types.json"
)
# Types whose JSON form is not an object with properties.
SPECIAL = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "any",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "any",
}


def schema_dir() -> Path:
    base = Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"
    return base / f"v{KUBERNETES}-local-strict"


def _ref(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _type(schema: dict[str, Any], pending: list[str]) -> Any:
    """The compact type expression of one property schema; queue the types it names."""
    ref = _ref(schema)
    if ref is not None:
        if ref in SPECIAL:
            return SPECIAL[ref]
        pending.append(ref)
        return ref
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
    if kinds == ["array"]:
        return {"list": _type(schema.get("items", {}), pending)}
    if kinds == ["object"]:
        values = schema.get("additionalProperties")
        return {"map": _type(values, pending)} if isinstance(values, dict) else "any"
    if len(kinds) == 1 and kinds[0] in ("string", "integer", "number", "boolean"):
        return kinds[0]
    return "any"


def generate() -> str:
    definitions = json.loads((schema_dir() / "_definitions.json").read_text(encoding="utf-8"))
    defs: dict[str, Any] = definitions["$defs"]
    types: dict[str, Any] = {}
    pending = [ROOT]
    while pending:
        name = pending.pop()
        if name in types or name in SPECIAL:
            continue
        schema = defs[name]
        fields = {
            field: _type(prop, pending)
            for field, prop in sorted(schema.get("properties", {}).items())
        }
        types[name] = {"fields": fields, "required": sorted(schema.get("required", []))}
    document = {
        "source": f"Kubernetes v{KUBERNETES} (kubernetes-validate's schema), reduced by "
        "scripts/generate_kube_types.py",
        "root": ROOT,
        "types": dict(sorted(types.items())),
    }
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            print(f"{OUT} is stale: run scripts/generate_kube_types.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
