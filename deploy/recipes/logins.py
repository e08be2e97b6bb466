"""Which key-vault login (kind `login`: user, e-mail, password) a recipe's admin account uses.

`roost keys new login --name wordpress` makes the one the WordPress recipe looks for first;
a person with one login only need not name it at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def pick_login(identities: Mapping[str, Any], wanted: str, default: str
               ) -> tuple[str, Mapping[str, Any]]:
    """(identity id, its public fields) for a recipe's admin: `wanted` when the person named
    one, else the identity called `default`, else the only login in the vault, else
    `default` with no fields (the deploy then says, when it needs the password, that the vault
    has no such identity)."""
    def public(ident_id: str) -> Mapping[str, Any]:
        found = identities.get(ident_id)
        fields = getattr(found, "public", None)
        return fields if isinstance(fields, Mapping) else {}

    if wanted:
        return wanted, public(wanted)
    if default in identities:
        return default, public(default)
    logins = sorted(i for i, v in identities.items() if getattr(v, "kind", None) == "login")
    if len(logins) == 1:
        return logins[0], public(logins[0])
    return default, {}
