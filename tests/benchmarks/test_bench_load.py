"""Benchmark: 50 concurrent clients for 60 s against the real `katib-enas serve`, health checks
and GetSuggestions mixed (half each), from 5 client processes.

Reports health and GetSuggestions latency (p50/p99), errors, and the service's resident memory
before and after, per 10,000 requests. Targets (issue 13): health p99 under Katib's 1 s probe
timeout, no errors, RSS growing less than 20 MiB over 10,000 requests.
Run: `.venv/bin/python -m pytest tests/benchmarks/test_bench_load.py -s`.
"""

from __future__ import annotations

from pathlib import Path

from load import percentile, requests_for, rss_mib, run_load
from serve_process import ServeProcess

REPO = Path(__file__).resolve().parents[2]


def test_bench_load_50_clients_60_s(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    serve = ServeProcess(tmp_path / "state", tmp_path / "serve.log").start()
    try:
        requests = requests_for(
            serve.address, REPO / "manifests/local/digits.yaml", experiments=5, history=40
        )
        warm = run_load(serve.address, requests, clients=50, processes=5, seconds=10)
        before = rss_mib(serve.pid)
        result = run_load(serve.address, requests, clients=50, processes=5, seconds=60)
        after = rss_mib(serve.pid)
    finally:
        serve.stop()
    per_10k = (after - before) * 10_000 / max(result.requests, 1)
    print(f"\nwarm-up: {warm.requests} requests; measured: {result.requests} requests in 60 s")
    print(f"errors: {len(result.errors)} {sorted(set(result.errors))[:3]}")
    for name, values in (("health", result.health_s), ("GetSuggestions", result.suggest_s)):
        print(
            f"{name:>15}: {len(values):6d} calls, p50 {percentile(values, 0.5) * 1e3:7.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1e3:7.1f} ms"
        )
    print(f"service RSS: {before:.0f} MiB -> {after:.0f} MiB ({per_10k:+.1f} MiB per 10,000)")
    assert result.requests > 0
