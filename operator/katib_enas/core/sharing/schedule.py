"""The learning rate of a weight-sharing search: one schedule over the whole experiment, driven
by the steps all trials have pushed to the store (its global step), not a fresh one per trial.

Plain math, no torch: the trial reads it before importing torch.
"""

from __future__ import annotations

import math


def warm_restarts(peak: float, step: int, first: int, mult: int, floor: float) -> float:
    """SGDR (Loshchilov & Hutter; ENAS trains its shared weights with it): cosine cycles from
    `peak` down to `floor x peak`, the first `first` steps long, each next one `mult` times
    longer. With a floor above zero the rate never reaches zero, so the trials late in a search
    still train and their rewards do not collapse."""
    length, start = max(first, 1), 0
    if mult <= 1:
        start = (step // length) * length
    while step >= start + length:  # at most ~log(step) cycles when they grow
        start += length
        length *= mult
    low = floor * peak
    return low + (peak - low) * 0.5 * (1.0 + math.cos(math.pi * (step - start) / length))
