"""Identities the service tests deploy with, made in the key vault of the test's `home`."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.keys import fediverse, xmpp
from roost.keys.model import Identity
from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault


def fediverse_alice(domain: str, server: str) -> Identity:
    """alice@`domain`, the first (admin) account of a fediverse `server`."""
    return fediverse.create("social", user="alice", domain=domain,
                            admin_email="alice@example.org", server=server)


def xmpp_pair(domain: str) -> tuple[Identity, Identity]:
    """alice@`domain` and bob@`domain`, two XMPP accounts to talk to each other."""
    return (xmpp.create("alice", address=f"alice@{domain}"),
            xmpp.create("bob", address=f"bob@{domain}"))


def public(*ids: Identity) -> dict[str, object]:
    """What a recipe is given of these identities: their public parts, by id."""
    return {i.id: i.info() for i in ids}


def vault_for_commands(home: Path, passphrase: str, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch, *identities: Identity) -> Vault:
    """A vault in `home` (the fast key derivation) holding `identities`, its passphrase in a
    file that ROOST_PASSPHRASE_FILE names, where roost's commands read it."""
    vault = Vault.create(home, passphrase, limits=FAST_LIMITS_FOR_TESTS)
    for ident in identities:
        vault.add(ident)
    pf = tmp_path / "passphrase"
    pf.write_text(passphrase + "\n")
    pf.chmod(0o600)
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(pf))
    return vault


def one_of_each() -> dict[str, object]:
    """What a recipe is given of one identity of each kind recipes take (Matrix, XMPP, SSB,
    fediverse): enough to build every recipe without a host."""
    from roost.keys import matrix, ssb

    return public(matrix.create("matrix", server_name="example.org"),
                  xmpp.create("alice", address="alice@example.org"),
                  ssb.create("me", profile="Me"),
                  fediverse.create("social", user="alice", domain="example.org",
                                   admin_email="alice@example.org", server="akkoma"))
