"""Helpers the benchmarks share: baselines measured in the same run."""

from __future__ import annotations

import os
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


def machine_load() -> str:
    """The load averages and CPU count, printed beside every figure: timings on a shared
    machine mean little without them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
