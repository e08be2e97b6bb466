#!/usr/bin/env bash
# Install roost into .venv (once; again when pyproject.toml changes) and start it.
# Extra arguments go to roost, e.g. `bash scripts/run.sh --screen-reader` or `... catalog`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "roost needs Python 3.11 or newer (Debian 12 / Raspberry Pi OS bookworm have it)." >&2
  exit 1
fi
if ! python3 -c 'import ensurepip' 2>/dev/null; then
  echo "Installing python3-venv (needs sudo)..." >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get install -y python3-venv
fi
stamp=.venv/.roost-installed
if [ ! -x .venv/bin/roost ] || [ pyproject.toml -nt "$stamp" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e .
  touch "$stamp"
fi
exec .venv/bin/roost "$@"
