"""Identities in the key vault, noted in the progress: the plan offers to make again one
that was removed. The progress holds only an identity's kind and public id.

The use cases both front ends call (the Identities screens, plain mode): `make` one,
`export_files` of one, `export_backup` of the vault, `remove` one, the `password` of a login.
Each takes the vault passphrase as a callback, asked only once what was typed is checked.

The plan is imported when an identity is kept or removed, not when `roost keys` starts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from roost.core.errors import RoostError
from roost.keys.model import Identity
from roost.keys.vault import KdfLimits, Vault

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


def make(home: Path, kind: str, label: str, options: Mapping[str, str], *,
         passphrase: Callable[[bool], str], own_password: str = "",
         limits: KdfLimits | None = None) -> str:
    """Make an identity of `kind` named `label` (empty: the kind) with its `options` (empty
    values left out) and keep it in the vault in `home`, which the first identity creates.
    Everything typed is checked before `passphrase(new_vault)` is asked. Returns the line to
    tell."""
    from roost.keys.factory import create

    given: dict[str, str | None] = {k: (v.strip() or None) for k, v in options.items()}
    identity = create(kind, label.strip() or kind, password=own_password or None, **given)
    new_vault = not Vault.exists(home)
    typed = passphrase(new_vault)
    if new_vault:
        vault = (Vault.create(home, typed, limits=limits) if limits
                 else Vault.create(home, typed))
    else:
        vault = Vault.open(home, typed)
    warning = add_and_record(vault, identity)
    text = f"Made {identity.id}. Public id: {identity.public_id}."
    if kind == "login":
        text = (f"Made {identity.id}, logging in as {identity.public_id}. To read its "
                f"password: roost keys show {identity.id} --secret.")
    return text + (f" {warning}" if warning else "")


def export_files(home: Path, ident: str, to: Path, passphrase: str) -> str:
    """Write one identity's files at `to` (never over a file there); the line to tell."""
    from roost.keys.export import export_identity

    target = to.expanduser()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = export_identity(Vault.open(home, passphrase).get(ident), target)
    return f"Wrote {', '.join(str(p) for p in written)}."


def export_backup(home: Path, to: Path, passphrase: str) -> str:
    """A sealed copy of the whole vault at `to`; the line to tell."""
    path = to.expanduser()
    Vault.open(home, passphrase).export_backup(path)
    return f"The backup is written to {path}."


def remove(home: Path, ident: str, passphrase: str) -> str:
    """Delete one identity from the vault (noted in the progress); the line to tell."""
    warning = remove_and_record(Vault.open(home, passphrase), ident)
    return f"Removed {ident} from the vault." + (f" But {warning}" if warning else "")


def password(home: Path, ident: str, passphrase: str) -> str:
    """The password a login identity logs in with (a RoostError for a kind with keys)."""
    from roost.keys.model import password_of

    value = password_of(Vault.open(home, passphrase).get(ident))
    if not value:
        raise RoostError(f"{ident} has no password", hint="its secrets are keys")
    return value
