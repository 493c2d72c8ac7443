#!/usr/bin/env bash
# What each image's Python environment weighs: a fresh venv per image, torch 2.13.0 (CPU build)
# first as the Dockerfiles do, then the project with that image's extra. Prints MiB per image
# and without torch (the CUDA image gets torch from its base). Needs PyPI; takes a few minutes.
#   bash scripts/image-sizes.sh [SOURCE_DIR]
set -euo pipefail
SRC="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
printf '%-28s %10s %14s\n' image "MiB" "MiB w/o torch"
for spec in "suggestion:service" "trial-cpu:trial,digits" "trial (CUDA, on torch):trial" "local (make run):local"; do
    name="${spec%%:*}" extra="${spec#*:}"
    venv="$WORK/venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0 2>/dev/null
    "$venv/bin/pip" install -q --disable-pip-version-check "$SRC/[$extra]" 2>/dev/null
    site="$(echo "$venv"/lib/python3*/site-packages)"
    total=$(du -sm "$site" | cut -f1)
    # torch and what it pulls in (sympy, networkx...; the CUDA libraries on a GPU build)
    torch=$( (du -smc "$site"/torch "$site"/torch-* "$site"/sympy "$site"/networkx "$site"/mpmath \
        "$site"/nvidia* 2>/dev/null || true) | tail -1 | cut -f1)
    printf '%-28s %10s %14s\n' "$name" "$total" "$((total - torch))"
done
