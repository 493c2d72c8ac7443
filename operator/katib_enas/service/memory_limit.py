"""The memory limit this process runs under, so that metrics can show memory against it.

A pod's memory limit is its container's cgroup limit: cgroup v2 `memory.max`, or v1
`memory.limit_in_bytes`, in the cgroup `/proc/self/cgroup` names (or at the root of the mount
when the container has its own cgroup namespace). "max" and v1's huge sentinel mean no limit.
"""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED = 1 << 62  # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1


def cgroup_memory_limit(
    root: Path = CGROUP_ROOT, self_cgroup: Path = Path("/proc/self/cgroup")
) -> int | None:
    """Bytes this process's cgroup may use, or None when there is no limit or no cgroup."""
    for candidate in _candidates(root, self_cgroup):
        try:
            text = candidate.read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return value if 0 < value < _UNLIMITED else None
    return None


def _candidates(root: Path, self_cgroup: Path) -> list[Path]:
    """The limit files to try, most specific first: our own cgroup's, then the mount's root."""
    paths: list[Path] = []
    try:
        lines = self_cgroup.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        relative = path.lstrip("/")
        if controllers == "":
            paths.append(root / relative / "memory.max")
        elif "memory" in controllers.split(","):
            paths.append(root / "memory" / relative / "memory.limit_in_bytes")
    paths += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    return paths
