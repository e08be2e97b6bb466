"""Fuzzing the loaders of roost's data files: progress, answers, vault, deploy journal, hosts.

Whatever is in the file (random bytes, a valid file with a flipped, cut or inserted byte, or a
well-formed TOML document of the wrong shape), loading returns data or raises RoostError
with one line. No other exception ever escapes, so one damaged file never crashes roost.
The manifest loader has its own fuzz test (tests/test_catalog_fuzz.py).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.core.errors import RoostError

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
PASSPHRASE = "fuzzing passphrase 1234"

SCALARS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["started", "done", "skipped", "assessed", "prosody", "pi", "vps",
                     "2026-01-01T00:00:00+00:00", "not a time", "roost-progress", "running",
                     "roost-keys", "argon2id", "AAAA", "some", "days", "whatsapp"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31),
                 timezones=st.just(dt.UTC)),
    st.dates(),
)
KEYS = st.one_of(st.text(max_size=10), st.sampled_from([
    "schema", "event", "kind", "at", "service", "detail", "answers", "uses", "hardware",
    "has_domain", "domain", "skill", "pace", "pi_ram_mb", "recipe", "host", "run_id", "status",
    "steps", "key", "total", "started", "salt", "sealed", "checksum", "kdf", "opslimit",
    "memlimit", "address", "port", "user", "identity", "public", "secret", "id"]))
VALUES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(KEYS, kids, max_size=5)), max_leaves=20)
DOCS = st.dictionaries(KEYS, VALUES, max_size=8).map(
    lambda d: {"schema": 1, **d} if len(d) % 3 else d)


def mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Flip, cut or insert bytes at the given places."""
    b = bytearray(data)
    for op, pos, val in ops:
        if not b:
            break
        i = pos % len(b)
        if op == 0:
            b[i] ^= 1 << (val % 8)
        elif op == 1:
            del b[i:i + 1 + val % 8]
        else:
            b[i:i] = bytes([val % 256])
    return bytes(b)


OPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2**20), st.integers(0, 255)),
               min_size=1, max_size=4)
CONTENT = st.one_of(
    st.binary(max_size=400),
    DOCS.map(lambda d: tomli_w.dumps(d).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")),
)


def only_roost_errors(load: Callable[[Path], Any], name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(content)
        try:
            load(path)
        except RoostError as exc:
            assert "\n" not in str(exc), str(exc)
            assert str(exc).strip()


# --- progress -------------------------------------------------------------------------------

def _load_progress(path: Path) -> None:
    from roost.plan.progress import ProgressStore

    p = ProgressStore(path).load()
    # everything derived from the events must work too (the TUI and CLI read these)
    p.states()
    _ = p.answers
    p.last_done()
    for e in p.events:
        e.describe()


def _valid_progress() -> bytes:
    from datetime import UTC, datetime

    from roost.plan.answers import Answers
    from roost.plan.progress import SCHEMA, Event, Progress

    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    a = Answers(uses=("whatsapp",), hardware=("pi",), has_domain=False, domain=None,
                skill="some", pace="days", pi_ram_mb=1024, pi_arch="aarch64")
    p = Progress((Event("assessed", at, None, {"answers": a.to_dict()}),
                  Event("started", at, "prosody"),
                  Event("skipped", at, "navidrome", {"reason": "later"}),
                  Event("undone", at, None, {"event": 1})))
    return tomli_w.dumps({"schema": SCHEMA, **p.to_dict()}).encode()


@SETTINGS
@given(CONTENT)
def test_progress_loader_any_content(content: bytes) -> None:
    only_roost_errors(_load_progress, "progress.toml", content)


@SETTINGS
@given(OPS)
def test_progress_loader_damaged_valid_file(ops: list[tuple[int, int, int]]) -> None:
    only_roost_errors(_load_progress, "progress.toml", mutate(_valid_progress(), ops))


@SETTINGS
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=4))
def test_progress_loader_events_of_any_shape(events: list[dict[str, Any]]) -> None:
    doc = {"schema": 1, "event": events}
    only_roost_errors(_load_progress, "progress.toml", tomli_w.dumps(doc).encode())


# --- answers --------------------------------------------------------------------------------

_WS: dict[str, Any] = {}


def _load_answers(path: Path) -> None:
    import tomllib

    from roost.cli.plan_cmd import answers_from_file
    from roost.plan.answers import Answers
    from roost.plan.workspace import Workspace

    if "ws" not in _WS:
        _WS["ws"] = Workspace.open(Path(tempfile.mkdtemp()) / "home", detect=False)
    ws = _WS["ws"]
    answers_from_file(path, ws)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    Answers.from_dict(data)


ANSWER_DOCS = st.fixed_dictionaries({}, optional={
    "uses": st.one_of(st.lists(st.sampled_from(["whatsapp", "gmail", "x", "nope", ""])),
                      VALUES),
    "hardware": st.one_of(st.lists(st.sampled_from(["pi", "vps", "pc", "none", "toaster"])),
                          VALUES),
    "has_domain": st.one_of(st.booleans(), VALUES),
    "domain": st.one_of(st.sampled_from(["example.org", "-bad-", "a..b", "x" * 300]), VALUES),
    "skill": st.one_of(st.sampled_from(["new", "some", "admin", "wizard"]), VALUES),
    "pace": st.one_of(st.sampled_from(["days", "weeks", "whenever", "yesterday"]), VALUES),
    "pi_ram_mb": st.one_of(st.integers(-(2**63), 2**63 - 1), VALUES),
    "pi_arch": st.one_of(st.sampled_from(["aarch64", "armv7l", "sparc"]), VALUES),
    "vps_ram_mb": st.one_of(st.integers(-(2**63), 2**63 - 1), VALUES),
    "schema": VALUES,
})


