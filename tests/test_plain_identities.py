"""Plain mode does what the Identities and Host screens do (issue 20, point 16), through its
answers (numbers and lines): make an identity (the first makes the vault), write its files,
export a sealed backup of the vault, remove one (after saying what is lost; No keeps it),
refuse to print a password where the output is not a terminal; read a host's facts again,
remove a host. The vault passphrase comes from ROOST_PASSPHRASE_FILE, as a script gives it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from test_plain import run

from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.keys import Vault

PASSPHRASE = "plain answers passphrase"


@pytest.fixture
def passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(path))
    return PASSPHRASE


def item(text: str, starts: str) -> str:
    """The number of the last menu item in `text` that starts with `starts`."""
    found = re.findall(rf"^  (\d+)\. {re.escape(starts)}", text, re.M)
    assert found, f"no {starts!r} in:\n{text}"
    return str(found[-1])


IDENTITIES = "2"  # on the first menu before any answers: Identities


def test_plain_identities_make_export_back_up_and_remove(
        home: Path, tmp_path: Path, passphrase: str) -> None:
    home.mkdir()
    first = run(home, ["0"])
    assert item(first, "Identities") == IDENTITIES
    kinds = run(home, [IDENTITIES, "1", "0", "0"])
    ssh, login = item(kinds, "SSH key"), item(kinds, "Login with a password")
    # an SSH key named key1 (comment left empty), then a login (roost makes its password)
    text = run(home, [IDENTITIES, "1", ssh, "key1", "", "1", login, "", "", "", "1",
                      "0", "0"])
    assert "Made key1. Public id: SHA256:" in text, text
    assert "Made login, logging in as admin." in text, text
    assert {i.id for i in Vault.public_index(home)} == {"key1", "login"}
    # its files, written where the person says, readable by them alone
    out = tmp_path / "out"
    text = run(home, [IDENTITIES, "2", "1", str(out / "id_key1"), "0", "0"])
    assert "Wrote " in text and (out / "id_key1").exists(), text
    assert stat.S_IMODE((out / "id_key1").stat().st_mode) == 0o600
    # a login's password is not printed into a log
    text = run(home, [IDENTITIES, "3", "2", "0", "0"])
    assert "roost shows a password only on a terminal" in text, text
    assert Vault.open(home, passphrase).get("login").secret["password"] not in text
    # a sealed backup of the vault
    backup = tmp_path / "vault.backup"
    text = run(home, [IDENTITIES, "4", str(backup), "0", "0"])
    assert f"The backup is written to {backup}." in text and backup.stat().st_size > 0
    # remove: what is lost is said; No keeps it, then yes
    text = run(home, [IDENTITIES, "2", item(run(home, [IDENTITIES, "2", "0", "0", "0"]),
                                            "Remove key1"), "0", "0", "0"])
    assert "This deletes key1 (an SSH key, SHA256:" in text, text
    assert "key1" in {i.id for i in Vault.public_index(home)}
    text = run(home, [IDENTITIES, "2", "2", "1", "0", "0"])
    assert "Removed key1 from the vault." in text, text
    assert {i.id for i in Vault.public_index(home)} == {"login"}


def test_plain_hosts_read_facts_again_and_remove(home: Path) -> None:
    home.mkdir()
    HostStore(home / HOSTS_FILE).add(Host("spare", address="192.0.2.9", user="pi"))
    hosts = item(run(home, ["0"]), "Hosts")
    menu = run(home, [hosts, "0", "0"])
    text = run(home, [hosts, item(menu, "Read the facts of local again"), "0"])
    assert "Reading the facts of local." in text
    assert HostStore(home / HOSTS_FILE).get("local").facts is not None
    text = run(home, [hosts, item(menu, "Remove spare"), "0", "0"])
    assert [h.name for h in HostStore(home / HOSTS_FILE).all()] == ["local", "spare"]
    text = run(home, [hosts, item(menu, "Remove spare"), "1", "0"])
    assert "Removed spare." in text, text
    assert [h.name for h in HostStore(home / HOSTS_FILE).all()] == ["local"]
