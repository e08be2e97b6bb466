"""`prosody`: an XMPP server from Debian for the person's own domain and accounts.

Accounts come from XMPP identities in the key vault (`roost keys`): their address gives the
user name and domain, their password reaches the host only on `prosodyctl adduser`'s standard
input (never in a command line, a file or a log).

TLS: `tls=self-signed` (the default) makes a self-signed certificate for the domain on the host.
`tls=letsencrypt` gets a real one with Debian's certbot (ACME, HTTP-01 challenge), for a host the
domain points at and that the internet reaches on port 80:
- port 80: when nothing listens there, certbot answers the challenge itself (`--standalone`,
  only for the minute it runs; renewals do the same, so port 80 must still be free then). When
  nginx serves port 80, certbot's nginx plugin (python3-certbot-nginx, installed then) answers
  through it without changing the sites. Anything else on port 80 stops the deploy with its
  name: free the port or put nginx in front, then deploy again.
- idempotent: no new order while the domain's certificate from the same ACME server is valid
  for more than 30 days (`certbot certonly --keep-until-expiring`, and a check before it).
- Prosody gets it with `prosodyctl --root cert import DOMAIN /etc/letsencrypt/live` (Prosody
  0.12 copies it into /etc/prosody/certs, readable by the prosody user only, and reloads), run by
  a deploy hook in /etc/letsencrypt/renewal-hooks/deploy/ that certbot.timer's renewals run too.
Uninstall removes the hook (the certificate stays); purge deletes the certificate lineage
(`certbot delete`)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.backup import BackupSpec
from roost.deploy.options import Values, recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import debian_version, host_command, reach_address
from roost.deploy.steps.accounts import CreateAccount
from roost.deploy.steps.base import Secret, Step, load_script, script
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages, RemovePackages
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.keys.xmpp import jid as check_jid
from roost.keys.xmpp import prosody_encode

SERVICE = "prosody"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
TLS_MODES = ("self-signed", "letsencrypt")
REGISTRATION = {"closed": ("false", "true"), "open": ("true", "false")}
"""The `registration` option's values and, for each, Prosody's `allow_registration` and
`registration_invite_only` (Debian enables mod_invites_register, which otherwise turns away
a sign-up without an invitation)."""
LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
PACKAGES = ("prosody", "lua-unbound", "openssl")
LE_DIR = "/etc/letsencrypt"
HOOK_DIR = f"{LE_DIR}/renewal-hooks/deploy"
CERTBOT_DROPIN_DIR = "/etc/systemd/system/certbot.service.d"
RENEW_DAYS = 30  # certbot's own renewal window: a certificate closer to its end is renewed
CERT_DIR = "/etc/prosody/certs"
DATA_DIR = "/var/lib/prosody"
BACKUP = BackupSpec(paths=(DATA_DIR, "/etc/prosody"), pause=("prosody",))
"""Its accounts, rosters and message archive (files in DATA_DIR) and its configuration and
certificates; Prosody paused while borg reads, so no file is caught half-written."""
C2S_PORT = 5222
S2S_PORT = 5269

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

# Done when $1's (the domain's) certificate lineage came from ACME server $2 and stays valid for
# more than $3 seconds: then no new order is placed.
HAVE_CERT = (
    'd=$1; c=/etc/letsencrypt/live/$d/fullchain.pem; [ -f "$c" ] '
    '&& grep -qxF "server = $2" "/etc/letsencrypt/renewal/$d.conf" '
    '&& openssl x509 -checkend "$3" -noout -in "$c" >/dev/null'
)

# Get a certificate for $1 (domain) with the account e-mail $2 from ACME server $3, trusting
# the CA bundle $4 for it when given. HTTP-01 on port 80: certbot's own short-lived server
# when the port is free, through nginx when nginx serves it, else a clear refusal.
GET_CERT = load_script("prosody-get-cert.sh")

# Prosody already holds the lineage's certificate and key for $1.
CERT_IMPORTED = (
    'd=$1; cmp -s "/etc/letsencrypt/live/$d/fullchain.pem" "/etc/prosody/certs/$d.crt" '
    '&& cmp -s "/etc/letsencrypt/live/$d/privkey.pem" "/etc/prosody/certs/$d.key"'
)

_BUNDLE = re.compile(r"^/[A-Za-z0-9._/-]{1,250}$")


def acme_email(value: str) -> str:
    """The ACME account's e-mail address (reaches certbot as one argument)."""
    return validate.email(value, public=True,
                          hint="write it as name@example.org; Let's Encrypt writes there "
                               "about expiring certificates")


