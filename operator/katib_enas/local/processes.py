"""Trial processes whose outcome survives the runner that started them.

Every trial runs under a small waiter that leads the trial's own session (process group): `sh`
for a trial the runner spawns (`spawn`), a forked copy of the trial launcher for one it forks
(`launcher`). The waiter

1. waits on a pipe for the runner's go-ahead, which comes only after the runner recorded the
   waiter's pid and start time in the run store: a runner killed before that leaves a waiter
   that reads end-of-file and exits without running anything;
2. runs the trial command, writes its exit status (a shell's `$?`: 128+N after signal N) to
   `<trial dir>/.katib-exit-status`, and exits with it.

So a trial's outcome is known from its files even when its runner is gone (`kill -9`): `--resume`
re-attaches to a trial whose process still runs, concludes one that finished from its exit
status and outputs, and runs again only one that is gone without a status, which is what a
trial killed with its process group (Ctrl-C, SIGTERM of the runner) leaves. A process is known
by its pid *and* its start time since boot, so a recycled pid is never taken for the trial.
"""

from __future__ import annotations

import abc
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from enas_trial.launcher_protocol import GO, NOT_STARTED
from katib_enas.local.launch import Launch, TrialCommandError
from katib_enas.local.store import ProcessRecord

EXIT_FILE = ".katib-exit-status"
SHELL = "/bin/sh"
# The waiter of a spawned trial: gate, command (argv untouched: "$@"), exit status file, exit;
# the forked trials' waiter (`enas_trial.forkserver`) keeps the same gate rule.
WAITER = (
    f"status_file=$1; shift; IFS= read -r go || exit {NOT_STARTED}; "
    f'[ "$go" = {GO.decode().strip()} ] || exit {NOT_STARTED}; '
    '"$@" </dev/null; code=$?; printf "%s\\n" "$code" >"$status_file"; exit "$code"'
)
WAITER_NAME = "katib-trial"  # the waiter's $0, what `ps` shows


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return "unknown-boot"


def _stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks since boot) of a process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def identity(pid: int) -> str | None:
    """The identity of a live process (None when there is no process `pid`)."""
    stat = _stat(pid)
    return None if stat is None else f"{_boot_id()}/{stat[1]}"


def alive(pid: int, expected: str) -> bool:
    """Whether process `pid` runs and is the one recorded as `expected` (zombies are dead)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX" and f"{_boot_id()}/{stat[1]}" == expected


def exit_file(trial_dir: Path) -> Path:
    return trial_dir / EXIT_FILE


def read_exit_status(trial_dir: Path) -> int | None:
    """The status the trial's waiter left, or None (it never finished by itself)."""
    try:
        return int(exit_file(trial_dir).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


class RunningTrial(abc.ABC):
    """A started trial: poll it, time it out, kill its whole process group.

    After `poll()` returned True, `exit_code` is the trial's exit status, or None when the
    process ended without leaving one (killed together with its waiter).
    """

    def __init__(self, launch: Launch, record: ProcessRecord, *, reattached: bool) -> None:
        self.launch = launch
        self.record = record
        self.reattached = reattached  # started by an earlier runner of this run
        self.timed_out = False
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.record.pid

    @abc.abstractmethod
    def release(self) -> None:
        """Let the trial command run (after its process was recorded)."""

    def poll(self) -> bool:
        """True once the trial ended; kills it first when it ran past its timeout."""
        if self._ended():
            return True
        timeout = self.launch.timeout_s
        if timeout is not None and time.time() - self.record.started > timeout:
            self.timed_out = True
            self.kill()
            return True
        return False

    def kill(self, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after `grace_s`."""
        if not self._owns_group():
            return
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while not self._ended() and time.monotonic() < deadline:
            time.sleep(0.02)
        # Children that ignored SIGTERM while the leader exited still belong to the group.
        self._signal(signal.SIGKILL)
        while not self._ended():
            time.sleep(0.02)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    @abc.abstractmethod
    def _ended(self) -> bool:
        """Whether the process ended (setting `exit_code`)."""

    def _owns_group(self) -> bool:
        """Whether the process group `pid` is still this trial's, so that signalling it
        cannot hit anyone else's processes."""
        return True


class SpawnedTrial(RunningTrial):
    """A trial process of this runner: `sh` waiter, child of the runner."""

    def __init__(self, launch: Launch) -> None:
        launch.cwd.mkdir(parents=True, exist_ok=True)
        _check_executable(launch)
        command = [SHELL, "-c", WAITER, WAITER_NAME, str(exit_file(launch.cwd))]
        with open(launch.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [*command, *launch.command_line()],
                cwd=launch.cwd,
                env=dict(launch.env),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid = int(self._proc.pid)
        record = ProcessRecord(pid, identity(pid) or "", time.time())
        super().__init__(launch, record, reattached=False)

    def release(self) -> None:
        gate: IO[bytes] | None = self._proc.stdin
        if gate is not None and not gate.closed:
            with contextlib.suppress(BrokenPipeError):
                gate.write(GO)
            with contextlib.suppress(BrokenPipeError):
                gate.close()

    def _ended(self) -> bool:
        code = self._proc.poll()
        if code is None:
            return False
        self.exit_code = code
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        return True


class AttachedTrial(RunningTrial):
    """A trial process that is not the runner's child (forked by the launcher, or left by an
    earlier runner): followed through /proc and its exit status file."""

    def __init__(
        self,
        launch: Launch,
        record: ProcessRecord,
        *,
        reattached: bool,
        gate: int | None = None,
    ) -> None:
        super().__init__(launch, record, reattached=reattached)
        self._gate = gate

    def release(self) -> None:
        if self._gate is not None:
            with contextlib.suppress(BrokenPipeError):
                os.write(self._gate, GO)
            os.close(self._gate)
            self._gate = None

    def _ended(self) -> bool:
        if alive(self.pid, self.record.identity):
            return False
        if self._gate is not None:  # killed before release: it never ran
            os.close(self._gate)
            self._gate = None
        self.exit_code = read_exit_status(self.launch.cwd)
        return True

    def _owns_group(self) -> bool:
        # Only while the leader is the recorded process: a recycled pid is someone else's.
        return alive(self.pid, self.record.identity)


def spawn(launch: Launch) -> SpawnedTrial:
    """Start `launch` as a child process of this runner (gated: call `release`)."""
    return SpawnedTrial(launch)


def _check_executable(launch: Launch) -> None:
    """A command that cannot start is the trial's failure, said in one line, as before the
    waiter existed (`sh` would report it only as exit status 127)."""
    program = launch.argv[0]
    path = launch.env.get("PATH", os.defpath)
    found = shutil.which(program, path=path) if "/" not in program else program
    if found is None or not os.access(found, os.X_OK) or os.path.isdir(found):
        reason = "not found" if found is None or not os.path.exists(found) else "not executable"
        launch.cwd.mkdir(parents=True, exist_ok=True)
        launch.log_path.write_text(f"cannot start {program}: {reason}\n", encoding="utf-8")
        raise TrialCommandError(f"trial {launch.name}: cannot start {program!r} ({reason})")
