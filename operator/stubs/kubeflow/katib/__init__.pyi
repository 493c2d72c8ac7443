"""Typed stub of the parts of the Katib SDK this project calls (see scripts/)."""

from collections.abc import Mapping

def report_metrics(
    metrics: Mapping[str, float],
    db_manager_address: str = ...,
    timeout: int = ...,
) -> None: ...
