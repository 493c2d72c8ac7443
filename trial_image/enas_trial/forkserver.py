"""The trial launcher: one process that imports torch and `enas_trial` once, then forks a ready
trial for every CPU `enas-trial` command of a local run (`katib-enas run`).

Importing torch is most of a CPU trial's start-up (over a second per trial on the bundled
search); a fork takes milliseconds. The runner starts this module as a fresh process
(`katib_enas.local.launcher`) and talks to it over an inherited SOCK_SEQPACKET socket, in the
messages of `enas_trial.launcher_protocol` (hello, request with the trial's log and gate, reply;
end-of-file ends the launcher). Trials it started run on; their waiters report through their
exit status files, not through the launcher.

Fork safety: the launcher forks from its only thread. It is a fresh process, not a fork of the
runner (whose gRPC threads would be copied mid-call); it runs no torch operation, so torch has
started no thread pool (each trial starts its own); numpy's OpenBLAS is held to the calling
thread (`OPENBLAS_NUM_THREADS=1` before numpy loads; trials do no numpy linear algebra). It
counts its threads before every fork and refuses to fork when there is more than one.

Each request becomes two processes, as a spawned trial is a `sh` waiter and its command
(`katib_enas.local.processes`): the waiter (a new session: the trial's process group, in the
trial directory, output to the trial log) waits for the runner's go-ahead, forks the trial,
waits for it and writes its exit status file. The trial gets what a fresh `enas-trial` process
would have: the request's environment in place of the launcher's (with PYTHONPATH entries and a
`sitecustomize` there applied), `sys.argv`, default signal handling, fresh stdio streams
following PYTHONUNBUFFERED, new seeds for Python's and numpy's global generators, torch's
generator as torch leaves a fresh process (a random seed, or its fixed default on versions that
use one), torch's thread count when the environment sets
OMP_NUM_THREADS, and no logging handlers. Its start-up clock starts at `launched_at`, when the
runner asked for it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from enas_trial import launcher_protocol as protocol

DEFAULT_ENTRY = "enas_trial.cli:forked_main"
# torch's default CPU seed (c10's default_rng_seed_val): a torch that starts every process with
# it has a known state after import; newer ones seed each process at random.
TORCH_DEFAULT_SEED = 67280421310721

Entry = Callable[[list[str], float], int]


@dataclass(frozen=True)
class Preloaded:
    """What every trial starts from: the entry function, torch's generator state right after
    `import torch` when torch gives every process the same one (None: it seeds each process at
    random), and the launcher's own environment."""

    run: Entry
    fresh_rng: Any
    base_env: dict[str, str]


def thread_count() -> int:
    """Threads of this process (the kernel's count: threads of C libraries included)."""
    return len(os.listdir("/proc/self/task"))


def preload(entry: str) -> Preloaded:
    """Import what a trial imports."""
    import torch

    from enas_trial.builders import BUILDERS

    fresh_rng = torch.get_rng_state() if torch.initial_seed() == TORCH_DEFAULT_SEED else None
    importlib.import_module("enas_trial.training")
    for builder in BUILDERS.values():
        for module in builder.modules:
            importlib.import_module(module)
    module_name, _, function = entry.partition(":")
    run: Entry = getattr(importlib.import_module(module_name), function)
    return Preloaded(run, fresh_rng, dict(os.environ))


def serve(sock: socket.socket, entry: str) -> None:
    """Say hello, then fork a trial per request until end-of-file."""
    try:
        ready = preload(entry)
    except Exception as error:  # reported to the runner, which falls back
        sock.send(protocol.not_ready(f"{type(error).__name__}: {error}"))
        return
    import torch

    threads = thread_count()
    if threads != 1:
        sock.send(protocol.not_ready(f"{threads} threads after the imports"))
        return
    gpu_build = torch.version.cuda is not None or getattr(torch.version, "hip", None) is not None
    sock.send(protocol.hello(cuda_build=gpu_build))
    while True:
        _reap()
        readable, _, _ = select.select([sock], [], [], 0.5)
        if not readable:
            continue
        data, fds, _, _ = socket.recv_fds(sock, protocol.MESSAGE_BYTES, protocol.TRIAL_FDS)
        if not data:
            return
        try:
            request = protocol.read_request(data)
            if len(fds) != protocol.TRIAL_FDS:
                raise ValueError(f"expected {protocol.TRIAL_FDS} file descriptors, got {len(fds)}")
            _read_dataset_ahead(request.argv)
            if thread_count() != 1:
                raise RuntimeError(f"{thread_count()} threads: forking now is not safe")
            pid = os.fork()
            if pid == 0:
                _waiter(sock, request, fds, ready)
            sock.send(protocol.forked(pid))
        except (ValueError, RuntimeError, OSError) as error:
            sock.send(protocol.refused(str(error)))
        finally:
            for fd in fds:
                os.close(fd)


