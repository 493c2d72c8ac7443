"""The trial launcher (`enas_trial.forkserver`, `katib_enas.local.launcher`) with real forks: a
forked trial gets what Katib gives a trial (its own process group, working directory,
environment, log, exit status) and nothing of the launcher's state (threads, random state).
`tests/support/fork_probe.py` stands in for `enas-trial` and reports what it sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from run_support import running

from katib_enas.local.launch import Launch, enas_trial_executable
from katib_enas.local.launcher import ForkLauncher, fork_args
from katib_enas.local.processes import AttachedTrial, alive, read_exit_status

SUPPORT = Path(__file__).resolve().parents[1] / "support"
PROBE = "fork_probe:main"
# The launcher imports the probe from tests/support (and what it found before, if anything).
PYTHONPATH = os.pathsep.join(p for p in (str(SUPPORT), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkLauncher]:
    """One launcher (with the probe as its trial) for the tests of this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", PYTHONPATH)
        patch.setenv("ONLY_IN_THE_LAUNCHER", "yes")
        started = ForkLauncher(tmp_path_factory.mktemp("launcher") / "launcher.log", entry=PROBE)
        assert started.ready(), started.problem
    yield started
    started.close()


def _launch(tmp_path: Path, name: str, args: list[str], env: dict[str, str]) -> Launch:
    trial_dir = tmp_path / name
    trial_dir.mkdir()
    return Launch(
        name=name,
        argv=(enas_trial_executable(), *args),
        shell=False,
        env=env,
        cwd=trial_dir,
        log_path=trial_dir / "trial.log",
        timeout_s=60,
    )


def _trial_env(name: str, **extra: str) -> dict[str, str]:
    """What the runner gives a trial: this environment (the launcher's own variable is not in
    it) with the trial's variables."""
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    return {**env, "KATIB_TRIAL_NAME": name, "PYTHONUNBUFFERED": "1", **extra}


def _probe(
    launcher: ForkLauncher, tmp_path: Path, name: str, *args: str, **env: str
) -> tuple[AttachedTrial, Path]:
    facts = tmp_path / name / "facts.json"
    launch = _launch(tmp_path, name, [str(facts), *args], _trial_env(name, **env))
    process = launcher.start(launch, [str(facts), *args])
    process.release()
    return process, facts


def _finish(process: AttachedTrial, limit: float = 60.0) -> int | None:
    deadline = time.monotonic() + limit
    while not process.poll():
        assert time.monotonic() < deadline, "the forked trial did not end"
        time.sleep(0.05)
    return process.exit_code


