"""Katib's generated gRPC modules, without the cost of the whole Katib SDK.

`kubeflow.katib`'s `__init__` imports the entire SDK (the Kubernetes client and more: about 3 s
and 110 MiB), though a suggestion service needs only the two generated modules. When nothing has
imported the SDK yet, we register the package without running its `__init__`; its submodules
then import from their files as usual, and the first attribute asked of the package itself
(`from kubeflow.katib import report_metrics`) runs the real `__init__` then, so the SDK still
works unchanged for anyone in the same process who needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

_PACKAGE = "kubeflow.katib"


def _register_lazy_package() -> None:
    if _PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return  # an unusual install: fall back to the plain import
    package = importlib.util.module_from_spec(spec)
    initialised = False

    def complete(name: str) -> Any:
        nonlocal initialised
        if initialised or name.startswith("__"):
            raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
        initialised = True
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[_PACKAGE] = package


def _load(name: str) -> ModuleType:
    _register_lazy_package()
    return importlib.import_module(f"{_PACKAGE}.{name}")


__all__ = ["pb", "pb_grpc"]

if TYPE_CHECKING:  # typed by the stubs in operator/stubs (scripts/generate_katib_stubs.py)
    from kubeflow.katib import katib_api_pb2 as pb
    from kubeflow.katib import katib_api_pb2_grpc as pb_grpc
else:
    pb = _load("katib_api_pb2")
    pb_grpc = _load("katib_api_pb2_grpc")
