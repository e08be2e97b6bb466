"""The key vault: sealed, versioned, atomic and locked; wrong passphrase and damage are told
apart and change nothing; public parts are readable without the passphrase."""

from __future__ import annotations

import os
import stat
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from roost.core.errors import LockedError, NewerFormatError, RoostError
from roost.core.lock import FileLock
from roost.keys import Vault, create
from roost.keys.vault import (
    DEFAULT_LIMITS,
    FAST_LIMITS_FOR_TESTS,
    MAX_MEMLIMIT,
    KdfLimits,
    passphrase_from_env_or_prompt,
)

PASS = "correct horse battery"
FAST = FAST_LIMITS_FOR_TESTS
MODERATE = KdfLimits(3, 256 * 1024 * 1024)
"""libsodium's "moderate" Argon2id cost, roost's default before 2026-12."""


def _filled(home: Path) -> Vault:
    v = Vault.create(home, PASS, limits=FAST)
    v.add(create("ssb", "feed", profile_name="Me"))
    v.add(create("xmpp", "chat", jid="me@example.org"))
    v.add(create("wireguard"))
    return v


def _snapshot(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


def test_round_trip_modes_and_index_without_secrets(home: Path) -> None:
    v = _filled(home)
    assert [i.id for i in v.list()] == ["feed", "chat", "wireguard"]
    again = Vault.open(home, PASS)
    assert again.list() == v.list()
    for info in v.list():
        assert again.get(info.id) == v.get(info.id)
    for path in (Vault.path(home), Vault.index_path(home)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    index_text = Vault.index_path(home).read_text()
    vault_text = Vault.path(home).read_text()
    assert Vault.public_index(home) == v.list()
    for info in v.list():
        assert info.public_id in index_text
        for value in v.get(info.id).secret_values():
            assert value not in index_text
            assert value not in vault_text
        assert info.public_id not in vault_text  # the vault seals public parts too
    data = tomllib.loads(vault_text)
    assert data["schema"] == 1 and data["kdf"] == "argon2id"
    assert (data["opslimit"], data["memlimit"]) == (FAST.opslimit, FAST.memlimit)


def test_default_cost_is_recorded_in_the_header(home: Path) -> None:
    Vault.create(home, PASS)
    data = tomllib.loads(Vault.path(home).read_text())
    assert (data["opslimit"], data["memlimit"]) == (DEFAULT_LIMITS.opslimit,
                                                    DEFAULT_LIMITS.memlimit)
    # A 512 MB Pi derives it (at most 128 MiB), and guessing stays as slow as with libsodium's
    # "moderate" (256 MiB x 3 passes): the same memory x passes.
    assert DEFAULT_LIMITS.memlimit <= MAX_MEMLIMIT == 128 * 1024 * 1024
    assert DEFAULT_LIMITS.memlimit * DEFAULT_LIMITS.opslimit >= MODERATE.memlimit * 3


def test_a_vault_sealed_with_more_memory_is_sealed_lighter_once_and_still_opens(
        home: Path, tmp_path: Path) -> None:
    v = Vault.create(home, PASS, limits=MODERATE)  # what roost used before: 256 MiB
    v.add(create("xmpp", "chat", jid="me@example.org"))
    v.export_backup(tmp_path / "old.backup")
    opened = Vault.open(home, PASS)
    data = tomllib.loads(Vault.path(home).read_text())
    assert (data["opslimit"], data["memlimit"]) == (DEFAULT_LIMITS.opslimit,
                                                    DEFAULT_LIMITS.memlimit)
    assert [i.id for i in opened.list()] == ["chat"]
    before = Vault.path(home).read_bytes()
    again = Vault.open(home, PASS)  # now light: opening writes nothing
    assert Vault.path(home).read_bytes() == before
    assert again.get("chat").public == v.get("chat").public
    with pytest.raises(RoostError, match="passphrase is wrong"):
        Vault.open(home, "not the passphrase at all")
    # A backup made before comes back lighter too; a test vault's light limits stay.
    fresh = tmp_path / "fresh"
    Vault.restore(fresh, tmp_path / "old.backup", PASS)
    assert tomllib.loads(Vault.path(fresh).read_text())["memlimit"] == DEFAULT_LIMITS.memlimit
    light = tmp_path / "light"
    Vault.create(light, PASS, limits=FAST)
    Vault.open(light, PASS)
    assert tomllib.loads(Vault.path(light).read_text())["memlimit"] == FAST.memlimit


def test_wrong_passphrase_is_clear_and_changes_nothing(home: Path) -> None:
    _filled(home)
    before = _snapshot(home)
    with pytest.raises(RoostError) as err:
        Vault.open(home, PASS + "!")
    assert err.value.message == "the passphrase is wrong"
    assert PASS not in str(err.value)
    assert _snapshot(home) == before


def test_every_flipped_byte_is_reported_as_damage_and_the_file_is_kept(home: Path) -> None:
    _filled(home)
    path = Vault.path(home)
    good = path.read_bytes()
    for pos in range(len(good)):
        bad = bytearray(good)
        bad[pos] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(RoostError) as err:
            Vault.open(home, PASS)
        assert "damaged" in err.value.message, (pos, err.value.message)
        assert "restore" in (err.value.hint or "")
        assert path.read_bytes() == bytes(bad)
    path.write_bytes(good)
    assert len(Vault.open(home, PASS).list()) == 3


def test_truncated_or_foreign_file_is_damage(home: Path) -> None:
    _filled(home)
    path = Vault.path(home)
    good = path.read_bytes()
    for bad in (good[: len(good) // 2], b"", b"\xff\xfe garbage", b"schema = 1\n"):
        path.write_bytes(bad)
        with pytest.raises(RoostError, match="damaged"):
            Vault.open(home, PASS)


def test_newer_format_is_left_alone(home: Path) -> None:
    _filled(home)
    path = Vault.path(home)
    text = path.read_text().replace("schema = 1", "schema = 7")
    path.write_text(text)
    with pytest.raises(NewerFormatError):
        Vault.open(home, PASS)
    assert path.read_text() == text


def test_add_remove_and_duplicates(home: Path) -> None:
    v = _filled(home)
    with pytest.raises(RoostError, match="already an identity called 'chat'"):
        v.add(create("ssh", "chat"))
    assert v.free_label("chat") == "chat-2"
    v.remove("chat")
    with pytest.raises(RoostError, match="no identity called 'chat'"):
        v.get("chat")
    with pytest.raises(RoostError):
        v.remove("chat")
    assert [i.id for i in Vault.public_index(home)] == ["feed", "wireguard"]
    assert [i.id for i in Vault.open(home, PASS).list()] == ["feed", "wireguard"]


def test_create_refuses_to_replace_a_vault(home: Path) -> None:
    _filled(home)
    before = _snapshot(home)
    with pytest.raises(RoostError, match="already exists"):
        Vault.create(home, PASS, limits=FAST)
    assert _snapshot(home) == before


def test_short_passphrase_refused(home: Path) -> None:
    with pytest.raises(RoostError, match="too short"):
        Vault.create(home, "short", limits=FAST)
    assert not Vault.exists(home)


def test_two_processes_adding_keep_both(home: Path) -> None:
    a = _filled(home)
    b = Vault.open(home, PASS)
    a.add(create("tor"))
    b.add(create("ssh"))  # b re-reads under the lock, so a's tor key survives
    ids = {i.id for i in Vault.open(home, PASS).list()}
    assert {"tor", "ssh", "feed"} <= ids
    assert {i.id for i in Vault.public_index(home)} == ids


def test_a_held_lock_stops_writes_and_changes_nothing(home: Path) -> None:
    v = _filled(home)
    before = _snapshot(home)
    with FileLock(Vault.path(home)), pytest.raises(LockedError):
        v.add(create("tor"))
    assert _snapshot(home) == before


def test_change_passphrase(home: Path) -> None:
    v = _filled(home)
    old_salt = tomllib.loads(Vault.path(home).read_text())["salt"]
    v.change_passphrase("a new long passphrase")
    with pytest.raises(RoostError, match="passphrase is wrong"):
        Vault.open(home, PASS)
    w = Vault.open(home, "a new long passphrase")
    assert w.list() == v.list()
    assert tomllib.loads(Vault.path(home).read_text())["salt"] != old_salt
    # The handle that changed it keeps working; another open handle is told, not corrupted.
    v.add(create("tor"))
    v.change_passphrase("a third long passphrase")
    with pytest.raises(RoostError, match="changed by another roost"):
        w.add(create("ssh"))
    assert "tor" in Vault.open(home, "a third long passphrase")


def test_backup_export_and_import(home: Path, tmp_path: Path) -> None:
    v = _filled(home)
    backup = tmp_path / "keys.backup"
    v.export_backup(backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    for value in v.get("chat").secret_values():
        assert value not in backup.read_text()
    with pytest.raises(RoostError, match="already exists"):
        v.export_backup(backup)

    # Restore on a new machine: the backup's passphrase opens it.
    other = tmp_path / "other"
    restored = Vault.restore(other, backup, PASS)
    assert restored.list() == v.list()
    assert Vault.open(other, PASS).get("chat") == v.get("chat")
    with pytest.raises(RoostError, match="already exists"):
        Vault.restore(other, backup, PASS)

    # Import into a vault that has moved on: new names added, taken names kept.
    third = tmp_path / "third"
    t = Vault.create(third, "another passphrase", limits=FAST)
    t.add(create("ssh", "chat"))
    with pytest.raises(RoostError, match="passphrase is wrong"):
        t.import_backup(backup, "another passphrase")
    added, skipped = t.import_backup(backup, PASS)
    assert added == ("feed", "wireguard") and skipped == ("chat",)
    assert Vault.open(third, "another passphrase").get("chat").kind == "ssh"


def test_a_backup_is_not_taken_for_a_vault(home: Path, tmp_path: Path) -> None:
    v = _filled(home)
    backup = tmp_path / "b"
    v.export_backup(backup)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keys.vault").write_bytes(backup.read_bytes())
    with pytest.raises(RoostError, match="is not a key vault"):
        Vault.open(other, PASS)


def test_passphrase_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "pp"
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(f))
    f.write_text("two words\n")
    assert passphrase_from_env_or_prompt() == "two words"
    f.write_text("trailing space \n\n")
    assert passphrase_from_env_or_prompt() == "trailing space \n"
    f.write_bytes(b"windows\r\n")
    assert passphrase_from_env_or_prompt() == "windows"
    f.write_text("")
    with pytest.raises(RoostError, match="empty"):
        passphrase_from_env_or_prompt()
    f.unlink()
    with pytest.raises(RoostError, match="cannot read the passphrase file"):
        passphrase_from_env_or_prompt()


def test_no_terminal_and_no_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROOST_PASSPHRASE_FILE", raising=False)
    r, w = os.pipe()
    os.close(w)
    with os.fdopen(r) as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        with pytest.raises(RoostError, match="cannot ask for it here"):
            passphrase_from_env_or_prompt()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(passphrase=st.text(min_size=8, max_size=64).filter(lambda s: "\x00" not in s),
       other=st.text(max_size=64))
def test_any_passphrase_opens_only_its_vault(tmp_path: Path, passphrase: str,
                                             other: str) -> None:
    assume(other != passphrase)
    try:
        passphrase.encode("utf-8")
        other.encode("utf-8")
    except UnicodeEncodeError:
        assume(False)
    home = Path(tempfile.mkdtemp(dir=tmp_path))
    v = Vault.create(home, passphrase, limits=FAST)
    v.add(create("wireguard"))
    assert Vault.open(home, passphrase).list() == v.list()
    with pytest.raises(RoostError, match="passphrase is wrong"):
        Vault.open(home, other)


def test_a_lost_or_damaged_index_is_rebuilt_when_the_vault_opens(home: Path) -> None:
    v = _filled(home)
    index = Vault.index_path(home)
    index.unlink()
    assert Vault.public_index(home) == ()
    Vault.open(home, PASS)
    assert Vault.public_index(home) == v.list()
    index.write_text("this is [ not toml")
    with pytest.raises(RoostError, match="could not be read"):
        Vault.public_index(home)
    Vault.open(home, PASS)
    assert Vault.public_index(home) == v.list()
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
