"""Run a shipped container's entry point the way its pod runs it, without a cluster or Docker.

The pod's runtime contract that matters here: the root filesystem is read-only
(`readOnlyRootFilesystem: true`), only the pod's volumes are writable, the process runs as a
non-root UID in group 0 (or, under OpenShift, an arbitrary UID in group 0), and `HOME` is a
directory of the read-only image. `start()` reproduces that on this machine:

- a private mount namespace (`unshare --mount`), so nothing below is visible outside it;
- an overlay of the host's `/` on a tmpfs, in which the image's own directories (its home and
  working directory, the volumes' mount points) are made, then remounted read-only: the host's
  filesystem plays the image's and is never written;
- the pod's volumes bound in from host directories (so a test can read what the program wrote,
  and a restarted "pod" finds the same volume), read-only where the pod mounts them so;
- a fresh 64 MiB tmpfs at `/dev/shm`, as the container runtime gives every pod;
- `chroot` into it, `setpriv` to the UID and group 0 with no supplementary groups, no
  capabilities and no-new-privs, and `env -i` with exactly the environment the image and the
  manifest give.

The network is the host's, so a test reaches a sandboxed server on 127.0.0.1; tests therefore
swap fixed ports (6789, 8000) for free ones and say so. One accommodation: this machine's
Python lives under `/root` (mode 0700), where a non-root UID cannot reach it; the sandbox opens
the directories on the way to the interpreter in its overlay only, as an image's Python is
world-readable.

Needs Linux, root, overlayfs and util-linux; `unavailable_reason()` says why not otherwise, for a
clear skip.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHM_SIZE = "64m"  # what containerd and CRI-O give a pod by default
OPENSHIFT_UID = 1000680000  # an arbitrary UID from an OpenShift namespace range, in group 0


@dataclass(frozen=True)
class Volume:
    """A directory of this machine that the pod sees at `pod_path`; or, with `tmpfs_size`
    (`64k`), a fresh tmpfs of that size there (a volume that fills up)."""

    pod_path: str
    host_path: Path | None = None
    read_only: bool = False
    tmpfs_size: str | None = None


@dataclass(frozen=True)
class Pod:
    """One container as its pod runs it."""

    command: Sequence[str]
    env: Mapping[str, str]
    workdir: str
    uid: int
    gid: int = 0
    volumes: Sequence[Volume] = ()
    # Directories of the image (its home, its working directory): made in the read-only layer,
    # owned by (uid 1000, group 0) with group-write as the Dockerfiles make them.
    image_dirs: Sequence[str] = ()


@dataclass(frozen=True)
class ImageConfig:
    """What the final stage of a Dockerfile gives its containers."""

    env: dict[str, str]
    workdir: str
    user: int
    entrypoint: list[str]
    cmd: list[str]
    home: str | None = None
    made_dirs: list[str] = field(default_factory=list)

    @classmethod
    def from_dockerfile(cls, path: Path, *, venv_bin: Path) -> ImageConfig:
        """Parse the last stage; the image's `/opt/venv/bin` becomes this machine's venv."""
        env: dict[str, str] = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        workdir, user, home = "/", 0, None
        entrypoint: list[str] = []
        cmd: list[str] = []
        made: list[str] = []
        for word, rest in _instructions(path.read_text()):
            if word == "FROM":
                env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
                workdir, user, home, entrypoint, cmd, made = "/", 0, None, [], [], []
            elif word == "ENV":
                for item in shlex.split(rest):
                    key, _, value = item.partition("=")
                    env[key] = value.replace("$PATH", env.get("PATH", ""))
            elif word == "WORKDIR":
                workdir = rest.strip()
                made.append(workdir)
            elif word == "USER":
                user = int(rest.strip())
            elif word == "ENTRYPOINT":
                entrypoint = json.loads(rest)
            elif word == "CMD":
                cmd = json.loads(rest)
            elif word == "RUN":
                tokens = shlex.split(rest.replace("&&", " "))
                if "--home-dir" in tokens:
                    home = tokens[tokens.index("--home-dir") + 1]
                    made.append(home)
                if "mkdir" in tokens:
                    at = tokens.index("mkdir") + 1
                    made.extend(t for t in tokens[at:] if t.startswith("/"))
        path_dirs = env["PATH"].split(":")
        if "/opt/venv/bin" in path_dirs:
            path_dirs[path_dirs.index("/opt/venv/bin")] = str(venv_bin)
        else:  # a base image with its own Python (the CUDA trial): ours comes first here
            path_dirs.insert(0, str(venv_bin))
        env["PATH"] = ":".join(path_dirs)
        return cls(env, workdir, user, entrypoint, cmd, home, list(dict.fromkeys(made)))


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        word, _, rest = pending.partition(" ")
        found.append((word.upper(), rest.strip()))
        pending = ""
    return found


def resolve(command: Sequence[str], path: str) -> list[str]:
    """`command` with its program looked up on the container's PATH (as the runtime does)."""
    program = command[0]
    if "/" not in program:
        found = shutil.which(program, path=path)
        if found is None:
            raise FileNotFoundError(f"{program} not on the container's PATH {path}")
        program = found
    return [program, *command[1:]]


