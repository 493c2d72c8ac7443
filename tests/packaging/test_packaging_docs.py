"""The README and docs/ link to each other: every relative link names a file of the repository
and every `#anchor` a heading of its target, as GitHub renders them, so that moving text
between the README and docs/ never leaves a dead link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        REPO_ROOT / "README.md",
        *(REPO_ROOT / "docs").glob("*.md"),
        REPO_ROOT / "helm" / "katib-enas" / "README.md",
        REPO_ROOT / "tests" / "fixtures" / "katib" / "README.md",
    ]
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_slug_is_githubs() -> None:
    assert slug("Local mode: `katib-enas run`") == "local-mode-katib-enas-run"
    assert slug("What each container writes, and memory") == "what-each-container-writes-and-memory"
    assert slug("KatibEnasSuggestionDown") == "katibenassuggestiondown"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_and_anchor_exists(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    dead = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or REPO_ROOT not in (resolved, *resolved.parents):
            dead.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            dead.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert dead == []


def test_the_readme_reaches_the_cluster_within_its_first_screen() -> None:
    """A Katib user finds how to run it on a cluster without scrolling: the link to the install
    path is in the first 12 lines, the numbered path itself follows the quick start."""
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert any("](#install-on-kubernetes)" in line for line in lines[:12])
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[:2] == ["## Quick start", "## Install on Kubernetes"]
