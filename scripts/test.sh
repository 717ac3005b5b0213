#!/usr/bin/env bash
# Every test samsa has, as CI runs them: formatting, lints, unit and property tests, the
# reference corpus, the parser fuzz test, the broker's integration tests against real
# processes, and the Docker end-to-end tests. Needs root and a running Docker daemon.
# SAMSA_E2E=1 switches the slow tests on (Docker, root, clusters of real processes,
# Chromium); a plain `cargo test --workspace` lists them as ignored, with the reason.
set -euo pipefail
export SAMSA_E2E=1
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets
