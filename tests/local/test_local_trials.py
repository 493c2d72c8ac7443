"""Trial processes: the container-to-local command rule, Katib's shell joining, timeouts, kills."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from katib_enas.experiment import MetricsCollector
from katib_enas.local import collectors
from katib_enas.local.launch import build_launch, map_local
from katib_enas.local.processes import RunningTrial, spawn


def _collector(kind: str) -> collectors.Collector:
    collector = collectors.create(MetricsCollector(kind), ("Validation-Accuracy",))
    if isinstance(collector, collectors.PushCollector):
        collector.address = "127.0.0.1:1"  # as if started: these trials push nothing
    return collector


def test_stock_and_project_commands_map_to_local_ones() -> None:
    trial = str(Path(sys.executable).parent / "enas-trial")
    assert map_local(["python3", "-u", "RunTrial.py", "--num_epochs=1"]) == [
        trial,
        "--num_epochs=1",
    ]
    assert map_local(["enas-trial", "--x=1"]) == [trial, "--x=1"]
    assert map_local(["python3", "/opt/train.py"]) == [sys.executable, "/opt/train.py"]
    assert map_local(["/bin/echo", "hi"]) == ["/bin/echo", "hi"]


def _echo_container(tmp_path: Path) -> dict[str, object]:
    script = tmp_path / "show.py"
    script.write_text("import sys; print(sys.argv[1:])\n", encoding="utf-8")
    return {
        "name": "c",
        "command": ["python3", str(script), '--architecture="[[1]]"'],
        "env": [{"name": "GREETING", "value": "hi"}],
    }


def _started(process: RunningTrial) -> RunningTrial:
    process.release()
    return process


def _wait(process: RunningTrial, limit: float = 30.0) -> int | None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll():
            return process.exit_code
        time.sleep(0.05)
    raise AssertionError("trial did not finish")


def test_shell_collectors_strip_quotes_push_keeps_them(tmp_path: Path) -> None:
    outputs = {}
    for kind in ("StdOut", "Push"):
        launch = build_launch(
            name=f"t-{kind.lower()}",
            namespace="default",
            container=_echo_container(tmp_path),
            collector=_collector(kind),
            trial_dir=tmp_path / kind,
            timeout_s=30,
        )
        assert _wait(_started(spawn(launch))) == 0
        outputs[kind] = launch.log_path.read_text(encoding="utf-8").strip()
    # sh -c removes the literal quotes (Katib's webhook rewrite); Push passes argv untouched.
    assert outputs["StdOut"] == "['--architecture=[[1]]']"
    assert outputs["Push"] == "['--architecture=\"[[1]]\"']"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = tmp_path / "spawn.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('KATIB_TRIAL_NAME seen', flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    launch = build_launch(
        name="slow",
        namespace="default",
        container={"name": "c", "command": ["python3", str(script)]},
        collector=_collector("StdOut"),
        trial_dir=tmp_path / "slow",
        timeout_s=2.0,
    )
    process = _started(spawn(launch))
    code = _wait(process, limit=20)  # the script sleeps 60 s: only the timeout ends it sooner
    assert process.timed_out and code != 0
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not _alive(child), "the trial's child process survived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
