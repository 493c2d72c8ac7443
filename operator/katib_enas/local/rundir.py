"""The run directory of `katib-enas run`: its layout, and making or reopening it.

<run dir>/experiment.yaml   the Experiment as given (what --resume reruns)
         katib.db           trials, conditions, observation logs (`store.Store`)
         suggestion/        the in-process suggestion service's checkpoints
         trials/<name>/     each trial's working directory and `trial.log`
         summary.txt, best-trial.json   results, rewritten at the end
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from katib_enas.atomic import write_atomic
from katib_enas.core.errors import KatibEnasError

DB_FILE = "katib.db"
EXPERIMENT_FILE = "experiment.yaml"
DERIVED_FILE = "derived.json"  # written by `katib-enas derive`
SUGGESTION_DIR = "suggestion"
TRIALS_DIR = "trials"


class RunError(KatibEnasError):
    """The run cannot start or go on (bad run directory, service refused the experiment...)."""


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def db(self) -> Path:
        return self.path / DB_FILE

    @property
    def experiment_file(self) -> Path:
        return self.path / EXPERIMENT_FILE

    @property
    def suggestion_dir(self) -> Path:
        return self.path / SUGGESTION_DIR

    def trial_dir(self, name: str) -> Path:
        return self.path / TRIALS_DIR / name

    def prepare(self, experiment_text: str, *, resume: bool) -> None:
        """Create the directory, or check it for `--resume`; keep the Experiment beside it."""
        if resume:
            if not self.db.is_file():
                raise RunError(f"--resume: {self.path} holds no run ({DB_FILE} missing)")
        elif self.db.exists():
            raise RunError(
                f"--run-dir: {self.path} already holds a run; pass --resume to continue it "
                "or choose another directory"
            )
        (self.path / TRIALS_DIR).mkdir(parents=True, exist_ok=True)
        self.suggestion_dir.mkdir(exist_ok=True)
        write_atomic(self.experiment_file, experiment_text)

    def require_run(self, flag: str) -> None:
        if not self.db.is_file():
            raise RunError(f"{flag}: {self.path} holds no run ({DB_FILE} missing)")


def fresh_run_dir(name: str, parent: Path = Path("runs")) -> Path:
    """`runs/<name>`, or `runs/<name>-2`, `-3`... so that running again never needs cleaning."""
    candidate, number = parent / name, 1
    while candidate.exists():
        number += 1
        candidate = parent / f"{name}-{number}"
    return candidate
