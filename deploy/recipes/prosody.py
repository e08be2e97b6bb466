"""`prosody`: an XMPP server from Debian for the person's own domain and accounts.

Accounts come from XMPP identities in the key vault (`roost keys`): their address gives the
user name and domain, their password reaches the host only on `prosodyctl adduser`'s standard
input (never in a command line, a file or a log). TLS is a self-signed certificate for the
domain now; when the host is public, Let's Encrypt replaces it (see the next steps).

Options: `accounts` (comma-separated identity ids; default every XMPP identity on the domain),
`domain` (default: the accounts' domain), `address` (where the health check connects from
this computer; default the host's address from its facts, else the check runs on the host).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.recipe import Recipe, debian_version, take_options
from roost.deploy.steps import (
    CreateAccount,
    DisableService,
    EnableService,
    InstallPackages,
    RemovePackages,
    RemovePath,
    RenderTemplate,
    Restart,
    RunCommand,
    Secret,
    Step,
    WaitHealth,
    script,
)
from roost.keys.xmpp import jid as check_jid
from roost.keys.xmpp import prosody_encode

OPTIONS: dict[str, str | None] = {"accounts": "", "domain": "", "address": ""}
PACKAGES = ("prosody", "lua-unbound", "openssl")
CERT_DIR = "/etc/prosody/certs"
DATA_DIR = "/var/lib/prosody"
C2S_PORT = 5222

# Self-signed certificate for $1 (the domain) into $2 (certificate) and $3 (key), readable by
# the prosody group only; written under temp names and renamed, so a cut-off run leaves none.
SELF_SIGNED = (
    'd=$1; c=$2; k=$3; umask 077; '
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 825 -nodes '
    '-subj "/CN=$d" -addext "subjectAltName=DNS:$d,DNS:*.$d" '
    '-keyout "$k.roost-tmp" -out "$c.roost-tmp" 2>&1 '
    '&& chown root:prosody "$k.roost-tmp" "$c.roost-tmp" && chmod 640 "$k.roost-tmp" '
    '&& chmod 644 "$c.roost-tmp" && mv -f "$k.roost-tmp" "$k" && mv -f "$c.roost-tmp" "$c"'
)


def _xmpp_identities(identities: Mapping[str, Any]) -> dict[str, str]:
    """identity id -> JID for every XMPP identity given."""
    out: dict[str, str] = {}
    for ident_id, ident in identities.items():
        if getattr(ident, "kind", None) != "xmpp":
            continue
        public = getattr(ident, "public", {}) or {}
        if "jid" in public:
            out[str(ident_id)] = check_jid(str(public["jid"]))
    return out


def accounts_for(options: Mapping[str, str], identities: Mapping[str, Any]
                 ) -> tuple[str, list[tuple[str, str]]]:
    """(domain, [(identity id, jid)]) the recipe registers."""
    known = _xmpp_identities(identities)
    if options["accounts"]:
        wanted = [a.strip() for a in options["accounts"].split(",") if a.strip()]
        missing = [a for a in wanted if a not in known]
        if missing:
            raise RoostError(f"the key vault has no XMPP identity {missing[0]!r}",
                             hint="create it with `roost keys`, or list the ids with "
                                  "`roost keys list`")
    else:
        wanted = sorted(known)
    if options["domain"]:
        domain = validate.hostname(options["domain"], "XMPP domain").lower()
        if not options["accounts"]:
            wanted = [a for a in wanted if known[a].endswith("@" + domain)]
    elif wanted:
        domain = known[wanted[0]].partition("@")[2]
    else:
        domain = ""
    if not wanted:
        raise RoostError("prosody needs an XMPP identity for your account",
                         hint="create one with `roost keys` (an address like alice@example.org),"
                              " then deploy again")
    other = [a for a in wanted if not known[a].endswith("@" + domain)]
    if other:
        raise RoostError(f"{known[other[0]]} is not on {domain}",
                         hint="deploy one domain at a time with --option domain=NAME")
    return domain, [(a, known[a]) for a in wanted]


def stream_probe(address: str, domain: str, port: int = C2S_PORT,
                 timeout: float = 5.0) -> Callable[[], bool | str]:
    """A probe from this computer: open an XMPP client stream to the domain and check that the
    server answers for it and offers TLS (what every XMPP app does first)."""
    header = (
        "<?xml version='1.0'?><stream:stream to='" + domain + "' version='1.0' "
        "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    ).encode("ascii")

    def probe() -> bool | str:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(header)
            data = b""
            while b"</stream:features>" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        if b"host-unknown" in data:
            return f"the server at {address} does not serve {domain}"
        if b"starttls" not in data:
            return f"the server at {address} offers no TLS"
        return True

    probe.__qualname__ = f"an XMPP stream to {domain} at {address}:{port}"
    return probe


def build_prosody(facts: Any, options: Mapping[str, str],
                  identities: Mapping[str, Any]) -> Recipe:
    o = take_options(options, OPTIONS, "prosody")
    domain, accounts = accounts_for(o, identities)
    address = o["address"] or str(getattr(facts, "address", "") or "")
    if address:
        address = validate.hostname(address, "address")
    enc = prosody_encode(domain)
    crt, key = f"{CERT_DIR}/{domain}.crt", f"{CERT_DIR}/{domain}.key"
    conf = f"/etc/prosody/conf.avail/roost-{domain}.cfg.lua"
    enabled = f"/etc/prosody/conf.d/roost-{domain}.cfg.lua"
    steps: list[Step] = [
        InstallPackages(PACKAGES),
        RunCommand(tuple(script(SELF_SIGNED, domain, crt, key)), creates=crt,
                   description=f"make a self-signed TLS certificate for {domain}"),
        RenderTemplate(conf, template="prosody-vhost.cfg.lua", mode=0o644,
                       values={"domain": domain, "certificate": crt, "key": key}),
        RunCommand(("ln", "-sfn", conf, enabled), unless=("test", "-L", enabled),
                   description=f"turn on {domain} in Prosody"),
        EnableService("prosody"),
        Restart("prosody", watch=(conf, enabled)),
    ]
    for ident_id, address_jid in accounts:
        local = address_jid.partition("@")[0]
        steps.append(CreateAccount(
            ("prosodyctl", "adduser", address_jid), Secret(ident_id, "password"),
            exists=("test", "-e", f"{DATA_DIR}/{enc}/accounts/{prosody_encode(local)}.dat"),
            repeat=2, description=f"register {address_jid}",
        ))
    if address:
        host = f"[{address}]" if ":" in address else address
        health = WaitHealth(f"check that Prosody answers for {domain} at {host}",
                            probe=stream_probe(address, domain), timeout=30, interval=0.5)
    else:
        health = WaitHealth("check that Prosody is running", argv=("prosodyctl", "status"),
                            timeout=30, interval=0.5)
    first = accounts[0][1]
    return Recipe(
        id="prosody",
        version_argv=debian_version("prosody"),
        service_id="prosody",
        title=f"the XMPP server for {domain}",
        steps=tuple(steps),
        health=health,
        next_steps=(
            f"Your XMPP address is {first}; its password is in roost's key vault.",
            "Phone: Conversations or Cheogram (Android), Monal or Siskin (iPhone). "
            "Desktop: Gajim (Windows, Linux), Dino (Linux), Monal or Beagle IM (Mac).",
            "The certificate is self-signed for now: your app asks once whether to trust it. "
            f"When {domain} points at this host from the internet, get a Let's Encrypt "
            "certificate and load it with `sudo prosodyctl --root cert import "
            "/etc/letsencrypt/live`.",
            f"For others to reach you, point {domain} at this host (DNS A or AAAA record) and "
            "open ports 5222 (apps) and 5269 (other servers).",
            f"Invite a friend: `sudo prosodyctl mod_invites generate {domain}` prints a link "
            "that lets them make an account here; or they sign up on any public server and "
            f"add {first} as a contact.",
        ),
        uninstall=(DisableService("prosody"), RemovePath(enabled), RemovePath(conf)),
        purge=(RemovePath(f"{DATA_DIR}/{enc}"), RemovePath(crt), RemovePath(key),
               RemovePackages(("prosody",), purge=True)),
    )
