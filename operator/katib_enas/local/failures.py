"""Why a trial failed, in one line: what its log says last about an error.

`exit code 2` alone sends people to the trial's log; the line that made the trial fail (the
`enas-trial: error: ...` line, the last line of a Python traceback) usually says it all, so the
summary, `status` and the report show it beside the exit code.
"""

from __future__ import annotations

import re
from pathlib import Path

# Read only the end of a log: a trial may print for hours before it fails.
_TAIL_BYTES = 64 * 1024
_MAX_CHARS = 240
_ERROR_WORDS = re.compile(
    r"error|exception|failed|traceback|killed|denied|not found|no such|cannot|out of memory",
    re.IGNORECASE,
)
# Katib's metric lines (`<RFC3339> Name=value`) are never the reason.
_METRIC_LINE = re.compile(r"^\S+\s+[\w|-]+=[-+\d.eE]+\s*$")


def last_error_line(log_path: Path) -> str:
    """The last line of the log that reads like an error, else its last line ('' if empty)."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _METRIC_LINE.match(line)]
    if not lines:
        return ""
    chosen = next((line for line in reversed(lines) if _ERROR_WORDS.search(line)), lines[-1])
    return chosen if len(chosen) <= _MAX_CHARS else chosen[: _MAX_CHARS - 3] + "..."
