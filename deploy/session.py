"""What a deploy needs besides the recipe, gathered the same way for the CLI and the TUI.

The host as a recipe builder sees it (name, address, facts), the public identities a builder
may read, the check that the ports the recipe binds are free before its first step
(`check_ports`), the vault secrets the engine resolves while it runs (the vault is opened only
when a step first needs a secret), and where the host keeps roost's step markers.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError
from roost.deploy import engine, ports
from roost.deploy import facts as facts_mod
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipe import Recipe, TargetHost
from roost.deploy.recipes import builder
from roost.deploy.steps import Secret
from roost.deploy.transport import Transport


def target_for(host: Host, t: Transport | None, home: Path | None = None) -> TargetHost:
    """The host for a recipe builder: its cached facts, or facts read now (and cached) when
    never read before and connected."""
    found: Any = None
    if host.facts:
        found = facts_mod.Facts.from_dict({**host.facts, "read_at": host.facts_read_at or ""})
    elif t is not None:
        found = facts_mod.gather(t)
        store = HostStore(home / HOSTS_FILE) if home is not None else HostStore()
        store.save_facts(host.name, found.to_dict(), found.read_at)
    address = "127.0.0.1" if host.is_local else host.address
    return TargetHost(host.name, address, found)


def public_identities(home: Path | None = None) -> Mapping[str, Any]:
    """Public parts of the identities in the key vault (no passphrase needed)."""
    from roost.keys.vault import Vault

    try:
        return {i.id: i for i in Vault.public_index(home)}
    except RoostError:
        return {}


def build_recipe(service: str, host: Host, options: Mapping[str, str],
                 t: Transport | None, home: Path | None = None) -> Recipe:
    """The recipe for `host`; its last next step says what `roost undeploy` would keep."""
    recipe = builder(service)(target_for(host, t, home), options, public_identities(home))
    return dataclasses.replace(recipe, next_steps=(*recipe.next_steps,
                                                   recipe.removal_note(host.name)))


def check_ports(recipe: Recipe, t: Transport, host: str, home: Path | None = None) -> None:
    """Before the first step: refuse, in one sentence, a deploy whose port another program
    holds on the host (naming a roost service there from the progress); nothing is installed
    then. A port the service itself holds (a redeploy) passes."""
    ports.check(recipe, t, known=lambda: roost_ports(host, home))


def roost_ports(host: str, home: Path | None = None) -> dict[str, str]:
    """The services on `host` by port ("8008/tcp" -> "ssb-pub"), as the progress recorded
    the deploys; {} when there is no progress yet."""
    from roost.plan.progress import ProgressStore
    from roost.plan.workspace import PROGRESS_FILE

    path = (home if home is not None else paths.data_dir(create=False)) / PROGRESS_FILE
    if not path.exists():
        return {}
    return ProgressStore(path).load().ports_on(host)


def vault_secrets(passphrase: Callable[[], str], home: Path | None = None,
                  ) -> Callable[[Secret], str]:
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
            raise RoostError(f"the identity {s.name} has no {s.field}")
        return str(value)

    return resolve


def host_state_dir() -> str:
    """Where the host keeps roost's step markers (tests point it at a temp folder)."""
    return os.environ.get("ROOST_HOST_STATE_DIR") or engine.HOST_STATE_DIR


def note_deployed(service_id: str, host: str, result: Any, home: Path | None = None,
                  workspace: Any = None) -> list[str]:
    """Record a finished deploy in the progress (host, version, the ports it binds, time; the
    plan step done when it is healthy) and return the lines to tell the person: what was noted
    and the plan's next step. A progress file that cannot be written costs a warning, never
    the deploy."""
    from roost.plan.progress import ports_words
    from roost.plan.workspace import Workspace

    version = str(getattr(result, "version", "") or "")
    bound = tuple(str(p) for p in getattr(result, "ports", ()) or ())
    health = getattr(result, "health", None)
    healthy = health is None or bool(getattr(health, "ok", False))
    try:
        ws = workspace if workspace is not None else Workspace.open(home, detect=False)
        if ws.catalog.get(service_id) is None:
            return []
        nxt = ws.deployed(service_id, host, version, healthy=healthy, ports=bound)
    except RoostError as exc:
        return [f"roost could not note this deploy in your progress: {exc.line()}"]
    name = ws.catalog.get(service_id)
    shown = name.name if name is not None else service_id
    lines = [f"Noted in your progress: {shown} runs on {host}"
             + ports_words(bound, ", ")
             + (f", version {version}." if version else ".")
             + (" Its step in your plan is done." if healthy and ws.answers is not None
                else "")]
    if nxt is not None:
        when = (f" (suggested from {nxt.not_before.isoformat()}, at your pace)"
                if nxt.not_before else "")
        lines.append(f"Next in your plan: {nxt.name}{when}. See it with: roost next")
    elif ws.answers is not None:
        lines.append("Every step of your plan is done, skipped or under way.")
    return lines


def note_removed(service_id: str, host: str, home: Path | None = None) -> list[str]:
    """Record that a service was removed from a host; returns the line to tell."""
    from roost.plan.workspace import Workspace

    try:
        ws = Workspace.open(home, detect=False)
        if ws.catalog.get(service_id) is None:
            return []
        ws.record_removed(service_id, host)
    except RoostError as exc:
        return [f"roost could not note the removal in your progress: {exc.line()}"]
    return [f"Noted in your progress: {service_id} no longer runs on {host}."]
