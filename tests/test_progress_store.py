"""The progress store: crash-safe writes (SIGKILL), one writer at a time, damaged files kept."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.core.errors import CorruptFileError, LockedError, NewerFormatError
from roost.plan.answers import Answers
from roost.plan.progress import SCHEMA, Event, Progress, ProgressStore
from roost.plan.workspace import Workspace

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANSWERS = Answers(("whatsapp",), ("pi",), True, "example.org", "some", "days", 1024,
                  "aarch64", None)


def state(n: int) -> Progress:
    """The n-th state the writer below saves: n events numbered 0..n-1."""
    return Progress(tuple(Event("started", AT, "prosody", {"n": i, "pad": "x" * 200})
                          for i in range(n)))


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "progress.toml")
    assert store.load() == Progress()
    p = Progress((
        Event("assessed", AT, None, {"answers": ANSWERS.to_dict()}),
        Event("skipped", AT, "prosody", {"reason": "friends use Signal"}),
        Event("deployed", AT, "prosody", {"host": "pi.local", "version": "0.12.3"}),
        Event("identity", AT, None, {"kind": "ssh", "public_id": "SHA256:abc"}),
        Event("undone", AT, "prosody", {"index": 1}),
    ))
    store.save(p)
    loaded = store.load()
    assert loaded == p
    assert loaded.answers == ANSWERS
    assert loaded.state_of("prosody") is None  # the skip was undone
    text = (tmp_path / "progress.toml").read_text()
    assert text.startswith(f"schema = {SCHEMA}\n")
    assert oct((tmp_path / "progress.toml").stat().st_mode & 0o777) == "0o600"


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from datetime import UTC, datetime
    from roost.plan.progress import Event, Progress, ProgressStore
    AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    store = ProgressStore(Path(sys.argv[1]))
    events = list(store.load().events)
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    while True:
        events.append(Event("started", AT, "prosody", {"n": len(events), "pad": "x" * 200}))
        store.save(Progress(tuple(events)))
""")


@pytest.mark.slow
def test_sigkill_at_random_points_never_leaves_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "progress.toml"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(4)
    store = ProgressStore(path)
    seen_sizes = set()
    kills = 200
    for _ in range(kills):
        before = store.load()
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        after = store.load()  # must never raise: no corrupt file, never kept aside
        n = len(after.events)
        assert after == state(n), "the file holds a state the writer never wrote"
        assert n >= len(before.events)
        seen_sizes.add(n)
    assert not list(tmp_path.glob("progress.toml.corrupt-*"))
    # The kills landed at many different points of the writing loop (fewer on a loaded
    # machine, where a save takes longer than the random delay).
    assert len(seen_sizes) > kills // 5
    # A later save clears the temp files killed writers left behind.
    store.save(store.load())
    assert not list(tmp_path.glob(".progress.toml.tmp-*"))


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from roost.plan.progress import ProgressStore
    store = ProgressStore(Path(sys.argv[1]))
    with store.locked():
        sys.stdout.write("locked\\n"); sys.stdout.flush()
        sys.stdin.readline()
