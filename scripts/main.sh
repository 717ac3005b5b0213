#!/usr/bin/env bash
# The main job: a 3-node broker-under-test cluster in Docker, 60 s of producers and
# consumers under partitions, kills and pauses, checked, with the run stored under
# histories/queue/<timestamp>/. Extra arguments go to `samsa test` (see `samsa test --help`),
# e.g. `scripts/main.sh --nodes 1 --time-limit 30 --seed 7`.
# Exit status: 0 valid, 1 invalid, 2 unknown, 4 harness error, 130 interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building samsa and broker-under-test (release)"
cargo build --release -p harness -p broker-under-test
exec target/release/samsa test "$@"
