"""How every RPC of the service ends: timed, counted, and its errors mapped.

Our own exceptions (bad input) become INVALID_ARGUMENT with the message naming the field; a
store call refused for lack of a slot (`admission`) becomes UNAVAILABLE, which clients retry.
Anything else is a bug of ours: it becomes UNKNOWN with a short message, and its traceback is
logged. Never INTERNAL: Katib's controller counts INTERNAL from ValidateAlgorithmSettings as
valid and would accept an experiment that then fails on every call, while UNKNOWN fails it at
once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from katib_enas.core.errors import KatibEnasError
from katib_enas.service.admission import StoreBusyError
from katib_enas.service.metrics import ServiceMetrics

log = logging.getLogger(__name__)
R = TypeVar("R")


def guarded(
    metrics: ServiceMetrics, method: str, context: grpc.ServicerContext, body: Callable[[], R]
) -> R:
    """Run one RPC body with timing, metrics and the error mapping of the module docstring."""
    started = time.perf_counter()
    code = grpc.StatusCode.OK
    message = ""
    result: Any = None
    try:
        result = body()
    except KatibEnasError as error:
        code, message = grpc.StatusCode.INVALID_ARGUMENT, str(error)
        log.warning("%s: INVALID_ARGUMENT: %s", method, message)
    except StoreBusyError as error:
        code, message = grpc.StatusCode.UNAVAILABLE, str(error)
        log.debug("%s: UNAVAILABLE: %s", method, message)
    except Exception as error:
        code = grpc.StatusCode.UNKNOWN
        message = f"unexpected error in the suggestion service: {type(error).__name__}: {error}"
        log.exception("%s failed", method)
    metrics.record_rpc(method, code.name, time.perf_counter() - started)
    if code is not grpc.StatusCode.OK:
        context.abort(code, message)
    return result  # type: ignore[no-any-return]
