"""`katib-enas serve`: run the suggestion service, as Katib's suggestion Deployment does."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from katib_enas.core.errors import ServeError
from katib_enas.envflags import add_flag

log = logging.getLogger(__name__)

HELP = "Run the ENAS suggestion service (Katib api.v1.beta1.Suggestion over gRPC)."


def configure(parser: argparse.ArgumentParser) -> None:
    add_flag(parser, "--host", default="0.0.0.0", help="address to listen on")
    add_flag(parser, "--port", default=6789, type=int, help="gRPC port (Katib dials 6789)")
    add_flag(
        parser,
        "--metrics-port",
        default=8000,
        type=int,
        help="HTTP port of Prometheus /metrics and the live report (/, /report, /trials.csv, "
        "/trials.json); 0 turns both off",
    )
    add_flag(
        parser,
        "--live-report",
        default=True,
        type=_yes_no,
        help="serve the live report on the metrics port (true/false)",
    )
    add_flag(
        parser,
        "--state-dir",
        default=Path("/opt/katib/data"),
        type=Path,
        help="where controller checkpoints are kept, per experiment, if it exists",
    )
    add_flag(
        parser,
        "--memory-limit",
        default=0,
        type=int,
        help="bytes this container may use, exported as katib_enas_memory_limit_bytes to watch "
        "memory against (the Helm chart sets it from the container's limit); 0: the cgroup's limit",
    )
    add_flag(parser, "--workers", default=4, type=int, help="gRPC worker threads (>= 2)")
    add_flag(
        parser,
        "--grace",
        default=10.0,
        type=float,
        help="seconds calls in flight get to finish on SIGTERM",
    )


def _yes_no(text: str) -> bool:
    """`true`/`false` (also 1/0, yes/no), for a flag that an environment variable can set."""
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValueError(text)


def execute(args: argparse.Namespace) -> int:
    from katib_enas.service.memory_limit import cgroup_memory_limit
    from katib_enas.service.metrics import ServiceMetrics
    from katib_enas.service.server import serve_forever, start_server

    if args.workers < 2:
        raise ServeError("--workers: must be at least 2 (one stays free for Katib's health probe)")
    if args.memory_limit < 0:
        raise ServeError("--memory-limit: must be >= 0 bytes")
    metrics = ServiceMetrics(memory_limit_bytes=args.memory_limit or cgroup_memory_limit())
    live = None
    if args.metrics_port and args.live_report:
        from katib_enas.analysis.live_report import LiveReport

        live = LiveReport(f"suggestion service {socket.gethostname()}")
    if args.metrics_port:
        bound = metrics.serve(args.metrics_port, args.host, live.pages() if live else None)
        if live is not None:
            log.info("live report on http://%s:%d/report", args.host, bound)
    else:
        log.info("Prometheus metrics and the live report off (--metrics-port 0)")
    state_dir: Path = args.state_dir
    started = start_server(
        f"{args.host}:{args.port}",
        state_dir=state_dir if state_dir.is_dir() else None,
        workers=args.workers,
        metrics=metrics,
        on_learned=live.on_learned if live else None,
        on_request=live.on_request if live else None,
    )
    serve_forever(started, args.grace)
    # A call still learning when the grace period ends (a cold start of thousands of trials)
    # would keep the process alive until it finished, past `--grace`: gRPC has cancelled it, and
    # its trials are learned again from the history after a restart, so end now.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)
