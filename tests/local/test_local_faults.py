"""Faults survived, nothing lost: the runner killed outright (`kill -9`) while trials run, then
`--resume`. Real runner, real trial processes, real run store.

Scripted trials (`GATED`) count every start in a control directory and finish only when the
test says so, which pins down which trial ends while no runner is there."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from run_support import running, trial_processes

from katib_enas.local.launch import Launch
from katib_enas.local.processes import AttachedTrial, alive, spawn

KATIB = str(Path(sys.executable).parent / "katib-enas")
ARGS = [
    '--architecture="${trialParameters.neuralNetworkArchitecture}"',
    '--nn_config="${trialParameters.neuralNetworkConfig}"',
]
# Records each start (<name>.<n>, holding its pid; overlap-<name> if an earlier start of it
# still runs), reports once, waits for finish-<name>, reports again and exits. With "push" it
# reports through Katib's SDK instead of printing.
GATED = """
import os, sys, time
from pathlib import Path
control = Path(sys.argv[1])
name = os.environ["KATIB_TRIAL_NAME"]
if sys.argv[2] == "push":
    from kubeflow.katib import report_metrics
    address = os.environ["KATIB_DB_MANAGER_ADDRESS"]
    def report(value):
        report_metrics({"Validation-Accuracy": value}, db_manager_address=address)
else:
    def report(value):
        print(f"Validation-Accuracy={value}", flush=True)
