"""The trials of a local run, each from its start to its Katib condition.

`start` launches a created trial (`launcher`: forked or spawned, recorded before it runs);
`stop_early` applies the early-stopping rules (`early_stopping`); `conclude` collects a finished
trial's metrics and gives it Katib's condition; `recover` takes over the unfinished trials of an
earlier runner (`recovery`); `end_active` kills what still runs when the experiment is over.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import UNAVAILABLE, Condition, format_time
from katib_enas.experiment import Experiment, metric_logs
from katib_enas.experiment.substitution import primary_container, render_trial_spec
from katib_enas.local import collectors
from katib_enas.local.collectors import Collector
from katib_enas.local.early_stopping import EarlyStopping, StopRule
from katib_enas.local.failures import last_error_line
from katib_enas.local.launch import Launch, build_launch
from katib_enas.local.launcher import ForkLauncher, TrialStarter, is_enas_trial
from katib_enas.local.processes import RunningTrial
from katib_enas.local.progress import Progress
from katib_enas.local.recovery import recover
from katib_enas.local.rundir import RunDir
from katib_enas.local.scheduler import Finished, Scheduler
from katib_enas.local.store import Store, StoredTrial

log = logging.getLogger(__name__)


class Trials:
    """The trial side of a run: its processes (`scheduler`), collector and early stopping."""

    def __init__(  # noqa: PLR0917
        self,
        experiment: Experiment,
        run_dir: RunDir,
        scheduler: Scheduler,
        collector: Collector,
        timeout_s: float | None,
        mode: str,
    ) -> None:
        self.experiment = experiment
        self.run_dir = run_dir
        self.scheduler = scheduler
        self.collector = collector
        self.timeout_s = timeout_s
        self.mode = mode
        # Checked before the run directory exists: bad settings leave nothing behind.
        self.early = EarlyStopping(experiment.early_stopping, collector, experiment.objective)
        self.starter = TrialStarter(None)

    def open_launcher(self) -> None:
        """Start the trial launcher now (it imports torch while the run sets up)."""
        self.starter = TrialStarter(self.launcher())

    def close(self) -> None:
        self.scheduler.kill_all()
        self.starter.close()

    def start(self, store: Store, name: str, progress: Progress) -> None:
        trial = next(t for t in store.trials() if t.name == name)
        trial_dir = self.run_dir.trial_dir(name)
        if trial_dir.exists():
            shutil.rmtree(trial_dir)  # a re-run after an interruption starts clean
        trial_dir.mkdir(parents=True)
        store.set_running(name, format_time())
        try:
            process = self.starter.start(
                self.launch(trial, trial_dir), lambda record: store.record_process(name, record)
            )
        except KatibEnasError as error:
            (trial_dir / "trial.log").write_text(f"{error}\n", encoding="utf-8")
            self.finish(store, name, Condition.FAILED, str(error), None, progress)
            return
        self.scheduler.running[name] = process
        self.watch(store, name, process)
        progress.event(f"started {name} (pid {process.pid})", store.trials())

    def watch(self, store: Store, name: str, process: RunningTrial) -> None:
        rule = store.stop_rule(name)
        if rule is not None:
            launch = process.launch
            self.early.watch(name, StopRule.from_dict(rule), launch.log_path, launch.cwd)

    def stop_early(self, store: Store, progress: Progress) -> None:
        """Kill the trials their early-stopping rule stops; EarlyStopped with what they
        reported so far."""
        for name in list(self.scheduler.running):
            reason = self.early.check(name)
            if reason is None:
                continue
            self.early.forget(name)
            process = self.scheduler.stop(name)
            self.collect(store, name, process)
            self.finish(store, name, Condition.EARLYSTOPPED, reason, process.exit_code, progress)

    def launch(self, trial: StoredTrial, trial_dir: Path) -> Launch:
        exp = self.experiment
        manifest = render_trial_spec(
            exp.trial_template,
            trial.assignment_dict,
            trial_name=trial.name,
            namespace=exp.namespace,
        )
        container = primary_container(manifest, exp.trial_template.primary_container_name)
        timeout = self.timeout_s
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

    def collect(self, store: Store, name: str, process: RunningTrial) -> str:
        """Store what the trial reported (as its collector reads it); a note on bad output."""
        launch = process.launch
        logs, note = self.collector.collect(launch.log_path, launch.cwd)
        if logs is not None:
            metrics = self.experiment.objective.metric_names
            store.add_logs(name, metric_logs.with_objective(logs, metrics))
        return note

    def conclude(self, store: Store, finished: Finished, progress: Progress) -> None:
        """Collect a finished trial's metrics and give it Katib's condition."""
        self.early.forget(finished.name)
        process = finished.process
        if finished.exit_code is None and process.reattached and not process.timed_out:
            # It outlived an earlier runner, then was killed without an exit status.
            self.scheduler.queue.insert(0, finished.name)
            return
        note = self.collect(store, finished.name, process)
        if process.timed_out:
            condition = Condition.FAILED
            message = f"timed out after {process.launch.timeout_s:g} s"
        elif finished.exit_code is None:
            condition = Condition.FAILED
            message = "the trial process ended without an exit status (killed by a signal?)"
        elif finished.exit_code != 0:
            condition = Condition.FAILED
            error = last_error_line(process.launch.log_path)
            message = f"exit code {finished.exit_code}" + (f": {error}" if error else "")
            message += f"; {note}" if note else ""
        elif observe(self.experiment, store, finished.name)[1] is None:
            condition = Condition.METRICSUNAVAILABLE
            message = note or self._unavailable(store, finished.name, process)
        else:
            condition, message = Condition.SUCCEEDED, ""
        self.finish(store, finished.name, condition, message, finished.exit_code, progress)

    def _unavailable(self, store: Store, name: str, process: RunningTrial) -> str:
        """Why a trial that exited cleanly has no objective value: the names it did print."""
        launch = process.launch
        names = dict.fromkeys(self.collector.printed_names(launch.log_path, launch.cwd))
        names.update((log.name, None) for log in store.logs(name) if log.value != UNAVAILABLE)
        metric = self.experiment.objective.metric_name
        if not names:
            return f"no {metric} reported; the trial printed no metrics (name=value lines)"
        return f"no {metric} reported; the trial printed: {', '.join(names)}"

    def finish(  # noqa: PLR0917
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

    def end_active(self, store: Store) -> None:
        """The experiment is over: what still runs or waits becomes Killed, as in Katib."""
        running, queued = self.scheduler.kill_all()
        for name in running:
            _mark_killed(store, name, "experiment completed")
        for name in queued:
            _mark_killed(store, name, "experiment completed before it started")

    def launcher(self) -> ForkLauncher | None:
        """The trial launcher, when this run's trials can use it."""
        container = self.experiment.trial_template.primary_container()
        if self.mode != "fork" or container is None:
            return None
        if not is_enas_trial(container):
            return None
        return ForkLauncher(self.run_dir.path / "launcher.log")

    def recover(self, store: Store) -> None:
        """Unfinished trials of an earlier runner: no trial lost or run twice (`recovery`)."""

        def launch_of(trial: StoredTrial) -> Launch:
            return self.launch(trial, self.run_dir.trial_dir(trial.name))

        found = recover(
            store.trials(),
            store,
            launch_of,
            push=isinstance(self.collector, collectors.PushCollector),
        )
        self.scheduler.queue = found.queue
        for name, process in found.attached.items():
            self.scheduler.running[name] = process
            self.watch(store, name, process)
        if found.queue or found.attached:
            log.info(
                "resuming: %d trial(s) still running or finished meanwhile, %d to run (again)%s",
                len(found.attached),
                len(found.queue),
                f"; killed {len(found.killed)} Push trial(s) cut off from their DB manager"
                if found.killed
                else "",
            )


def observe(
    experiment: Experiment, store: Store, name: str
) -> tuple[dict[str, dict[str, str]], float | None]:
    """A trial's observation (min/max/latest per metric) and its objective value."""
    summaries = metric_logs.summarize(store.logs(name))
    observation = {
        key: {"min": s.min, "max": s.max, "latest": s.latest} for key, s in summaries.items()
    }
    objective = experiment.objective
    value = metric_logs.objective_value(
        summaries, objective.metric_name, objective.strategy(objective.metric_name)
    )
    return observation, value


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
