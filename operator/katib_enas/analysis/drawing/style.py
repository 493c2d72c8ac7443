"""Colours and shapes the drawings share, so a macro layer and a micro edge of the same
operation type look alike."""

from __future__ import annotations

import graphviz

OP_COLOURS = {
    "convolution": "#9ecae1",
    "separable_convolution": "#a1d99b",
    "depthwise_convolution": "#fdd0a2",
    "dilated_convolution": "#c6dbef",
    "reduction": "#fcbba1",
    "identity": "#d9d9d9",
}
EDGE_COLOURS = {
    "convolution": "#3182bd",
    "separable_convolution": "#31a354",
    "depthwise_convolution": "#e6550d",
    "dilated_convolution": "#6baed6",
    "reduction": "#de2d26",
    "identity": "#636363",
}


def digraph(title: str) -> graphviz.Digraph:
    return graphviz.Digraph(
        graph_attr={
            "label": title,
            "labelloc": "t",
            "fontname": "Helvetica",
            "fontsize": "14",
            "rankdir": "TB",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "11", "style": "filled,rounded"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )
