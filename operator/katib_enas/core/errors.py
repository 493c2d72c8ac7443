"""The project's exception family, so that every boundary maps bad input to one clear error."""

from __future__ import annotations


class KatibEnasError(Exception):
    """Base of every error this project raises on purpose for bad input."""


class InvalidSearchSpaceError(KatibEnasError):
    """The `nasConfig` (graph or operations) cannot define a search space."""


class InvalidSettingsError(KatibEnasError):
    """An algorithm setting is unknown, malformed or out of range."""


class InvalidArchitectureError(KatibEnasError):
    """An `architecture` or `nn_config` assignment is malformed or inconsistent."""


class ServeError(KatibEnasError):
    """A server cannot start: its address is taken or not allowed."""


class InvalidSharingError(KatibEnasError):
    """A request to the shared-weights store is malformed or does not fit the store."""


class RequestTooLargeError(KatibEnasError):
    """A list or string of a request is over its bound (`service.limits`)."""
