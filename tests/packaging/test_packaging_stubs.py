"""The typed stubs of Katib's generated modules (operator/stubs) match the installed SDK: they are
regenerated from its descriptor and compared, so an SDK upgrade cannot leave them stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_committed_stubs_equal_a_fresh_generation(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "generate_katib_stubs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_our_grpc_api_modules_equal_a_fresh_generation_from_the_proto(repo_root: Path) -> None:
    """`katib_enas.v1` (the shared-weights store) is generated from operator/protos: a changed
    .proto without regenerated modules fails here."""
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "generate_sharing_api.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
