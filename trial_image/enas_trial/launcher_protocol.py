"""The trial launcher's protocol, written once for both ends: the runner
(`katib_enas.local.launcher`, which starts the launcher and asks it for trials) and the launcher
(`enas_trial.forkserver`, which forks them). Standard library only: the runner imports it
without torch.

Over one inherited SOCK_SEQPACKET socket, one JSON object per message:

- hello, launcher to runner, once the imports are done: `{"ready": true, "cuda_build": bool}`,
  or `{"ready": false, "error": ...}` when it cannot fork;
- request, runner to launcher: `{"argv", "env", "cwd", "exit_file", "launched_at"}` with
  `TRIAL_FDS` file descriptors, the trial's log and the read end of its gate;
- reply: `{"pid": N}` (the forked waiter) or `{"error": ...}`;
- end-of-file from the runner: the launcher exits.

A trial's gate carries `GO` when the runner has recorded the trial and lets it run; a waiter that
never gets it exits with `NOT_STARTED` (the spawned trials' `sh` waiter follows the same rule).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

MODULE = "enas_trial.forkserver"  # run as `python -m MODULE FD`
MESSAGE_BYTES = 1 << 20  # the largest message either end receives
TRIAL_FDS = 2  # sent with a request: the trial's log, the read end of its gate
GO = b"go\n"  # the runner's go-ahead on a trial's gate
NOT_STARTED = 125  # a waiter's exit status when the runner never gave the go-ahead


@dataclass(frozen=True)
class Hello:
    """The launcher's first message: whether it can fork trials, and for which device."""

    ready: bool
    cuda_build: bool = True  # unknown counts as CUDA: only explicit CPU trials are forked then
    error: str = ""


@dataclass(frozen=True)
class Request:
    """Fork one `enas-trial` (its arguments, environment and directory)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    exit_file: str  # where the waiter writes the trial's exit status
    launched_at: float  # the runner's `time.monotonic()` when it asked: the start-up clock


@dataclass(frozen=True)
class Reply:
    """The forked waiter's pid, or why there is none (pid 0)."""

    pid: int = 0
    error: str = ""


def hello(*, cuda_build: bool) -> bytes:
    return _encode({"ready": True, "cuda_build": cuda_build})


def not_ready(error: str) -> bytes:
    return _encode({"ready": False, "error": error})


def read_hello(data: bytes) -> Hello:
    message = _decode(data)
    return Hello(
        ready=bool(message.get("ready")),
        cuda_build=bool(message.get("cuda_build", True)),
        error=str(message.get("error", "")),
    )


def request(message: Request) -> bytes:
    return _encode(asdict(message))


def read_request(data: bytes) -> Request:
    """The request in `data`; ValueError when it is not one."""
    message = _decode(data)
    try:
        return Request(
            argv=[str(word) for word in message["argv"]],
            env={str(k): str(v) for k, v in message["env"].items()},
            cwd=str(message["cwd"]),
            exit_file=str(message["exit_file"]),
            launched_at=float(message["launched_at"]),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a launch request ({type(error).__name__}: {error})") from None


def forked(pid: int) -> bytes:
    return _encode({"pid": pid})


def refused(error: str) -> bytes:
    return _encode({"error": error})


def read_reply(data: bytes) -> Reply:
    message = _decode(data)
    pid = message.get("pid", 0)
    return Reply(pid=pid if isinstance(pid, int) else 0, error=str(message.get("error", "")))


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def _decode(data: bytes) -> dict[str, Any]:
    """The JSON object in `data`; ValueError for anything else."""
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message