def _facts(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def test_a_forked_trial_is_a_trial_process_of_its_own(
    launcher: ForkLauncher, tmp_path: Path
) -> None:
    process, facts_file = _probe(launcher, tmp_path, "t-own")
    assert _finish(process) == 0
    facts = _facts(facts_file)
    # Its own session and process group, led by its waiter (what a kill or timeout signals).
    assert facts["sid"] == facts["pgid"] == process.pid == facts["ppid"] != facts["pid"]
    assert facts["cwd"] == str(tmp_path / "t-own")
    assert facts["argv"] == ["enas-trial", str(facts_file)]
    # The trial's environment, not the launcher's.
    assert facts["env"]["KATIB_TRIAL_NAME"] == "t-own"
    assert "ONLY_IN_THE_LAUNCHER" not in facts["env"]
    assert facts["stdout_write_through"] is True  # PYTHONUNBUFFERED=1, as for a fresh process
    log = (tmp_path / "t-own" / "trial.log").read_text(encoding="utf-8")
    assert "a line on stdout" in log and "a line on stderr" in log
    assert read_exit_status(tmp_path / "t-own") == 0
    assert facts["age"] < 5.0  # start-up measured from the runner's request


def test_exit_status_is_the_trials_and_a_kill_reaches_the_group(
    launcher: ForkLauncher, tmp_path: Path
) -> None:
    exited, _ = _probe(launcher, tmp_path, "t-exit", "exit3")
    raised, _ = _probe(launcher, tmp_path, "t-raise", "raise")
    sleeping, facts_file = _probe(launcher, tmp_path, "t-sleep", "sleep")
    assert _finish(exited) == 3
    assert _finish(raised) == 1
    log = (tmp_path / "t-raise" / "trial.log").read_text(encoding="utf-8")
    assert "RuntimeError: the probe failed on purpose" in log
    deadline = time.monotonic() + 30
    while not facts_file.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    trial_pid = _facts(facts_file)["pid"]
    sleeping.kill(grace_s=2.0)
    assert sleeping.poll() and sleeping.exit_code is None  # killed: no status of its own
    time.sleep(0.2)
    assert not running(trial_pid), "the trial survived the kill of its process group"


def test_launcher_stays_single_threaded_and_trials_start_from_fresh_state(
    launcher: ForkLauncher, tmp_path: Path
) -> None:
    fresh = _fresh_torch(2)
    first, first_facts = _probe(launcher, tmp_path, "t-first")
    second, second_facts = _probe(launcher, tmp_path, "t-second")
    wanted = int(fresh[0][1]) + 1
    third, third_facts = _probe(launcher, tmp_path, "t-third", OMP_NUM_THREADS=str(wanted))
    for process in (first, second, third):
        assert _finish(process) == 0
    one, two, three = (_facts(p) for p in (first_facts, second_facts, third_facts))
    assert len(os.listdir(f"/proc/{launcher.pid}/task")) == 1
    # Python's and numpy's generators are seeded anew in each trial, as in a fresh process...
    assert one["python_random"] != two["python_random"]
    assert one["numpy_random"] != two["numpy_random"]
    # ...and torch's as torch leaves a fresh process: seeded at random, or at its fixed default
    # on versions that have one; its thread count too.
    if fresh[0][0] == fresh[1][0]:
        assert one["torch_rand"] == two["torch_rand"] == fresh[0][0]
    else:
        assert one["torch_rand"] != two["torch_rand"]
    assert one["threads"] == fresh[0][1]
    assert three["threads"] == wanted  # the trial's OMP_NUM_THREADS, not the launcher's


def test_trial_pythonpath_and_its_sitecustomize_apply(
    launcher: ForkLauncher, tmp_path: Path
) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import os\nos.environ['SITECUSTOMIZE_RAN'] = 'yes'\n", encoding="utf-8"
    )
    path = os.pathsep.join([str(shim), PYTHONPATH])
    process, facts_file = _probe(launcher, tmp_path, "t-shim", PYTHONPATH=path)
    assert _finish(process) == 0
    facts = _facts(facts_file)
    assert facts["env"]["SITECUSTOMIZE_RAN"] == "yes"
    assert facts["sitecustomize"] == str(shim / "sitecustomize.py")


DRIVER = """
import os, sys
from pathlib import Path
from katib_enas.local.launch import Launch, enas_trial_executable
from katib_enas.local.launcher import ForkLauncher
from katib_enas.local.processes import spawn

mode, trial_dir = sys.argv[1], Path(sys.argv[2])
facts = trial_dir / "facts.json"
if mode == "fork":
    argv = (enas_trial_executable(), str(facts))
else:
    argv = ("/bin/sh", "-c", f"echo ran > {facts}")
launch = Launch(name="t", argv=argv, shell=False, env=dict(os.environ), cwd=trial_dir,
                log_path=trial_dir / "trial.log", timeout_s=60)
if mode == "fork":
    launcher = ForkLauncher(trial_dir.parent / "launcher.log", entry="fork_probe:main")
    assert launcher.ready(), launcher.problem
    process = launcher.start(launch, [str(facts)])
else:
    process = spawn(launch)
print(process.pid, flush=True)
os._exit(0)  # the runner dies before it recorded the process and gave the go-ahead
"""


