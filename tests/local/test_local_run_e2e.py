"""End-to-end local runs: real suggestion service, real `enas-trial` processes on digits (1 epoch),
each metrics collector, failure and goal stop rules, and kill + `--resume`."""

from __future__ import annotations

import json
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from run_support import trial_processes

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

Run = Callable[..., subprocess.CompletedProcess[str]]


def _trials(run_dir: Path) -> list[tuple[str, str, float | None]]:
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute("SELECT name, condition, objective FROM trials ORDER BY seq").fetchall()
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


def _logs(run_dir: Path, trial: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute(
            "SELECT time_stamp, metric_name, value FROM observation_logs WHERE trial_name = ?",
            (trial,),
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


COLLECTORS: dict[str, tuple[dict[str, Any] | None, list[str]]] = {
    "stdout": (None, []),
    "file-text": (
        {
            "collector": {"kind": "File"},
            "source": {"fileSystemPath": {"path": "/katib/metrics.log", "kind": "File"}},
        },
        ["--metrics-file=/katib/metrics.log", "--metrics-format=text"],
    ),
    "file-json": (
        {
            "collector": {"kind": "File"},
            "source": {
                "fileSystemPath": {"path": "/katib/metrics.json", "kind": "File", "format": "JSON"}
            },
        },
        ["--metrics-file=/katib/metrics.json", "--metrics-format=json"],
    ),
    "push": ({"collector": {"kind": "Push"}}, ["--push-metrics"]),
}


@pytest.mark.parametrize("kind", list(COLLECTORS))
def test_run_with_each_collector(
    kind: str, tmp_path: Path, make_experiment: Callable[..., Path], katib_enas: Run
) -> None:
    collector, extra = COLLECTORS[kind]
    path = make_experiment(name=f"e2e-{kind}", max_trials=2, collector=collector, extra_args=extra)
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "run"
    trials = _trials(run_dir)
    assert len(trials) == 2
    assert all(condition == "Succeeded" for _, condition, _ in trials), trials
    for name, _, objective in trials:
        assert objective is not None and 0.0 <= objective <= 1.0
        logs = _logs(run_dir, name)
        accuracy = [entry for entry in logs if entry[1] == "Validation-Accuracy"]
        assert accuracy, logs
        # The trial's timestamps survived collection (not Katib's zero time).
        assert not accuracy[0][0].startswith("0001-"), accuracy
        assert (run_dir / "trials" / name / "trial.log").is_file()
    if kind.startswith("file"):
        suffix = "json" if kind == "file-json" else "log"
        for name, _, _ in trials:
            assert (run_dir / "trials" / name / "metrics" / "katib" / f"metrics.{suffix}").is_file()
    assert "maxTrialCount 2 reached" in result.stdout
    best = json.loads((run_dir / "best-trial.json").read_text())
    assert best["best_trial"]["objective_value"] == max(t[2] or 0 for t in trials)
    assert best["best_trial"]["layers"][1].startswith("layer 0: ")

    status = katib_enas("status", run_dir, cwd=tmp_path)
    assert status.returncode == 0
    for name, _, _ in trials:
        assert name in status.stdout
    assert "best trial (*)" in status.stdout


def test_crashing_trials_stop_the_run_at_max_failed(
    tmp_path: Path, make_experiment: Callable[..., Path], katib_enas: Run
) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text("import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    path = make_experiment(
        name="crash",
        max_trials=6,
        parallel=1,
        max_failed=2,
        command=[
            "python3",
            str(crash),
            '--architecture="${trialParameters.neuralNetworkArchitecture}"',
            '--nn_config="${trialParameters.neuralNetworkConfig}"',
        ],
    )
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    trials = _trials(tmp_path / "run")
    assert [condition for _, condition, _ in trials] == ["Failed", "Failed"]
    assert "maxFailedTrialCount 2" in result.stdout
    # The trial's own last line, not only its exit code.
    assert "exit code 3: boom" in result.stdout
    assert "boom" in (tmp_path / "run" / "trials" / trials[0][0] / "trial.log").read_text()


def test_failed_and_metricless_trials_say_why(
    tmp_path: Path, make_experiment: Callable[..., Path], katib_enas: Run
) -> None:
    """An `enas-trial: error:` line and a misspelt metric, as a person meets them."""
    path = make_experiment(name="why", max_trials=1, parallel=1, extra_args=["--batch-size=1"])
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "enas-trial: error:" in result.stdout  # in the summary's note column
    failed = json.loads(katib_enas("status", tmp_path / "run", "-o", "json", cwd=tmp_path).stdout)
    assert failed["trials"][0]["message"] == (
        "exit code 2: enas-trial: error: argument --batch-size/--batch_size: '1' is not an "
        "integer >= 2"
    )
    script = tmp_path / "misspelt.py"
    script.write_text("print('Validation-Acc=0.9')\nprint('Training-Loss=0.1')\n")
    path = make_experiment(
        name="nometric",
        max_trials=1,
        parallel=1,
        command=[
            "python3",
            str(script),
            '--architecture="${trialParameters.neuralNetworkArchitecture}"',
            '--nn_config="${trialParameters.neuralNetworkConfig}"',
        ],
    )
    result = katib_enas("run", path, "--run-dir", "run2", cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    trials = json.loads(katib_enas("status", tmp_path / "run2", "-o", "json", cwd=tmp_path).stdout)[
        "trials"
    ]
    assert trials[0]["condition"] == "MetricsUnavailable"
    assert trials[0]["message"] == (
        "no Validation-Accuracy reported; the trial printed: Validation-Acc, Training-Loss"
    )


def test_goal_reached_stops_the_run(
    tmp_path: Path, make_experiment: Callable[..., Path], katib_enas: Run
) -> None:
    # Any trained child beats 1 % accuracy: the first finished trial reaches the goal.
    path = make_experiment(name="goal", max_trials=5, parallel=1, goal=0.01)
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    trials = _trials(tmp_path / "run")
    assert len(trials) == 1 and trials[0][1] == "Succeeded"
    assert "goal reached by" in result.stdout


def test_killed_run_leaves_no_process_and_resume_finishes_it(
    tmp_path: Path, make_experiment: Callable[..., Path]
) -> None:
    # Eight epochs: trials that still run when the signal comes, even forked ones.
    path = make_experiment(name="resume", max_trials=4, parallel=2, extra_args=["--num_epochs=8"])
    run_dir = tmp_path / "run"
    katib = str(Path(sys.executable).parent / "katib-enas")
    runner = subprocess.Popen(
        [katib, "run", str(path), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        running: list[str] = []
        while time.monotonic() < deadline:
            if (run_dir / "katib.db").exists():
                running = [n for n, c, _ in _trials(run_dir) if c == "Running"]
                if len(running) == 2:
                    break
            time.sleep(0.2)
        assert len(running) == 2, "two trials never ran at once"
        time.sleep(1.0)  # let them get into their training
        trial_pids = trial_processes(run_dir)
        assert trial_pids, "no trial process found"
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=60)
        assert runner.returncode == 130, output[-2000:]
        # The summary: the interrupted trials are dead, and the exact command carries on.
        for name in running:
            row = next(line for line in output.splitlines() if line.split()[1:2] == [name])
            assert "Killed" in row and "Running" not in row, row
        lines = output.splitlines()
        resume_line = lines[lines.index("the run was interrupted; carry on with:") + 1].strip()
        assert resume_line == f"katib-enas run --resume --run-dir {run_dir}"
        time.sleep(0.3)
        assert trial_processes(run_dir) == set(), "trial processes survived the kill"
        before = _trials(run_dir)
        interrupted = {n for n, c, _ in before if c == "Running"}
        assert interrupted == set(running)
    finally:
        if runner.poll() is None:  # a failed assertion must not leave the run behind
            runner.kill()
        runner.communicate()

    resumed = subprocess.run(
        [katib, *shlex.split(resume_line)[1:]],  # the printed command, as a person pastes it
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _trials(run_dir)
    names = [n for n, _, _ in after]
    assert len(names) == 4 and len(set(names)) == 4
    assert interrupted <= set(names), "an interrupted trial was lost"
    assert all(c == "Succeeded" for _, c, _ in after), after
    # The earlier trials kept their place: nothing was asked for twice.
    assert names[: len(before)] == [n for n, _, _ in before]
    # The suggestion service restored its state from the run directory.
    assert any((run_dir / "suggestion").rglob("*")), "no suggestion state saved"
