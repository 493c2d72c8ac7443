"""One trial as a local process: the primary container's command, run with a log, a timeout,
a kill.

How a container command becomes a local one (documented in the README):

- `python3 [-u ...] RunTrial.py ARGS` (the stock Katib ENAS image) runs `enas-trial ARGS`;
- `enas-trial ARGS` runs the `enas-trial` console script beside this Python interpreter;
- `python3`/`python` run this interpreter (`sys.executable`);
- anything else runs as written, found on PATH.

As on a cluster, the StdOut and File collectors run the command through `sh -c` with its words
joined by spaces (so literal `"` around placeholders are stripped by the shell); with Push the
words are passed as they are. stdout and stderr go to the trial's log. Each trial runs in its
own process group (session), so a timeout or a kill reaches every process it started.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from katib_enas.core.errors import KatibEnasError
from katib_enas.local.collectors import Collector

STOCK_SCRIPT = "RunTrial.py"


class TrialCommandError(KatibEnasError):
    """The primary container has no usable command."""


def container_argv(container: Mapping[str, Any]) -> list[str]:
    """`command` + `args` of a rendered container, checked."""
    words: list[str] = []
    for key in ("command", "args"):
        value = container.get(key) or []
        if not isinstance(value, list) or not all(isinstance(w, str | int | float) for w in value):
            raise TrialCommandError(f"primary container {key}: expected a list of strings")
        words.extend(str(w) for w in value)
    if not words:
        raise TrialCommandError(
            "primary container: set `command` (local mode runs it as a process)"
        )
    return words


def map_local(argv: Sequence[str]) -> list[str]:
    """Apply the container-to-local command rule (see the module docstring)."""
    words = list(argv)
    head = os.path.basename(words[0])
    if head in ("python", "python3"):
        index = 1
        while index < len(words) and words[index].startswith("-"):
            index += 1
        if index < len(words) and os.path.basename(words[index]) == STOCK_SCRIPT:
            return [enas_trial_executable(), *words[index + 1 :]]
        return [sys.executable, *words[1:]]
    if words[0] == "enas-trial":
        return [enas_trial_executable(), *words[1:]]
    return words


def enas_trial_executable() -> str:
    """The `enas-trial` script of this environment (beside sys.executable), else PATH's."""
    beside = Path(sys.executable).parent / "enas-trial"
    if beside.exists():
        return str(beside)
    found = shutil.which("enas-trial")
    if found is None:
        raise TrialCommandError("enas-trial: not installed next to this Python nor on PATH")
    return found


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """Literal `env` entries of the container (`valueFrom` needs a cluster and is skipped)."""
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        if isinstance(entry, dict) and "name" in entry and "value" in entry:
            env[str(entry["name"])] = str(entry["value"])
    return env


@dataclass(frozen=True)
class Launch:
    """Everything needed to start one trial process."""

    name: str
    argv: tuple[str, ...]
    shell: bool
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    timeout_s: float | None

    def command_line(self) -> list[str]:
        if not self.shell:
            return list(self.argv)
        # Katib's webhook joins the words with spaces; we quote only the executable we chose.
        line = " ".join([shlex.quote(self.argv[0]), *self.argv[1:]])
        return ["/bin/sh", "-c", line]


def build_launch(
    *,
    name: str,
    namespace: str,
    container: Mapping[str, Any],
    collector: Collector,
    trial_dir: Path,
    timeout_s: float | None,
) -> Launch:
    """A trial's process from its rendered primary container, as `collector` needs it."""
    env = dict(os.environ)
    env.update(container_env(container))
    env["KATIB_TRIAL_NAME"] = name
    env["KATIB_TRIAL_NAMESPACE"] = namespace
    env.setdefault("PYTHONUNBUFFERED", "1")
    argv = collector.adapt(map_local(container_argv(container)), env, trial_dir)
    return Launch(
        name=name,
        argv=tuple(argv),
        shell=collector.shell,
        env=env,
        cwd=trial_dir,
        log_path=trial_dir / "trial.log",
        timeout_s=timeout_s,
    )


class TrialProcess:
    """A running trial: poll it, time it out, kill its whole process group."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        launch.cwd.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(launch.log_path, "wb")  # noqa: SIM115 - closed in _close
        self.started = time.monotonic()
        self.timed_out = False
        try:
            self._proc = subprocess.Popen(
                launch.command_line(),
                cwd=launch.cwd,
                env=dict(launch.env),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            self._log.write(f"cannot start {launch.argv[0]}: {error.strerror}\n".encode())
            self._log.close()
            raise TrialCommandError(
                f"trial {launch.name}: cannot start {launch.argv[0]!r} ({error.strerror})"
            ) from None

    @property
    def pid(self) -> int:
        return int(self._proc.pid)

    def poll(self) -> int | None:
        """The exit code once finished (after a timeout: the code of the killed process)."""
        code = self._proc.poll()
        timeout = self.launch.timeout_s
        if code is None and timeout is not None and time.monotonic() - self.started > timeout:
            self.timed_out = True
            self.kill()
            code = self._proc.returncode
        if code is not None:
            self._close()
        return code

    def kill(self, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after `grace_s`."""
        self._signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.wait()
        # Children that ignored SIGTERM while the leader exited still belong to the group.
        self._signal(signal.SIGKILL)
        self._close()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    def _close(self) -> None:
        if not self._log.closed:
            self._log.close()
