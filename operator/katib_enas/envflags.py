"""Command-line flags that also read an environment variable, one prefix for all of them.

Containers are configured with env vars, people with flags; every process setting accepts both,
the flag winning.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

PREFIX = "KATIB_ENAS_"


def env_name(flag: str) -> str:
    """`--metrics-port` -> `KATIB_ENAS_METRICS_PORT`."""
    return PREFIX + flag.lstrip("-").replace("-", "_").upper()


def add_flag(
    parser: argparse.ArgumentParser, flag: str, *, default: Any, help: str, **kw: Any
) -> None:
    """Add `flag` whose default comes from its environment variable when that is set."""
    name = env_name(flag)
    raw = os.environ.get(name)
    kind = kw.get("type")
    value = default
    if raw is not None and raw != "":
        try:
            value = kind(raw) if kind is not None else raw
        except (TypeError, ValueError):
            parser.error(f"environment variable {name}={raw!r} is not valid for {flag}")
    # A help text that explains its own default (or a default of None, "not given") shows
    # only the environment variable: one default per flag, never two.
    shown = "" if value is None or "default:" in help else "; default: %(default)s"
    parser.add_argument(flag, default=value, help=f"{help} (env {name}{shown})", **kw)
