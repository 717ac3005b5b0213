#!/usr/bin/env bash
# The detection campaign (issue 12): default-flag `samsa test` runs of broker-under-test,
# one per seed for each seeded bug and for the correct broker, then the caught/N table.
# Too long for CI (about 80 s a run: 9 bugs + 2 healthy runs per seed), so the nightly
# workflow runs it with one fresh seed a night, and anyone can run it from here:
#   scripts/campaign.sh --seeds 1001,1002          # two seeds (~30 min)
#   scripts/campaign.sh --seed-count 10            # the issue's measurement (~2.5 h)
# Exit status: 0 every bug caught and no false alarm, 1 otherwise, 4 harness error.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building samsa and broker-under-test (release)"
cargo build --release -p harness -p broker-under-test
exec target/release/samsa campaign --store histories/campaign --out histories/campaign.json "$@"
