"""Which key-vault identity a recipe runs as (a Matrix server's, an SSB feed's): the one its
`identity` option names, else the only one of its kind; one clear line when there is none or
the choice is ambiguous."""

from __future__ import annotations

from roost.core.errors import RoostError
from roost.deploy.recipe import Identities, PublicIdentity

Picked = tuple[str, PublicIdentity]
"""(identity id, its public part)."""


def pick_identity(wanted: str, identities: Identities, kind: str, label: str, *,
                  none: str, none_hint: str) -> Picked:
    """(id, identity) of `kind`: `wanted` when given, else the only one there is. `label`
    names the kind in messages ("Matrix", "SSB"); `none` and `none_hint` say what to do when
    the vault has none."""
    found = {str(k): v for k, v in identities.items() if v.kind == kind}
    if wanted:
        if wanted not in found:
            raise RoostError(f"the key vault has no {label} identity {wanted!r}",
                             hint="list them with `roost keys list`")
        return wanted, found[wanted]
    if not found:
        raise RoostError(none, hint=none_hint)
    if len(found) > 1:
        raise RoostError(f"there are several {label} identities",
                         hint=f"choose one with --option identity=ID ({', '.join(sorted(found))})")
    ident_id = next(iter(found))
    return ident_id, found[ident_id]