@functools.cache
def unavailable_reason() -> str | None:
    """Why pod sandboxes cannot run on this machine, or None when they can."""
    if sys.platform != "linux":
        return "the pod sandbox needs Linux mount namespaces"
    if os.geteuid() != 0:
        return "the pod sandbox needs root (unshare --mount, overlayfs, chroot), as in CI"
    for tool in ("unshare", "setpriv", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"the pod sandbox needs `{tool}` (util-linux/coreutils)"
    with tempfile.TemporaryDirectory(prefix="pod-sandbox-probe-") as stage:
        probe = Pod(["/bin/true"], {"PATH": "/usr/bin:/bin"}, "/", uid=1000)
        try:
            result = subprocess.run(
                _wrapper(probe, Path(stage)),
                check=False,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"the pod sandbox could not start: {error}"
    if result.returncode != 0:
        return f"the kernel refused the pod sandbox: {result.stderr.strip()[-300:]}"
    return None


def start(pod: Pod, stage: Path, **popen: Any) -> subprocess.Popen[str]:
    """Start `pod`'s command in a sandbox; `stage` is an empty host directory it mounts over."""
    stage.mkdir(parents=True, exist_ok=True)
    popen.setdefault("text", True)
    popen.setdefault("start_new_session", True)
    return subprocess.Popen(_wrapper(pod, stage), **popen)


def run(pod: Pod, stage: Path, timeout: float, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run `pod` to completion; its output (stdout and stderr merged) comes back as text."""
    process = start(pod, stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, output, "")


def _wrapper(pod: Pod, stage: Path) -> list[str]:
    """unshare + a setup script that builds the pod's filesystem and execs the command in it."""
    root = stage / "root"
    q = shlex.quote
    lines = [
        "set -eu",
        f"mount -t tmpfs -o size=256m,mode=0755 pod-sandbox {q(str(stage))}",
        f"mkdir {q(str(stage / 'upper'))} {q(str(stage / 'work'))} {q(str(root))}",
        "mount -t overlay overlay -o "
        + q(f"lowerdir=/,upperdir={stage / 'upper'},workdir={stage / 'work'}")
        + f" {q(str(root))}",
    ]
    for system in ("proc", "sys", "dev"):
        lines.append(f"mount --rbind /{system} {q(str(root / system))}")
    lines.append(f"mount -t tmpfs -o size={SHM_SIZE},mode=1777 shm {q(str(root / 'dev/shm'))}")
    for directory in pod.image_dirs:
        target = q(_inside(root, directory))
        lines += [f"mkdir -p {target}", f"chown 1000:0 {target}", f"chmod 0775 {target}"]
    for ancestor in _closed_ancestors(Path(sys.executable).resolve()):
        lines.append(f"chmod go+x {q(str(root) + str(ancestor))}")
    for volume in pod.volumes:
        target = q(_inside(root, volume.pod_path))
        lines.append(f"mkdir -p {target}")
        if volume.tmpfs_size is not None:
            size = q(f"size={volume.tmpfs_size},mode=1777")
            lines.append(f"mount -t tmpfs -o {size} volume {target}")
        else:
            lines.append(f"mount --bind {q(str(volume.host_path))} {target}")
    lines.append(f"mount -o remount,ro {q(str(root))}")
    for volume in pod.volumes:
        if volume.read_only:
            lines.append(f"mount -o remount,bind,ro {q(_inside(root, volume.pod_path))}")
    env = [f"{key}={value}" for key, value in pod.env.items()]
    final = [
        "chroot",
        str(root),
        "setpriv",
        f"--reuid={pod.uid}",
        f"--regid={pod.gid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        "env",
        "-i",
        "-C",
        pod.workdir,
        *env,
        *pod.command,
    ]
    lines.append("exec " + " ".join(q(part) for part in final))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(lines)]


def _inside(root: Path, pod_path: str) -> str:
    """`pod_path` under `root` with its symlinks resolved as the pod resolves them.

    The overlay's lower layer is this machine's `/`, so its symlinks are this machine's; an
    absolute link (Debian's /var/run -> /run) followed from outside the chroot would otherwise
    leave the sandbox and touch the host.
    """
    return str(root) + os.path.realpath(pod_path)


def _closed_ancestors(path: Path) -> list[Path]:
    """Directories above `path` that group 0 or others cannot traverse (/root holding pyenv)."""
    return [p for p in path.parents if os.stat(p).st_mode & 0o011 != 0o011]
