"""A stand-in for `enas_trial.cli.forked_main` in the trial-launcher tests: it reports, as JSON
in the file named by its first argument, what a forked trial sees of its process."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path


def main(argv: list[str], started: float) -> int:
    import numpy
    import torch

    site = sys.modules.get("sitecustomize")
    facts = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "pgid": os.getpgid(0),
        "sid": os.getsid(0),
        "cwd": os.getcwd(),
        "argv": sys.argv,
        "env": dict(os.environ),
        "threads": torch.get_num_threads(),
        "python_random": random.random(),
        "numpy_random": float(numpy.random.random()),
        "torch_rand": float(torch.rand(1).item()),
        "age": time.monotonic() - started,
        "sitecustomize": getattr(site, "__file__", None),
        "stdout_write_through": sys.stdout.write_through,
    }
    Path(argv[0]).write_text(json.dumps(facts), encoding="utf-8")
    print("a line on stdout")
    print("a line on stderr", file=sys.stderr)
    action = argv[1] if len(argv) > 1 else "ok"
    if action == "exit3":
        sys.exit(3)
    if action == "raise":
        raise RuntimeError("the probe failed on purpose")
    if action == "sleep":
        time.sleep(120)
    return 0
