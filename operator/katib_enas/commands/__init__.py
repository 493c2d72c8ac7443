"""The `katib-enas` subcommands, one module each (see `katib_enas.cli`)."""
