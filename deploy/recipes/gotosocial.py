"""`gotosocial`: a small fediverse (ActivityPub, Mastodon-compatible) server from upstream's
release, with SQLite, running as the system user `gotosocial` behind nginx.

The first account comes from a fediverse identity in the key vault (`roost keys`, software
gotosocial): its handle, e-mail and password. GoToSocial's documented way,
`gotosocial admin account create --username U --email E --password P`, would put the password
in the command's arguments, where every user of the host can read it in /proc. But the admin
command reads the same values from its configuration file (the fields `username`, `email` and
`password` of GoToSocial's Configuration struct; `--config-path` loads any of them), so roost
gives it a configuration "file" that is a link to its standard input: the password travels
only over the SSH channel and a pipe, never in argv or on disk. roost writes the account's
fields as YAML itself (yaml_string: double-quoted scalars, `"`, backslash and every character YAML
would not keep as it is escaped), the password line included, so any password works; the
host only joins the configuration and those lines. The account is then promoted
to admin (`admin account promote` takes no password) and the server restarted, as upstream
asks after a promotion: by a `Restart` step watching the account's marker, so a run cut off
between the promotion and the restart still restarts on the next run, and never runs the
account's creation twice.

The health check, from this computer through nginx with `Host: domain`: /api/v1/instance must
say it is `domain`; when an account was made, the account must also be discoverable the way
another server finds it (activitypub.webfinger_probe). WebFinger must give
acct:NAME@domain with a rel=self link to https://domain/users/NAME. GoToSocial serves actor
documents only to signed requests (every unsigned GET of /users/NAME answers 401, an unknown
account 404: internal/processing/fedi/user.go), and roost has no key GoToSocial would accept,
so the actor itself is not read: its 401 (not 404) is checked, then the account's public key
document /users/NAME/main-key, which GoToSocial serves unsigned as a minimal actor (id,
preferredUsername, publicKey), must be that account's. This was read in GoToSocial's source
(commit 57cb4fe, October 2025) and tried against a stand-in; the real binary did not run here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.activitypub import webfinger_probe
from roost.deploy.recipes.host import host_command, https_commands
from roost.deploy.recipes.upstream import UpstreamService, release_layout
from roost.deploy.steps.accounts import CreateAccount
from roost.deploy.steps.base import Secret, Step, script
from roost.deploy.steps.files import RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.keys import fediverse

SERVICE = "gotosocial"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
USER = "gotosocial"
ROOT = "/opt/gotosocial"
DATA = "/var/lib/gotosocial"
CONF = "/etc/gotosocial/config.yaml"
UNIT = "/etc/systemd/system/gotosocial.service"
# $1 config, $2 binary, $3 user name, $4 the account's username and email as YAML lines
# (account_yaml), $5 marker written once the account is made and promoted (the Restart step
# after it watches the marker, so the restart upstream asks for follows even when this run is
# cut off, or the restart fails, after the promotion); standard input is the line `password: "..."`
# (password_yaml). The configuration plus the account's fields reach the admin command through
# a pipe made by the gotosocial user itself (so it may reopen it via the /dev/stdin link).
ADMIN_CREATE = r"""c=$1; b=$2; u=$3; a=$4; m=$5
l=/run/roost-gotosocial-admin.yaml; rm -f "$l"; ln -s /dev/stdin "$l" || exit 7
{ cat "$c" && echo && printf '%s' "$a" && cat; } \
  | runuser -u gotosocial -- \
    sh -c 'cat | exec "$0" --config-path "$1" admin account create' "$b" "$l"
r=$?; rm -f "$l"; [ "$r" = 0 ] || exit "$r"
runuser -u gotosocial -- "$b" --config-path "$c" admin account promote --username "$u" \
  && touch "$m"
"""


def yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar that every YAML parser reads back exactly:
    backslash and quote escaped, and every character YAML does not keep as it is in such a
    scalar (controls, DEL, C1, the line breaks NEL, LS and PS, a byte order mark) as \\x,
    \\u or \\U escapes."""
    out = ['"']
    for ch in value:
        o = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif (0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or 0x10000 <= o <= 0x10FFFF
              or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)) and o not in (0x2028, 0x2029):
            out.append(ch)
        elif o <= 0xFF:
            out.append(f"\\x{o:02X}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04X}")
        else:
            out.append(f"\\U{o:08X}")
    out.append('"')
    return "".join(out)


def account_yaml(user: str, email: str) -> str:
    """The admin command's username and email, as YAML lines."""
    return f"username: {yaml_string(user)}\nemail: {yaml_string(email)}\n"


def password_yaml(password: str) -> str:
    """The admin command's password, as one YAML line (sent on stdin, never in argv)."""
    return f"password: {yaml_string(password)}"


def fediverse_account(options: Mapping[str, str], identities: Identities,
                      domain: str) -> tuple[str, str, str] | None:
    """(identity id, handle, e-mail) of the account to create, or None when there is none."""
    found: dict[str, Mapping[str, str]] = {}
    for ident_id, ident in identities.items():
        if ident.kind == "fediverse" and ident.public.get("domain") == domain:
            found[str(ident_id)] = ident.public
    wanted = options["account"]
    if wanted:
        if wanted not in found:
            raise RoostError(f"the key vault has no fediverse identity {wanted!r} on {domain}",
                             hint="create it with `roost keys`, or list them with "
                                  "`roost keys list`")
    elif found:
        wanted = sorted(found)[0]
    else:
        return None
    public = found[wanted]
    return wanted, fediverse.handle(str(public["handle"])), fediverse.email(str(public["email"]))


