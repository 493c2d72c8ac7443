"""Exit statuses of the `katib-enas` and `enas-trial` commands, one meaning each."""

from __future__ import annotations

OK = 0
FAILED = 1  # the work ran and failed (a failed experiment, a trial that could not train)
BAD_INPUT = 2  # refused before doing anything: a flag, a file or a field is wrong
INTERRUPTED = 130  # Ctrl-C or SIGTERM, as a shell reports SIGINT
