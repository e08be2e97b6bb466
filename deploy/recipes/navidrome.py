"""`navidrome`: a music streaming server (Subsonic API + web player) from upstream's release.

Debian does not package Navidrome, so roost installs upstream's pinned release file (see
`upstream.py` / `upstream.toml`), verified by sha256, runs it as the system user `navidrome`
on 127.0.0.1 and puts nginx in front of it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import https_commands
from roost.deploy.recipes.upstream import (
    UpstreamService,
    release_layout,
)
from roost.deploy.steps.base import Step
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.services import DisableService, EnableService, Restart

SERVICE = "navidrome"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
USER = "navidrome"
ROOT = "/opt/navidrome"
DATA = "/var/lib/navidrome"
CONF = "/etc/navidrome/navidrome.toml"
UNIT = "/etc/systemd/system/navidrome.service"
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/ -]*$")


def music_folder(value: str) -> str:
    v = value.rstrip("/") or "/"
    if not _SAFE_PATH.match(v) or "/../" in v + "/" or v.count("/") < 2:
        raise RoostError(f"{value[:80]!r} is not a usable music folder",
                         hint="give an absolute folder like /srv/music (letters, digits, "
                              "spaces, . _ -)")
    return v


@register(SERVICE)
def build_navidrome(host: TargetHost | None, options: Mapping[str, str],
                    identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    music = music_folder(o.text("music"))
    svc = UpstreamService.read(SERVICE, host, o, ROOT, max_body="64m")
    domain, port, listen, address = svc.domain, svc.port, svc.listen, svc.address
    art, install = svc.art, svc.install
    steps: list[Step] = [
        *release_layout(install, USER, DATA, between=(
            RunCommand(("mkdir", "-p", "--", music), creates=music,
                       description=f"create the music folder {music}"),)),
        RenderTemplate(CONF, template="navidrome.toml", mode=0o640, owner="root", group=USER,
                       values={"music": music, "data": DATA, "port": str(port)}),
        RenderTemplate(UNIT, template="navidrome.service", mode=0o644,
                       values={"data": DATA, "binary": svc.binary, "config": CONF}),
        EnableService("navidrome"),
        Restart("navidrome", watch=(CONF, UNIT, install.current)),
        *svc.proxy,
    ]
    host_part = f"[{address}]" if ":" in address else address
    url = f"http://{host_part}:{listen}/"
    return Recipe(
        id=SERVICE,
        version=art.version,
        service_id=SERVICE,
        title="Navidrome, your music server",
        steps=tuple(steps),
        ports=(Port(listen, units=("nginx",), option="listen"), Port(port, units=("navidrome",))),
        health=WaitHealth("check that Navidrome answers through nginx",
                          site=Site(address, domain, listen), path="/ping", timeout=60,
                          interval=0.5),
        next_steps=(
            f"Open {url} now and create the admin account: the first person to open it "
            "becomes the admin, so do it before you share the address.",
            f"Copy your music into {music} on the host (for example with rsync); Navidrome "
            "scans the folder every minute.",
            "Phone apps that speak Subsonic work with it: Substreamer or Tempo (Android), "
            "play:Sub or Amperfy (iPhone). Use the address above with your user name.",
            "Before you use it from outside your home, give it a domain name and HTTPS. "
            f"For example, on the host: {https_commands(host, o['domain'])}.",
        ),
        uninstall=(DisableService("navidrome"), RemovePath(UNIT), *svc.unproxy),
        purge=(RemovePath(DATA), RemovePath(ROOT), RemovePath("/etc/navidrome")),
    )
