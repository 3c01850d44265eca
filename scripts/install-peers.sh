#!/usr/bin/env bash
# Installs the real peers that interop tests and benchmarks run against
# (DESIGN.md §5). Idempotent: skips what is already installed.
#
# Today's tests use only in-process tonic and axum servers, which Cargo builds, so
# there is nothing to install yet. The xDS and control-plane work adds its peers here
# (grpcio, Envoy, tonic-xds, ...), and their tests then fail under
# MESH_REQUIRE_PEERS=1 when a peer is missing, as .ci/run sets.
set -euo pipefail
echo "install-peers: no external peer is needed by the current test suite"
