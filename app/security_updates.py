"""Security updates a host installs by itself: Debian's unattended-upgrades, switched on or off
when the person says so (`roost host security-updates NAME [--off]`; the plain mode and the
app's Hosts screen call it). Never assumed: nothing turns it on without the person's word.

    lines = SecurityUpdates(host, home, on_event=show).switch(on=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roost.app.on_host import OnHost, no_passphrase, run_recipe
from roost.core.errors import RoostError
from roost.deploy import security_updates
from roost.deploy.hosts import Host

_NO_SECRET = no_passphrase("security updates need no secret; nothing")


@dataclass
class SecurityUpdates(OnHost):
    host: Host
    home: Path

    def dry_run(self, on: bool = True) -> list[str]:
        from roost.deploy.dryrun import plan_lines

        return plan_lines(security_updates.recipe(on), self.host.name)

    def switch(self, on: bool = True) -> list[str]:
        """Install and switch on unattended-upgrades (or switch it off), then read the switch
        back as apt does; the lines to tell. Raises engine.DeployFailed or a RoostError."""
        recipe = security_updates.recipe(on)
        with self.connect_to(self.host, self.home) as t:
            result = run_recipe(recipe, t, self.home, passphrase=_NO_SECRET,
                                on_event=self.on_event)
        if result.health is not None and not result.health.ok:
            raise RoostError(f"{self.host.name} does not read the switch as "
                             f"{'on' if on else 'off'}",
                             hint="another file under /etc/apt/apt.conf.d/ sets "
                                  "APT::Periodic::Unattended-Upgrade; remove it, run again")
        return [*recipe.next_steps,
                (f"To switch it off: roost host security-updates {self.host.name} --off" if on
                 else f"To switch it on: roost host security-updates {self.host.name}")]