def instance_probe(site: Site) -> Callable[[], bool | str]:
    """From this computer: GET /api/v1/instance through nginx at the host's address with
    `Host: domain` (the site answers only for its name) and check the server says it is
    `domain`."""
    domain = site.host_name

    def probe() -> bool | str:
        r = site.get("/api/v1/instance")
        if r.status_code != 200:
            return f"/api/v1/instance answered {r.status_code}"
        try:
            uri = str(r.json().get("uri", ""))
        except ValueError:
            return "/api/v1/instance did not answer JSON"
        if uri.removeprefix("https://").removeprefix("http://").rstrip("/") != domain:
            return f"the server says it is {uri[:80]!r}, not {domain}"
        return True

    probe.__qualname__ = f"GET {site.shown('/api/v1/instance')}"
    return probe


def all_of(*probes: Callable[[], bool | str]) -> Callable[[], bool | str]:
    """A probe that is True when each of `probes` is, in order; else the first one's line."""

    def probe() -> bool | str:
        for p in probes:
            out = p()
            if out is not True:
                return out
        return True

    probe.__qualname__ = ", then ".join(getattr(p, "__qualname__", "a probe") for p in probes)
    return probe


@register(SERVICE)
def build_gotosocial(host: TargetHost | None, options: Mapping[str, str],
                     identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    svc = UpstreamService.read(SERVICE, host, o, ROOT, max_body="40m")
    domain, port, listen, address = svc.domain, svc.port, svc.listen, svc.address
    art, install, binary = svc.art, svc.install, svc.binary
    steps: list[Step] = [
        *release_layout(install, USER, DATA, folders=("storage",)),
        RenderTemplate(CONF, template="gotosocial-config.yaml", mode=0o640, owner="root",
                       group=USER, values={"domain": domain, "port": str(port), "data": DATA,
                                           "release": install.current}),
        RenderTemplate(UNIT, template="gotosocial.service", mode=0o644,
                       values={"data": DATA, "binary": binary, "config": CONF}),
        EnableService("gotosocial"),
        Restart("gotosocial", watch=(CONF, UNIT, install.current)),
        *svc.proxy,
    ]
    account = fediverse_account(o, identities, domain)
    if account is not None:
        ident_id, user, mail = account
        marker = f"{DATA}/.roost-admin-{user}"
        steps.append(CreateAccount(
            tuple(script(ADMIN_CREATE, CONF, binary, user, account_yaml(user, mail), marker)),
            Secret(ident_id, "password"), exists=("test", "-e", marker), encode=password_yaml,
            description=f"create the admin account @{user}@{domain}"))
        # Upstream asks for a restart after a promotion: one that follows whenever the
        # marker changed, recorded like every other restart.
        steps.append(Restart("gotosocial", watch=(marker,)))
    site = Site(address, domain, listen)
    probe = instance_probe(site)
    if account is not None:
        probe = all_of(probe, webfinger_probe(site, account[1], signed_actor=True,
                                              key_suffix="/main-key"))
    admin = (host_command(host, (binary, "--config-path", CONF, "admin", "account", "promote",
                                 "--username", "NAME"), user=USER),
             host_command(host, ("systemctl", "restart", "gotosocial")))
    return Recipe(
        id=SERVICE,
        version=art.version,
        service_id=SERVICE,
        title=f"GoToSocial for {domain}",
        steps=tuple(steps),
        ports=(Port(listen, units=("nginx",), option="listen"),
               Port(port, units=("gotosocial",))),
        health=WaitHealth(f"check that GoToSocial answers for {domain} through nginx"
                          + (f" and finds @{account[1]}@{domain}" if account else ""),
                          probe=probe, site=site,
                          timeout=90, interval=1.0),
        next_steps=(*(_account_steps(account, domain, admin)),
            f"Point {domain} at this host (DNS A/AAAA record) and give it HTTPS before you "
            f"use it: other servers only talk to https://{domain}. For example, on the host: "
            f"{https_commands(host, domain)}.",
            "Apps: Tusky (Android), Ice Cubes or Feditext (iPhone), Phanpy or Elk in a browser."
            f" Log in with the server name {domain}.",
        ),
        uninstall=(DisableService("gotosocial"), RemovePath(UNIT), *svc.unproxy),
        purge=(RemovePath(DATA), RemovePath(ROOT), RemovePath("/etc/gotosocial")),
    )


def _account_steps(account: tuple[str, str, str] | None, domain: str,
                   admin: tuple[str, str]) -> tuple[str, ...]:
    if account is not None:
        return (f"Your account is @{account[1]}@{domain} (an admin); its password is in "
                f"roost's key vault: `roost keys show {account[0]} --secret` shows it.",)
    return ("No fediverse identity for this domain was in the key vault, so no account was "
            f"made: create one with `roost keys` and deploy again, or promote an account "
            f"with `{admin[0]}` on the host, then restart it with `{admin[1]}`.",)
