"""Concurrent load on the real `katib-enas serve` (a bounded smoke version of
`tests/benchmarks/test_bench_load.py`): health checks stay within Katib's 1 s probe timeout while
GetSuggestions calls from many clients run, and nothing fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from load import percentile, requests_for, run_load
from serve_process import ServeProcess


@pytest.mark.slow
def test_health_answers_within_the_probe_timeout_under_concurrent_load(
    tmp_path: Path, repo_root: Path
) -> None:
    serve = ServeProcess(tmp_path / "state", tmp_path / "serve.log")
    (tmp_path / "state").mkdir()
    serve.start()
    try:
        experiment = repo_root / "manifests" / "local" / "digits.yaml"
        requests = requests_for(serve.address, experiment, experiments=3, history=20)
        result = run_load(serve.address, requests, clients=12, processes=2, seconds=6)
    finally:
        assert serve.stop() == 0
    assert result.errors == []
    assert len(result.health_s) > 20 and len(result.suggest_s) > 20
    assert percentile(result.health_s, 0.99) < 1.0
