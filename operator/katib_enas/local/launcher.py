"""How a local trial starts: forked from the trial launcher when its command is a CPU
`enas-trial`, spawned as a fresh process otherwise; recorded in the run store before it runs.

The launcher (`enas_trial.forkserver`) is a process that imported torch and `enas_trial` once;
a forked trial skips the interpreter's start-up and `import torch`, most of a CPU trial's
start-up. Only commands that `launch.map_local` maps to `enas-trial` qualify, and only when the
words reach it unchanged by a shell (`shellwords`), and only CPU trials: `--device cpu`,
`--num_gpus 0`, or a torch built without CUDA. CUDA trials keep a fresh process (CUDA does not
survive a fork), as does everything else. A launcher that cannot start, refuses to fork or dies
is logged once and trials start as fresh processes from then on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from enas_trial import launcher_protocol as protocol
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import unquote
from katib_enas.local.launch import Launch, container_argv, enas_trial_executable, map_local
from katib_enas.local.processes import AttachedTrial, RunningTrial, exit_file, identity, spawn
from katib_enas.local.shellwords import simple_words
from katib_enas.local.store import ProcessRecord

log = logging.getLogger(__name__)
_Message = TypeVar("_Message", protocol.Hello, protocol.Reply)

READY_TIMEOUT_S = 180.0  # importing torch on a loaded machine
REPLY_TIMEOUT_S = 30.0


class LauncherError(KatibEnasError):
    """The launcher did not fork a trial; the trial starts as a fresh process instead."""


def is_enas_trial(container: Mapping[str, Any]) -> bool:
    """Whether a (template) container's command runs `enas-trial`: a launcher is worth it."""
    try:
        return map_local(container_argv(container))[0] == enas_trial_executable()
    except KatibEnasError:
        return False


def fork_args(launch: Launch, cuda_build: bool) -> list[str] | None:
    """The `enas-trial` arguments of a trial the launcher may fork, or None."""
    words = simple_words(launch.shell_line()) if launch.shell else list(launch.argv)
    try:
        if not words or words[0] != enas_trial_executable():
            return None
    except KatibEnasError:
        return None
    args = words[1:]
    if cuda_build and not _cpu_only(args, launch.env):
        return None
    return args


def _cpu_only(args: Sequence[str], env: Mapping[str, str]) -> bool:
    """Whether `enas-trial args` trains on the CPU whatever the machine has (its own rule:
    `--device cpu`, or `--device auto` with `--num_gpus 0`)."""
    device = env.get("KATIB_ENAS_DEVICE", "") or "auto"
    gpus = "1"
    pending = ""
    for word in args:
        name, equals, value = word.partition("=")
        if pending:
            name, value, equals, pending = pending, word, "=", ""
        if name in ("--device", "--num_gpus", "--num-gpus") and not equals:
            pending = name
            continue
        if name == "--device":
            device = unquote(value)
        elif name in ("--num_gpus", "--num-gpus"):
            gpus = unquote(value)
    gpus = gpus.strip()
    return device == "cpu" or (device == "auto" and gpus.isdigit() and int(gpus) == 0)


class ForkLauncher:
    """The runner's side of `enas_trial.forkserver`: start it, ask it for trials, stop it."""

    def __init__(self, log_path: Path, entry: str | None = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", protocol.MODULE, str(theirs.fileno())]
        if entry is not None:
            command += ["--entry", entry]
        with open(log_path, "ab") as launcher_log:
            self._proc = subprocess.Popen(
                command,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=launcher_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C is the runner's to handle
            )
        theirs.close()
        self._sock = ours
        self._ready: bool | None = None
        self.cuda_build = True
        self.problem = ""

    @property
    def pid(self) -> int:
        return int(self._proc.pid)

    def ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Whether the launcher can fork trials (waits for its hello the first time)."""
        if self._ready is None:
            try:
                hello = self._receive(timeout_s, protocol.read_hello)
            except LauncherError as error:
                hello = protocol.Hello(ready=False, error=str(error))
            self._ready = hello.ready
            self.cuda_build = hello.cuda_build
            self.problem = hello.error
        return self._ready

    def start(self, launch: Launch, args: list[str]) -> AttachedTrial:
        """Fork `enas-trial args` as `launch` says; gated until `release`."""
        request = protocol.Request(
            argv=args,
            env=dict(launch.env),
            cwd=str(launch.cwd),
            exit_file=str(exit_file(launch.cwd)),
            launched_at=time.monotonic(),
        )
        payload = protocol.request(request)
        if len(payload) >= protocol.MESSAGE_BYTES:
            raise LauncherError(f"request of {len(payload)} bytes is too large")
        gate_read, gate = os.pipe()
        try:
            with open(launch.log_path, "wb") as trial_log:
                socket.send_fds(self._sock, [payload], [trial_log.fileno(), gate_read])
            reply = self._receive(REPLY_TIMEOUT_S, protocol.read_reply)
            pid = reply.pid
            found = identity(pid) if pid > 0 else None
            if found is None:
                raise LauncherError(reply.error or "the forked trial vanished")
        except (OSError, LauncherError) as error:
            os.close(gate)
            raise LauncherError(str(error)) from None
        finally:
            os.close(gate_read)
        record = ProcessRecord(pid, found, time.time())
        return AttachedTrial(launch, record, reattached=False, gate=gate)

    def _receive(self, timeout_s: float, read: Callable[[bytes], _Message]) -> _Message:
        self._sock.settimeout(timeout_s)
        try:
            data = self._sock.recv(protocol.MESSAGE_BYTES)
        except TimeoutError:
            raise LauncherError(f"no answer within {timeout_s:g} s") from None
        except OSError as error:
            raise LauncherError(f"gone ({error.strerror})") from None
        if not data:
            raise LauncherError(f"exited (status {self._proc.poll()})")
        try:
            return read(data)
        except ValueError:
            raise LauncherError("answered nonsense") from None

    def close(self) -> None:
        """End the launcher (trials it started run on; they do not need it)."""
        self._sock.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class TrialStarter:
    """Starts trials, forked when the launcher can, spawned otherwise; either way the process
    is recorded (`record`) before the trial may run, so that no runner death can leave a
    trial running that the store does not know of."""

    def __init__(self, launcher: ForkLauncher | None) -> None:
        self.launcher = launcher

    def start(self, launch: Launch, record: Callable[[ProcessRecord], None]) -> RunningTrial:
        process = self._fork(launch) or spawn(launch)
        try:
            record(process.record)
        except BaseException:
            process.kill()
            raise
        process.release()
        return process

    def _fork(self, launch: Launch) -> AttachedTrial | None:
        launcher = self.launcher
        if launcher is None or fork_args(launch, cuda_build=False) is None:
            return None  # not an enas-trial command the launcher could run: no need to wait
        if not launcher.ready():
            self._give_up(f"not ready ({launcher.problem})")
            return None
        args = fork_args(launch, launcher.cuda_build)
        if args is None:
            return None
        try:
            return launcher.start(launch, args)
        except LauncherError as error:
            self._give_up(str(error))
            return None

    def _give_up(self, reason: str) -> None:
        log.warning("trial launcher: %s; trials start as fresh processes", reason)
        self.close()

    def close(self) -> None:
        if self.launcher is not None:
            with contextlib.suppress(OSError):
                self.launcher.close()
            self.launcher = None
