"""The local DBManager: `kubeflow.katib.report_metrics` from a real trial-like process lands in
SQLite, and GetObservationLog reads it back over a real channel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.collectors.push import NAMESPACE_FILE, SHIM_DIR
from katib_enas.local.dbmanager import start_dbmanager
from katib_enas.local.store import Store

REPORTER = """
from kubeflow.katib import report_metrics
report_metrics({"Validation-Accuracy": 0.875, "Training-Loss": "0.25"},
               db_manager_address="%s")
"""


@pytest.mark.slow
def test_report_metrics_unchanged_reaches_sqlite(tmp_path: Path) -> None:
    store = Store(tmp_path / "katib.db")
    server, port = start_dbmanager(store)
    try:
        env = dict(os.environ, KATIB_TRIAL_NAME="tiny-trial1")
        if not NAMESPACE_FILE.exists():
            # What the runner does for Push trials off-cluster (see push_shim).
            env["PYTHONPATH"] = str(SHIM_DIR)
        done = subprocess.run(
            [sys.executable, "-c", REPORTER % f"127.0.0.1:{port}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        logs = store.logs("tiny-trial1")
        assert sorted((log.name, log.value) for log in logs) == [
            ("Training-Loss", "0.25"),
            ("Validation-Accuracy", "0.875"),
        ]
        assert all(log.timestamp.endswith("Z") for log in logs)

        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.DBManagerStub(channel)
            reply = stub.GetObservationLog(
                pb.GetObservationLogRequest(
                    trial_name="tiny-trial1", metric_name="Validation-Accuracy"
                ),
                timeout=10,
            )
            assert [(m.metric.name, m.metric.value) for m in reply.observation_log.metric_logs] == [
                ("Validation-Accuracy", "0.875")
            ]
            stub.DeleteObservationLog(
                pb.DeleteObservationLogRequest(trial_name="tiny-trial1"), timeout=10
            )
        assert store.logs("tiny-trial1") == []
    finally:
        server.stop(None)
        store.close()


@pytest.mark.slow
def test_report_metrics_without_the_shim_fails_off_cluster(tmp_path: Path) -> None:
    """Why the shim exists: the SDK reads the pod's namespace file before sending."""
    if NAMESPACE_FILE.exists():
        return  # inside a pod the SDK works as it is; nothing to show
    env = dict(os.environ, KATIB_TRIAL_NAME="t")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", REPORTER % "127.0.0.1:9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "serviceaccount/namespace" in done.stderr
