"""The run's SQLite database: trials, their assignments and conditions, and observation logs.

It plays the parts of Katib's Trial objects (etcd) and its MySQL observation-log table, and
keeps what no Katib object holds: the in-process controller's update history (for the report). Every
change is committed at once, so a killed run keeps everything it recorded and `--resume` and
`katib-enas status` read the same file. The DBManager servicer writes into it from gRPC
threads while the runner reads it: one connection, one lock.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from katib_enas.atomic import replacing
from katib_enas.core.katib import Condition
from katib_enas.core.updates import ControllerUpdate, Decision
from katib_enas.experiment.metric_logs import MetricLog

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    condition TEXT NOT NULL,
    assignments TEXT NOT NULL,
    labels TEXT NOT NULL,
    start_time TEXT,
    completion_time TEXT,
    message TEXT NOT NULL DEFAULT '',
    exit_code INTEGER,
    objective REAL,
    observation TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS observation_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_name TEXT NOT NULL,
    time_stamp TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observation_logs_trial ON observation_logs (trial_name, metric_name);
CREATE TABLE IF NOT EXISTS processes (
    trial_name TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    identity TEXT NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stop_rules (trial_name TEXT PRIMARY KEY, rule TEXT NOT NULL);
-- Each update's per-decision probabilities (JSON), for the report's heatmap; a table of its
-- own so that a run database from before it gains it on open.
CREATE TABLE IF NOT EXISTS controller_decisions (
    number INTEGER PRIMARY KEY,
    decisions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS controller_updates (
    number INTEGER PRIMARY KEY,
    trials INTEGER NOT NULL,
    mean_reward REAL NOT NULL,
    baseline REAL NOT NULL,
    loss REAL NOT NULL,
    entropy REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StoredTrial:
    """One trial of the run (Katib's Trial object); `observation` maps metric -> {min, max,
    latest}. Conditions are stored with Katib's spelling (`MetricsUnavailable`)."""

    name: str
    seq: int
    condition: Condition
    assignments: tuple[tuple[str, str], ...]
    labels: dict[str, str]
    start_time: str | None
    completion_time: str | None
    message: str
    exit_code: int | None
    objective: float | None
    observation: dict[str, dict[str, str]]

    @property
    def assignment_dict(self) -> dict[str, str]:
        return dict(self.assignments)


@dataclass(frozen=True)
class ProcessRecord:
    """What the run store keeps of a trial's process: enough to find it again, or know it is
    gone, after the runner died."""

    pid: int
    identity: str  # boot id and start time since boot: a recycled pid has another
    started: float  # wall-clock seconds (time.time()) when it was launched


def _create(path: Path) -> None:
    """Make the database beside `path` and move it in whole, so that a reader (`katib-enas
    status`, a test polling the run) never opens a database without its tables."""
    with replacing(path) as temp, contextlib.closing(sqlite3.connect(temp)) as db:
        db.executescript(_SCHEMA)


