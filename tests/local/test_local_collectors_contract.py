"""The collector contract (`katib_enas.local.collectors.base`), run against every registered
collector with real trial processes and a real run store: whatever the kind, what a trial
reports the way Katib collects that kind ends up in the store, and a trial that reports nothing
(or garbage) is recorded as such without an error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from katib_enas.experiment import MetricsCollector, metric_logs
from katib_enas.local import collectors
from katib_enas.local.launch import build_launch
from katib_enas.local.processes import spawn
from katib_enas.local.store import Store

METRICS = ("Validation-Accuracy", "Training-Loss")
METRICS_FILE = "/var/log/katib/metrics.log"
# A trial that reports one epoch the way its collector kind reads metrics (or says nothing).
REPORTER = """
import os, sys
kind, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
line = "2026-11-29T10:00:00Z Validation-Accuracy=0.75\\n2026-11-29T10:00:00Z Training-Loss=0.5"
if mode == "silent":
    line = "epoch 1 done, nothing to report"
if kind == "StdOut":
    print(line)
elif kind == "File":
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(line + "\\n")
elif mode == "report":
    from kubeflow.katib import report_metrics
    address = os.environ["KATIB_DB_MANAGER_ADDRESS"]
    report_metrics({"Validation-Accuracy": 0.75, "Training-Loss": 0.5}, db_manager_address=address)
"""
SPECS = {
    "StdOut": MetricsCollector("StdOut"),
    "File": MetricsCollector("File", file_path=METRICS_FILE),
    "Push": MetricsCollector("Push"),
}


def test_every_registered_collector_is_covered() -> None:
    assert set(SPECS) == set(collectors.COLLECTORS) == collectors.LOCAL_KINDS


def _run_trial(
    collector: collectors.Collector, store: Store, tmp_path: Path, name: str, mode: str
) -> list[metric_logs.MetricLog]:
    script = tmp_path / "reporter.py"
    script.write_text(REPORTER, encoding="utf-8")
    command = ["python3", str(script), collector.kind, METRICS_FILE, mode]
    launch = build_launch(
        name=name,
        namespace="default",
        container={"name": "c", "command": command},
        collector=collector,
        trial_dir=tmp_path / name,
        timeout_s=120,
    )
    process = spawn(launch)
    process.release()
    deadline = time.monotonic() + 120
    while not process.poll():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert process.exit_code == 0, launch.log_path.read_text()
    logs, note = collector.collect(launch.log_path, launch.cwd)
    assert note == ""
    live = collector.live_file(launch.log_path, launch.cwd)
    if live is not None:  # early stopping reads, while the trial runs, what collect reads after
        assert collector.parse_live(live.read_text().splitlines()) == (logs or [])
    if logs is not None:
        store.add_logs(name, metric_logs.with_objective(logs, METRICS))
    return store.logs(name)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(collectors.COLLECTORS))
def test_what_a_trial_reports_reaches_the_store(kind: str, tmp_path: Path) -> None:
    store = Store(tmp_path / "katib.db")
    collector = collectors.create(SPECS[kind], METRICS)
    collector.start(store)
    try:
        logs = _run_trial(collector, store, tmp_path, "t-report", "report")
        values = {log.name: float(log.value) for log in logs}
        assert values == {"Validation-Accuracy": 0.75, "Training-Loss": 0.5}
        summary = metric_logs.summarize(logs)["Validation-Accuracy"]
        assert (
            metric_logs.objective_value({"Validation-Accuracy": summary}, METRICS[0], "max") == 0.75
        )
        silent = _run_trial(collector, store, tmp_path, "t-silent", "silent")
        if kind != "Push":  # nothing reached the store; Katib's "unavailable" marks the gap
            assert [(log.name, log.value) for log in silent] == [(METRICS[0], "unavailable")]
        else:
            assert silent == []
    finally:
        collector.stop()
        collector.stop()  # stop twice is harmless (the runner stops after errors too)
        store.close()


def test_shell_kinds_are_the_ones_katib_rewrites() -> None:
    assert {k for k, c in collectors.COLLECTORS.items() if c.shell} == {"StdOut", "File"}
