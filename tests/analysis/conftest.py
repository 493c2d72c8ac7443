"""Fixtures of the analysis tests: a fake run directory and the real `katib-enas` command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from analysis_support import KATIB_ENAS, Command, make_run


@pytest.fixture
def fake_run(tmp_path: Path) -> tuple[Path, list[str]]:
    run_dir = tmp_path / "run"
    return run_dir, make_run(run_dir)


@pytest.fixture
def katib_enas() -> Command:
    """`katib-enas ARGS` as a real process: `katib_enas(*args, cwd=..., env=...)`."""

    def run(
        *args: str | Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KATIB_ENAS, *(str(a) for a in args)],
            cwd=cwd,
            env={**os.environ, "COLUMNS": "80", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
