#!/usr/bin/env bash
# Every test samsa has, as CI runs them: formatting, lints, unit and property tests, the
# reference corpus, the parser fuzz test, the broker's integration tests against real
# processes, and the Docker end-to-end tests. Needs root and a running Docker daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --all-targets