@pytest.mark.parametrize("mode", ["spawn", "fork"])
def test_a_trial_whose_runner_died_before_recording_it_never_runs(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", PYTHONPATH)
    trial_dir = tmp_path / "trial"
    trial_dir.mkdir()
    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, mode, str(trial_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    waiter = int(driver.stdout.split()[0])
    deadline = time.monotonic() + 20
    while running(waiter):
        assert time.monotonic() < deadline, "the waiter kept waiting after its runner died"
        time.sleep(0.05)
    assert not (trial_dir / "facts.json").exists(), "the trial ran without being recorded"
    assert read_exit_status(trial_dir) is None  # what --resume reads as "never ran": run it


def test_only_cpu_enas_trial_commands_are_forked(tmp_path: Path) -> None:
    trial = enas_trial_executable()

    def args(argv: list[str], *, shell: bool, cuda: bool, **env: str) -> list[str] | None:
        launch = Launch("t", tuple(argv), shell, env, tmp_path, tmp_path / "log", None)
        return fork_args(launch, cuda_build=cuda)

    quoted = [trial, "--dataset=digits", '--architecture="[[0], [1, 1]]"', "--num_gpus=0"]
    # The words `sh -c` would make of Katib's joined line: its quotes removed.
    assert args(quoted, shell=True, cuda=False) == [
        "--dataset=digits",
        "--architecture=[[0], [1, 1]]",
        "--num_gpus=0",
    ]
    # Push: the words as they are (the trial strips the quotes itself).
    assert args(quoted, shell=False, cuda=False) == quoted[1:]
    # What a shell would expand, or any other program, runs as before.
    assert args([trial, "--data-dir=$HOME/data"], shell=True, cuda=False) is None
    assert args([trial, "--x=1;", "touch", "y"], shell=True, cuda=False) is None
    assert args(["/usr/bin/python3", "train.py"], shell=False, cuda=False) is None
    # With a CUDA build only trials that say they train on the CPU.
    assert args([trial, "--dataset=digits"], shell=False, cuda=True) is None
    assert args([trial, "--device=cuda"], shell=False, cuda=True) is None
    assert args([trial, "--num_gpus", "0"], shell=False, cuda=True) == ["--num_gpus", "0"]
    assert args([trial, '--device="cpu"'], shell=False, cuda=True) == ['--device="cpu"']
    assert args([trial], shell=False, cuda=True, KATIB_ENAS_DEVICE="cpu") == []


def _fresh_torch(count: int) -> list[tuple[float, int]]:
    """`torch.rand(1)` and the thread count of fresh processes right after `import torch`."""
    code = "import torch; print(torch.rand(1).item(), torch.get_num_threads())"
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    found = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        value, threads = out.split()
        found.append((float(value), int(threads)))
    return found


def test_alive_tells_a_recycled_pid_apart(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert not alive(sleeper.pid, "another-boot/12345")
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.slow
def test_a_seeded_enas_trial_gives_the_same_metrics_forked_as_fresh(tmp_path: Path) -> None:
    from trial_support import DIGITS_ARCHITECTURE, DIGITS_OPERATIONS, nn_config

    args = [
        f"--architecture={DIGITS_ARCHITECTURE}",
        f"--nn_config={nn_config(DIGITS_OPERATIONS, [8, 8, 1])}",
        "--dataset=digits",
        "--num_epochs=2",
        "--batch-size=32",
        "--seed=3",
        "--device=cpu",
        "--threads=1",  # as the bundled search; two threads crawl on a busy two-core machine
    ]
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    env = _trial_env("t-fresh")
    fresh = subprocess.run(
        [enas_trial_executable(), *args],
        cwd=fresh_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    real = ForkLauncher(tmp_path / "launcher.log")  # the real entry: enas_trial.cli
    try:
        assert real.ready(), real.problem
        launch = _launch(tmp_path, "t-forked", args, _trial_env("t-forked"))
        process = real.start(launch, args)
        process.release()
        assert _finish(process, limit=300) == 0
    finally:
        real.close()

    def metrics(text: str) -> list[str]:
        return [line.split(" ", 1)[1] for line in text.splitlines() if "-Accuracy=" in line]

    forked = launch.log_path.read_text(encoding="utf-8")
    assert metrics(fresh.stdout), fresh.stdout
    assert metrics(forked) == metrics(fresh.stdout)
