"""The macro space kind: its assignment format, its controller and its space."""

from katib_enas.core.spaces.macro.format import Architecture, Layer, NnConfig
from katib_enas.core.spaces.macro.space import MacroKind, MacroSpace

__all__ = ["Architecture", "Layer", "MacroKind", "MacroSpace", "NnConfig"]
