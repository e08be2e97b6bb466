#!/usr/bin/env bash
# mypy --strict over the roost.* packages. The folders are mapped to roost.* by setuptools'
# package-dir, which mypy cannot follow through the editable-install import hook, so mirror
# the mapping as a tree of symlinks under build/mypy and check that.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/mypy/roost
rm -rf build/mypy && mkdir -p "$tree"
for f in roost/*.py roost/py.typed; do ln -s "../../../$f" "$tree/$(basename "$f")"; done
for pkg in core catalog plan keys deploy app tui cli; do ln -s "../../../$pkg" "$tree/$pkg"; done
py=${PYTHON:-.venv/bin/python}
exec "$py" -m mypy --strict -p roost "$@"
