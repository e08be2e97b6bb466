"""Reliability: roost's data files survive SIGKILL, a full disk and a second roost.

Each writer runs in its own process (the real code, the real disk) and prints an
acknowledgement line after every save returns. The test kills it at random moments with
SIGKILL, then checks that the file still loads and holds every acknowledged change (and at
most the one change that was being written when the kill came).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.answers import ANSWERS_TOML

from roost.core.errors import LockedError, RoostError

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ROOST = [PY, "-m", "roost"]
PASSPHRASE = "correct horse battery staple"


# --- writers, each run as `python -c WRITER home start` and killed at random ----------------

PROGRESS_WRITER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from datetime import UTC, datetime
    from roost.plan.progress import Event, ProgressStore
    AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    store = ProgressStore(Path(sys.argv[1]) / "progress.toml")
    i = int(sys.argv[2])
    while True:
        store.update(lambda p: p.with_event(Event("started", AT, "prosody", {"n": i})))
        print(i, flush=True)
        i += 1
''')

VAULT_WRITER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from roost.keys import ssh
    from roost.keys.vault import Vault
    vault = Vault.open(Path(sys.argv[1]), sys.argv[3])
    i = int(sys.argv[2])
    while True:
        vault.add(ssh.create(f"k{i}"))
        print(i, flush=True)
        i += 1
''')

JOURNAL_WRITER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from roost.deploy.journal import Journal
    j = Journal.for_host("local", "counter", base=Path(sys.argv[1]))
    i = int(sys.argv[2])
    with j.locked():
        j.load()
        j.begin("run-1", "fp", 100000, resume=True)
        while True:
            j.record(f"step-{i}", f"step number {i}")
            j.flush()
            print(i, flush=True)
            i += 1
''')


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ROOST_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("ROOST_PASSPHRASE_FILE", None)
    return env


def _kill_loop(code: str, home: Path, count_saved: object, kills: int,
               extra: tuple[str, ...] = (), seed: int = 1) -> list[tuple[int, int]]:
    """Run the writer `kills` times, SIGKILL it at a random moment after its first save.

    After each kill, `count_saved()` (which must load the file with the real loader) gives
    the number of saved changes. Returns (acknowledged, found) per round.
    """
    rng = random.Random(seed)
    rounds: list[tuple[int, int]] = []
    acked = 0
    for _ in range(kills):
        proc = subprocess.Popen([PY, "-c", code, str(home), str(acked), *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_env(home), cwd=ROOT)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the writer is up and has saved once
        assert first, proc.stderr.read().decode() if proc.stderr else "writer died"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        lines = [first, *rest.splitlines(keepends=True)]
        complete = [ln for ln in lines if ln.endswith(b"\n")]
        last = int(complete[-1]) if complete else acked - 1
        acked = last + 1  # number of acknowledged saves (numbers 0..last)
        found = count_saved()  # type: ignore[operator]
        rounds.append((acked, found))
        assert acked <= found <= acked + 1, (
            f"after a kill: {acked} saves acknowledged, {found} in the file")
        acked = found  # an unacknowledged but completed save counts from here on
    return rounds


@pytest.mark.slow
def test_sigkill_while_writing_progress(tmp_path: Path) -> None:
    from roost.plan.progress import ProgressStore

    home = tmp_path / "home"
    home.mkdir()
    store = ProgressStore(home / "progress.toml")

    def count() -> int:
        events = store.load().events
        ns = [int(e.detail["n"]) for e in events]
        assert ns == list(range(len(ns))), "events lost or out of order"
        return len(ns)

    rounds = _kill_loop(PROGRESS_WRITER, home, count, kills=25)
    assert rounds[-1][1] > 25
    assert not list(home.glob("*.corrupt-*")), "a file was found damaged and kept aside"


@pytest.mark.slow
def test_sigkill_while_writing_the_vault(tmp_path: Path) -> None:
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    home = tmp_path / "home"
    Vault.create(home, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS)

    def count() -> int:
        vault = Vault.open(home, PASSPHRASE)
        ids = sorted(int(i.id.removeprefix("k")) for i in vault.list())
        assert ids == list(range(len(ids))), f"identities lost: {ids}"
        # the public index may lag the vault by the interrupted write, never more
        index = Vault.public_index(home)
        assert len(ids) - 1 <= len(index) <= len(ids)
        return len(ids)

    rounds = _kill_loop(VAULT_WRITER, home, count, kills=20, extra=(PASSPHRASE,))
    assert rounds[-1][1] > 20
    assert (Vault.path(home).stat().st_mode & 0o777) == 0o600


@pytest.mark.slow
def test_sigkill_while_writing_the_deploy_journal(tmp_path: Path) -> None:
    from roost.deploy.journal import Journal

    home = tmp_path / "home"
    home.mkdir()

    def count() -> int:
        j = Journal.for_host("local", "counter", base=home)
        state = j.load()
        assert state is not None
        keys = [int(e.key.removeprefix("step-")) for e in state.steps]
        assert keys == list(range(len(keys))), "journal entries lost or out of order"
        return len(keys)

    rounds = _kill_loop(JOURNAL_WRITER, home, count, kills=25)
    assert rounds[-1][1] > 25


# --- a full disk ----------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs, mounted for this test only."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the disk-full tests need root in CI (they mount a small tmpfs)")
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs: {r.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the file system until not one more byte fits."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (4096, 1):
            try:
                while True:
                    os.write(fd, b"x" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _roost(home: Path, *argv: str, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    e = _env(home)
    if env:
        e.update(env)
    return subprocess.run([*ROOST, *argv], capture_output=True, text=True, env=e, cwd=ROOT,
                          timeout=timeout)


def _one_clear_line(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("roost: ")
    for w in words:
        assert w in lines[0], lines[0]


def test_disk_full_while_saving_progress(small_disk: Path, tmp_path: Path) -> None:
    home = small_disk / "home"
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS_TOML)
    r = _roost(home, "assess", "--answers", str(answers))
    assert r.returncode == 0, r.stderr
    r = _roost(home, "done", "prosody")
    assert r.returncode == 0, r.stderr
    before = (home / "progress.toml").read_bytes()
    _fill(small_disk)
    r = _roost(home, "skip", "matrix-synapse", "--reason", "not now " + "x" * 2000)
    _one_clear_line(r, "disk is full", "progress.toml")
    assert (home / "progress.toml").read_bytes() == before
    assert not list(home.glob(".progress.toml.tmp-*"))
    r = _roost(home, "status")
    assert r.returncode == 0, r.stderr


def test_disk_full_while_saving_the_vault(small_disk: Path, tmp_path: Path) -> None:
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    home = small_disk / "home"
    vault = Vault.create(home, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS)
    from roost.keys import ssh
    vault.add(ssh.create("first"))
    before = Vault.path(home).read_bytes()
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE)
    _fill(small_disk)
    r = _roost(home, "keys", "new", "tor", env={"ROOST_PASSPHRASE_FILE": str(pw)})
    _one_clear_line(r, "disk is full")
    assert Vault.path(home).read_bytes() == before
    assert [i.id for i in Vault.open(home, PASSPHRASE).list()] == ["first"]


def test_disk_full_while_writing_the_journal(small_disk: Path) -> None:
    from roost.deploy.journal import Journal

    home = small_disk / "home"
    j = Journal.for_host("local", "counter", base=home)
    with j.locked():
        j.load()
        j.begin("run-1", "fp", 10, resume=False)
        j.record("step-0", "first")
        j.flush()
        before = j.path.read_bytes()
        _fill(small_disk)
        j.record("step-1", "x" * 8000)
        with pytest.raises(RoostError) as info:
            j.flush()
        assert "disk is full" in str(info.value)
        assert "\n" not in str(info.value)
    assert j.path.read_bytes() == before
    state = Journal.for_host("local", "counter", base=home).load()
    assert state is not None and [e.key for e in state.steps] == ["step-0"]


# --- two roosts at once ---------------------------------------------------------------------

HOLD_LOCK = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from roost.core.lock import FileLock
    with FileLock(Path(sys.argv[1])):
        print("held", flush=True)
        time.sleep(60)
''')


@pytest.fixture
def holder() -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def hold(path: Path) -> None:
        p = subprocess.Popen([PY, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE,
                             env=_env(path.parent), cwd=ROOT)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline() == b"held\n"

    yield hold
    for p in procs:
        p.kill()
        p.wait()


def test_second_roost_writing_progress_gets_one_locked_line(tmp_path: Path,
                                                            holder: object) -> None:
    home = tmp_path / "home"
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS_TOML)
    assert _roost(home, "assess", "--answers", str(answers)).returncode == 0
    before = (home / "progress.toml").read_bytes()
    holder(home / "progress.toml")  # type: ignore[operator]
    r = _roost(home, "done", "prosody")
    _one_clear_line(r, "another roost is using your progress")
    assert (home / "progress.toml").read_bytes() == before
    # reading still works while the other roost writes
    r = _roost(home, "status")
    assert r.returncode == 0, r.stderr


def test_second_roost_writing_the_vault_gets_one_locked_line(tmp_path: Path,
                                                             holder: object) -> None:
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    home = tmp_path / "home"
    Vault.create(home, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS)
    before = Vault.path(home).read_bytes()
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE)
    holder(Vault.path(home))  # type: ignore[operator]
    r = _roost(home, "keys", "new", "tor", env={"ROOST_PASSPHRASE_FILE": str(pw)})
    _one_clear_line(r, "another roost is using the key vault")
    assert Vault.path(home).read_bytes() == before


CONCURRENT_WRITER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from roost.core.errors import LockedError
    from datetime import UTC, datetime
    from roost.plan.progress import Event, ProgressStore
    AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    store = ProgressStore(Path(sys.argv[1]) / "progress.toml")
    done = 0
    while done < int(sys.argv[3]):
        try:
            store.update(lambda p: p.with_event(
                Event("started", AT, "prosody", {"who": sys.argv[2], "n": done})))
            done += 1
        except LockedError:
            time.sleep(0.001)
''')


def test_two_roosts_writing_in_turn_lose_nothing(tmp_path: Path) -> None:
    """Both write 40 events as fast as they can: the lock serialises them, none is lost."""
    from roost.plan.progress import ProgressStore

    home = tmp_path / "home"
    home.mkdir()
    procs = [subprocess.Popen([PY, "-c", CONCURRENT_WRITER, str(home), who, "40"],
                              env=_env(home), cwd=ROOT, stderr=subprocess.PIPE)
             for who in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    events = ProgressStore(home / "progress.toml").load().events
    for who in ("a", "b"):
        ns = [e.detail["n"] for e in events if e.detail["who"] == who]
        assert ns == list(range(40))


def test_lock_error_is_a_locked_error(tmp_path: Path) -> None:
    from roost.core.lock import FileLock

    with FileLock(tmp_path / "x"), pytest.raises(LockedError):
        FileLock(tmp_path / "x").acquire()
