"""Push: the trial reports through Katib's DB manager API (`kubeflow.katib.report_metrics`).

A DBManager server on loopback, backed by the run's store, takes the reports; trials are pointed
at it through `KATIB_DB_MANAGER_ADDRESS` and in their command words. The SDK reads the pod's
service-account namespace file before it reports; off-cluster a small shim on `PYTHONPATH`
(`push_shim/`) supplies it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from katib_enas.core.katib import DEFAULT_DB_MANAGER
from katib_enas.experiment.metric_logs import MetricLog
from katib_enas.local.collectors.base import Collector

if TYPE_CHECKING:
    from katib_enas.local.store import Store

log = logging.getLogger(__name__)

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
SHIM_DIR = Path(__file__).resolve().parent.parent / "push_shim"


class PushCollector(Collector):
    kind = "Push"
    shell = False  # nothing rewrites the command under Push

    address: str | None = None
    _server: Any = None

    def start(self, store: Store) -> None:
        from katib_enas.local.dbmanager import start_dbmanager

        self._server, port = start_dbmanager(store, "127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        log.info("DBManager for the Push collector on %s", self.address)

    def adapt(self, argv: list[str], env: dict[str, str], trial_dir: Path) -> list[str]:
        assert self.address is not None, "start() runs first"
        env["KATIB_DB_MANAGER_ADDRESS"] = self.address
        if not NAMESPACE_FILE.exists():
            before = env.get("PYTHONPATH")
            env["PYTHONPATH"] = str(SHIM_DIR) + (os.pathsep + before if before else "")
        return [word.replace(DEFAULT_DB_MANAGER, self.address) for word in argv]

    def collect(self, log_path: Path, trial_dir: Path) -> tuple[list[MetricLog] | None, str]:
        return None, ""  # the reports are in the store already

    def printed_names(self, log_path: Path, trial_dir: Path) -> list[str]:
        return []  # what it pushed is in the store; the runner reads it there

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1.0).wait()
            self._server = None
