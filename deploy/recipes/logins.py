"""Which key-vault login (kind `login`: user, e-mail, password) a recipe's admin account uses.

`roost keys new login --name wordpress` makes the one the WordPress recipe looks for first;
a person with one login only need not name it at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from roost.core.errors import RoostError
from roost.deploy.recipe import Identities


def pick_login(identities: Identities, wanted: str, default: str
               ) -> tuple[str, Mapping[str, str]]:
    """(identity id, its public fields) for a recipe's admin: `wanted` when the person named
    one, else the identity called `default`, else the only login in the vault, else
    `default` with no fields (the deploy then says, when it needs the password, that the vault
    has no such identity). An identity of another kind is never taken: its password is not a
    login's (a RoostError says so)."""
    def public(ident_id: str) -> Mapping[str, str]:
        found = identities.get(ident_id)
        return found.public if found is not None else {}

    def is_login(ident_id: str) -> bool:
        found = identities.get(ident_id)
        return found is not None and found.kind == "login"

    def not_a_login(ident_id: str) -> RoostError:
        # Its password (a fediverse or XMPP account's) would become the admin's otherwise.
        found = identities.get(ident_id)
        kind = found.kind if found is not None else "another"
        return RoostError(f"the identity {ident_id} is a {kind} identity, not a login",
                          hint="make a login with `roost keys new login --name NAME` and pass "
                               "--option identity=NAME")

    if wanted:
        if wanted in identities and not is_login(wanted):
            raise not_a_login(wanted)
        return wanted, public(wanted)
    if default in identities and is_login(default):
        return default, public(default)
    logins = sorted(i for i in identities if is_login(i))
    if len(logins) == 1:
        return logins[0], public(logins[0])
    if default in identities:
        raise not_a_login(default)
    return default, {}
