"""Refreshes the Katib reference data in tests/fixtures/katib/ from a Katib checkout.

The tests check this project against Katib's own files (its example Experiments, the standalone
install's katib-config, its OpenAPI spec). They are copied here unchanged, so that a clone of
this repository runs its whole suite with nothing beside it; `provenance.json` records where each
file came from (repository, commit, its tags, path) and its SHA-256, and a test checks the files
still match it. To move to another Katib release:

    git clone --branch v0.19.0 --depth 1 https://github.com/kubeflow/katib /tmp/katib
    .venv/bin/python scripts/refresh_katib_fixtures.py /tmp/katib
    git diff --stat tests/fixtures/katib   # then run the tests that read them
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = "https://github.com/kubeflow/katib"
DEST = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "katib"
PROVENANCE = "provenance.json"

# Each fixture (path under tests/fixtures/katib) and its path in Katib's repository.
FILES: dict[str, str] = {
    "LICENSE": "LICENSE",
    "openapi.json": "api/openapi-spec/swagger.json",
    "katib-config.yaml": "manifests/v1beta1/installs/katib-standalone/katib-config.yaml",
    "examples/enas-gpu.yaml": "examples/v1beta1/nas/enas-gpu.yaml",
    "examples/enas-cpu.yaml": "examples/v1beta1/nas/enas-cpu.yaml",
    "examples/darts-cpu.yaml": "examples/v1beta1/nas/darts-cpu.yaml",
    "examples/median-stop.yaml": "examples/v1beta1/early-stopping/median-stop.yaml",
    "examples/file-metrics-collector.yaml": (
        "examples/v1beta1/metrics-collector/file-metrics-collector.yaml"
    ),
    "examples/file-metrics-collector-with-json-format.yaml": (
        "examples/v1beta1/metrics-collector/file-metrics-collector-with-json-format.yaml"
    ),
    "examples/metrics-collection-strategy.yaml": (
        "examples/v1beta1/metrics-collector/metrics-collection-strategy.yaml"
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(checkout: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"refresh_katib_fixtures: git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def refresh(checkout: Path, dest: Path = DEST) -> dict[str, object]:
    """Copies FILES from the checkout into dest and writes dest/provenance.json; returns it."""
    missing = [upstream for upstream in FILES.values() if not (checkout / upstream).is_file()]
    if missing:
        raise SystemExit(f"refresh_katib_fixtures: not a Katib checkout, missing {missing[0]}")
    # A dirty tree would record a commit the files do not come from.
    if _git(checkout, "status", "--porcelain", "--", *FILES.values()):
        raise SystemExit("refresh_katib_fixtures: the checkout has local changes to these files")
    files = []
    for local, upstream in FILES.items():
        target = dest / local
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkout / upstream, target)
        files.append({"path": local, "upstream": upstream, "sha256": sha256(target)})
    provenance: dict[str, object] = {
        "repository": REPOSITORY,
        "commit": _git(checkout, "rev-parse", "HEAD"),
        "commit_date": _git(checkout, "show", "-s", "--format=%cs", "HEAD"),
        # Release tags on that very commit; empty for a commit of a branch.
        "tags": _git(checkout, "tag", "--points-at", "HEAD").split(),
        "license": "Apache-2.0 (LICENSE)",
        "files": files,
    }
    (dest / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return provenance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a git checkout of kubeflow/katib")
    parser.add_argument("--dest", type=Path, default=DEST, help=f"default: {DEST}")
    args = parser.parse_args()
    provenance = refresh(args.checkout, args.dest)
    print(f"copied {len(FILES)} files of Katib {provenance['commit']} into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
