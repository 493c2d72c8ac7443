"""Generate the Python modules of our own gRPC API, `katib_enas.v1` (the shared-weights store),
from `operator/protos/katib_enas/v1/*.proto`: messages, client and server code, and typed stubs.

    .venv/bin/python scripts/generate_sharing_api.py          # rewrite operator/katib_enas/v1/
    .venv/bin/python scripts/generate_sharing_api.py --check  # exit 1 if they are stale

Needs grpcio-tools (the dev extra) and mypy-protobuf's `protoc-gen-mypy` on PATH (the venv's
bin). The generated files are committed, so the images need neither;
`tests/packaging/test_packaging_stubs.py` runs `--check`.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "operator" / "protos"
PACKAGE = Path("katib_enas") / "v1"
OUT = ROOT / "operator" / PACKAGE
INIT = '"""katib-enas\'s own gRPC API, generated from operator/protos/ (see scripts/)."""\n'


def generate(out_root: Path) -> list[Path]:
    """Write the modules for every .proto under `out_root/katib_enas/v1/`; returns them."""
    protos = sorted((PROTOS / PACKAGE).glob("*.proto"))
    bin_dir = Path(sys.executable).parent
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{Path(protoc.__file__).parent / '_proto'}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *(str(p.relative_to(PROTOS)) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (out_root / PACKAGE / "__init__.py").write_text(INIT, encoding="utf-8")
    return sorted((out_root / PACKAGE).iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the modules are stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        if args.check:
            stale = [
                p.name
                for p in fresh
                if not (OUT / p.name).is_file() or not filecmp.cmp(p, OUT / p.name, shallow=False)
            ]
            if stale:
                print(f"stale: {', '.join(stale)}; run scripts/generate_sharing_api.py")
                return 1
            return 0
        OUT.mkdir(parents=True, exist_ok=True)
        for path in fresh:
            shutil.copyfile(path, OUT / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