def acme_url(value: str) -> str:
    """An ACME directory URL: https, a valid host, nothing a config line could trip over."""
    v = value.strip()
    bad = RoostError(f"{v[:80]!r} is not an ACME directory address",
                     hint=f"give an https URL, like {LETSENCRYPT}")
    if not v or any(c.isspace() or c in "\"'`$\\<>" for c in v) or len(v) > 300:
        raise bad
    try:
        parts = urlsplit(v)
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise bad
    validate.hostname(parts.hostname, "ACME server name")
    if port is not None:
        validate.port(port)
    return v


def ca_bundle_path(value: str) -> str:
    v = value.strip()
    if not _BUNDLE.match(v) or "/../" in v + "/" or "/./" in v + "/":
        raise RoostError(f"{v[:60]!r} is not a file path roost can use for acme_ca_bundle",
                         hint="give the full path of a PEM file on the host, like "
                              "/etc/ssl/private-acme-ca.pem")
    return v


def tls_options(o: Values) -> tuple[str, str, str, str]:
    """(mode, e-mail, ACME server, CA bundle) from the options (`tls` is one of TLS_MODES,
    checked by its type), checked together."""
    mode = o.text("tls")
    if mode == "self-signed":
        extra = [k for k in ("email", "acme_server", "acme_ca_bundle") if o[k]]
        if extra:
            raise RoostError(f"the option {extra[0]} is only for tls=letsencrypt",
                             hint="add --option tls=letsencrypt, or leave it out")
        return mode, "", "", ""
    if not o["email"]:
        raise RoostError("tls=letsencrypt needs the option email",
                         hint="add --option email=you@example.org (Let's Encrypt writes there "
                              "about expiring certificates)")
    bundle = ca_bundle_path(o["acme_ca_bundle"]) if o["acme_ca_bundle"] else ""
    return mode, acme_email(o["email"]), acme_url(o["acme_server"] or LETSENCRYPT), bundle


def registration_settings(value: str) -> tuple[str, str]:
    """Prosody's (`allow_registration`, `registration_invite_only`) for the option's value
    (one of REGISTRATION's keys, checked by its type)."""
    return REGISTRATION[value]


def _xmpp_identities(identities: Identities) -> dict[str, str]:
    """identity id -> JID for every XMPP identity given."""
    out: dict[str, str] = {}
    for ident_id, ident in identities.items():
        if ident.kind != "xmpp":
            continue
        public = ident.public
        if "jid" in public:
            out[str(ident_id)] = check_jid(str(public["jid"]))
    return out


