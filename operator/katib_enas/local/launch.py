"""One trial's command as a local process: what to run, with which environment, where.

How a container command becomes a local one (documented in docs/local-mode.md):

- `python3 [-u ...] RunTrial.py ARGS` (the stock Katib ENAS image) runs `enas-trial ARGS`;
- `enas-trial ARGS` runs the `enas-trial` console script beside this Python interpreter;
- `python3`/`python` run this interpreter (`sys.executable`);
- anything else runs as written, found on PATH.

As on a cluster, the StdOut and File collectors run the command through `sh -c` with its words
joined by spaces (so literal `"` around placeholders are stripped by the shell); with Push the
words are passed as they are. stdout and stderr go to the trial's log. Each trial runs in its
own process group (session), so a timeout or a kill reaches every process it started
(`processes`); a CPU `enas-trial` command may start from the trial launcher (`launcher`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enas_trial.flags import STOCK_SCRIPT
from katib_enas.core.errors import KatibEnasError
from katib_enas.local.collectors import Collector


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

    def shell_line(self) -> str:
        """What `sh -c` runs: Katib's webhook joins the words with spaces; we quote only the
        executable we chose."""
        return " ".join([shlex.quote(self.argv[0]), *self.argv[1:]])

    def command_line(self) -> list[str]:
        if not self.shell:
            return list(self.argv)
        return ["/bin/sh", "-c", self.shell_line()]


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
