"""Debian's unattended-upgrades, switched on (or off) for a host: security updates installed
by the host itself, every day, without roost (`roost host security-updates NAME [--off]`).

Debian's own configuration of the package (`50unattended-upgrades`) installs updates from the
security archive only (on Ubuntu: `-security`), so roost leaves it as Debian ships it and
writes only the switch, `20auto-upgrades`, as `dpkg-reconfigure unattended-upgrades` would.
The health check reads the switch back the way apt itself reads it (`apt-config`), and a dry
run of unattended-upgrade proves the package works on this host. `roost check` says whether
it is on (roost.app.host_state).
"""

from __future__ import annotations

from roost.deploy.recipe import Recipe
from roost.deploy.steps import InstallPackages, WaitHealth, WriteFile, script

SWITCH = "/etc/apt/apt.conf.d/20auto-upgrades"
RECIPE_ID = "security-updates"
READ_BACK = ('v=$(apt-config shell u APT::Periodic::Unattended-Upgrade) && eval "$v" && '
             '[ "${u:-0}" = "$1" ]')
"""Done when apt reads the switch as $1 ("1" on, "0" off)."""


def switch_text(on: bool) -> str:
    value = "1" if on else "0"
    return (f'// Written by roost (roost host security-updates): {"on" if on else "off"}.\n'
            f'APT::Periodic::Update-Package-Lists "{value}";\n'
            f'APT::Periodic::Unattended-Upgrade "{value}";\n')


def recipe(on: bool = True) -> Recipe:
    """Install unattended-upgrades and switch it on; with `on` False, switch it off (the
    package stays)."""
    steps = ((InstallPackages(("unattended-upgrades",)),) if on else ()) + (
        WriteFile(SWITCH, switch_text(on), mode=0o644),)
    return Recipe(
        id=RECIPE_ID, service_id=RECIPE_ID,
        title=("automatic security updates" if on else "automatic security updates, off"),
        steps=steps,
        health=WaitHealth("apt reads the switch as " + ("on" if on else "off"),
                          argv=tuple(script(READ_BACK, "1" if on else "0")), timeout=30),
        next_steps=(("The host installs security updates by itself every day (Debian's "
                     "unattended-upgrades, security archive only); roost check says it is on."
                     ,) if on else ("Security updates are no longer installed by themselves: "
                                    "run roost updates to see what is waiting.",)))
