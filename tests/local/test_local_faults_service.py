"""A suggestion service killed with SIGKILL in the middle of a local run, then restarted on the
same port and volume: the run carries on (Katib's retries), the restarted service resumes from
its checkpoint, and no trial is learned twice or lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from serve_process import ServeProcess

from katib_enas.core.state import checkpoint_path

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _succeeded(db: Path) -> int:
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT COUNT(*) FROM trials WHERE condition = 'Succeeded'")
        return int(row.fetchone()[0])


def test_a_killed_service_is_restarted_and_the_run_loses_nothing(
    make_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    experiment = make_experiment(name="faults", max_trials=6, parallel=1)
    state = tmp_path / "state"
    state.mkdir()
    serve = ServeProcess(state, tmp_path / "serve-1.log").start()
    run_dir = tmp_path / "run"
    runner = subprocess.Popen(
        [str(Path(sys.executable).with_name("katib-enas")), "run", str(experiment),
         "--run-dir", str(run_dir), "--suggestion-address", serve.address],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while _succeeded(run_dir / "katib.db") < 2:
            assert runner.poll() is None, runner.communicate()[0]
            assert time.monotonic() < deadline, "no trial finished"
            time.sleep(0.2)
        serve.kill()  # kill -9: no graceful shutdown, nothing flushed on the way out
        time.sleep(1.0)
        restarted = ServeProcess(state, tmp_path / "serve-2.log", port=serve.port).start()
        output, _ = runner.communicate(timeout=300)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 0, output
    assert restarted.stop() == 0
    assert _succeeded(run_dir / "katib.db") == 6
    log = (tmp_path / "serve-2.log").read_text()
    assert "resumed from" in log and "replayed" not in log, log
    saved = torch.load(checkpoint_path(state, "faults"), weights_only=True)
    learned = json.loads(saved["learned"])  # one JSON string: see SearchStrategy._learned_state
    assert len(learned) == len(set(learned)) >= 2  # each finished trial learned once
    with sqlite3.connect(run_dir / "katib.db") as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM trials")}
    assert set(learned) <= names
