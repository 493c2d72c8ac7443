"""The sizes a request may have: every list and string that can grow, bounded where the request
is read, so that answering costs what the request is and not what it describes.

A request over a bound is refused with INVALID_ARGUMENT naming the field, before anything is
built from it. The bounds sit far above anything Katib or a trial sends (the largest valid
`nn_config`, 100,000 operations in its embedding, is about 10 MiB), so valid requests are
answered as before. The message's own size is gRPC's (`server.MAX_MESSAGE_BYTES`); the numbers
inside `nasConfig` are bounded by the core (`core.spaces.operations`), the store's tensors by
`core.sharing.store`.
"""

from __future__ import annotations

from collections.abc import Sized

from katib_enas.core.errors import RequestTooLargeError

MAX_NAME_CHARS = 1024  # names: experiment, trial, setting, metric, parameter, operation type
MAX_SHORT_CHARS = 1024  # short values: a setting, a metric value, a time, a categorical value
MAX_ASSIGNMENT_CHARS = 16 * 2**20  # one assignment's value (`nn_config` of a large space)
MAX_SETTINGS = 256  # algorithm settings (the service knows 23)
MAX_METRIC_NAMES = 256  # the objective's additional metrics
MAX_SIZES = 16  # entries of graphConfig.inputSizes / outputSizes
MAX_TRIALS = 100_000  # trials in one GetSuggestions (10x the largest history measured)
MAX_ASSIGNMENTS = 64  # assignments of one trial (a NAS trial has 2)
MAX_METRICS = 1024  # observed metrics of one trial
MAX_TENSORS = 100_000  # tensors named in one Pull or carried by one Push
MAX_DIMS = 8  # dimensions of one tensor's shape


def check_count(field: str, items: Sized, bound: int) -> None:
    """Refuse `items` with more than `bound` entries, naming `field`."""
    if len(items) > bound:
        raise RequestTooLargeError(f"{field} has {len(items)} entries, more than {bound}")


def check_text(field: str, text: str | bytes, bound: int) -> None:
    """Refuse a string longer than `bound` characters, naming `field` (and showing its start)."""
    if len(text) > bound:
        raise RequestTooLargeError(
            f"{field} is {len(text)} characters long, more than {bound} (it starts {text[:20]!r})"
        )
