"""Controller checkpoints on disk: one file per experiment, written atomically.

Katib mounts the suggestion's volume at `/opt/katib/data` (resumePolicy FromVolume); we keep
`<state_dir>/<experiment>/enas-state.pt` there so that a restarted pod resumes where it was
without replaying the whole history. A checkpoint that cannot be read is ignored (logged), never
fatal: the history in the request can always rebuild the state.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from katib_enas.atomic import write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "enas-state.pt"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def checkpoint_path(state_dir: Path, experiment: str) -> Path:
    """Where an experiment's checkpoint lives (the name made safe as a directory name)."""
    name = _SAFE.sub("_", experiment) or "_"
    return state_dir / name / FILE_NAME


def save(path: Path, state: Mapping[str, Any]) -> None:
    """Write `state` to `path` atomically: a reader sees the old file or the new one."""
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    write_atomic(path, buffer.getvalue(), durable=True)


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn or foreign file must not stop the service
        log.warning("ignoring unreadable checkpoint %s: %s", path, error)
        return None
    return state if isinstance(state, dict) else None
