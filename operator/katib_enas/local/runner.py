"""Katib's experiment loop on one machine.

The order of things follows Katib's controllers: `ValidateAlgorithmSettings` once, then
`GetSuggestions` whenever fewer than `parallelTrialCount` trials are active (`stop_rules.wanted`),
with every trial but MetricsUnavailable ones in the request; trials run as local processes
(`scheduler`), their metrics gathered by the Experiment's collector (`collectors`); the run ends by
Katib's stop rules (`stop_rules.stop_reason`).

Trials start from the trial launcher when they can (`launcher`), each recorded in the store
before it runs (`processes`); `spec.earlyStopping` is applied as Katib's medianstop applies it
(`early_stopping`). An interruption (Ctrl-C, SIGTERM) kills every trial process group and leaves
the interrupted trials marked Running; after that or after the runner was killed outright,
`--resume` follows the trials still running, concludes those that finished meanwhile and runs
the others again under the same names and assignments (`recovery`), then carries on, with the
suggestion service restoring its state from the run's `suggestion/` directory. The runner
records how the run ended in the store; what people read of it (the summary, `summary.txt`,
`best-trial.json`, the report) is written from the run's record after it returns (`commands.run`).
"""

from __future__ import annotations

import logging
import secrets
import shlex
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console

from katib_enas import exits
from katib_enas.experiment import Experiment
from katib_enas.local import collectors, stop_rules
from katib_enas.local.progress import Progress
from katib_enas.local.results import INTERRUPTED, RESUME_KEY
from katib_enas.local.rundir import RunDir, RunError
from katib_enas.local.scheduler import Scheduler
from katib_enas.local.store import Store, StoredTrial
from katib_enas.local.suggestion_client import SuggestionClient
from katib_enas.local.trials import Trials

log = logging.getLogger(__name__)

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Katib's random-suffix alphabet


class Interrupted(Exception):  # noqa: N818 - a signal, not an error
    """SIGTERM arrived; handled like Ctrl-C."""


@dataclass(frozen=True)
class RunOptions:
    run_dir: Path
    resume: bool = False
    suggestion_address: str | None = None
    trial_timeout_s: float | None = 3600.0
    poll_interval_s: float = 0.2
    metrics_at: tuple[str, int] | None = None  # (host, port) of the in-process service's /metrics
    trial_launcher: str = "fork"  # "fork": CPU enas-trial trials from the launcher; "process"


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    status: str  # Katib's spelling (Succeeded, Failed) or Interrupted; the record has the rest
    wall_seconds: float


class Runner:
    """One local run of one Experiment."""

    def __init__(self, experiment: Experiment, options: RunOptions, console: Console) -> None:
        self.experiment = experiment
        self.options = options
        self.console = console
        self.run_dir = RunDir(options.run_dir)
        self.scheduler = Scheduler(experiment.parallel_trial_count)
        self.collector = collectors.create(
            experiment.metrics_collector, experiment.objective.metric_names
        )
        self.trials = Trials(
            experiment,
            self.run_dir,
            self.scheduler,
            self.collector,
            options.trial_timeout_s,
            options.trial_launcher,
        )

    def run(self, experiment_text: str) -> RunOutcome:
        started = time.monotonic()
        self.run_dir.prepare(experiment_text, resume=self.options.resume)
        store = Store(self.run_dir.db)
        client = SuggestionClient(self.experiment, store)
        try:
            self._begin(store)
            self.trials.open_launcher()  # it imports torch while the service starts
            client.connect(
                self.options.suggestion_address,
                self.run_dir.suggestion_dir,
                self.options.metrics_at,
            )
            self.collector.start(store)
            self.trials.recover(store)
            status, reason, code = self._supervise(store, client)
            store.set_meta("status", status)
            store.set_meta("reason", reason)
            return RunOutcome(code, status, time.monotonic() - started)
        finally:
            self.trials.close()
            client.close()
            self.collector.stop()
            store.close()

    def _begin(self, store: Store) -> None:
        previous = store.get_meta("experiment")
        if previous is not None and previous != self.experiment.name:
            raise RunError(
                f"--resume: this run is experiment {previous!r}, not {self.experiment.name!r}"
            )
        store.set_meta("experiment", self.experiment.name)
        store.set_meta(RESUME_KEY, resume_command(self.options))
        store.set_meta("status", "Running")
        store.set_meta("reason", "")

    def _supervise(self, store: Store, client: SuggestionClient) -> tuple[str, str, int]:
        """The loop, with signals turned into a clean stop that `--resume` continues."""
        progress = Progress(
            self.console, self.experiment.objective, self.experiment.max_trial_count
        )
        try:
            with _signals_as_interrupts(), progress:
                return self._loop(store, client, progress)
        except (KeyboardInterrupt, Interrupted):
            self.scheduler.kill_all()  # the interrupted trials stay Running for --resume
            return INTERRUPTED, "stopped by a signal; --resume continues", exits.INTERRUPTED

    def _loop(
        self, store: Store, client: SuggestionClient, progress: Progress
    ) -> tuple[str, str, int]:
        while True:
            for finished in self.scheduler.reap():
                self.trials.conclude(store, finished, progress)
            self.trials.stop_early(store, progress)
            trials = store.trials()
            progress.update(trials)
            stop = stop_rules.stop_reason(self.experiment, trials)
            if stop is not None:
                self.trials.end_active(store)
                return stop.status, stop.reason, exits.FAILED if stop.failed else exits.OK
            wanted = stop_rules.wanted(self.experiment, trials, self.scheduler.active)
            if wanted > 0:
                self._create(store, client, trials, wanted)
            while (queued := self.scheduler.next_to_start()) is not None:
                self.trials.start(store, queued, progress)
            time.sleep(self.options.poll_interval_s)

    def _create(
        self, store: Store, client: SuggestionClient, trials: list[StoredTrial], wanted: int
    ) -> None:
        """New trials from the suggestion service, each with the early-stopping rule of now."""
        suggestions = client.suggest(trials, wanted)
        metric = self.experiment.objective.metric_name
        rule = self.trials.early.rule_for_new(trials, lambda name: store.logs(name, metric))
        for suggested in suggestions:
            name = suggested.trial_name or self._new_name(store)
            if store.has_trial(name):
                raise RunError(f"the suggestion service reused the trial name {name!r}")
            store.add_trial(name, suggested.assignments, suggested.labels)
            if rule is not None:
                store.set_stop_rule(name, rule.to_dict())
            self.scheduler.queue.append(name)

    def _new_name(self, store: Store) -> str:
        while True:
            suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(8))
            name = f"{self.experiment.name}-{suffix}"
            if not store.has_trial(name):
                return name


def resume_command(options: RunOptions) -> str:
    """The exact command that carries this run on, with the flags that change how it runs."""
    words = ["katib-enas", "run", "--resume", "--run-dir", str(options.run_dir)]
    if options.suggestion_address is not None:
        words += ["--suggestion-address", options.suggestion_address]
    if options.trial_timeout_s != RunOptions.trial_timeout_s:
        words += ["--trial-timeout", f"{options.trial_timeout_s:g}"]
    if options.trial_launcher != RunOptions.trial_launcher:
        words += ["--trial-launcher", options.trial_launcher]
    if options.metrics_at is not None:
        words += [
            "--metrics-host",
            options.metrics_at[0],
            "--metrics-port",
            str(options.metrics_at[1]),
        ]
    return shlex.join(words)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGTERM raises `Interrupted` in the main thread, so it is cleaned up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    before = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
