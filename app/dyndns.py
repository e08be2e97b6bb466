"""A home address that changes: keep a dynamic-DNS name pointed at a host with `ddclient`
(`roost host dyndns NAME ...`, the plain mode and the TUI call it).

    d = DynDns(host, home, domain="home.example.org", server="members.dyndns.org",
               identity="dyndns", passphrase=ask, on_event=show)
    lines = d.run()       # ddclient installed, configured from the vault, checked
    lines = d.remove()    # stopped, its file with the token deleted

The provider's token is the password of a login identity in the vault (`roost keys new login
--name dyndns --user LOGIN --type-password`); its user is the provider login unless `login`
is given. Nothing here prints or prompts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roost.app.on_host import OnHost, no_passphrase, remove_recipe, run_recipe
from roost.core.errors import RoostError
from roost.deploy import dyndns, session
from roost.deploy.hosts import Host
from roost.deploy.recipe import Recipe
from roost.deploy.recipes.logins import pick_login

DEFAULT_IDENTITY = "dyndns"
_NO_PASSPHRASE = no_passphrase("ddclient needs the provider's token")


@dataclass
class DynDns(OnHost):
    host: Host
    home: Path
    domain: str = ""
    server: str = ""
    login: str = ""
    """The provider login; "" for the identity's user."""
    identity: str = ""
    """The vault login holding the token; "" for `dyndns` (or the only login)."""
    check: str = "dyndns"
    ssl: bool = True
    passphrase: Callable[[], str] = _NO_PASSPHRASE

    def recipe(self) -> Recipe:
        if not self.domain or not self.server:
            raise RoostError("ddclient needs the name to keep up to date and the provider",
                             hint="give --domain NAME and --server HOST (your provider's)")
        ident_id, public = pick_login(session.public_identities(self.home), self.identity,
                                      DEFAULT_IDENTITY)
        login = self.login or str(public.get("user", ""))
        if not login:
            raise RoostError(f"roost does not know your login at {self.server}",
                             hint="give it with --login NAME")
        return dyndns.build_dyndns(self.domain, self.server, login, ident_id, self.check,
                                   self.ssl)

    def dry_run(self) -> list[str]:
        from roost.deploy.dryrun import plan_lines

        return plan_lines(self.recipe(), self.host.name)

    def removal_dry_run(self) -> list[str]:
        from roost.deploy.dryrun import removal_lines

        return removal_lines(dyndns.removal(), False, self.host.name)

    def run(self) -> list[str]:
        """Install and configure ddclient, wait for the provider's answer; the lines to tell.
        Raises engine.DeployFailed or a RoostError."""
        recipe = self.recipe()
        with self.connect_to(self.host, self.home) as t:
            run_recipe(recipe, t, self.home, passphrase=self.passphrase,
                       on_event=self.on_event)
        return [*recipe.next_steps,
                f"To stop it: roost host dyndns {self.host.name} --remove"]

    def remove(self) -> list[str]:
        with self.connect_to(self.host, self.home) as t:
            remove_recipe(dyndns.removal(), t, self.home, on_event=self.on_event)
        return [f"ddclient stopped on {self.host.name}; the file with your token is deleted "
                "(the ddclient package stays)."]
