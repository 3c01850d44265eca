#!/usr/bin/env bash
# Installs the real peers that interop tests and benchmarks run against
# (DESIGN.md §5). Idempotent: skips what is already installed, so a second run takes
# a fraction of a second.
#
# What the test suite uses today:
#   grpcio + grpcio-tools (Python)  a real proxyless xDS client (tests/interop_grpcio.rs),
#                                   in a venv at $HOME/.cache/mesh-peers/venv, where the
#                                   tests look for it (no PATH change needed)
#   tonic-xds (crates.io)           a dev-dependency: Cargo fetches and builds it
# The tests that need a peer print `SKIPPED: <peer> not installed` when it is missing,
# and fail instead under MESH_REQUIRE_PEERS=1, as .ci/run sets.
#
# Needs: python3 (3.9+) with pip, or with the venv module. On Debian, python3-venv is
# not required: without ensurepip the venv is made --without-pip and filled by the
# system pip (`pip --python`).
set -euo pipefail

GRPCIO_VERSION=1.85.1
GRPCIO_TOOLS_VERSION=1.85.1

PEERS="$HOME/.cache/mesh-peers"
VENV="$PEERS/venv"
PY="$VENV/bin/python"

say() { echo "install-peers: $*"; }

python_peers_ok() {
    [ -x "$PY" ] && "$PY" - "$GRPCIO_VERSION" "$GRPCIO_TOOLS_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
import grpc  # noqa: F401  (the native module loads)
assert version("grpcio") == sys.argv[1], version("grpcio")
assert version("grpcio-tools") == sys.argv[2], version("grpcio-tools")
EOF
}

install_python_peers() {
    local python3
    python3=$(command -v python3 || true)
    if [ -z "$python3" ]; then
        say "python3 not found: cannot install grpcio" >&2
        return 1
    fi
    mkdir -p "$PEERS"
    if [ ! -x "$PY" ]; then
        # A broken or half-made venv from an earlier run is replaced.
        rm -rf "$VENV"
        if ! "$python3" -m venv "$VENV" >/dev/null 2>&1; then
            # Debian without python3-venv: no ensurepip. Make the venv bare and let the
            # system pip install into it.
            rm -rf "$VENV"
            "$python3" -m venv --without-pip "$VENV"
        fi
    fi
    local pip=("$PY" -m pip)
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
        pip=("$python3" -m pip --python "$PY")
    fi
    "${pip[@]}" install --quiet --disable-pip-version-check --no-input \
        "grpcio==$GRPCIO_VERSION" "grpcio-tools==$GRPCIO_TOOLS_VERSION"
}

start=$(date +%s.%N)
if python_peers_ok; then
    say "grpcio $GRPCIO_VERSION already installed"
else
    say "installing grpcio $GRPCIO_VERSION, grpcio-tools $GRPCIO_TOOLS_VERSION into $VENV"
    install_python_peers
    if ! python_peers_ok; then
        say "grpcio installed but does not import with $PY" >&2
        exit 1
    fi
fi
say "python with grpcio: $PY"
say "tonic-xds: a Cargo dev-dependency, nothing to install"
say "done in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s"
