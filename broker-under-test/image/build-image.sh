#!/usr/bin/env bash
# Builds the broker-under-test Docker image FROM scratch: the release binary plus every shared
# library `ldd` lists (and the dynamic loader), since no base image can be pulled here.
# Usage: build-image.sh [--tag TAG] [--binary PATH]
# Prints the image tag on stdout (default samsa/broker-under-test:<12 hex of sha256(binary)>);
# everything else goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag=""
binary=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --binary) binary="${2:?--binary needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ -z "$binary" ]]; then
  target="${CARGO_TARGET_DIR:-$repo/target}"
  (cd "$repo" && cargo build --release -p broker-under-test >&2)
  binary="$target/release/broker-under-test"
fi
[[ -x "$binary" ]] || { echo "binary not found or not executable: $binary" >&2; exit 1; }

if [[ -z "$tag" ]]; then
  tag="samsa/broker-under-test:$(sha256sum "$binary" | cut -c1-12)"
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/data" "$ctx/rootfs/tmp"
cp "$binary" "$ctx/rootfs/broker-under-test"
# Every absolute path ldd prints: resolved libraries ("=> /path") and the loader ("/lib64/ld-...").
ldd "$binary" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  [[ -e "$lib" ]] || continue
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV BROKER_DATA_DIR=/data \
    BROKER_LISTEN=0.0.0.0:9092 \
    BROKER_ADMIN_LISTEN=0.0.0.0:8080
EXPOSE 9092 8080
ENTRYPOINT ["/broker-under-test"]
DOCKERFILE

docker build --quiet --tag "$tag" "$ctx" >&2
echo "$tag"
