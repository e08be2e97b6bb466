"""What a deploy needs besides the recipe, from the data folder `home` the caller passes.

The host as a recipe builder sees it (name, address, facts), the public identities a builder
may read, the vault secrets the engine resolves while it runs (the vault is opened only when a
step first needs a secret), and where the host keeps roost's step markers. The use case that
runs a deploy (and notes it in the progress) is `roost.app.deploying`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy import facts as facts_mod
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipe import Recipe, TargetHost
from roost.deploy.recipes import builder
from roost.deploy.steps import Secret
from roost.deploy.transport import Transport


def target_for(host: Host, t: Transport | None, home: Path) -> TargetHost:
    """The host for a recipe builder: its cached facts, or facts read now (and cached) when
    never read before and connected."""
    found: facts_mod.Facts | None = None
    if host.facts:
        found = facts_mod.Facts.from_dict({**host.facts, "read_at": host.facts_read_at or ""})
    elif t is not None:
        found = facts_mod.gather(t)
        HostStore(home / HOSTS_FILE).save_facts(host.name, found.to_dict(), found.read_at)
    address = "127.0.0.1" if host.is_local else host.address
    return TargetHost(host.name, address, found)


def public_identities(home: Path) -> Mapping[str, Any]:
    """Public parts of the identities in the key vault (no passphrase needed)."""
    from roost.keys.vault import Vault

    try:
        return {i.id: i for i in Vault.public_index(home)}
    except RoostError:
        return {}


def build_recipe(service: str, host: Host, options: Mapping[str, str],
                 t: Transport | None, home: Path) -> Recipe:
    """The recipe for `host`; its last next step says what `roost undeploy` would keep."""
    recipe = builder(service)(target_for(host, t, home), options, public_identities(home))
    return dataclasses.replace(recipe, next_steps=(*recipe.next_steps,
                                                   recipe.removal_note(host.name)))


def vault_secrets(passphrase: Callable[[], str], home: Path) -> Callable[[Secret], str]:
    """Resolve Secret(identity id, field) from the vault, asking for the passphrase and
    opening the vault only when a step first needs a secret."""
    opened: dict[str, Any] = {}

    def resolve(s: Secret) -> str:
        from roost.keys.vault import Vault

        if "v" not in opened:
            opened["v"] = Vault.open(home, passphrase())
        try:
            ident = opened["v"].get(s.name)
        except RoostError:
            raise RoostError(f"the key vault has no identity {s.name}",
                             hint=f"create it with `roost keys new KIND --name {s.name}` (KIND "
                                  "is login for a website's or a mailbox's password), or list "
                                  "yours with `roost keys list`") from None
        value = ident.secret.get(s.field)
        if value is None:
            from roost.keys import tor

            value = tor.derived_secret(ident, s.field)
        if value is None:
            raise RoostError(f"the identity {s.name} has no {s.field}")
        return str(value)

    return resolve


def host_state_dir() -> str:
    """Where the host keeps roost's step markers (tests point it at a temp folder)."""
    return os.environ.get("ROOST_HOST_STATE_DIR") or engine.HOST_STATE_DIR
