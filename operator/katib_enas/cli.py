"""The `katib-enas` command: `serve`, `run`, `validate`, `status`, `report`, `export`, `retrain`,
`pick`, `results`, `derive`, `register`, `unregister`, `networkpolicy`.

Each subcommand lives in its own module of `katib_enas.commands` with `HELP`, `configure(parser)`
and `execute(args)`; those modules import heavy packages (torch, grpc, the Katib SDK) only inside
`execute`, so `--help` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from katib_enas import __version__, exits
from katib_enas.core.errors import KatibEnasError

COMMANDS: dict[str, str] = {
    "serve": "katib_enas.commands.serve",
    "run": "katib_enas.commands.run",
    "validate": "katib_enas.commands.validate",
    "status": "katib_enas.commands.status",
    "derive": "katib_enas.commands.derive",
    "report": "katib_enas.commands.report",
    "export": "katib_enas.commands.export",
    "retrain": "katib_enas.commands.retrain",
    "pick": "katib_enas.commands.pick",
    "results": "katib_enas.commands.results",
    "register": "katib_enas.commands.register",
    "unregister": "katib_enas.commands.register",
    "networkpolicy": "katib_enas.commands.networkpolicy",
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
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        text = getattr(module, "HELPS", {}).get(name, module.HELP)
        command = sub.add_parser(name, help=text, description=text)
        module.configure(command)
        command.set_defaults(_module=module)
    return parser


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise


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