def _read_dataset_ahead(argv: list[str]) -> None:
    """Read the trial's dataset here, before forking, so every trial of the run shares one copy
    (numpy and gzip only: no thread starts)."""
    from enas_trial import data
    from enas_trial.flags import build_parser

    try:
        args, _ = build_parser().parse_known_args(argv)
    except SystemExit:  # bad flags: the trial itself says so
        return
    data.preload(args.dataset, args.data_dir)


def _reap() -> None:
    """Collect the waiters that ended (they are this process's children)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _waiter(
    sock: socket.socket, request: protocol.Request, fds: list[int], ready: Preloaded
) -> None:
    """The forked waiter: session, directory, log, gate, then the trial and its status."""
    code = protocol.NOT_STARTED
    try:
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        sock.close()
        log_fd, gate_fd = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(null)
        os.chdir(request.cwd)
        gate = os.read(gate_fd, len(protocol.GO))
        if gate != protocol.GO:
            os._exit(protocol.NOT_STARTED)
        child = os.fork()
        if child == 0:
            _trial(request, ready)
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
        with open(request.exit_file, "w", encoding="ascii") as out:
            out.write(f"{code}\n")
    except BaseException as error:  # a forked child must never return
        os.write(2, f"trial launcher: {type(error).__name__}: {error}\n".encode())
    os._exit(code)


def _trial(request: protocol.Request, ready: Preloaded) -> None:
    """The forked trial: become a fresh `enas-trial` process, run, exit with its status."""
    code = 1
    try:
        _become_fresh(request.env, ready)
        sys.argv = ["enas-trial", *request.argv]
        code = _exit_status(ready.run, request.argv, request.launched_at)
    except BaseException:  # a forked child must never return
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


def _exit_status(run: Entry, argv: list[str], started: float) -> int:
    """What the interpreter's exit status would be (SystemExit included)."""
    import logging

    try:
        return int(run(argv, started))
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    finally:
        logging.shutdown()


def _become_fresh(env: dict[str, str], ready: Preloaded) -> None:
    """Everything of the launcher a fresh process would not have, replaced (module docstring)."""
    import logging
    import random

    import numpy
    import torch

    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    _apply_python_path(env.get("PYTHONPATH", ""), ready.base_env.get("PYTHONPATH", ""))
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    sys.stdout = _stream(1, write_through=unbuffered, line_buffering=False, errors="strict")
    sys.stderr = _stream(
        2, write_through=unbuffered, line_buffering=True, errors="backslashreplace"
    )
    random.seed()
    numpy.random.seed()
    if ready.fresh_rng is not None:
        torch.set_rng_state(ready.fresh_rng)
    else:
        torch.seed()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = env.get(name, "")
        if value != ready.base_env.get(name, "") and value.isdigit() and int(value) > 0:
            torch.set_num_threads(int(value))
            break
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)


def _stream(fd: int, *, write_through: bool, line_buffering: bool, errors: str) -> io.TextIOWrapper:
    """A text stream on `fd` as the interpreter makes one at start-up (not a terminal)."""
    raw = io.FileIO(fd, "w", closefd=False)
    buffer: io.RawIOBase | io.BufferedWriter = raw if write_through else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffer,  # type: ignore[arg-type]
        encoding=getattr(sys.__stdout__, "encoding", None) or "utf-8",
        errors=errors,
        newline="\n",
        line_buffering=line_buffering,
        write_through=write_through,
    )


def _apply_python_path(trial_path: str, launcher_path: str) -> None:
    """PYTHONPATH entries the launcher did not start with go first on sys.path, as at
    start-up, and a `sitecustomize` among them runs (the Push collector's shim is one)."""
    known = set(launcher_path.split(os.pathsep)) if launcher_path else set()
    added = [p for p in trial_path.split(os.pathsep) if p and p not in known]
    sys.path[:0] = added
    for entry in added:
        if os.path.isfile(os.path.join(entry, "sitecustomize.py")):
            sys.modules.pop("sitecustomize", None)
            importlib.import_module("sitecustomize")
            break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {protocol.MODULE}")
    parser.add_argument("fd", type=int, help="the inherited SOCK_SEQPACKET socket")
    parser.add_argument("--entry", default=DEFAULT_ENTRY, help="module:function(argv, started)")
    args = parser.parse_args(argv)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy loads: no BLAS thread pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner stops it, not the terminal
    with socket.socket(fileno=args.fd) as sock:
        serve(sock, args.entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
