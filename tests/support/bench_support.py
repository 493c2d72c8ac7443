"""Helpers the benchmarks share: baselines measured in the same run."""

from __future__ import annotations

import subprocess
import sys
import time


def import_torch_seconds() -> float:
    """Process start to `import torch` done, measured like the trial (a line on a pipe);
    the fastest of three, so that a cold file cache does not flatter the trial."""
    times = []
    for _ in range(3):
        started = time.monotonic()
        with subprocess.Popen(
            [sys.executable, "-c", "import torch; print('ready', flush=True)"],
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            times.append(time.monotonic() - started)
            process.wait(timeout=60)
    return min(times)