def accounts_for(options: Mapping[str, str], identities: Identities
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


def _letsencrypt_steps(domain: str, email: str, server: str, bundle: str,
                       vhost: list[Step]) -> list[Step]:
    """The certificate from an ACME server (certbot), its renewal hook and the virtual host."""
    crt, key = f"{CERT_DIR}/{domain}.crt", f"{CERT_DIR}/{domain}.key"
    hook = f"{HOOK_DIR}/roost-prosody-{domain}"
    dropin = f"{CERTBOT_DROPIN_DIR}/roost-acme-ca-bundle.conf"
    steps: list[Step] = [InstallPackages((*PACKAGES, "certbot"))]
    if bundle:
        steps += [
            EnsureDir(CERTBOT_DROPIN_DIR),
            RenderTemplate(dropin, template="prosody-certbot-ca.conf", mode=0o644,
                           values={"bundle": bundle}),
            # systemd reads a changed drop-in only after a daemon-reload, which Restart
            # runs first: without it a later bundle never reached certbot.service.
            Restart("certbot.timer", watch=(dropin,)),
        ]
    steps += [
        EnsureDir(HOOK_DIR),
        RenderTemplate(hook, template="prosody-certbot-hook.sh", mode=0o755,
                       values={"domain": domain, "certificate": crt, "key": key}),
        RunCommand(
            tuple(script(GET_CERT, domain, email, server, bundle)),
            unless=tuple(script(HAVE_CERT, domain, server, str(RENEW_DAYS * 86400))),
            timeout=600, description=f"get a TLS certificate for {domain} from {server}",
            on_failure=f"the ACME server must reach http://{domain}/ on this host: point "
                       f"{domain} at it (DNS A or AAAA record), open port 80, then deploy "
                       "again"),
        *vhost,
        RunCommand(("env", f"RENEWED_DOMAINS={domain}", hook),
                   unless=tuple(script(CERT_IMPORTED, domain)),
                   description=f"load the certificate for {domain} into Prosody"),
    ]
    return steps


def _account_steps(domain: str, accounts: Sequence[tuple[str, str]]) -> list[Step]:
    """One account per XMPP identity, its password from the vault; kept when it exists."""
    enc = prosody_encode(domain)
    steps: list[Step] = []
    for ident_id, address_jid in accounts:
        local = address_jid.partition("@")[0]
        steps.append(CreateAccount(
            ("prosodyctl", "adduser", address_jid), Secret(ident_id, "password"),
            exists=("test", "-e", f"{DATA_DIR}/{enc}/accounts/{prosody_encode(local)}.dat"),
            repeat=2, description=f"register {address_jid}",
        ))
    return steps


def _health(address: str, domain: str) -> WaitHealth:
    """An XMPP stream opened at the reach address when known, else `prosodyctl status`."""
    if address:
        host = f"[{address}]" if ":" in address else address
        return WaitHealth(f"check that Prosody answers for {domain} at {host}",
                          probe=stream_probe(address, domain), timeout=30, interval=0.5,
                          site=Site(address, domain, C2S_PORT))
    return WaitHealth("check that Prosody is running", argv=("prosodyctl", "status"),
                      timeout=30, interval=0.5)


def _certificate(facts: TargetHost | None, tls: str, domain: str, server: str, bundle: str
                 ) -> tuple[tuple[str, ...], tuple[Step, ...], tuple[Step, ...]]:
    """What to tell about the certificate, and the extra uninstall and purge steps for it."""
    if tls == "self-signed":
        return ((
            "The certificate is self-signed for now: your app asks once whether to trust it. "
            f"When {domain} points at this host from the internet, get a real one with "
            f"`roost deploy prosody --host {TargetHost.of(facts).name or 'NAME'} --option "
            "tls=letsencrypt --option email=YOU@EXAMPLE.ORG`.",
        ), (), ())
    hook = f"{HOOK_DIR}/roost-prosody-{domain}"
    dropin = f"{CERTBOT_DROPIN_DIR}/roost-acme-ca-bundle.conf"
    notes = (
        f"The certificate for {domain} comes from {server}; certbot.timer renews it and "
        f"{hook} loads each renewal into Prosody.",
        "Renewals answer the ACME challenge on port 80 the way the first one did: keep "
        "port 80 free (or served by nginx) and reachable from the internet.",
    )
    uninstall = (RemovePath(hook),) + ((RemovePath(dropin),
                                         Restart("certbot.timer", watch=(dropin,)))
                                        if bundle else ())
    purge: tuple[Step, ...] = (RunCommand(
        ("certbot", "delete", "--non-interactive", "--cert-name", domain),
        unless=tuple(script('[ ! -e "$1" ]', f"{LE_DIR}/renewal/{domain}.conf")),
        description=f"delete the certificate for {domain} (certbot's copy)"),)
    return notes, uninstall, purge


def _next_steps(facts: TargetHost | None, domain: str, accounts: Sequence[tuple[str, str]],
                cert_steps: tuple[str, ...], allow: str) -> tuple[str, ...]:
    """What to tell the person once Prosody runs: their address, apps, and how to invite."""
    first = accounts[0][1]
    return (
        f"Your XMPP address is {first}; its password is in roost's key vault: "
        f"`roost keys show {accounts[0][0]} --secret` shows it.",
        "Phone: Conversations or Cheogram (Android), Monal or Siskin (iPhone). "
        "Desktop: Gajim (Windows, Linux), Dino (Linux), Monal or Beagle IM (Mac).",
        *cert_steps,
        *((f"Sign-up is open: anyone who reaches {domain} can make an account from their "
           "app. Close it once your friends are in: deploy again with "
           "--option registration=closed.",) if allow == "true" else ()),
        f"For others to reach you, point {domain} at this host (DNS A or AAAA record) and "
        "open ports 5222 (apps) and 5269 (other servers).",
        "Invite a friend: on the host, "
        f"`{host_command(facts, ('prosodyctl', 'mod_invites', 'generate', domain))}` "
        "prints a link that lets them make an account here; or they sign up on any public "
        f"server and add {first} as a contact.",
    )


@register(SERVICE)
def build_prosody(facts: TargetHost | None, options: Mapping[str, str],
                  identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    domain, accounts = accounts_for(o, identities)
    address = reach_address(o.text("address"), facts)
    tls, email, server, bundle = tls_options(o)
    allow, invite_only = registration_settings(o.text("registration"))
    enc = prosody_encode(domain)
    crt, key = f"{CERT_DIR}/{domain}.crt", f"{CERT_DIR}/{domain}.key"
    conf = f"/etc/prosody/conf.avail/roost-{domain}.cfg.lua"
    enabled = f"/etc/prosody/conf.d/roost-{domain}.cfg.lua"
    vhost: list[Step] = [
        RenderTemplate(conf, template="prosody-vhost.cfg.lua", mode=0o644,
                       values={"domain": domain, "certificate": crt, "key": key,
                               "allow_registration": allow, "invite_only": invite_only}),
        RunCommand(("ln", "-sfn", conf, enabled), unless=("test", "-L", enabled),
                   description=f"turn on {domain} in Prosody"),
    ]
    steps: list[Step]
    if tls == "self-signed":
        steps = [
            InstallPackages(PACKAGES),
            RunCommand(tuple(script(SELF_SIGNED, domain, crt, key)), creates=crt,
                       description=f"make a self-signed TLS certificate for {domain}"),
            *vhost,
        ]
    else:
        steps = _letsencrypt_steps(domain, email, server, bundle, vhost)
    steps += [
        EnableService("prosody"),
        Restart("prosody", watch=(conf, enabled)),
        *_account_steps(domain, accounts),
    ]
    cert_steps, uninstall, purge = _certificate(facts, tls, domain, server, bundle)
    return Recipe(
        id=SERVICE,
        version_argv=debian_version("prosody"),
        service_id=SERVICE,
        title=f"the XMPP server for {domain}",
        domain=domain,
        steps=tuple(steps),
        ports=(Port(C2S_PORT, units=("prosody",), option=None),
               Port(S2S_PORT, units=("prosody",), option=None)),
        health=_health(address, domain),
        backup=BACKUP,
        next_steps=_next_steps(facts, domain, accounts, cert_steps, allow),
        uninstall=(DisableService("prosody"), RemovePath(enabled), RemovePath(conf),
                   *uninstall),
        purge=(RemovePath(f"{DATA_DIR}/{enc}"), RemovePath(crt), RemovePath(key), *purge,
               RemovePackages(("prosody",), purge=True)),
    )
