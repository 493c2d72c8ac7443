"""The `katib-enas` command: `serve`, `run`, `validate`, `status`, `report`, `export`, `retrain`,
`pick`, `results`, `derive`, `register`, `unregister`, `networkpolicy`.

Each subcommand lives in its own module of `katib_enas.commands` with `HELP`, `configure(parser)`
and `execute(args)` (`Command`); `COMMANDS` maps each name to its module, so mypy, IDEs and
import-linter see every command. Those modules import heavy packages (torch, grpc, the Katib SDK)
only inside `execute`, so importing them all stays cheap and `--help` and argument errors answer
at once (`tests/local/test_local_cli_messages.py` checks that none imports torch, grpc or
kubernetes).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Protocol

from katib_enas import __version__, exits
from katib_enas.commands import (
    derive,
    export,
    networkpolicy,
    pick,
    register,
    report,
    results,
    retrain,
    run,
    serve,
    status,
    validate,
)
from katib_enas.core.errors import KatibEnasError


class Command(Protocol):
    """What a command module provides (mypy checks each module in `COMMANDS` against it)."""

    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def execute(self, args: argparse.Namespace) -> int: ...


# Name -> the command's module (`register` serves two names: its `HELPS` tells them apart).
COMMANDS: dict[str, Command] = {
    "serve": serve,
    "run": run,
    "validate": validate,
    "status": status,
    "derive": derive,
    "report": report,
    "export": export,
    "retrain": retrain,
    "pick": pick,
    "results": results,
    "register": register,
    "unregister": register,
    "networkpolicy": networkpolicy,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="katib-enas", description="ENAS neural architecture search for Kubeflow Katib."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        text = getattr(module, "HELPS", {}).get(name, module.HELP)
        command = sub.add_parser(name, help=text, description=text)
        module.configure(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args._module.execute(args))
    except KatibEnasError as error:
        print(f"katib-enas {args.command}: error: {error}", file=sys.stderr)
        return exits.BAD_INPUT
    except KeyboardInterrupt:
        return exits.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
