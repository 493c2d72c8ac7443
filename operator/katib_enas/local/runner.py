"""Katib's experiment loop on one machine.

The order of things follows Katib's controllers: `ValidateAlgorithmSettings` once, then
`GetSuggestions` whenever fewer than `parallelTrialCount` trials are active, asking for
`min(parallel, maxTrialCount - completed) - active` new assignments with the running total as
`total_request_number` and every trial (but MetricsUnavailable ones) in the request. The run ends
when the goal is reached, `maxFailedTrialCount` failed or MetricsUnavailable trials are reached,
or `maxTrialCount` trials completed, checked in that order as Katib does.

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
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from rich.console import Console

from katib_enas.core.errors import KatibEnasError
from katib_enas.local import collectors
from katib_enas.local.experiment import Experiment
from katib_enas.local.progress import Progress
from katib_enas.local.requests import experiment_message, suggestions_request
from katib_enas.local.results import RunSummary, summarize_run, write_results
from katib_enas.local.store import (
    ACTIVE,
    COMPLETED,
    FAILED,
    FAILED_LIKE,
    KILLED,
    METRICS_UNAVAILABLE,
    SUCCEEDED,
    Store,
    TrialRecord,
)
from katib_enas.local.substitution import render_trial_spec
from katib_enas.local.trials import Launch, TrialCommandError, TrialProcess, build_launch

log = logging.getLogger(__name__)

DB_FILE = "katib.db"
EXPERIMENT_FILE = "experiment.yaml"
SUGGESTION_DIR = "suggestion"
TRIALS_DIR = "trials"
# Katib gives a GetSuggestions call 60 s and retries failures with back-off; so do we, a while.
SUGGESTION_DEADLINE_S = 60.0
SUGGESTION_ATTEMPTS = 6
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Katib's random-suffix alphabet

# Exit codes of `katib-enas run`.
EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class RunError(KatibEnasError):
    """The run cannot start or go on (bad run directory, service refused the experiment...)."""


class Interrupted(Exception):  # noqa: N818 - a signal, not an error
    """SIGTERM arrived; handled like Ctrl-C."""


@dataclass(frozen=True)
class RunOptions:
    run_dir: Path
    resume: bool = False
    suggestion_address: str | None = None
    trial_timeout_s: float | None = 3600.0
    poll_interval_s: float = 0.2


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    summary: RunSummary
    wall_seconds: float


def prepare_run_dir(experiment_text: str, options: RunOptions) -> Path:
    """Create the run directory, or check it for `--resume`; returns the database path."""
    run_dir = options.run_dir
    db = run_dir / DB_FILE
    if options.resume:
        if not db.is_file():
            raise RunError(f"--resume: {run_dir} holds no run ({DB_FILE} missing)")
    elif db.exists():
        raise RunError(
            f"--run-dir: {run_dir} already holds a run; pass --resume to continue it "
            "or choose another directory"
        )
    (run_dir / TRIALS_DIR).mkdir(parents=True, exist_ok=True)
    (run_dir / SUGGESTION_DIR).mkdir(exist_ok=True)
    from katib_enas.atomic import write_atomic

    write_atomic(run_dir / EXPERIMENT_FILE, experiment_text)
    return db


class Runner:
    """One local run of one Experiment."""

    def __init__(self, experiment: Experiment, options: RunOptions, console: Console) -> None:
        self.experiment = experiment
        self.options = options
        self.console = console
        self.store: Store | None = None
        self._processes: dict[str, TrialProcess] = {}
        self._queue: list[str] = []  # created, not yet started (in creation order)
        self._servers: list[grpc.Server] = []
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._db_manager_address: str | None = None
        self._echoed: list[tuple[str, str]] = []

    # --- the loop ---------------------------------------------------------------------------
    def run(self, experiment_text: str) -> RunOutcome:
        started = time.monotonic()
        db = prepare_run_dir(experiment_text, self.options)
        self.store = store = Store(db)
        try:
            return self._run(store, started)
        finally:
            self._shutdown()
            store.close()

    def _run(self, store: Store, started: float) -> RunOutcome:
        previous = store.get_meta("experiment")
        if previous is not None and previous != self.experiment.name:
            raise RunError(
                f"--resume: this run is experiment {previous!r}, not {self.experiment.name!r}"
            )
        store.set_meta("experiment", self.experiment.name)
        store.set_meta("status", "Running")
        store.set_meta("reason", "")
        self._echoed = [tuple(pair) for pair in _json_list(store.get_meta("echoed_settings"))]
        # Trials an interruption cut short run again, as they were: no trial lost or repeated.
        self._queue = [t.name for t in store.trials() if t.condition in ACTIVE]
        if self._queue:
            log.info("resuming: %d interrupted trial(s) run again", len(self._queue))
        self._connect_suggestion()
        if self.experiment.metrics_collector.kind == "Push":
            self._start_db_manager(store)

        progress = Progress(
            self.console, self.experiment.objective, self.experiment.max_trial_count
        )
        status, reason, code = "Running", "", EXIT_SUCCEEDED
        try:
            with _signals_as_interrupts(), progress:
                status, reason, code = self._loop(store, progress)
        except (KeyboardInterrupt, Interrupted):
            self._kill_all(store, interrupted=True)
            status, reason, code = "Interrupted", "stopped by a signal; --resume continues", 130
        store.set_meta("status", status)
        store.set_meta("reason", reason)
        summary = self.summary()
        write_results(self.options.run_dir, summary, self.experiment.objective)
        return RunOutcome(code, summary, time.monotonic() - started)

    def _loop(self, store: Store, progress: Progress) -> tuple[str, str, int]:
        exp = self.experiment
        while True:
            self._reap(store, progress)
            trials = store.trials()
            progress.update(trials)
            stop = self._stop_reason(trials)
            if stop is not None:
                status, reason = stop
                if self._processes or self._queue:
                    self._kill_all(store, interrupted=False)
                return status, reason, EXIT_FAILED if status == "Failed" else EXIT_SUCCEEDED
            completed = sum(1 for t in trials if t.condition in COMPLETED)
            active = len(self._processes) + len(self._queue)
            required = exp.parallel_trial_count
            if exp.max_trial_count is not None:
                required = min(required, exp.max_trial_count - completed)
            wanted = required - active
            if wanted > 0:
                self._request(store, trials, wanted)
            while self._queue and len(self._processes) < exp.parallel_trial_count:
                self._start(store, self._queue.pop(0), progress)
            time.sleep(self.options.poll_interval_s)

    def _stop_reason(self, trials: list[TrialRecord]) -> tuple[str, str] | None:
        exp = self.experiment
        objective = exp.objective
        for trial in trials:
            value = trial.objective
            if trial.condition == SUCCEEDED and value is not None and objective.reached(value):
                return "Succeeded", f"goal reached by {trial.name}"
        failed = sum(1 for t in trials if t.condition in FAILED_LIKE)
        limit = exp.max_failed_trial_count
        if limit is not None and failed != 0 and failed >= limit:
            return "Failed", f"{failed} trial(s) failed (maxFailedTrialCount {limit})"
        completed = sum(1 for t in trials if t.condition in COMPLETED)
        if exp.max_trial_count is not None and completed >= exp.max_trial_count:
            return "Succeeded", f"maxTrialCount {exp.max_trial_count} reached"
        return None

    def summary(self) -> RunSummary:
        assert self.store is not None
        return summarize_run(
            self.experiment.name,
            self.store.get_meta("status", "") or "",
            self.store.get_meta("reason", "") or "",
            self.store.trials(),
            self.experiment.objective,
        )

    # --- the suggestion service -------------------------------------------------------------
    def _connect_suggestion(self) -> None:
        from katib_enas.katib_api import pb, pb_grpc

        address = self.options.suggestion_address
        if address is None:
            from katib_enas.service.server import make_server

            state_dir = self.options.run_dir / SUGGESTION_DIR
            server, port = make_server("127.0.0.1:0", state_dir=state_dir)
            self._servers.append(server)
            address = f"127.0.0.1:{port}"
            log.info("suggestion service on %s (state in %s)", address, state_dir)
        options = [("grpc.max_receive_message_length", 64 << 20)]
        options.append(("grpc.max_send_message_length", 64 << 20))
        self._channel = grpc.insecure_channel(address, options=options)
        self._stub = pb_grpc.SuggestionStub(self._channel)
        request = pb.ValidateAlgorithmSettingsRequest(
            experiment=experiment_message(self.experiment, self._echoed)
        )
        try:
            self._stub.ValidateAlgorithmSettings(request, timeout=SUGGESTION_DEADLINE_S)
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return  # Katib counts that as valid
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise RunError(
                    f"the suggestion service rejected the experiment: {error.details()}"
                ) from None
            raise RunError(
                f"suggestion service at {address}: ValidateAlgorithmSettings failed "
                f"({code.name}: {error.details()})"
            ) from None

    def _request(self, store: Store, trials: list[TrialRecord], wanted: int) -> None:
        total = len(trials) + wanted
        request = suggestions_request(
            self.experiment, trials, current=wanted, total=total, echoed=self._echoed
        )
        delay = 1.0
        for attempt in range(1, SUGGESTION_ATTEMPTS + 1):
            try:
                reply = self._stub.GetSuggestions(request, timeout=SUGGESTION_DEADLINE_S)
            except grpc.RpcError as error:
                problem = f"{error.code().name}: {error.details()}"
            else:
                if len(reply.parameter_assignments) == wanted:
                    self._accept(store, reply)
                    return
                problem = f"{len(reply.parameter_assignments)} assignment(s) for {wanted} requested"
            log.warning("GetSuggestions attempt %d: %s", attempt, problem)
            if attempt == SUGGESTION_ATTEMPTS:
                raise RunError(f"GetSuggestions kept failing ({problem})")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _accept(self, store: Store, reply: Any) -> None:
        settings = [(s.name, s.value) for s in reply.algorithm.algorithm_settings]
        if settings:
            merged = dict(self._echoed)
            merged.update(settings)
            self._echoed = list(merged.items())
            import json

            store.set_meta("echoed_settings", json.dumps(self._echoed))
        for item in reply.parameter_assignments:
            name = item.trial_name or self._new_name(store)
            if store.has_trial(name):
                raise RunError(f"the suggestion service reused the trial name {name!r}")
            assignments = [(a.name, a.value) for a in item.assignments]
            store.add_trial(name, assignments, dict(item.labels))
            self._queue.append(name)

    def _new_name(self, store: Store) -> str:
        while True:
            suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(8))
            name = f"{self.experiment.name}-{suffix}"
            if not store.has_trial(name):
                return name

    # --- trials -----------------------------------------------------------------------------
    def _start(self, store: Store, name: str, progress: Progress) -> None:
        trial = next(t for t in store.trials() if t.name == name)
        trial_dir = self.options.run_dir / TRIALS_DIR / name
        if trial_dir.exists():
            shutil.rmtree(trial_dir)  # a re-run after an interruption starts clean
        trial_dir.mkdir(parents=True)
        store.set_running(name, _now())
        try:
            launch = self._launch(trial, trial_dir)
            process = TrialProcess(launch)
        except KatibEnasError as error:
            (trial_dir / "trial.log").write_text(f"{error}\n", encoding="utf-8")
            self._finish(store, name, FAILED, str(error), None, progress)
            return
        self._processes[name] = process
        progress.event(f"started {name} (pid {process.pid})", store.trials())

    def _launch(self, trial: TrialRecord, trial_dir: Path) -> Launch:
        exp = self.experiment
        manifest = render_trial_spec(
            exp.trial_template,
            trial.assignment_dict,
            trial_name=trial.name,
            namespace=exp.namespace,
        )
        container = _primary_container(manifest, exp.trial_template.primary_container_name)
        replacements: dict[str, str] = {}
        collector = exp.metrics_collector
        if collector.kind == "File" and collector.file_path is not None:
            local = self._metrics_file(trial_dir)
            local.parent.mkdir(parents=True, exist_ok=True)
            replacements[collector.file_path] = str(local)
        timeout = self.options.trial_timeout_s
        deadline = (manifest.get("spec") or {}).get("activeDeadlineSeconds")
        if isinstance(deadline, int) and deadline > 0:
            timeout = float(deadline)
        return build_launch(
            name=trial.name,
            namespace=exp.namespace,
            container=container,
            collector_kind=collector.kind,
            trial_dir=trial_dir,
            timeout_s=timeout,
            db_manager_address=self._db_manager_address,
            replacements=replacements,
        )

    def _metrics_file(self, trial_dir: Path) -> Path:
        """Where a File-collector trial writes: its own copy of the YAML's absolute path
        (on a cluster every pod has its own volume there)."""
        path = self.experiment.metrics_collector.file_path
        assert path is not None
        return trial_dir / "metrics" / path.lstrip("/")

    def _reap(self, store: Store, progress: Progress) -> None:
        for name, process in list(self._processes.items()):
            code = process.poll()
            if code is None:
                continue
            del self._processes[name]
            condition, message = self._conclude(store, name, code, process)
            self._finish(store, name, condition, message, code, progress)

    def _conclude(
        self, store: Store, name: str, code: int, process: TrialProcess
    ) -> tuple[str, str]:
        exp = self.experiment
        metrics = exp.objective.metric_names
        collector = exp.metrics_collector
        trial_dir = process.launch.cwd
        if collector.kind in ("StdOut", "File"):
            note = ""
            try:
                if collector.kind == "StdOut":
                    lines = _read_lines(process.launch.log_path)
                    logs = collectors.parse_text(lines, metrics, collector.filters)
                else:
                    lines = _read_lines(self._metrics_file(trial_dir))
                    if collector.file_format == "JSON":
                        logs = collectors.parse_json(lines, metrics)
                    else:
                        logs = collectors.parse_text(lines, metrics, collector.filters)
            except ValueError as error:
                logs, note = [], f"metrics file: {error}"
            store.add_logs(name, collectors.with_objective(logs, metrics))
        else:
            note = ""
        if process.timed_out:
            return FAILED, f"timed out after {process.launch.timeout_s:g} s"
        if code != 0:
            return FAILED, f"exit code {code}" + (f"; {note}" if note else "")
        objective = self._observation(store, name)[1]
        if objective is None:
            return METRICS_UNAVAILABLE, note or f"no {exp.objective.metric_name} reported"
        return SUCCEEDED, ""

    def _observation(
        self, store: Store, name: str
    ) -> tuple[dict[str, dict[str, str]], float | None]:
        summaries = collectors.summarize(store.logs(name))
        observation = {
            key: {"min": s.min, "max": s.max, "latest": s.latest} for key, s in summaries.items()
        }
        objective = self.experiment.objective
        value = collectors.objective_value(
            summaries, objective.metric_name, objective.strategies[objective.metric_name]
        )
        return observation, value

    def _finish(  # noqa: PLR0917
        self,
        store: Store,
        name: str,
        condition: str,
        message: str,
        code: int | None,
        progress: Progress,
    ) -> None:
        observation, value = self._observation(store, name)
        store.finish_trial(
            name,
            condition=condition,
            completion_time=_now(),
            message=message,
            exit_code=code,
            objective=value,
            observation=observation,
        )
        shown = (
            f", {self.experiment.objective.metric_name} {value:.4f}" if value is not None else ""
        )
        extra = f" ({message})" if message else ""
        progress.event(f"{name}: {condition}{shown}{extra}", store.trials())

    def _kill_all(self, store: Store, *, interrupted: bool) -> None:
        """Stop every trial process. After an interruption the trials stay Running in the store
        (so `--resume` re-runs them); when the experiment ends they become Killed, as in Katib."""
        for name, process in list(self._processes.items()):
            process.kill()
            if not interrupted:
                _mark_killed(store, name, "experiment completed")
        self._processes.clear()
        if not interrupted:
            for name in self._queue:
                _mark_killed(store, name, "experiment completed before it started")
            self._queue.clear()

    # --- lifetime ---------------------------------------------------------------------------
    def _start_db_manager(self, store: Store) -> None:
        from katib_enas.local.dbmanager import make_dbmanager_server

        server, port = make_dbmanager_server(store, "127.0.0.1:0")
        self._servers.append(server)
        self._db_manager_address = f"127.0.0.1:{port}"
        log.info("DBManager for the Push collector on %s", self._db_manager_address)

    def _shutdown(self) -> None:
        for process in self._processes.values():
            process.kill()
        self._processes.clear()
        if self._channel is not None:
            self._channel.close()
        for server in self._servers:
            server.stop(grace=1.0).wait()
        self._servers.clear()


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


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _json_list(text: str | None) -> list[Any]:
    import json

    if not text:
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else []


def _mark_killed(store: Store, name: str, message: str) -> None:
    store.finish_trial(
        name,
        condition=KILLED,
        completion_time=_now(),
        message=message,
        exit_code=None,
        objective=None,
        observation={},
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
