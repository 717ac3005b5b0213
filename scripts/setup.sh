#!/usr/bin/env bash
# Installs what samsa's build and tests need on a fresh Debian machine (run as root):
# cmake and libcurl headers for librdkafka (rdkafka's cmake-build), iptables for the
# partition nemesis, kcat and kafka-python as independent Kafka clients, tini-static (a
# static binary for the image-from-binary test), Chromium for the report's browser test,
# and rivine 0.2.0 from crates.io (a third-party Kafka-compatible broker the e2e tests run
# samsa against; `cargo install` puts rivine-broker in cargo's bin directory).
# Safe to run again.
set -euo pipefail

# Root here; elsewhere (a CI runner with a normal user) through sudo.
sudo_if_needed=()
if [ "$(id -u)" -ne 0 ]; then sudo_if_needed=(sudo); fi

apt_packages=(cmake libcurl4-openssl-dev pkg-config kcat iptables util-linux chromium tini)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo_if_needed[@]}" apt-get update -qq
  "${sudo_if_needed[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import kafka' 2>/dev/null; then
  echo "setup: installing kafka-python from PyPI"
  python3 -m pip install -q --root-user-action=ignore kafka-python
fi

if ! cargo install --list | grep -q '^rivine v0.2.0:'; then
  echo "setup: installing rivine 0.2.0 from crates.io (a third-party broker to test)"
  cargo install --quiet rivine --version 0.2.0 --locked
fi
command -v rivine-broker >/dev/null || {
  echo "setup: rivine-broker is installed but not on PATH; add cargo's bin directory (usually ~/.cargo/bin)" >&2
  exit 1
}

docker info >/dev/null 2>&1 || { echo "setup: the Docker daemon is not reachable (docker info failed)" >&2; exit 1; }
echo "setup: ok"
