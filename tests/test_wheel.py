"""What the wheel ships: every module of the roost.* packages, and nothing that only serves the
tests, the benchmarks or the screenshots (those live in tests/support/, bench/, scripts/).

The wheel is built from a clean copy of the tracked files (`pip wheel --no-deps`), so a stale
build/ folder cannot hide a missing or a leftover module."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The folders setuptools maps to roost.* (pyproject.toml, package-dir): folder -> wheel path.
PACKAGE_DIRS = {folder: package.replace(".", "/") for package, folder in tomllib.loads(
    (ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].items()}
TEST_ONLY = ("fake", "counter", "scenes", "conftest", "standin")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    src = tmp_path_factory.mktemp("src")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("roost-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def test_the_wheel_holds_every_module_of_the_package(wheel_names: set[str]) -> None:
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    expected = {PACKAGE_DIRS[f.split("/", 1)[0]] + f[len(f.split("/", 1)[0]):]
                for f in tracked if f.split("/", 1)[0] in PACKAGE_DIRS}
    assert "roost/deploy/recipes/prosody.py" in expected
    assert sorted(expected - wheel_names) == []


def test_nothing_test_only_ships(wheel_names: set[str]) -> None:
    modules = sorted(n for n in wheel_names if n.endswith(".py"))
    assert len(modules) > 50
    assert [n for n in modules if any(word in Path(n).stem for word in TEST_ONLY)] == []
    assert [n for n in wheel_names if n.startswith(("tests/", "bench/", "scripts/"))] == []
