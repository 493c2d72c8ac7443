"""Controller checkpoints on disk: one file per experiment, written atomically.

Katib mounts the suggestion's volume at `/opt/katib/data` (resumePolicy FromVolume); we keep
`<state_dir>/<experiment>/enas-state.pt` there so that a restarted pod resumes where it was
without replaying the whole history. Neither direction is ever fatal: a checkpoint that cannot be
read is ignored and one that cannot be written (a full disk, a volume gone read-only) is skipped,
both logged, because the history in the next request can always rebuild the state.
"""

from __future__ import annotations

import hashlib
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


_MAX_NAME = 100  # a directory name well inside every filesystem's limit (255 bytes)


def checkpoint_path(state_dir: Path, experiment: str) -> Path:
    """Where an experiment's checkpoint lives: the name made safe as a directory name (a long or
    unsafe name keeps a readable prefix and gets a hash, so that names never collide)."""
    name = _SAFE.sub("_", experiment) or "_"
    if name != experiment or len(name) > _MAX_NAME:
        digest = hashlib.sha256(experiment.encode()).hexdigest()[:12]
        name = f"{name[: _MAX_NAME - 13]}-{digest}" if len(name) > _MAX_NAME else name
    return state_dir / name / FILE_NAME


def save(path: Path, state: Mapping[str, Any]) -> bool:
    """Write `state` to `path` atomically (a reader sees the old file or the new one); False,
    logged, when it cannot be written."""
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    try:
        write_atomic(path, buffer.getvalue(), durable=True)
    except OSError as error:
        log.warning("checkpoint %s not written: %s", path, error.strerror or error)
        return False
    return True


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is none or it cannot be read (logged)."""
    try:
        if not path.is_file():
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn, foreign or unreachable file must not stop the service
        log.warning("ignoring unreadable checkpoint %s: %s", path, error)
        return None
    if not isinstance(state, dict):
        log.warning("ignoring checkpoint %s: not a saved state", path)
        return None
    return state
