"""`minidlna`: MiniDLNA (ReadyMedia) from Debian, sharing the person's media folder with the
TVs, speakers and apps on their home network.

MiniDLNA has no accounts or passwords, so roost only installs it on a host reached at a
private (home network) address and never opens it to the internet."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import debian_version, reach_address
from roost.deploy.steps.base import Step
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate, WriteFile
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages, RemovePackages
from roost.deploy.steps.services import DisableService, EnableService, Restart

SERVICE = "minidlna"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
PORT = 8200
SSDP_PORT = 1900
CONF = "/etc/minidlna.conf"
MAX_UPLOAD = 200 * 1024 * 1024
MAX_FILES = 2000


def lan_address(address: str) -> str:
    """The address, refused when it is a public internet address (MiniDLNA has no password)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # A name: .local / .lan / .home style names are home network names.
        if address.endswith((".local", ".lan", ".home", ".internal")) or "." not in address:
            return address
        raise RoostError(f"{address} does not look like a home network address",
                         hint="MiniDLNA has no password: give the host's LAN address, "
                              "like 192.168.1.20, with --option address=...") from None
    if not (ip.is_private or ip.is_link_local or ip.is_loopback):
        raise RoostError(f"{address} is a public internet address, and MiniDLNA has no password",
                         hint="install it on a host in your home network instead")
    return address


def media_files(folder: str) -> list[tuple[str, bytes]]:
    """(relative path, contents) of the regular files under `folder` (hidden ones left out)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise RoostError(f"{root} is not a folder", hint="give the folder your media is in")
    out: list[tuple[str, bytes]] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(".") or p.is_symlink() or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            if "\n" in rel or "\0" in rel:
                raise RoostError(f"{rel[:60]!r} has a line break in its name")
            total += p.stat().st_size
            if total > MAX_UPLOAD or len(out) >= MAX_FILES:
                raise RoostError("the media folder is too big to copy this way",
                                 hint="copy it with rsync, then deploy without --option upload")
            out.append((rel, p.read_bytes()))
    return out


@register(SERVICE)
def build_minidlna(facts: TargetHost | None, options: Mapping[str, str],
                   identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    media = o["media"].rstrip("/")
    if not media.startswith("/") or media.count("/") < 2 or "\n" in media:
        raise RoostError(f"{media[:60]!r} is not a usable media folder",
                         hint="give an absolute folder like /srv/media")
    name = o["name"].strip()
    if not name or len(name) > 60 or any(ord(c) < 32 for c in name):
        raise RoostError("the name players show must be one line of up to 60 characters")
    port = o.port("port")
    address = reach_address(o.text("address"), facts)
    if address:
        address = lan_address(address)
    files = media_files(o["upload"]) if o["upload"] else []
    dirs = sorted({str(Path(rel).parent) for rel, _ in files} - {"."})
    steps: list[Step] = [
        InstallPackages(("minidlna",)),
        EnsureDir(media, mode=0o755),
        *(EnsureDir(f"{media}/{d}", mode=0o755) for d in dirs),
        *(WriteFile(f"{media}/{rel}", data, mode=0o644) for rel, data in files),
        RenderTemplate(CONF, template="minidlna.conf", mode=0o644,
                       values={"media": media, "name": name, "port": str(port)}),
        EnableService("minidlna"),
        # The Debian unit starts minidlnad with -r: a restart rescans the media folder.
        Restart("minidlna", watch=(CONF, *(f"{media}/{rel}" for rel, _ in files))),
    ]
    if address:
        host = f"[{address}]" if ":" in address else address
        url = f"http://{host}:{port}/"
        health = WaitHealth("check that MiniDLNA's status page answers",
                            site=Site(address, port=port),
                            expect_text="MiniDLNA status", timeout=60, interval=0.5)
        where = f"Its status page is {url} (it counts the files it found)."
    else:
        health = WaitHealth("check that MiniDLNA is running",
                            argv=("systemctl", "is-active", "--quiet", "minidlna"),
                            timeout=30, interval=0.5)
        where = f"Its status page is at port {port} of the host."
    return Recipe(
        id=SERVICE,
        version_argv=debian_version("minidlna"),
        service_id=SERVICE,
        title="MiniDLNA media sharing",
        steps=tuple(steps),
        ports=(Port(port, units=("minidlna",)),
               Port(SSDP_PORT, "udp", units=("minidlna",), option=None)),
        health=health,
        next_steps=(
            f"Put films, music and photos in {media} on the host; MiniDLNA notices new files "
            "by itself.",
            f"On a smart TV, games console or speaker, look for \"{name}\" under media "
            "sources. On a phone: VLC (Android, iPhone) shows it under Local Network.",
            where,
            f"It is for your home network only: never forward port {port} or {SSDP_PORT} on "
            "your router.",
        ),
        uninstall=(DisableService("minidlna"),),
        purge=(RemovePath("/var/cache/minidlna"), RemovePackages(("minidlna",), purge=True)),
    )
