"""Architecture pictures with Graphviz, one drawing function per search-space kind.

`DRAWERS` maps a kind's name (`katib_enas.core.spaces.KINDS`) to a function that turns a trial's
assignments into a `graphviz.Digraph`; adding a kind is one module here plus one line below
(the drawing modules never import each other: import-linter's "Architecture drawings are
independent"). Rendering to SVG needs Graphviz's `dot`; without it `svg` returns None and the
callers say so, while the `.dot` text is still written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping

import graphviz

from katib_enas.analysis.drawing import macro, micro
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.spaces import kind_of

Drawer = Callable[[Mapping[str, str], str], graphviz.Digraph]

DRAWERS: Mapping[str, Drawer] = {"macro": macro.draw, "micro": micro.draw}

NO_DOT = (
    "Graphviz's `dot` was not found: architecture pictures are not drawn (the .dot files are "
    "written); install Graphviz (Debian: apt-get install graphviz) and run `katib-enas report`"
)

NO_DOT_HERE = (
    "Graphviz's `dot` is not installed here: the best architectures are listed in words, "
    "without pictures"
)


def draw(assignments: Mapping[str, str], title: str) -> graphviz.Digraph | None:
    """The picture of a trial's architecture (None: no kind reads these assignments)."""
    kind = kind_of(assignments)
    drawer = DRAWERS.get(kind.name) if kind is not None else None
    if drawer is None:
        return None
    try:
        return drawer(assignments, title)
    except KatibEnasError:
        return None


def dot_available() -> bool:
    return shutil.which("dot") is not None


def svg(graph: graphviz.Digraph) -> str | None:
    """The picture as SVG text, or None when `dot` is missing."""
    if not dot_available():
        return None
    try:
        return str(graph.pipe(format="svg", encoding="utf-8"))
    except graphviz.ExecutableNotFound:
        return None
