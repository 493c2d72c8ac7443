"""Katib's reference data in `tests/fixtures/katib/`: the files are Katib's, unchanged (their
SHA-256 is the one `provenance.json` records), and `scripts/refresh_katib_fixtures.py` rebuilds
exactly them and their provenance from a Katib checkout (a real git repository, here made with
Katib's layout from the fixtures themselves)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = "scripts/refresh_katib_fixtures.py"


def _provenance(katib_dir: Path) -> dict[str, Any]:
    loaded = json.loads((katib_dir / "provenance.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_fixture_is_the_file_its_provenance_names(katib_dir: Path) -> None:
    provenance = _provenance(katib_dir)
    assert provenance["repository"] == "https://github.com/kubeflow/katib"
    assert len(provenance["commit"]) == 40
    recorded = {f["path"]: f["sha256"] for f in provenance["files"]}
    on_disk = {
        str(p.relative_to(katib_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in katib_dir.rglob("*")
        if p.is_file() and p.name not in {"provenance.json", "README.md"}
    }
    assert on_disk == recorded
    # Katib's license travels with its files.
    assert "Apache License" in (katib_dir / "LICENSE").read_text(encoding="utf-8")


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def katib_checkout(katib_dir: Path, tmp_path: Path) -> Path:
    """A git repository laid out as Katib's, holding the fixtures at their upstream paths."""
    checkout = tmp_path / "katib"
    for entry in _provenance(katib_dir)["files"]:
        target = checkout / entry["upstream"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(katib_dir / entry["path"], target)
    _git(checkout.parent, "init", "-q", str(checkout))
    _git(checkout, "add", ".")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release")
    _git(checkout, "tag", "v0.19.0")
    return checkout


def test_refresh_rebuilds_the_fixtures_and_their_provenance(
    katib_dir: Path, katib_checkout: Path, repo_root: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "fixtures"
    result = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), str(katib_checkout), "--dest", str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    provenance = _provenance(dest)
    assert provenance["commit"] == _git(katib_checkout, "rev-parse", "HEAD")
    assert provenance["tags"] == ["v0.19.0"]
    assert provenance["files"] == _provenance(katib_dir)["files"]
    for entry in provenance["files"]:
        assert (dest / entry["path"]).read_bytes() == (katib_dir / entry["path"]).read_bytes()


def test_refresh_refuses_a_checkout_that_is_not_katib_or_has_local_changes(
    katib_checkout: Path, repo_root: Path, tmp_path: Path
) -> None:
    def refresh(checkout: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(repo_root / SCRIPT), str(checkout)]
        return subprocess.run(
            [*command, "--dest", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            check=False,
        )

    (tmp_path / "empty").mkdir()
    missing = refresh(tmp_path / "empty")
    assert missing.returncode == 1
    assert "not a Katib checkout, missing LICENSE" in missing.stderr
    edited = katib_checkout / "examples/v1beta1/nas/enas-gpu.yaml"
    edited.write_text(edited.read_text() + "# edited\n")
    dirty = refresh(katib_checkout)
    assert dirty.returncode == 1
    assert "local changes" in dirty.stderr
    assert not (tmp_path / "out").exists()
