"""Atomic file replacement: a reader sees the old file or the new one, never half of either.

Every result, checkpoint and metrics file this project writes goes through here: a run killed
mid-write must not leave a torn file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temp = Path(name)
    try:
        # mkstemp makes the file private; Katib's collector sidecar may run as another user.
        os.fchmod(fd, mode)
        os.close(fd)
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """Replace `path` with `data`; `durable` also syncs it to disk before the rename."""
    with replacing(path) as temp, temp.open("wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