""")


def test_a_second_process_gets_a_clear_locked_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    ws = Workspace.open(tmp_path, detect=False)
    ws.save_answers(ANSWERS)
    before = (tmp_path / "progress.toml").read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "progress.toml")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "locked\n"
        t0 = time.monotonic()
        with pytest.raises(LockedError) as err:
            ws.done("prosody")
        waited = time.monotonic() - t0
        assert 1.9 <= waited < 6, "a writer waits about two seconds for the other's save"
        assert "another roost is using your progress right now" in str(err.value)
        # Through the command line: one line, exit code 2, file unchanged.
        cli = subprocess.run([sys.executable, "-m", "roost", "done", "prosody"],
                             capture_output=True, text=True, env={**os.environ})
        assert cli.returncode == 2
        assert cli.stdout == ""
        assert cli.stderr.count("\n") == 1
        assert "another roost is using your progress right now" in cli.stderr
        assert (tmp_path / "progress.toml").read_bytes() == before
        # Readers are never blocked.
        assert Workspace.open(tmp_path, detect=False).answers == ANSWERS
    finally:
        if holder.stdin:
            holder.stdin.write("\n")
            holder.stdin.close()
        holder.wait(10)
        if holder.stdout:
            holder.stdout.close()
    ws.done("prosody")  # free again
    assert ws.progress.state_of("prosody") == "done"


CONCURRENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from roost.plan.workspace import Workspace
    ws = Workspace.open(Path(sys.argv[1]), detect=False)
    for i in range(int(sys.argv[2])):
        ws.record_deployed("prosody", sys.argv[3], str(i))
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    Workspace.open(tmp_path, detect=False).save_answers(ANSWERS)
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(tmp_path), str(n), host])
             for host in ("a.example", "b.example")]
    for proc in procs:
        assert proc.wait(120) == 0
    deployed = Workspace.open(tmp_path, detect=False).progress.deployments()
    for host in ("a.example", "b.example"):
        versions = [e.detail["version"] for e in deployed if e.detail["host"] == host]
        assert versions == [str(i) for i in range(n)]


def test_two_workspaces_in_turn_do_not_lose_each_others_changes(tmp_path: Path) -> None:
    a = Workspace.open(tmp_path, detect=False)
    b = Workspace.open(tmp_path, detect=False)
    a.save_answers(ANSWERS)
    b.skip("prosody", "not now")  # b's view is stale, but it reloads under the lock
    a.reload()
    assert a.answers == ANSWERS
    assert a.progress.state_of("prosody") == "skipped"


def test_corrupt_file_is_kept_aside_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "progress.toml"
    path.write_bytes(b"schema = 1\n[[event]\nthis is not toml")
    with pytest.raises(CorruptFileError) as err:
        ProgressStore(path).load()
    msg = str(err.value)
    assert "could not be read" in msg and "kept as" in msg and "\n" not in msg
    aside = list(tmp_path.glob("progress.toml.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"schema = 1\n[[event]\nthis is not toml"
    assert not path.exists()
    assert ProgressStore(path).load() == Progress()


def test_valid_toml_with_bad_events_is_kept_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "progress.toml"
    body = b'schema = 1\n[[event]]\nkind = "exploded"\nat = 2026-01-01T00:00:00Z\n'
    path.write_bytes(body)
    with pytest.raises(CorruptFileError, match="unknown kind"):
        Workspace.open(tmp_path, detect=False)
    aside = list(tmp_path.glob("progress.toml.corrupt-*"))
    assert [p.read_bytes() for p in aside] == [body]


def test_saved_answers_that_no_longer_validate_count_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "progress.toml"
    body = (b'schema = 1\n[[event]]\nkind = "assessed"\nat = 2026-01-01T00:00:00Z\n'
            b'[event.detail.answers]\nuses = []\nhardware = []\nhas_domain = false\n'
            b'skill = "wizard"\npace = "days"\n')
    path.write_bytes(body)
    with pytest.raises(CorruptFileError, match="event 1 in the progress file: answer 'skill'"):
        ProgressStore(path).load()
    assert [p.read_bytes() for p in tmp_path.glob("progress.toml.corrupt-*")] == [body]


def test_newer_file_is_left_untouched_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "progress.toml"
    body = b"schema = 99\nsomething = 'from the future'\n"
    path.write_bytes(body)
    store = ProgressStore(path)
    with pytest.raises(NewerFormatError, match="newer roost"):
        store.load()
    with pytest.raises(NewerFormatError):
        store.update(lambda p: p)
    with pytest.raises(NewerFormatError):
        Workspace.open(tmp_path, detect=False)
    assert path.read_bytes() == body
    assert not list(tmp_path.glob("progress.toml.corrupt-*"))
