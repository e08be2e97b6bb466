#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite: lint, types, tests.
# This is the README's test command and what CI runs. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
export DEBIAN_FRONTEND=noninteractive

echo "== system packages"
# openssh: real sshd for transport tests; tor, wireguard-tools: reference tools for keys;
# strace: the keys security test records the argv of every process roost spawns;
# systemd-container, mmdebstrap: the Debian test host; fenrir: the real screen reader;
# nodejs, npm: ssb-keys and ssb-server as the SSB reference.
APT_PACKAGES=(
  openssh-server openssh-client iproute2 procps sudo
  tor wireguard-tools strace
  systemd-container mmdebstrap debian-archive-keyring nftables
  fenrir espeak-ng
  nodejs npm
  python3-venv
)
$sudo_ apt-get update -qq
$sudo_ apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null

echo "== python packages"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'

echo "== node packages (reference tools for SSB)"
if [ -f tests/node/package.json ]; then
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi

echo "== lint"
.venv/bin/ruff check .
echo "== types"
./scripts/typecheck.sh

echo "== tests"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
