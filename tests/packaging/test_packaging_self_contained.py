"""A clone of this repository runs its suite with nothing beside it: no test, script, Makefile
target or CI file reads a path outside the checkout (the Katib reference data the tests use is in
`tests/fixtures/katib/`). The files are read, not run: each way out of the checkout that the code
here could spell - a `..` in a string, `os.pardir`, a `Path(__file__)` chain or the repo root's
`.parent`, `$(dirname "$0")/..` climbing past the root - is found and named with its line."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# A `..` path segment: "..", "../x", "x/..", but not an ellipsis.
PARENT_SEGMENT = re.compile(r"(?:^|[/\s\"'=])\.\.(?:/|$|[\s\"'])")
DIRNAME_UP = re.compile(r"\$\(dirname \"\$0\"\)((?:/\.\.)+)")
# Names that hold the repository's root by convention (the `repo_root` fixture).
ROOT_NAMES = {"repo_root"}


def _python_files() -> list[Path]:
    found = [*(REPO_ROOT / "tests").rglob("*.py"), *(REPO_ROOT / "scripts").glob("*.py")]
    # This file's samples are the very leaks it looks for.
    return sorted(p for p in found if p != Path(__file__).resolve())


def _text_files() -> list[Path]:
    found = [
        REPO_ROOT / "Makefile",
        REPO_ROOT / ".ci" / "run",
        *(REPO_ROOT / "scripts").glob("*.sh"),
        *(REPO_ROOT / ".github" / "workflows").glob("*.yml"),
    ]
    return sorted(found)


def _levels_up(node: ast.expr) -> int | None:
    """How many steps up from `__file__` a `Path(__file__)` chain goes (1: the file's own
    directory, depth + 1: the repository's root); None when the expression is not such a chain."""
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _levels_up(node.value)
        return None if inner is None else inner + 1
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
    ):
        inner = _levels_up(node.value.value)
        return None if inner is None else inner + node.slice.value + 1
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"resolve", "absolute"}
    ):
        return _levels_up(node.func.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Path"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "__file__"
    ):
        return 0
    return None


def python_leaks(source: str, depth: int) -> Iterator[str]:
    """Ways out of the checkout in a Python file `depth` directories below the repo root."""
    tree = ast.parse(source)
    roots = set(ROOT_NAMES)
    for node in ast.walk(tree):
        # NAME = Path(__file__)...: the root (or a folder inside it) under another name.
        if isinstance(node, ast.Assign) and _levels_up(node.value) == depth + 1:
            roots.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if PARENT_SEGMENT.search(node.value) or "/shared/katib" in node.value:
                yield f"{line}: the path {node.value!r}"
        elif isinstance(node, ast.Attribute) and node.attr == "pardir":
            yield f"{line}: os.pardir"
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in {"parent", "parents"}
            and isinstance(node.value, ast.Name)
            and node.value.id in roots
        ):
            yield f"{line}: {node.value.id}.{node.attr}, above the repository's root"
        if isinstance(node, ast.expr):
            up = _levels_up(node)
            if up is not None and up > depth + 1:
                yield f"{line}: Path(__file__) {up} levels up, above the repository's root"


def text_leaks(text: str, depth: int) -> Iterator[str]:
    """Ways out of the checkout in a Makefile, shell script or workflow `depth` directories below
    the root: `$(dirname "$0")/..` may climb to the root, no further; no other `..`."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in DIRNAME_UP.finditer(line):
            if match.group(1).count("..") > depth:
                yield f"{number}: {match.group(0)}, above the repository's root"
        rest = DIRNAME_UP.sub("", line)
        if PARENT_SEGMENT.search(rest) or "/shared/katib" in rest:
            yield f"{number}: {line.strip()}"


def _depth(path: Path) -> int:
    return len(path.relative_to(REPO_ROOT).parts) - 1


def test_no_test_or_script_reads_outside_the_repository() -> None:
    leaks = [
        f"{path.relative_to(REPO_ROOT)}:{leak}"
        for path in _python_files()
        for leak in python_leaks(path.read_text(encoding="utf-8"), _depth(path))
    ]
    assert leaks == []


def test_no_make_target_ci_step_or_shell_script_reads_outside_the_repository() -> None:
    files = _text_files()
    assert REPO_ROOT / "Makefile" in files and REPO_ROOT / ".ci" / "run" in files
    leaks = [
        f"{path.relative_to(REPO_ROOT)}:{leak}"
        for path in files
        for leak in text_leaks(path.read_text(encoding="utf-8"), _depth(path))
    ]
    assert leaks == []


# What the suite did before its Katib data moved in, and the other spellings of the same leak.
@pytest.mark.parametrize(
    ("source", "depth"),
    [
        ('path = REPO_ROOT.parent / "shared"\nREPO_ROOT = Path(__file__).parent.parent', 1),
        ("def f(repo_root):\n    return repo_root.parent / 'shared'", 1),
        ('SAMPLE = Path(__file__).resolve().parents[2] / "x.yaml"', 1),
        ('SAMPLE = Path(__file__).resolve().parents[1].parent / "x.yaml"', 1),
        ('open("../shared/katib/openapi.json")', 2),
        ("import os\nos.path.join(HERE, os.pardir, os.pardir)", 1),
        ('subprocess.run(["cp", "-r", "..", "/tmp"])', 1),
    ],
)
def test_the_python_check_finds_a_path_leaving_the_repository(source: str, depth: int) -> None:
    assert list(python_leaks(source, depth)), source


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("test:\n\tcp -r ../shared/katib tests/", 0),
        ('ROOT="$(cd "$(dirname "$0")/../.." && pwd)"', 1),
        ("DATA ?= $(CURDIR)/../data", 0),
    ],
)
def test_the_text_check_finds_a_path_leaving_the_repository(text: str, depth: int) -> None:
    assert list(text_leaks(text, depth)), text


def test_the_checks_accept_the_ways_to_the_root() -> None:
    python = 'ROOT = Path(__file__).resolve().parents[1]\nDOCS = ROOT / "docs"\nmsg = "wait..."'
    assert list(python_leaks(python, 1)) == []
    assert list(text_leaks('cd "$(dirname "$0")/.."', 1)) == []
