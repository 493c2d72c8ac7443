"""The live view of a local run: trials running/succeeded/failed and the best value so far.

On a terminal it is one status line redrawn in place (rich `Live`); elsewhere (CI logs, pipes,
tests) every trial start and end is a plain log line instead, so output stays readable.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from katib_enas.core.katib import FAILED_LIKE, Condition, Objective
from katib_enas.local.results import best_trial
from katib_enas.local.store import StoredTrial

log = logging.getLogger("katib_enas.local")


class Progress:
    """Context manager: `update(trials)` after every change, `event(text)` for log lines."""

    def __init__(self, console: Console, objective: Objective, max_trials: int | None) -> None:
        self._console = console
        self._objective = objective
        self._max = max_trials
        self._live: Live | None = None
        if console.is_terminal:
            self._live = Live(Text(""), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> Progress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, trace)

    def line(self, trials: Sequence[StoredTrial]) -> str:
        counts = Counter(t.condition for t in trials)
        failed = sum(counts[c] for c in FAILED_LIKE)
        best = best_trial(trials, self._objective)
        total = f"/{self._max}" if self._max is not None else ""
        best_text = (
            f"best {self._objective.metric_name} {best.objective:.4f} ({best.name})"
            if best is not None and best.objective is not None
            else "no result yet"
        )
        return (
            f"trials {len(trials)}{total}: {counts[Condition.RUNNING]} running, "
            f"{counts[Condition.SUCCEEDED]} succeeded, {failed} failed | {best_text}"
        )

    def update(self, trials: Sequence[StoredTrial]) -> None:
        if self._live is not None:
            self._live.update(Text(self.line(trials)))

    def event(self, text: str, trials: Sequence[StoredTrial]) -> None:
        if self._live is not None:
            self._console.print(text, markup=False)
            self.update(trials)
        else:
            log.info("%s | %s", text, self.line(trials))
