"""Identities the service tests deploy with, made in the key vault of the test's `home`."""

from __future__ import annotations

from roost.keys import fediverse
from roost.keys.model import Identity


def fediverse_alice(domain: str, server: str) -> Identity:
    """alice@`domain`, the first (admin) account of a fediverse `server`."""
    return fediverse.create("social", user="alice", domain=domain,
                            admin_email="alice@example.org", server=server)
