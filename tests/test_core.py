from __future__ import annotations

import contextlib
import multiprocessing
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.core import validate
from roost.core.atomic import atomic_write_text
from roost.core.errors import CorruptFileError, LockedError, NewerFormatError, RoostError
from roost.core.lock import FileLock
from roost.core.paths import data_dir
from roost.core.versioned import read_versioned, write_versioned


def test_data_dir_follows_roost_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "profile"))
    d = data_dir()
    assert d == tmp_path / "profile"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_atomic_write_sets_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "x.toml"
    atomic_write_text(f, "a = 1\n", 0o600)
    atomic_write_text(f, "a = 2\n", 0o600)
    assert f.read_text() == "a = 2\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.toml"]


def test_versioned_roundtrip_and_newer_format_left_untouched(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    write_versioned(f, {"x": [1, 2]}, 1)
    assert read_versioned(f, "progress", 1) == {"schema": 1, "x": [1, 2]}
    f.write_text("schema = 7\nx = 1\n")
    with pytest.raises(NewerFormatError) as err:
        read_versioned(f, "progress", 1)
    assert "newer roost" in str(err.value)
    assert f.read_text() == "schema = 7\nx = 1\n"


@pytest.mark.parametrize("body", [b"not = [toml", b"\xff\xfe", b"x = 1\n", b"schema = true\n"])
def test_corrupt_file_is_kept_aside(tmp_path: Path, body: bytes) -> None:
    f = tmp_path / "p.toml"
    f.write_bytes(body)
    with pytest.raises(CorruptFileError) as err:
        read_versioned(f, "progress", 1)
    assert not f.exists()
    kept = list(tmp_path.glob("p.toml.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == body
    assert str(kept[0]) in str(err.value)
    assert "\n" not in str(err.value)


def _hold(path: str, ready: multiprocessing.synchronize.Event, done: multiprocessing.synchronize.Event) -> None:  # noqa: E501
    with FileLock(Path(path)):
        ready.set()
        done.wait(10)


@contextlib.contextmanager
def held_by_another_process(path: Path) -> Iterator[multiprocessing.synchronize.Event]:
    """`path` locked by another process until the event yielded is set (or the block ends)."""
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold, args=(str(path), ready, done))
    p.start()
    try:
        assert ready.wait(10)
        yield done
    finally:
        done.set()
        p.join(10)


def test_lock_refuses_a_second_process(tmp_path: Path) -> None:
    with held_by_another_process(tmp_path / "f"), \
            pytest.raises(LockedError, match="another roost"), FileLock(tmp_path / "f"):
        pass
    with FileLock(tmp_path / "f"):  # free again once the holder exits
        pass


@pytest.mark.parametrize("bad", ["", "a b", "x;rm -rf /", "$(id)", "-lead", "a..b", "é.org",
                                 "a" * 64 + ".org", "new\nline"])
def test_hostname_rejects_hostile_values(bad: str) -> None:
    with pytest.raises(RoostError) as err:
        validate.hostname(bad)
    assert "\n" not in err.value.line()


def test_hostname_accepts_names_and_addresses() -> None:
    assert validate.hostname("Pi.Local.") == "pi.local"
    assert validate.hostname("127.0.0.1") == "127.0.0.1"
    assert validate.hostname("[::1]") == "::1"
    assert validate.domain("example.org") == "example.org"
    with pytest.raises(RoostError):
        validate.domain("localhost")
    assert validate.unix_user("roost_ssb") == "roost_ssb"
    with pytest.raises(RoostError):
        validate.unix_user("Root;x")
    assert validate.port("22") == 22
    with pytest.raises(RoostError):
        validate.port("70000")


def test_lock_waits_for_a_holder_that_lets_go(tmp_path: Path) -> None:
    with held_by_another_process(tmp_path / "f") as done:
        timer = threading.Timer(0.3, done.set)
        timer.start()
        with FileLock(tmp_path / "f", wait_s=5.0):  # taken once the holder exits
            pass
