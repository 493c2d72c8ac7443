"""The trial: builds the child network from Katib assignments, trains it, reports metrics.

`enas_trial.load_model(path)` rebuilds a trained child from its model file (`model_file`); it is
imported on first use, so that `enas-trial` checks its input before it pays for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enas_trial.model_file import load_model

__all__ = ["load_model"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from enas_trial.model_file import load_model

        return load_model
    raise AttributeError(f"module 'enas_trial' has no attribute {name!r}")
