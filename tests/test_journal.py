"""The deploy journal on the controller and the marker record on the host."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from roost.core.errors import CorruptFileError, LockedError, NewerFormatError, RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.journal import Journal, JournalState, journal_path

KEY = "007-0123456789abcdef"
KEY2 = "008-fedcba9876543210"


@pytest.fixture(autouse=True)
def _home(home: Path) -> None:
    """Every test here runs with the shared `home` (tests/conftest.py)."""


def test_records_reach_the_disk_on_flush_and_round_trip(tmp_path: Path) -> None:
    j = Journal.for_host("pi", "prosody", data_dir())
    assert j.path == tmp_path / "home" / "deploys" / "pi" / "prosody.toml"
    assert j.load() is None
    with j.locked():
        j.begin("run-1", "fp", 3, resume=False)
        for i in range(200):
            j.record(f"{i:03d}-0123456789abcdef", f"step {i}")
        j.record(KEY2, "checked", applied=False)
        j.flush()
        text = j.path.read_text()
        assert text.count("[[steps]]") == 201
    again = Journal.for_host("pi", "prosody", data_dir())
    st = again.load()
    assert st is not None and st.status == "running" and st.run_id == "run-1"
    assert len(st.done_keys()) == 200 and KEY2 in st.seen_keys() and KEY2 not in st.done_keys()
    assert JournalState.from_toml(st.to_toml()) == st
    assert j.path.stat().st_mode & 0o777 == 0o600


def test_finish_writes_status_and_a_new_run_starts_clean() -> None:
    j = Journal.for_host("pi", "blog", data_dir())
    j.begin("run-1", "fp", 2, resume=False)
    j.record(KEY, "a")
    j.finish("failed")
    st = Journal.for_host("pi", "blog", data_dir()).load()
    assert st is not None and st.status == "failed" and st.unfinished
    j.begin("run-1", "fp", 2, resume=True)  # resuming keeps what was done
    assert j.state is not None and j.state.done_keys() == {KEY}
    j.begin("run-2", "fp", 2, resume=False)  # a new run: nothing done yet in it
    assert j.state is not None and j.state.done_keys() == set()
    j.finish("finished")
    st = Journal.for_host("pi", "blog", data_dir()).load()
    assert st is not None and not st.unfinished
    assert j.applied_counts() == {}


def test_a_damaged_journal_is_kept_aside_and_a_newer_one_left_alone() -> None:
    j = Journal.for_host("pi", "blog", data_dir())
    j.path.parent.mkdir(parents=True)
    j.path.write_text("schema = 1\nrecipe = [broken\n")
    with pytest.raises(CorruptFileError, match="kept as"):
        j.load()
    assert not j.path.exists()
    assert list(j.path.parent.glob("blog.toml.corrupt-*"))
    j.path.write_text("schema = 99\n")
    with pytest.raises(NewerFormatError):
        j.load()
    assert j.path.read_text() == "schema = 99\n"
    j.path.write_text("schema = 1\nrecipe = \"blog\"\n")
    with pytest.raises(RoostError, match="incomplete"):
        j.load()


def test_two_runs_of_one_journal_cannot_overlap() -> None:
    a = Journal.for_host("pi", "blog", data_dir())
    b = Journal.for_host("pi", "blog", data_dir())
    with a.locked(), pytest.raises(LockedError), b.locked():
        pass
    with b.locked():
        pass  # released


@pytest.mark.parametrize("bad", ["../etc", "a/b", "Pi", "x;y", "", "a b"])
def test_host_names_cannot_escape_the_journal_folder(bad: str) -> None:
    with pytest.raises(RoostError):
        journal_path(bad, "blog", data_dir())


def test_records_from_threads_are_all_kept() -> None:
    j = Journal.for_host("pi", "many", data_dir())
    j.begin("r", "fp", 400, resume=False)

    def add(base: int) -> None:
        for i in range(100):
            j.record(f"{base + i:03d}-0123456789abcdef", "x")

    threads = [threading.Thread(target=add, args=(n * 100,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    j.finish("finished")
    st = Journal.for_host("pi", "many", data_dir()).load()
    assert st is not None and len(st.done_keys()) == 400


def test_unwritable_journal_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "home" / "deploys"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the folder should be")
    j = Journal.for_host("pi", "blog", data_dir())
    with pytest.raises(RoostError), j.locked():
        j.begin("r", "fp", 1, resume=False)


# -- the host marker --------------------------------------------------------------------------

def test_marker_parsing() -> None:
    text = (f"{KEY}\n"                       # carried from an earlier run
            f"roost-run r2\n"
            f"start {KEY2} 4242\n"
            f"{KEY2}\n"
            f"start 009-0000000000000000 4243\n"
            f"not-a-key\n"
            f"010-00000000000")             # torn last line: no newline
    m = engine.parse_marker(text.encode())
    assert m.run_id == "r2"
    assert m.carried == {KEY} and m.keys == {KEY2}
    assert m.started == (("009-0000000000000000", "4243"),)
    assert m.has(KEY) and m.has(KEY2) and not m.has("010-00000000000")
    assert engine.parse_marker(None).run_id is None
    older = engine.parse_marker(f"roost-run r1\n{KEY}\nroost-run r2\n{KEY2}\n".encode())
    assert older.carried == {KEY} and older.keys == {KEY2}
