"""Identities the service tests deploy with, made in the key vault of the test's `home`."""

from __future__ import annotations

from roost.keys import fediverse, xmpp
from roost.keys.model import Identity


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
