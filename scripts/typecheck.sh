#!/usr/bin/env bash
# mypy --strict over the roost.* packages. The folders are mapped to roost.* by setuptools'
# package-dir, which mypy cannot follow through the editable-install import hook, so mirror
# the mapping as a tree of symlinks under build/mypy and check that. (mypy's command line and
# config have no package-dir mapping: mypy_path/explicit_package_bases name a module after its
# folder, `core`, not `roost.core`. Only mypy's internal mypy.build API takes explicit module
# names per file; the layer test, tests/test_layers.py, reads the folders and needs no tree.)
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/mypy/roost
rm -rf build/mypy && mkdir -p "$tree"
for f in roost/*.py roost/py.typed; do ln -s "../../../$f" "$tree/$(basename "$f")"; done
for pkg in core catalog plan keys deploy app tui cli; do ln -s "../../../$pkg" "$tree/$pkg"; done
py=${PYTHON:-.venv/bin/python}
exec "$py" -m mypy --strict -p roost "$@"
