"""Every check before anything is created: `validate` and `run` both go through `check`.

First the Experiment as the cluster's admission checks it (`experiment.check_file`), then the
algorithm settings as the suggestion service checks them: the remote service's own
ValidateAlgorithmSettings with `--suggestion-address`, else, for our ENAS algorithms, the very
function our service answers ValidateAlgorithmSettings with (`service.sessions.validate`, on the
request converted as the servicer converts it). So `validate` says what `run` would say, and a
run refused here leaves no run directory behind.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.settings import RULES
from katib_enas.experiment import (
    ENAS_ALGORITHMS,
    Checked,
    Experiment,
    InvalidExperimentError,
    check_file,
)
from katib_enas.experiment.fields import did_you_mean
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.requests import experiment_message
from katib_enas.local.rundir import RunError
from katib_enas.service import sessions
from katib_enas.service.convert import experiment_from_proto

DEADLINE_S = 60.0  # Katib's deadline for a call to the suggestion service
_REFUSED = "the suggestion service refuses it in ValidateAlgorithmSettings, and Katib then fails "
_REFUSED += "the Experiment before its first trial"


def check(path: Path, *, suggestion_address: str | None) -> Checked:
    """The checked Experiment at `path`, or `InvalidExperimentError` / `RunError`."""
    checked = check_file(path)
    experiment = checked.experiment
    if suggestion_address is not None:
        validate_remotely(experiment, suggestion_address)
        return checked
    if experiment.algorithm.name in ENAS_ALGORITHMS:
        validate_settings(experiment)
        return checked
    note = (
        f"spec.algorithm.algorithmSettings: the suggestion service for "
        f"{experiment.algorithm.name!r} checks them (ValidateAlgorithmSettings) when the "
        "Experiment starts; give --suggestion-address to ask it now"
    )
    return dataclasses.replace(checked, cluster_notes=(*checked.cluster_notes, note))


def validate_settings(experiment: Experiment) -> None:
    """Our service's ValidateAlgorithmSettings, in-process, on the request Katib would send."""
    where = "spec.algorithm.algorithmSettings"
    for index, (name, _) in enumerate(experiment.algorithm.settings):
        if name not in RULES:
            raise InvalidExperimentError(
                f"{where}[{index}].name: unknown setting {name!r}{did_you_mean(name, RULES)} "
                f"({_REFUSED})"
            )
    try:
        sessions.validate(experiment_from_proto(experiment_message(experiment)))
    except KatibEnasError as error:
        raise InvalidExperimentError(f"{_located(experiment, str(error))} ({_REFUSED})") from None


def validate_remotely(experiment: Experiment, address: str) -> None:
    """ValidateAlgorithmSettings of the service at `address`; UNIMPLEMENTED counts as valid."""
    channel = grpc.insecure_channel(address)
    try:
        request = pb.ValidateAlgorithmSettingsRequest(experiment=experiment_message(experiment))
        pb_grpc.SuggestionStub(channel).ValidateAlgorithmSettings(request, timeout=DEADLINE_S)
    except grpc.RpcError as error:
        code, details = error.code(), error.details()
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            raise InvalidExperimentError(
                f"spec.algorithm: the suggestion service at {address} refuses the Experiment in "
                f"ValidateAlgorithmSettings: {details}"
            ) from None
        raise RunError(
            f"--suggestion-address {address}: ValidateAlgorithmSettings failed "
            f"({code.name}: {details})"
        ) from None
    finally:
        channel.close()


def _located(experiment: Experiment, message: str) -> str:
    """The service's message with the full path of the setting or section it names."""
    for index, (name, _) in enumerate(experiment.algorithm.settings):
        prefix = f"algorithmSettings.{name}:"
        if message.startswith(prefix):
            return f"spec.algorithm.algorithmSettings[{index}].value:{message[len(prefix) :]}"
    if message.startswith("algorithmSettings"):
        return f"spec.algorithm.{message}"
    if message.startswith("spec."):
        return message
    if message.startswith("nasConfig."):
        return f"spec.{message}"
    return f"spec.nasConfig: {message}"
