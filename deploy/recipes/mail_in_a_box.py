"""`mail-in-a-box`: upstream's own unattended setup on a fresh rented Ubuntu 22.04 server.

roost refuses any other host: Mail-in-a-Box's setup supports only Ubuntu 22.04, and a home
connection cannot run mail (residential addresses are treated as spam and port 25 is often
blocked). A host counts as "home" when it is a Raspberry Pi or its address is private,
loopback or link-local (10.x, 192.168.x, fe80::, a .local or .lan name); roost cannot tell
more from the outside, so a public address on Ubuntu 22.04 is taken to be a rented server.

The setup runs `setup/start.sh` from upstream's git tag with NONINTERACTIVE=1,
PRIMARY_HOSTNAME and EMAIL_ADDR in its environment; the first mailbox's password (EMAIL_PW)
is read from standard input by a fixed script, so it is never in a command line or a file."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.recipe import Identities, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.logins import pick_login
from roost.deploy.steps import InstallPackages, RunCommand, Secret, Step, WaitHealth, script

SERVICE = "mail-in-a-box"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
REPO = "https://github.com/mail-in-a-box/mailinabox"
SRC = "/root/mailinabox"
USERS_DB = "/home/user-data/mail/users.sqlite"
HOME_REFUSAL = ("Mail-in-a-Box needs a rented server (VPS) with a public address: mail from "
                "home connections is treated as spam and port 25 is often blocked")
_TAG = re.compile(r"^v[0-9]{2,3}(\.[0-9]+)?$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@/+-]{0,127}$")
# $1 = PRIMARY_HOSTNAME, $2 = EMAIL_ADDR; the password is the first line of standard input.
SETUP = ('IFS= read -r EMAIL_PW || exit 3; export EMAIL_PW NONINTERACTIVE=1 '
         'PRIMARY_HOSTNAME="$1" EMAIL_ADDR="$2"; cd /root/mailinabox && exec setup/start.sh '
         '</dev/null')


def is_home(host: TargetHost | None) -> bool:
    """True when the host is clearly at home: a Pi, or a private/local address or name."""
    target = TargetHost.of(host)
    if target.pi_model:
        return True
    address = target.address.strip("[]").lower()
    if not address or address in ("localhost", "local"):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address.endswith((".local", ".lan", ".home", ".internal", ".home.arpa"))
    return not ip.is_global


def check_host(host: TargetHost | None) -> None:
    target = TargetHost.of(host)
    if target.facts is None:
        name = target.name or "NAME"
        raise RoostError("roost must read the host's facts before it installs Mail-in-a-Box",
                         hint=f"read them with `roost host facts {name}`")
    if is_home(host):
        raise RoostError(HOME_REFUSAL,
                         hint="rent a small server with Ubuntu 22.04 and add it as a host")
    os_id = target.os_id.lower()
    version = target.os_version
    if (os_id, version) != ("ubuntu", "22.04"):
        raise RoostError(f"Mail-in-a-Box installs only on Ubuntu 22.04, and this host runs "
                         f"{os_id or 'an unknown system'} {version}".rstrip(),
                         hint="start from a fresh Ubuntu 22.04 server")
    ram = target.ram_mb
    if ram is not None and ram < 512:
        raise RoostError(f"Mail-in-a-Box needs at least 512 MB of memory; this host has {ram}",
                         hint="choose a server with 1 GB of memory")


def dns_records(domain: str, box: str, address: str) -> list[str]:
    """The records the person creates at their registrar (Mail-in-a-Box serves the rest)."""
    ip = address or "THE-SERVER-ADDRESS"
    return [
        f"At the registrar of {domain}: glue records ns1.{box} and ns2.{box} -> {ip}, "
        f"then set the name servers of {domain} to ns1.{box} and ns2.{box}.",
        f"If you keep your own DNS instead: {box} A {ip}; {domain} MX 10 {box}; "
        f'{domain} TXT "v=spf1 mx -all"; _dmarc.{domain} TXT "v=DMARC1; p=quarantine;"; '
        f"the DKIM record is shown on the box's admin page under External DNS.",
        f"At the server provider: reverse DNS (PTR) of {ip} -> {box}.",
    ]


@register(SERVICE)
def build_mail_in_a_box(host: TargetHost | None, options: Mapping[str, str],
                        identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    o["identity"], login = pick_login(identities, o["identity"], "mail")
    email = (o["email"] or str(login.get("email") or "")).strip().lower()
    if not email:
        raise RoostError("mail-in-a-box needs your new e-mail address",
                         hint="add --option email=me@example.org, or give the login an e-mail: "
                              "roost keys new login --name mail --email me@example.org")
    email = validate.email(email, hint="write it like me@example.org")
    domain = validate.hostname(email.partition("@")[2], "mail domain")
    box = o.text("hostname") or validate.hostname(f"box.{domain}", "box host name")
    if not _TAG.match(o["version"]):
        raise RoostError(f"{o['version'][:40]!r} is not a Mail-in-a-Box release tag",
                         hint="write it like v60")
    if not _ID.match(o["identity"]):
        raise RoostError("the identity option is not a key-vault identity id")
    check_host(host)
    address = TargetHost.of(host).address
    steps: list[Step] = [
        InstallPackages(("git", "ca-certificates")),
        RunCommand(("git", "clone", "--depth", "1", "--branch", o["version"], REPO, SRC),
                   creates=SRC, timeout=600,
                   description=f"download Mail-in-a-Box {o['version']} from {REPO}"),
        RunCommand(tuple(script(SETUP, box, email)), stdin=Secret(o["identity"], "password"),
                   creates=USERS_DB, timeout=3600,
                   description=f"run Mail-in-a-Box's unattended setup for {box} "
                               "(takes 15 to 30 minutes)",
                   on_failure=f"read the setup's output above; fix the cause and deploy "
                              f"again, or run `sudo {SRC}/setup/start.sh` on the host"),
    ]
    return Recipe(
        id=SERVICE,
        version=o["version"],
        service_id=SERVICE,
        title=f"Mail-in-a-Box for {domain}",
        steps=tuple(steps),
        health=WaitHealth("check that mail, webmail and the admin service are running",
                          argv=("systemctl", "is-active", "--quiet", "postfix", "dovecot",
                                "nginx", "mailinabox"), timeout=120, interval=2.0),
        next_steps=(
            *dns_records(domain, box, address),
            f"Then open https://{box}/admin, log in as {email} and work through the System "
            "Status Checks until they are all green.",
            f"Mail apps: server {box}, IMAP port 993 and SMTP port 465, user {email}; the "
            f"password is in roost's key vault: `roost keys show {o['identity']} --secret` "
            "shows it.",
        ),
    )
