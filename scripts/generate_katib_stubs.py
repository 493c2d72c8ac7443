"""Write typed stubs (.pyi) for Katib's generated gRPC modules, for mypy.

The `kubeflow-katib` SDK ships `katib_api_pb2.py` and `katib_api_pb2_grpc.py` without type
information, so every message crossing our protobuf boundary was `Any`. mypy-protobuf (the
protoc plugin) writes stubs from a file descriptor; the SDK's module carries its descriptor, so
this script hands it to the plugin's generator directly (no protoc, no .proto file needed).

    .venv/bin/python scripts/generate_katib_stubs.py          # rewrite operator/stubs/
    .venv/bin/python scripts/generate_katib_stubs.py --check  # exit 1 if they are stale

The stubs are committed; `tests/packaging/test_packaging_stubs.py` runs `--check`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from mypy_protobuf.main import Descriptors, generate_mypy_grpc_stubs, generate_mypy_stubs

from katib_enas.katib_api import pb

OUT = Path(__file__).resolve().parent.parent / "operator" / "stubs" / "kubeflow"
# The SDK's package __init__ as far as this project uses it.
PACKAGE_STUB = '''"""Typed stub of the parts of the Katib SDK this project calls (see scripts/)."""

from collections.abc import Mapping

def report_metrics(
    metrics: Mapping[str, float],
    db_manager_address: str = ...,
    timeout: int = ...,
) -> None: ...
'''


def stubs() -> dict[Path, str]:
    """Every stub file, by path, as this SDK version's descriptor gives it."""
    proto = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(proto)
    # The descriptor names the file `api.proto`; the SDK's modules are `kubeflow.katib.katib_api_*`
    # and the stubs' imports must say so.
    proto.name = "kubeflow/katib/katib_api.proto"
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=[proto.name], proto_file=[proto])
    response = plugin_pb2.CodeGeneratorResponse()
    descriptors = Descriptors(request)
    generate_mypy_stubs(descriptors, response, True, False, False)
    generate_mypy_grpc_stubs(descriptors, response, True, False, False)
    files = {OUT / "__init__.pyi": "", OUT / "katib" / "__init__.pyi": PACKAGE_STUB}
    for generated in response.file:
        files[OUT.parent / generated.name] = generated.content
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale stubs")
    args = parser.parse_args()
    stale = []
    for path, content in stubs().items():
        if not path.is_file() or path.read_text() != content:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
