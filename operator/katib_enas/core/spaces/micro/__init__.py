"""The micro (cell) space kind: its assignment format, its controller and its space."""

from katib_enas.core.spaces.micro.format import Cell, MicroArchitecture, MicroConfig, Node
from katib_enas.core.spaces.micro.space import MicroKind, MicroSpace

__all__ = ["Cell", "MicroArchitecture", "MicroConfig", "MicroKind", "MicroSpace", "Node"]
