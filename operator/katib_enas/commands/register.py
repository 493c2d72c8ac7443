"""`katib-enas register` and `katib-enas unregister`: our entries in Katib's katib-config (the
chart's hook Jobs run them after install/upgrade and before uninstall)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "add our suggestion entries to Katib's katib-config"
# One module serves both commands; each says what it does (`cli` prefers these to HELP).
HELPS = {"register": HELP, "unregister": "remove our suggestion entries from Katib's katib-config"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=Path, required=True, help="JSON list of our entries")
    parser.add_argument("--namespace", default="kubeflow", help="Katib's namespace")
    parser.add_argument("--configmap", default="katib-config", help="Katib's ConfigMap")
    parser.add_argument("--file", type=Path, help="change this ConfigMap YAML file instead")


def execute(args: argparse.Namespace) -> int:
    from katib_enas import registration

    action = args.command  # `register` or `unregister`
    entries = registration.load_entries(args.entries)
    if args.file is not None:
        registration.apply_to_file(action, args.file, entries)
        where = str(args.file)
    else:
        registration.apply_in_cluster(action, args.namespace, args.configmap, entries)
        where = f"{args.namespace}/{args.configmap}"
    names = ", ".join(entry["algorithmName"] for entry in entries)
    print(f"{action}: {names} in {where}")
    return 0
