"""Off-cluster stand-in for the pod namespace lookup of `kubeflow.katib.report_metrics`.

Loaded by Python's `site` because the local runner puts this directory on PYTHONPATH; see the
package docstring. It patches `kubeflow.katib.utils.utils` only when that module is imported,
then hands over to any `sitecustomize` it shadows.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

_TARGET = "kubeflow.katib.utils.utils"
_HERE = os.path.dirname(os.path.abspath(__file__))


def _namespace() -> str:
    return os.environ.get("KATIB_TRIAL_NAMESPACE", "default")


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            module.get_current_k8s_namespace = _namespace  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _chain() -> None:
    """Import the `sitecustomize` this one shadows, if there is one."""
    saved = list(sys.path)
    own = sys.modules.pop("sitecustomize", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    try:
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if own is not None:
            sys.modules["sitecustomize"] = own


sys.meta_path.insert(0, _PatchOnImport())
_chain()
