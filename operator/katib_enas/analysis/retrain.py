"""`katib-enas retrain`: train one architecture from scratch with the full schedule, here.

The command is the trial template's own `enas-trial` command (dataset, batch size, device...)
with the retrain's flags (`local.retrain_command`): the epochs asked for, the model saved, the
summary written, Katib's metric outputs and weight sharing dropped. It runs as a child process;
its output goes to the terminal and to `trial.log` beside the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from katib_enas.analysis.retrain_command import (
    retrain_args,
    retrain_assignments,
    search_epochs,
    trial_container,
)
from katib_enas.experiment import Experiment
from katib_enas.local.launch import container_argv, container_env, map_local

MODEL_FILE = "model.pt"
SUMMARY_FILE = "summary.json"
LOG_FILE = "trial.log"


@dataclass(frozen=True)
class Retrained:
    exit_code: int
    out: Path
    epochs: int
    seconds: float
    summary: dict[str, Any] | None  # enas-trial's closing summary (None: it failed)


def retrain(
    experiment: Experiment,
    assignments: dict[str, str],
    label: str,
    out: Path,
    *,
    epochs: int | None,
    stream: TextIO | None = None,
) -> Retrained:
    """Run the retrain; `epochs` None means the search trials' own `--num_epochs`."""
    child = retrain_assignments(assignments)
    container = trial_container(experiment, child, label)
    words = map_local(container_argv(container))
    chosen = epochs if epochs is not None else search_epochs(words)
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_FILE).unlink(missing_ok=True)
    command = [
        words[0],
        *retrain_args(
            words[1:],
            child,
            epochs=chosen,
            model_path=str((out / MODEL_FILE).resolve()),
            summary_path=str((out / SUMMARY_FILE).resolve()),
        ),
        # A local retrain runs alone: every core, whatever the search's trials were given.
        "--threads=0",
    ]
    env = {**os.environ, **container_env(container), "KATIB_TRIAL_NAME": label}
    env.setdefault("PYTHONUNBUFFERED", "1")
    started = time.monotonic()
    code = _run(command, out, env, stream or sys.stdout)
    summary = None
    if code == 0 and (out / SUMMARY_FILE).is_file():
        summary = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
    return Retrained(code, out, chosen, time.monotonic() - started, summary)


def _run(command: list[str], cwd: Path, env: dict[str, str], stream: TextIO) -> int:
    """The child's output to `stream` as it comes, and to the log file."""
    with (cwd / LOG_FILE).open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        try:
            for line in process.stdout:
                log.write(line)
                stream.write(line)
                stream.flush()
        except KeyboardInterrupt:
            process.kill()
            raise
        finally:
            process.stdout.close()
        return process.wait()