@SETTINGS
@given(ANSWER_DOCS)
def test_answers_loader_any_shape(doc: dict[str, Any]) -> None:
    only_roost_errors(_load_answers, "answers.toml", tomli_w.dumps(doc).encode())


@SETTINGS
@given(CONTENT)
def test_answers_loader_any_content(content: bytes) -> None:
    only_roost_errors(_load_answers, "answers.toml", content)


# --- the vault ------------------------------------------------------------------------------

_VAULT_CACHE: dict[str, bytes] = {}


def _valid_vault() -> bytes:
    if "v" not in _VAULT_CACHE:
        from roost.keys import ssh, tor
        from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

        with tempfile.TemporaryDirectory() as d:
            v = Vault.create(Path(d), PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS)
            v.add(ssh.create("ssh"))
            v.add(tor.create("tor"))
            _VAULT_CACHE["v"] = Vault.path(Path(d)).read_bytes()
    return _VAULT_CACHE["v"]


def _open_vault(path: Path) -> None:
    from roost.keys.vault import Vault

    path.rename(Vault.path(path.parent))
    v = Vault.open(path.parent, PASSPHRASE)
    v.list()


def _restore_backup(path: Path) -> None:
    from roost.keys.vault import Vault

    Vault.restore(path.parent / "home", path, PASSPHRASE)


@SETTINGS
@given(CONTENT)
def test_vault_any_content_is_a_clear_error(content: bytes) -> None:
    only_roost_errors(_open_vault, "in", content)
    only_roost_errors(_restore_backup, "backup", content)


@SETTINGS
@given(OPS)
def test_vault_damaged_is_a_clear_error(ops: list[tuple[int, int, int]]) -> None:
    damaged = mutate(_valid_vault(), ops)
    if damaged == _valid_vault():
        return

    def must_fail(path: Path) -> None:
        try:
            _open_vault(path)
        except RoostError as exc:
            assert "damaged" in str(exc) or "newer roost" in str(exc), str(exc)
            raise
        # TOML that parses to the same document (a flipped bit in a space): still fine
        import tomllib
        assert tomllib.loads(damaged.decode()) == tomllib.loads(_valid_vault().decode())

    only_roost_errors(must_fail, "in", damaged)


@SETTINGS
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.booleans())
def test_vault_header_of_any_shape(extra: dict[str, Any], keep: bool) -> None:
    import tomllib

    base: dict[str, Any] = tomllib.loads(_valid_vault().decode()) if keep else {}
    base.update(extra)
    only_roost_errors(_open_vault, "in", tomli_w.dumps(base).encode())


def test_wrong_passphrase_is_a_clear_error() -> None:
    from roost.keys.vault import Vault

    with tempfile.TemporaryDirectory() as d:
        Vault.path(Path(d)).write_bytes(_valid_vault())
        for wrong in ("", "x", PASSPHRASE + " ", PASSPHRASE.upper(), "\x00" * 8):
            try:
                Vault.open(Path(d), wrong)
            except RoostError as exc:
                assert "passphrase is wrong" in str(exc)
            else:
                raise AssertionError(f"{wrong!r} opened the vault")


# --- deploy journal and hosts ---------------------------------------------------------------

def _load_journal(path: Path) -> None:
    from roost.deploy.journal import Journal

    j = Journal(path, "counter", "local")
    state = j.load()
    if state is not None:
        state.done_keys()
        j.applied_counts()


@SETTINGS
@given(CONTENT)
def test_journal_loader_any_content(content: bytes) -> None:
    only_roost_errors(_load_journal, "counter.toml", content)


@SETTINGS
@given(st.dictionaries(KEYS, VALUES, max_size=8),
       st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=3))
def test_journal_loader_any_shape(doc: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    d = {"schema": 1, "recipe": "counter", "host": "local", "run_id": "r", "status": "running",
         **doc}
    if steps:
        d["steps"] = steps
    only_roost_errors(_load_journal, "counter.toml", tomli_w.dumps(d).encode())


def _load_hosts(path: Path) -> None:
    from roost.deploy.hosts import HostStore

    store = HostStore(path)
    for h in store.all():
        h.describe()


@SETTINGS
@given(CONTENT)
def test_hosts_loader_any_content(content: bytes) -> None:
    only_roost_errors(_load_hosts, "hosts.toml", content)


@SETTINGS
@given(st.one_of(st.dictionaries(st.text(max_size=10), st.dictionaries(KEYS, VALUES, max_size=6),
                                max_size=3), VALUES))
def test_hosts_loader_any_shape(hosts: Any) -> None:
    doc = {"schema": 1, "hosts": hosts}
    only_roost_errors(_load_hosts, "hosts.toml", tomli_w.dumps(doc).encode())
