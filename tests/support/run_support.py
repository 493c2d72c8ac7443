"""Helpers the local-runner tests share: which processes of a run are alive."""

from __future__ import annotations

import os
from pathlib import Path


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


def trial_processes(run_dir: Path) -> set[int]:
    """Live processes working in one of the run's trial directories (a forked trial's /proc
    environ is its launcher's, so the directory is what identifies a trial's processes)."""
    trials = str(run_dir / "trials") + os.sep
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(trials) and running(int(entry.name)):
            found.add(int(entry.name))
    return found
