"""`gotosocial`: a small fediverse (ActivityPub, Mastodon-compatible) server from upstream's
release, with SQLite, running as the system user `gotosocial` behind nginx.

The first account is NOT created by roost, on purpose: GoToSocial's only way to create one,
`gotosocial admin account create --username U --email E --password P`, takes the password as
a command-line argument (upstream's "Creating users" documentation), where every user of the
host can read it in /proc while the command runs; roost never puts a secret in a process's
arguments. The sign-up API (POST /api/v1/accounts) would keep it off the command line but
needs open registrations, an OAuth app and an approval, and is left for later. The next
steps tell the person how to make the account and promote it (`admin account promote`
takes no password).

Options: `domain` (required: the name the server is known by on the fediverse; it cannot
change later), `port` (GoToSocial's port on 127.0.0.1, default 8080), `listen` (nginx's port,
default 80), `address` (where the health check connects from this computer), `artifact` and
`sha256` (a release file you supply, and/or its hash).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from roost.core import validate
from roost.deploy.recipe import Recipe, take_options
from roost.deploy.recipes.upstream import UPSTREAM_OPTIONS, InstallArtifact, choose, proxy_site
from roost.deploy.steps import (
    DisableService,
    EnableService,
    EnsureDir,
    EnsureUser,
    RemovePath,
    RenderTemplate,
    Restart,
    Step,
    WaitHealth,
)

OPTIONS: dict[str, str | None] = {"domain": None, "port": "8080", "listen": "80",
                                  "address": "", **UPSTREAM_OPTIONS}
USER = "gotosocial"
ROOT = "/opt/gotosocial"
DATA = "/var/lib/gotosocial"
CONF = "/etc/gotosocial/config.yaml"
UNIT = "/etc/systemd/system/gotosocial.service"


def instance_probe(base: str, domain: str) -> Callable[[], bool | str]:
    """From this computer: GET /api/v1/instance through nginx with `Host: domain` (the site
    answers only for its name) and check the server says it is `domain`."""

    def probe() -> bool | str:
        import httpx

        r = httpx.get(f"{base}/api/v1/instance", headers={"Host": domain}, timeout=5.0)
        if r.status_code != 200:
            return f"/api/v1/instance answered {r.status_code}"
        try:
            uri = str(r.json().get("uri", ""))
        except ValueError:
            return "/api/v1/instance did not answer JSON"
        if uri.removeprefix("https://").removeprefix("http://").rstrip("/") != domain:
            return f"the server says it is {uri[:80]!r}, not {domain}"
        return True

    probe.__qualname__ = f"GET {base}/api/v1/instance (Host: {domain})"
    return probe


def build_gotosocial(host: Any, options: Mapping[str, str],
                     identities: Mapping[str, Any]) -> Recipe:
    o = take_options(options, OPTIONS, "gotosocial")
    domain = validate.hostname(o["domain"], "domain name").lower()
    port = validate.port(o["port"])
    listen = validate.port(o["listen"])
    address = o["address"] or str(getattr(host, "address", "") or "127.0.0.1")
    address = validate.hostname(address, "address")
    art, local = choose("gotosocial", host, o)
    install = InstallArtifact.of(art, ROOT, local)
    binary = f"{install.current}/{art.binary}"
    proxy, unproxy = proxy_site("gotosocial", port, listen, domain, max_body="40m")
    steps: list[Step] = [
        EnsureUser(USER, home=DATA),
        EnsureDir(DATA, mode=0o750, owner=USER, group=USER),
        EnsureDir(f"{DATA}/storage", mode=0o750, owner=USER, group=USER),
        EnsureDir(ROOT, mode=0o755),
        EnsureDir(f"{ROOT}/releases", mode=0o755),
        install,
        RenderTemplate(CONF, template="gotosocial-config.yaml", mode=0o640, owner="root",
                       group=USER, values={"domain": domain, "port": str(port), "data": DATA,
                                           "release": install.current}),
        RenderTemplate(UNIT, template="gotosocial.service", mode=0o644,
                       values={"data": DATA, "binary": binary, "config": CONF}),
        EnableService("gotosocial"),
        Restart("gotosocial", watch=(CONF, UNIT, install.current)),
        *proxy,
    ]
    host_part = f"[{address}]" if ":" in address else address
    admin = f"sudo -u {USER} {binary} --config-path {CONF} admin account"
    return Recipe(
        id="gotosocial",
        service_id="gotosocial",
        title=f"GoToSocial for {domain}",
        steps=tuple(steps),
        health=WaitHealth(f"check that GoToSocial answers for {domain} through nginx",
                          probe=instance_probe(f"http://{host_part}:{listen}", domain),
                          timeout=90, interval=1.0),
        next_steps=(
            f"Point {domain} at this host (DNS A/AAAA record) and give it HTTPS before you "
            "use it: other servers only talk to https://" + domain + " (for example "
            "certbot --nginx).",
            "Make your account on the host (roost does not, because GoToSocial only takes the "
            "password as a command argument other users of the host could read): "
            f"`{admin} create --username YOU --email YOU@EXAMPLE --password '...'` while "
            "nobody else is logged in, then clear your shell history.",
            f"Make it the admin with `{admin} promote --username YOU`, then "
            "`sudo systemctl restart gotosocial`.",
            "Apps: Tusky (Android), Ice Cubes or Feditext (iPhone), Phanpy or Elk in a browser."
            f" Log in with the server name {domain}.",
        ),
        uninstall=(DisableService("gotosocial"), RemovePath(UNIT), *unproxy),
        purge=(RemovePath(DATA), RemovePath(ROOT), RemovePath("/etc/gotosocial")),
    )
