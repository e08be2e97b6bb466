"""Identities in the key vault, noted in the progress: the plan offers to make again one
that was removed. The progress holds only an identity's kind and public id.

The plan is imported when an identity is kept or removed, not when `roost keys` starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from roost.core.errors import RoostError
from roost.keys.model import Identity
from roost.keys.vault import Vault

if TYPE_CHECKING:
    from roost.plan.workspace import Workspace


def _note(vault: Vault, done: str, note: Callable[[Workspace], None]) -> str | None:
    """Note a change in the progress; a one-line warning (saying the identity was `done`
    either way) when the progress could not be updated, else None."""
    try:
        from roost.plan.workspace import Workspace

        note(Workspace.open(vault.home, detect=False))
    except RoostError as exc:
        return f"the identity was {done}, but your progress was not updated: {exc.line()}"
    return None


def add_and_record(vault: Vault, identity: Identity) -> str | None:
    """Keep `identity` in the vault and note it (kind and public id only) in the progress.

    Returns a one-line warning when the progress could not be updated (the identity is
    saved either way), else None.
    """
    vault.add(identity)
    return _note(vault, "saved",
                 lambda ws: ws.record_identity(identity.kind, identity.public_id))


def remove_and_record(vault: Vault, ident_id: str) -> str | None:
    """Delete an identity from the vault and note its removal (kind and public id only) in
    the progress, so the plan offers to make one again. Returns a one-line warning when the
    progress could not be updated (the identity is removed either way), else None."""
    info = vault.get(ident_id).info()
    vault.remove(ident_id)
    return _note(vault, "removed",
                 lambda ws: ws.record_identity_removed(info.kind, info.public_id))
