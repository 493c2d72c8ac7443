"""katib-enas: ENAS neural architecture search as a Katib suggestion service."""

__version__ = "0.1.0"
