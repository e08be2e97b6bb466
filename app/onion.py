"""A Tor onion service for a deployed service: the use case `roost reach ID --host NAME --tor`,
the plain mode and the TUI run, and that `undeploy` runs to take it away again.

    o = Onion("prosody", host, home, passphrase=ask, on_event=show)
    lines = o.open()     # tor on the host, the vault's key, the address noted in the progress
    lines = o.close()    # the onion service removed, its removal noted

The ports are those the progress noted when the service was deployed to the host; the Tor
identity is the vault's (the only one, or `identity`). The recipe is roost.deploy.onion; it
runs through the deploy engine (journal, host markers, the one restart). Nothing here prints
or prompts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roost.app.on_host import OnHost, no_passphrase, note, remove_recipe, run_recipe
from roost.core.errors import RoostError
from roost.deploy import onion, session
from roost.deploy.hosts import Host
from roost.deploy.recipe import Recipe
from roost.deploy.recipes.identity import pick_identity
from roost.deploy.transport import Transport
from roost.keys.model import unb64
from roost.plan.workspace import Workspace

WAY = "tor"
_NO_PASSPHRASE = no_passphrase("the onion service needs the Tor key")


@dataclass
class Onion(OnHost):
    service_id: str
    host: Host
    home: Path
    identity: str = ""
    """The vault's Tor identity to use; "" for the only one there is."""
    passphrase: Callable[[], str] = _NO_PASSPHRASE

    def workspace(self) -> Workspace:
        return Workspace.open(self.home, detect=False)

    def ports(self, ws: Workspace) -> tuple[str, ...]:
        """The ports the service binds on the host, as its latest deploy there noted them."""
        for e in ws.progress.running():
            if e.service_id == self.service_id and str(e.detail.get("host", "")) == \
                    self.host.name:
                return e.ports()
        raise RoostError(f"{self.service_id} is not deployed on {self.host.name}",
                         hint=f"deploy it first: roost deploy {self.service_id} "
                              f"--host {self.host.name}")

    def recipe(self, ws: Workspace) -> tuple[Recipe, str]:
        """The onion recipe for the service on the host, and its onion address."""
        ident_id, ident = pick_identity(
            self.identity, session.public_identities(self.home), "tor", "Tor",
            none="the key vault has no Tor identity",
            none_hint="make one with `roost keys new tor`, then try again")
        address = str(ident.public.get("hostname", ""))
        recipe = onion.build_onion(self.service_id, ident_id, address,
                                   unb64(str(ident.public.get("public_key", ""))),
                                   self.ports(ws))
        return recipe, address

    def dry_run(self) -> list[str]:
        from roost.deploy.dryrun import plan_lines

        recipe, _ = self.recipe(self.workspace())
        return plan_lines(recipe, self.host.name)

    def removal_dry_run(self) -> list[str]:
        from roost.deploy.dryrun import removal_lines

        return removal_lines(onion.onion_removal(self.service_id), False, self.host.name)

    def open(self) -> list[str]:
        """Make the onion service (again: nothing done is redone) and note it in the
        progress. Returns the lines to tell; raises engine.DeployFailed or a RoostError."""
        ws = self.workspace()
        recipe, address = self.recipe(ws)
        with self.connect_to(self.host, self.home) as t:
            result = run_recipe(recipe, t, self.home, passphrase=self.passphrase,
                                on_event=self.on_event)
        if not result.ok:
            raise RoostError(f"the onion service of {self.service_id} did not come up",
                             hint=f"see `journalctl -u {onion.UNIT} -n 50` on "
                                  f"{self.host.name}, then try again")
        ws.record_reach(self.service_id, self.host.name, WAY, address=address)
        return [*recipe.next_steps,
                f"Noted in your progress: {self.service_id} on {self.host.name} is reachable "
                f"as a Tor onion service. To take it away: roost reach {self.service_id} "
                f"--host {self.host.name} --tor --remove"]

    def close(self, t: Transport | None = None) -> list[str]:
        """Remove the onion service (over `t` when the caller is connected already) and note
        its removal. Returns the lines to tell."""
        recipe = onion.onion_removal(self.service_id)
        if t is None:
            with self.connect_to(self.host, self.home) as own:
                remove_recipe(recipe, own, self.home, on_event=self.on_event)
        else:
            remove_recipe(recipe, t, self.home, on_event=self.on_event)
        return [f"Removed the onion service of {self.service_id} from {self.host.name}.",
                *note(lambda ws: ws.record_reach_removed(self.service_id, self.host.name, WAY),
                      self.home, quiet=True)]


def has_onion(service_id: str, host: str, home: Path) -> bool:
    """Whether the progress says the service on the host has an onion service."""
    try:
        ways = Workspace.open(home, detect=False).progress.ways_in(service_id, host)
    except RoostError:
        return False
    return any(str(e.detail.get("way", "")) == WAY for e in ways)
