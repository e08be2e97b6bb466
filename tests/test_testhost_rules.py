"""The test host's skip-or-fail rule and its cache folder (fast, no container)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

pytest_plugins = ["testhost"]


@pytest.fixture
def testhost() -> ModuleType:
    """The module, imported only after pytest registered it as a plugin (assertion rewriting)."""
    return importlib.import_module("testhost")


def test_missing_container_support_skips_locally(
    testhost: ModuleType, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="test host unavailable: no nspawn"):
        testhost.unavailable("no nspawn")


def test_missing_container_support_fails_in_ci(
    testhost: ModuleType, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable in CI: no nspawn"):
        testhost.unavailable("no nspawn")


def test_cache_folder_follows_the_environment(testhost: ModuleType, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_TESTHOST_CACHE", str(tmp_path / "c"))
    assert testhost.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.delenv("ROOST_TESTHOST_CACHE")
    assert testhost.cache_dir() == Path(testhost.__file__).parent / ".cache" / "testhost"


def test_build_script_is_the_cache_key(
    testhost: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A changed build script means a new tar name, so a stale rootfs is never reused."""
    import hashlib

    digest = hashlib.sha256(testhost.BUILD_SCRIPT.read_bytes()).hexdigest()[:12]
    monkeypatch.setenv("ROOST_TESTHOST_CACHE", str(tmp_path))
    (tmp_path / f"rootfs-bookworm-{digest}.tar").write_bytes(b"")  # present: no build
    assert testhost.rootfs_tar().name == f"rootfs-bookworm-{digest}.tar"


def test_sweep_cleans_a_crashed_sessions_slot(testhost: ModuleType, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    if os.geteuid() != 0 or testhost.missing_requirements():
        testhost.unavailable("needs root and the container tools")
    monkeypatch.setenv("ROOST_TESTHOST_CACHE", str(tmp_path))
    n = testhost.MAX_SLOTS  # the last slot: no real session reaches it here
    left = tmp_path / "hosts" / f"slot{n}-pi" / "upper" / "etc"
    left.mkdir(parents=True)
    (left / "leftover").write_text("from a session that was killed")
    testhost.RUN_DIR.mkdir(parents=True, exist_ok=True)
    state = testhost.RUN_DIR / f"slot{n}.json"
    state.write_text('{"pid": 0, "machine": "rt40-pi"}')
    assert testhost.sweep_stale_slots() >= 1
    assert not (tmp_path / "hosts" / f"slot{n}-pi").exists()
    assert not state.exists()
