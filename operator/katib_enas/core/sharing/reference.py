"""How a trial finds its experiment's shared-weights store: a `shared` entry in `nn_config`.

Katib refuses a trial when the suggestion returns an assignment its template does not
reference, so the store's address travels inside the `nn_config` assignment that every ENAS
template already passes: `'shared':{'address':'<host:port>','experiment':'<name>',
'slice_steps':N,'schedule_steps':N,'store_mib':N,'restart_steps':N,'restart_mult':N,
'lr_floor':X}`. It carries the slice and schedule settings too, so that a restarted service
without a checkpoint can open a fresh store from a trial's first request, and the trial knows
its learning rate. References written before the schedule keys existed read as the single cosine
to zero they meant.
Stock trials ignore keys they do not know. No torch here: the trial reads it before torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.core.sharing.schedule import warm_restarts
from katib_enas.core.spaces.assignment_json import decode_json, is_int
from katib_enas.core.spaces.base import NN_CONFIG

SHARED = "shared"
SUGGESTION_PORT = 6789  # Katib's suggestion Service port


@dataclass(frozen=True)
class StoreReference:
    """The store an assignment's trial pulls from and pushes to, and its slice settings."""

    address: str
    experiment: str
    slice_steps: int
    schedule_steps: int
    store_mib: int
    restart_steps: int = 0  # the first warm-restart cycle; 0: one cosine over schedule_steps
    restart_mult: int = 1
    lr_floor: float = 0.0

    def learning_rate(self, peak: float, global_step: int) -> float:
        """The shared schedule's rate at the store's `global_step` (`optim.warm_restarts`)."""
        first = self.restart_steps or self.schedule_steps
        return warm_restarts(peak, global_step, first, self.restart_mult, self.lr_floor)

    @property
    def max_bytes(self) -> int:
        return self.store_mib * 1024 * 1024


def katib_address(experiment: str, algorithm: str, namespace: str | None) -> str:
    """The address Katib gives the suggestion of `experiment`: its Service
    `<experiment>-<algorithm>` in the experiment's namespace, port 6789. Without the namespace,
    the short name resolves from pods in the same namespace (trials run there)."""
    host = f"{experiment}-{algorithm}"
    return f"{host}.{namespace}:{SUGGESTION_PORT}" if namespace else f"{host}:{SUGGESTION_PORT}"


def with_reference(assignments: dict[str, str], reference: StoreReference) -> dict[str, str]:
    """`assignments` with the store's reference added to `nn_config`."""
    config = from_katib_json(assignments[NN_CONFIG])
    assert isinstance(config, dict)  # a space's own encoding
    config[SHARED] = {
        "address": reference.address,
        "experiment": reference.experiment,
        "slice_steps": reference.slice_steps,
        "schedule_steps": reference.schedule_steps,
        "store_mib": reference.store_mib,
        "restart_steps": reference.restart_steps,
        "restart_mult": reference.restart_mult,
        "lr_floor": reference.lr_floor,
    }
    return {**assignments, NN_CONFIG: to_katib_json(config)}


def reference_of(nn_config: str) -> StoreReference | None:
    """The store reference in an `nn_config` value, or None when it shares no weights."""
    config = decode_json(nn_config, NN_CONFIG)
    if not isinstance(config, dict) or SHARED not in config:
        return None
    shared = config[SHARED]
    if not isinstance(shared, dict):
        raise InvalidArchitectureError("nn_config.shared: expected an object")
    for key in ("address", "experiment"):
        if not isinstance(shared.get(key), str) or not shared[key]:
            raise InvalidArchitectureError(f"nn_config.shared.{key}: expected a non-empty string")
    numbers = {}
    optional = {"restart_steps": 0, "restart_mult": 1}
    for key, low in (
        ("slice_steps", 0),
        ("schedule_steps", 1),
        ("store_mib", 1),
        ("restart_steps", 0),
        ("restart_mult", 1),
    ):
        value = shared.get(key, optional.get(key))
        if not is_int(value) or value < low:
            raise InvalidArchitectureError(f"nn_config.shared.{key}: expected an integer >= {low}")
        numbers[key] = value
    floor = shared.get("lr_floor", 0.0)
    if not isinstance(floor, int | float) or isinstance(floor, bool) or not 0 <= floor <= 1:
        raise InvalidArchitectureError("nn_config.shared.lr_floor: expected a number in 0..1")
    return StoreReference(shared["address"], shared["experiment"], **numbers, lr_floor=float(floor))


def strip_sharing(nn_config: str) -> str:
    """`nn_config` without its store reference (the inverse of `with_reference`), in Katib's
    quoting; unchanged when it has none. Retraining and exporting build the child from scratch
    with the full schedule, so they drop the key first."""
    config = decode_json(nn_config, NN_CONFIG)
    if not isinstance(config, dict) or SHARED not in config:
        return nn_config
    return to_katib_json({key: value for key, value in config.items() if key != SHARED})
