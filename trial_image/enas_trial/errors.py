"""Errors of the trial that are not about the assignment format (that family lives in the core).

They derive from the core's `KatibEnasError` so that the command maps every kind of bad input to
the same one-line message and exit status 2.
"""

from __future__ import annotations

from katib_enas.core.errors import KatibEnasError


class TrialInputError(KatibEnasError):
    """A flag, dataset file or environment setting the trial cannot work with."""


class TrialRuntimeError(Exception):
    """Something outside the user's input failed while training (metrics push, memory)."""
