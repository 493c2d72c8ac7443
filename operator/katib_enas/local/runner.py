"""Katib's experiment loop on one machine.

The order of things follows Katib's controllers: `ValidateAlgorithmSettings` once, then
`GetSuggestions` whenever fewer than `parallelTrialCount` trials are active (`stop_rules.wanted`),
with every trial but MetricsUnavailable ones in the request; trials run as local processes
(`scheduler`), their metrics gathered by the Experiment's collector (`collectors`); the run ends by
Katib's stop rules (`stop_rules.stop_reason`).

An interruption (Ctrl-C, SIGTERM) kills every trial process group and leaves the interrupted
trials marked Running in the store; `--resume` runs exactly those again under the same names and
assignments, then carries on, with the suggestion service restoring its state from the run's
`suggestion/` directory.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from katib_enas import exits
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import ACTIVE, Condition, format_time
from katib_enas.local import collectors, stop_rules
from katib_enas.local.experiment import Experiment
from katib_enas.local.launch import Launch, TrialCommandError, TrialProcess, build_launch
from katib_enas.local.progress import Progress
from katib_enas.local.results import RunSummary, summarize_run, write_results
from katib_enas.local.rundir import RunDir, RunError
from katib_enas.local.scheduler import Finished, Scheduler
from katib_enas.local.store import Store, StoredTrial
from katib_enas.local.substitution import render_trial_spec
from katib_enas.local.suggestion_client import SuggestionClient

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


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    summary: RunSummary
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

    def run(self, experiment_text: str) -> RunOutcome:
        started = time.monotonic()
        self.run_dir.prepare(experiment_text, resume=self.options.resume)
        store = Store(self.run_dir.db)
        client = SuggestionClient(self.experiment, store)
        try:
            self._begin(store)
            client.connect(
                self.options.suggestion_address,
                self.run_dir.suggestion_dir,
                self.options.metrics_at,
            )
            self.collector.start(store)
            status, reason, code = self._supervise(store, client)
            store.set_meta("status", status)
            store.set_meta("reason", reason)
            summary = summarize(self.experiment, store)
            write_results(self.options.run_dir, summary, self.experiment.objective)
            return RunOutcome(code, summary, time.monotonic() - started)
        finally:
            self.scheduler.kill_all()
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
        store.set_meta("status", "Running")
        store.set_meta("reason", "")
        # Trials an interruption cut short run again, as they were: no trial lost or repeated.
        self.scheduler.queue = [t.name for t in store.trials() if t.condition in ACTIVE]
        if self.scheduler.queue:
            log.info("resuming: %d interrupted trial(s) run again", len(self.scheduler.queue))

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
            return "Interrupted", "stopped by a signal; --resume continues", exits.INTERRUPTED

    def _loop(
        self, store: Store, client: SuggestionClient, progress: Progress
    ) -> tuple[str, str, int]:
        while True:
            for finished in self.scheduler.reap():
                self._conclude(store, finished, progress)
            trials = store.trials()
            progress.update(trials)
            stop = stop_rules.stop_reason(self.experiment, trials)
            if stop is not None:
                self._end_active(store)
                return stop.status, stop.reason, exits.FAILED if stop.failed else exits.OK
            wanted = stop_rules.wanted(self.experiment, trials, self.scheduler.active)
            if wanted > 0:
                for suggested in client.suggest(trials, wanted):
                    name = suggested.trial_name or self._new_name(store)
                    if store.has_trial(name):
                        raise RunError(f"the suggestion service reused the trial name {name!r}")
                    store.add_trial(name, suggested.assignments, suggested.labels)
                    self.scheduler.queue.append(name)
            while (queued := self.scheduler.next_to_start()) is not None:
                self._start(store, queued, progress)
            time.sleep(self.options.poll_interval_s)

    def _new_name(self, store: Store) -> str:
        while True:
            suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(8))
            name = f"{self.experiment.name}-{suffix}"
            if not store.has_trial(name):
                return name

    # --- one trial ----------------------------------------------------------------------------
    def _start(self, store: Store, name: str, progress: Progress) -> None:
        trial = next(t for t in store.trials() if t.name == name)
        trial_dir = self.run_dir.trial_dir(name)
        if trial_dir.exists():
            shutil.rmtree(trial_dir)  # a re-run after an interruption starts clean
        trial_dir.mkdir(parents=True)
        store.set_running(name, format_time())
        try:
            process = TrialProcess(self._launch(trial, trial_dir))
        except KatibEnasError as error:
            (trial_dir / "trial.log").write_text(f"{error}\n", encoding="utf-8")
            self._finish(store, name, Condition.FAILED, str(error), None, progress)
            return
        self.scheduler.running[name] = process
        progress.event(f"started {name} (pid {process.pid})", store.trials())

    def _launch(self, trial: StoredTrial, trial_dir: Path) -> Launch:
        exp = self.experiment
        manifest = render_trial_spec(
            exp.trial_template,
            trial.assignment_dict,
            trial_name=trial.name,
            namespace=exp.namespace,
        )
        container = _primary_container(manifest, exp.trial_template.primary_container_name)
        timeout = self.options.trial_timeout_s
        deadline = (manifest.get("spec") or {}).get("activeDeadlineSeconds")
        if isinstance(deadline, int) and deadline > 0:
            timeout = float(deadline)
        return build_launch(
            name=trial.name,
            namespace=exp.namespace,
            container=container,
            collector=self.collector,
            trial_dir=trial_dir,
            timeout_s=timeout,
        )

    def _conclude(self, store: Store, finished: Finished, progress: Progress) -> None:
        """Collect a finished trial's metrics and give it Katib's condition."""
        launch = finished.process.launch
        logs, note = self.collector.collect(launch.log_path, launch.cwd)
        if logs is not None:
            metrics = self.experiment.objective.metric_names
            store.add_logs(finished.name, collectors.with_objective(logs, metrics))
        if finished.process.timed_out:
            condition, message = Condition.FAILED, f"timed out after {launch.timeout_s:g} s"
        elif finished.exit_code != 0:
            condition = Condition.FAILED
            message = f"exit code {finished.exit_code}" + (f"; {note}" if note else "")
        elif observe(self.experiment, store, finished.name)[1] is None:
            condition = Condition.METRICSUNAVAILABLE
            message = note or f"no {self.experiment.objective.metric_name} reported"
        else:
            condition, message = Condition.SUCCEEDED, ""
        self._finish(store, finished.name, condition, message, finished.exit_code, progress)

    def _finish(  # noqa: PLR0917
        self,
        store: Store,
        name: str,
        condition: Condition,
        message: str,
        code: int | None,
        progress: Progress,
    ) -> None:
        observation, value = observe(self.experiment, store, name)
        store.finish_trial(
            name,
            condition=condition,
            completion_time=format_time(),
            message=message,
            exit_code=code,
            objective=value,
            observation=observation,
        )
        metric = self.experiment.objective.metric_name
        shown = f", {metric} {value:.4f}" if value is not None else ""
        extra = f" ({message})" if message else ""
        progress.event(f"{name}: {condition.katib_name}{shown}{extra}", store.trials())

    def _end_active(self, store: Store) -> None:
        """The experiment is over: what still runs or waits becomes Killed, as in Katib."""
        running, queued = self.scheduler.kill_all()
        for name in running:
            _mark_killed(store, name, "experiment completed")
        for name in queued:
            _mark_killed(store, name, "experiment completed before it started")


def observe(
    experiment: Experiment, store: Store, name: str
) -> tuple[dict[str, dict[str, str]], float | None]:
    """A trial's observation (min/max/latest per metric) and its objective value."""
    summaries = collectors.summarize(store.logs(name))
    observation = {
        key: {"min": s.min, "max": s.max, "latest": s.latest} for key, s in summaries.items()
    }
    objective = experiment.objective
    value = collectors.objective_value(
        summaries, objective.metric_name, objective.strategy(objective.metric_name)
    )
    return observation, value


def summarize(experiment: Experiment, store: Store) -> RunSummary:
    return summarize_run(
        experiment.name,
        store.get_meta("status", "") or "",
        store.get_meta("reason", "") or "",
        store.trials(),
        experiment.objective,
    )


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


def _primary_container(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    containers = (((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    )
    for container in containers or []:
        if isinstance(container, dict) and container.get("name") == name:
            return container
    raise TrialCommandError(f"primaryContainerName: no container named {name!r} in the trial spec")


def _mark_killed(store: Store, name: str, message: str) -> None:
    store.finish_trial(
        name,
        condition=Condition.KILLED,
        completion_time=format_time(),
        message=message,
        exit_code=None,
        objective=None,
        observation={},
    )