run = 1
while True:
    try:
        fd = os.open(control / f"{name}.{run}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        break
    except FileExistsError:
        pid = int((control / f"{name}.{run}").read_text() or 0)
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX":
                (control / f"overlap-{name}").touch()
        except OSError:
            pass
        run += 1
os.write(fd, str(os.getpid()).encode())
os.close(fd)
report(float(f"0.{run}5"))
while not (control / f"finish-{name}").exists():
    time.sleep(0.05)
report(0.9)
"""


def _trials(run_dir: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute("SELECT name, condition, observation FROM trials").fetchall()
    return {str(name): (str(condition), str(observation)) for name, condition, observation in rows}


def _logs(run_dir: Path, name: str) -> list[str]:
    with sqlite3.connect(run_dir / "katib.db") as db:
        rows = db.execute(
            "SELECT value FROM observation_logs WHERE trial_name = ? ORDER BY id", (name,)
        ).fetchall()
    return [str(row[0]) for row in rows]


def _starts(control: Path) -> dict[str, list[int]]:
    """Trial name -> pids of its starts, in order."""
    found: dict[str, list[int]] = {}
    for path in sorted(control.glob("*.[0-9]*")):
        name, _, number = path.name.rpartition(".")
        found.setdefault(name, []).insert(int(number) - 1, int(path.read_text() or 0))
    return found


def _until(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.e2e
def test_kill_9_then_resume_loses_no_trial_and_runs_none_twice(
    tmp_path: Path, make_experiment: Callable[..., Path]
) -> None:
    control = tmp_path / "control"
    control.mkdir()
    script = tmp_path / "gated.py"
    script.write_text(GATED, encoding="utf-8")
    command = ["python3", str(script), str(control), "stdout", *ARGS]
    path = make_experiment(name="faults", max_trials=4, parallel=3, command=command)
    run_dir = tmp_path / "run"
    first = subprocess.Popen(
        [KATIB, "run", str(path), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until(lambda: len(_starts(control)) == 3, "three trials to start")
        a = sorted(_starts(control))[0]
        (control / f"finish-{a}").touch()
        _until(lambda: len(_starts(control)) == 4, "a fourth trial after the first ended")
        _until(lambda: _trials(run_dir)[a][0] == "Succeeded", "the first trial to succeed")
        b, c, d = sorted(set(_starts(control)) - {a})
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    pids = _starts(control)
    assert all(running(pids[n][0]) for n in (b, c, d)), "trials died with their runner"

    # While no runner is there: b finishes, d is killed (its waiter too), c runs on.
    (control / f"finish-{b}").touch()
    _until(lambda: not running(pids[b][0]), "b to finish")
    os.killpg(os.getpgid(pids[d][0]), signal.SIGKILL)
    _until(lambda: not running(pids[d][0]), "d to die")

    resumed = subprocess.Popen(
        [KATIB, "run", "--resume", "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until(lambda: len(_starts(control)[d]) == 2, "d to run again")
        assert _starts(control)[c] == pids[c] and running(pids[c][0]), "c was not followed"
        (control / f"finish-{c}").touch()
        (control / f"finish-{d}").touch()
        output, _ = resumed.communicate(timeout=120)
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.communicate()
    assert resumed.returncode == 0, output[-3000:]
    assert "2 trial(s) still running or finished meanwhile, 1 to run (again)" in output

    starts = _starts(control)
    assert {name: len(runs) for name, runs in starts.items()} == {a: 1, b: 1, c: 1, d: 2}
    trials = _trials(run_dir)
    assert {name: condition for name, (condition, _) in trials.items()} == dict.fromkeys(
        (a, b, c, d), "Succeeded"
    )
    # b ended with no runner: concluded from its exit status and its whole log.
    assert _logs(run_dir, b) == ["0.15", "0.9"]
    # c was followed: what it printed before and after the runner died.
    assert _logs(run_dir, c) == ["0.15", "0.9"]
    # d's first run left no status and no metrics: only its second run counts.
    assert _logs(run_dir, d) == ["0.25", "0.9"]
    assert json.loads(trials[d][1])["Validation-Accuracy"]["latest"] == "0.9"
    assert not list(control.glob("overlap-*")), "a trial ran while its earlier run still ran"
    assert trial_processes(run_dir) == set()


@pytest.mark.slow
@pytest.mark.e2e
def test_a_push_trial_cut_off_from_its_db_manager_runs_again(
    tmp_path: Path, make_experiment: Callable[..., Path]
) -> None:
    control = tmp_path / "control"
    control.mkdir()
    script = tmp_path / "gated.py"
    script.write_text(GATED, encoding="utf-8")
    path = make_experiment(
        name="push-faults",
        max_trials=1,
        parallel=1,
        command=["python3", str(script), str(control), "push", *ARGS],
        collector={"collector": {"kind": "Push"}},
    )
    run_dir = tmp_path / "run"
    first = subprocess.Popen(
        [KATIB, "run", str(path), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until(lambda: len(_starts(control)) == 1, "the trial to start")
        (name,) = _starts(control)
        _until(lambda: _logs(run_dir, name) == ["0.15"], "its first report")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    pid = _starts(control)[name][0]
    assert running(pid)
    resumed = subprocess.Popen(
        [KATIB, "run", "--resume", "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until(lambda: len(_starts(control)[name]) == 2, "the trial to run again")
        (control / f"finish-{name}").touch()
        output, _ = resumed.communicate(timeout=120)
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.communicate()
    assert resumed.returncode == 0, output[-3000:]
    assert "killed 1 Push trial(s) cut off from their DB manager" in output
    assert not running(pid)
    assert not list(control.glob("overlap-*")), "the trial ran twice at once"
    assert _trials(run_dir)[name][0] == "Succeeded"
    assert _logs(run_dir, name) == ["0.25", "0.9"]  # the second run's reports only


@pytest.mark.slow
@pytest.mark.e2e
def test_forked_trials_outlive_a_killed_runner_and_are_not_run_again(
    tmp_path: Path, make_experiment: Callable[..., Path]
) -> None:
    path = make_experiment(name="forked", max_trials=3, parallel=2, extra_args=["--num_epochs=8"])
    run_dir = tmp_path / "run"
    first = subprocess.Popen(
        [KATIB, "run", str(path), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until(lambda: len(trial_processes(run_dir)) >= 4, "two trials (waiter + trial each)")
        orphans = trial_processes(run_dir)
        interrupted = [n for n, (cond, _) in _trials(run_dir).items() if cond == "Running"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(interrupted) == 2
    # Forked from the launcher, which the dead runner took down: the trials run on.
    assert any(running(pid) for pid in orphans)
    resumed = subprocess.run(
        [KATIB, "run", "--resume", "--run-dir", str(run_dir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = _trials(run_dir)
    assert len(trials) == 3
    assert all(condition == "Succeeded" for condition, _ in trials.values()), trials
    for name in interrupted:
        assert f"started {name}" not in resumed.stderr, f"{name} ran twice"
        log = (run_dir / "trials" / name / "trial.log").read_text(encoding="utf-8")
        assert log.count("first training step") == 1
    assert trial_processes(run_dir) == set()


def test_a_followed_trial_times_out_from_its_recorded_start(tmp_path: Path) -> None:
    launch = Launch(
        name="t",
        argv=("sleep", "60"),
        shell=False,
        env=dict(os.environ),
        cwd=tmp_path,
        log_path=tmp_path / "trial.log",
        timeout_s=50.0,
    )
    started = spawn(launch)
    started.release()
    # As a resumed runner sees it: started 100 s ago by a runner that is gone.
    record = started.record
    followed = AttachedTrial(
        launch,
        type(record)(record.pid, record.identity, record.started - 100.0),
        reattached=True,
    )
    assert followed.poll() and followed.timed_out
    _until(started.poll, "the killed trial to be reaped", limit=10)
    assert not alive(record.pid, record.identity)