class Store:
    """A run database at `path` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        if not path.exists():
            _create(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- run metadata -------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- trials -------------------------------------------------------------------------
    def add_trial(
        self, name: str, assignments: Sequence[tuple[str, str]], labels: dict[str, str]
    ) -> None:
        with self._transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM trials").fetchone()[0]
            db.execute(
                "INSERT INTO trials (name, seq, condition, assignments, labels) VALUES (?,?,?,?,?)",
                (
                    name,
                    seq,
                    Condition.CREATED.katib_name,
                    json.dumps(list(assignments)),
                    json.dumps(labels),
                ),
            )

    def set_running(self, name: str, start_time: str) -> None:
        """Mark a trial running from scratch: a re-run after an interruption drops old logs and
        the record of its old process."""
        with self._transaction() as db:
            db.execute("DELETE FROM observation_logs WHERE trial_name = ?", (name,))
            db.execute("DELETE FROM processes WHERE trial_name = ?", (name,))
            db.execute(
                "UPDATE trials SET condition = ?, start_time = ?, completion_time = NULL, "
                "message = '', exit_code = NULL, objective = NULL, observation = '{}' "
                "WHERE name = ?",
                (Condition.RUNNING.katib_name, start_time, name),
            )

    def finish_trial(
        self,
        name: str,
        *,
        condition: Condition,
        completion_time: str,
        message: str,
        exit_code: int | None,
        objective: float | None,
        observation: dict[str, dict[str, str]],
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE trials SET condition = ?, completion_time = ?, message = ?, exit_code = ?,"
                " objective = ?, observation = ? WHERE name = ?",
                (
                    condition.katib_name,
                    completion_time,
                    message,
                    exit_code,
                    objective,
                    json.dumps(observation),
                    name,
                ),
            )

    def trials(self) -> list[StoredTrial]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, seq, condition, assignments, labels, start_time, completion_time,"
                " message, exit_code, objective, observation FROM trials ORDER BY seq"
            ).fetchall()
        return [
            StoredTrial(
                name=row[0],
                seq=row[1],
                condition=Condition.from_katib_name(row[2]),
                assignments=tuple((str(k), str(v)) for k, v in json.loads(row[3])),
                labels=json.loads(row[4]),
                start_time=row[5],
                completion_time=row[6],
                message=row[7],
                exit_code=row[8],
                objective=row[9],
                observation=json.loads(row[10]),
            )
            for row in rows
        ]

    # --- a running trial's process and early-stopping rule --------------------------------
    def record_process(self, name: str, record: ProcessRecord) -> None:
        """Remember a trial's process before it may run (see `processes`)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO processes (trial_name, pid, identity, started)"
                " VALUES (?, ?, ?, ?)",
                (name, record.pid, record.identity, record.started),
            )

    def process(self, name: str) -> ProcessRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT pid, identity, started FROM processes WHERE trial_name = ?", (name,)
            ).fetchone()
        return None if row is None else ProcessRecord(int(row[0]), str(row[1]), float(row[2]))

    def set_stop_rule(self, name: str, rule: dict[str, object]) -> None:
        """The early-stopping rule a trial got when it was created (Katib keeps it in the
        Trial's spec)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO stop_rules (trial_name, rule) VALUES (?, ?)",
                (name, json.dumps(rule)),
            )

    def stop_rule(self, name: str) -> dict[str, object] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT rule FROM stop_rules WHERE trial_name = ?", (name,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def has_trial(self, name: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM trials WHERE name = ?", (name,)).fetchone()
        return row is not None

    # --- observation logs (Katib's DBManager table) --------------------------------------
    def add_logs(self, trial_name: str, logs: Sequence[MetricLog]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO observation_logs (trial_name, time_stamp, metric_name, value)"
                " VALUES (?, ?, ?, ?)",
                [(trial_name, log.timestamp, log.name, log.value) for log in logs],
            )

    def logs(self, trial_name: str, metric_name: str = "") -> list[MetricLog]:
        query = "SELECT time_stamp, metric_name, value FROM observation_logs WHERE trial_name = ?"
        params: tuple[str, ...] = (trial_name,)
        if metric_name:
            query += " AND metric_name = ?"
            params += (metric_name,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [MetricLog(row[0], row[1], row[2]) for row in rows]

    def delete_logs(self, trial_name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM observation_logs WHERE trial_name = ?", (trial_name,))

    # --- the in-process controller's updates (the report's reward/baseline/entropy plot) ---
    def add_controller_updates(self, updates: Sequence[ControllerUpdate]) -> None:
        """Record updates by number: a controller that relearns its history after losing its
        checkpoint writes the same numbers again, so nothing is counted twice."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO controller_updates"
                " (number, trials, mean_reward, baseline, loss, entropy) VALUES (?,?,?,?,?,?)",
                [
                    (u.number, u.trials, u.mean_reward, u.baseline, u.loss, u.entropy)
                    for u in updates
                ],
            )
            db.executemany(
                "INSERT OR REPLACE INTO controller_decisions (number, decisions) VALUES (?,?)",
                [(u.number, _decisions_json(u.decisions)) for u in updates if u.decisions],
            )

    def controller_updates(self) -> list[ControllerUpdate]:
        with self._lock:
            rows = self._db.execute(
                "SELECT u.number, trials, mean_reward, baseline, loss, entropy, d.decisions"
                " FROM controller_updates u LEFT JOIN controller_decisions d"
                " ON d.number = u.number ORDER BY u.number"
            ).fetchall()
        return [
            ControllerUpdate(
                int(r[0]),
                int(r[1]),
                float(r[2]),
                float(r[3]),
                float(r[4]),
                float(r[5]),
                _decisions(r[6]),
            )
            for r in rows
        ]


def _decisions_json(decisions: Sequence[Decision]) -> str:
    return json.dumps(
        [[d.label, list(d.choices), list(d.probabilities)] for d in decisions],
        separators=(",", ":"),
    )


def _decisions(text: str | None) -> tuple[Decision, ...]:
    if not text:
        return ()
    return tuple(
        Decision(str(label), tuple(map(str, choices)), tuple(map(float, probabilities)))
        for label, choices, probabilities in json.loads(text)
    )
