"""How much of a local run's wall time is spent outside trial training.

Runs the bundled digits Experiment cut to 4 trials (same trial command, 20 epochs, parallel 2)
and compares, in the same run, the wall time of the whole run against its baseline: the time the
trials spent inside training (`seconds` of each trial's `--summary-file`). The rest is process
start, imports, data loading, suggestion calls and the runner's own work.
Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_local_overhead.py -s`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def overhead(run_dir: Path, parallel: int, wall: float) -> dict[str, float]:
    with sqlite3.connect(run_dir / "katib.db") as db:
        names = [row[0] for row in db.execute("SELECT name FROM trials")]
    training = 0.0
    to_first_step = 0.0
    for name in names:
        summary = json.loads((run_dir / "trials" / name / "summary.json").read_text())
        training += float(summary["seconds"])
        to_first_step += float(summary["seconds_to_first_step"])
    slots = parallel * wall
    return {
        "trials": float(len(names)),
        "wall_s": wall,
        "training_s": training,
        "mean_start_to_first_step_s": to_first_step / max(len(names), 1),
        "share_outside_training": 1.0 - training / slots,
    }


def test_bench_local_overhead(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "manifests/local/digits.yaml").read_text())
    doc["spec"]["maxTrialCount"] = 4
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    started = time.monotonic()
    subprocess.run(
        [str(Path(sys.executable).parent / "katib-enas"), "run", str(path), "--run-dir", "run"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=900,
    )
    wall = time.monotonic() - started
    figures = overhead(tmp_path / "run", doc["spec"]["parallelTrialCount"], wall)
    for key, value in figures.items():
        print(f"{key}: {value:.3f}")
    assert figures["training_s"] > 0
