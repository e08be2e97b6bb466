"""`static-blog`: nginx serving a folder of pages copied up from this computer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from roost.core.errors import RoostError
from roost.deploy.backup import BackupSpec
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import debian_version, reach_address
from roost.deploy.steps.base import Step
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate, WriteFile
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages, RemovePackages
from roost.deploy.steps.services import DisableService, EnableService, Restart

SERVICE = "static-blog"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
WEB_ROOT = "/var/www/roost-blog"
CONF = "/etc/nginx/sites-available/roost-blog.conf"
ENABLED = "/etc/nginx/sites-enabled/roost-blog.conf"
DEBIAN_DEFAULT = "/etc/nginx/sites-enabled/default"
"""Debian's welcome site: also a default_server on port 80, it would answer instead."""
PLACEHOLDER = (b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               b"<title>My blog</title></head>\n<body><h1>My blog</h1>"
               b"<p>Served by roost.</p></body></html>\n")
MAX_FILES = 2000



def site_files(folder: str) -> list[tuple[str, bytes]]:
    """(relative path, contents) of every regular file under `folder`, hidden ones left out."""
    root = Path(folder).expanduser()
    if not (root / "index.html").is_file():
        raise RoostError(f"{root} has no index.html", hint="give the folder your site builds to")
    out: list[tuple[str, bytes]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            if "\n" in rel or "\0" in rel:
                raise RoostError(f"{rel[:60]!r} in the site has a line break in its name")
            out.append((rel, p.read_bytes()))
            if len(out) > MAX_FILES:
                raise RoostError(f"the site has more than {MAX_FILES} files",
                                 hint="copy big sites with rsync instead")
    return out


@register(SERVICE)
def build_static_blog(facts: TargetHost | None, options: Mapping[str, str],
                      identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    port = str(o.port("port"))
    domain = o.text("domain")
    address = reach_address(o.text("address"), facts, "127.0.0.1")
    files = site_files(o["site"]) if o["site"] else [("index.html", PLACEHOLDER)]
    dirs = sorted({str(Path(rel).parent) for rel, _ in files} - {"."})
    steps: list[Step] = [
        InstallPackages(("nginx",)),
        EnsureDir(WEB_ROOT, mode=0o755),
        *(EnsureDir(f"{WEB_ROOT}/{d}", mode=0o755) for d in dirs),
        *(WriteFile(f"{WEB_ROOT}/{rel}", data, mode=0o644) for rel, data in files),
        RenderTemplate(CONF, template="nginx-static-site.conf",
                       values={"port": port, "domain": domain, "root": WEB_ROOT}),
        RunCommand(("ln", "-sfn", CONF, ENABLED), unless=("test", "-L", ENABLED),
                   description="turn the site on in nginx"),
        RemovePath(DEBIAN_DEFAULT),
        EnableService("nginx"),
        Restart("nginx", watch=(CONF, ENABLED, DEBIAN_DEFAULT), action="reload"),
    ]
    index = next(data for rel, data in files if rel == "index.html")
    expect = index.decode("utf-8", "replace").strip()[:200] or None
    host = f"[{address}]" if ":" in address else address
    return Recipe(
        id=SERVICE,
        version_argv=debian_version("nginx"),
        service_id=SERVICE,
        title="your static blog",
        steps=tuple(steps),
        ports=(Port(int(port), units=("nginx",)),),
        backup=BackupSpec(paths=(WEB_ROOT,)),
        health=WaitHealth("fetch the blog's front page", site=Site(address, domain, int(port)),
                          expect_text=expect, timeout=30, interval=0.5),
        next_steps=(
            f"Open http://{host}:{port}/ to see your blog.",
            "Deploy again after you rebuild the site: only changed pages are copied.",
            "Bring your posts from X (Twitter) here: roost import x ARCHIVE.zip --host NAME.",
        ),
        uninstall=(RemovePath(ENABLED), RemovePath(CONF),
                   Restart("nginx", watch=(ENABLED,), action="reload")),
        purge=(RemovePath(WEB_ROOT), DisableService("nginx"), RemovePackages(("nginx",))),
    )
