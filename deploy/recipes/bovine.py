"""`bovine`: bovine-herd, a small experimental ActivityPub server in Python (PyPI, in a venv),
run by hypercorn as the system user `bovine` under systemd, behind nginx for the domain.

It has no web interface and no Mastodon API: it is for people who write their own fediverse
tools with the `bovine` Python library. Its upstream says development will probably stop.

The account comes from a fediverse identity in the key vault (kind fediverse, on the domain):
its handle. bovine has no passwords; its own clients sign requests with an Ed25519 key whose
did:key the account lists (Moo-Auth-1). roost derives that key from the identity's password
(HKDF-SHA256, salt `acct:handle@domain`), so the key vault holds it without a new field: on
the host the password arrives on standard input of a script (deploy/templates/
bovine-account.py.in) that derives the did:key and calls the BovineAdminStore methods behind
`python -m bovine_store register` and `key NAME --add DID`, after looking the account up so a
rerun makes no second one; the health check here signs with the same key. The account's RSA
key, the one other servers verify it with, is made by bovine on the host. The client secret
in bovine's own format is `client_secret(client_key(password, handle, domain))`; roost has no
command that prints it yet.

nginx tells bovine every request came over https (X-Forwarded-Proto): bovine's addresses are
https://domain/..., and it finds an actor only by that address. Put TLS in front before
other servers use it.

Health, from this computer through nginx: WebFinger for acct:handle@domain and the actor
document it names (bovine answers actor documents only to signed requests)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.activitypub import webfinger_probe
from roost.deploy.recipes.gotosocial import fediverse_account
from roost.deploy.recipes.host import host_command, https_commands, reach_address
from roost.deploy.recipes.pypi import pip_install
from roost.deploy.steps.accounts import CreateAccount, EnsureUser
from roost.deploy.steps.base import Secret, Step, StepContext
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.deploy.transport import Transport

SERVICE = "bovine"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
BOVINE_VERSION = OPTIONS.default("version")
USER = "bovine"
ROOT = "/opt/bovine"
VENV = f"{ROOT}/venv"
DATA = "/var/lib/bovine"
DB_URL = f"sqlite://{DATA}/bovine.sqlite3"
APP = f"{ROOT}/app.py"
INSTALLED = f"{ROOT}/installed-version"
ACCOUNT_SCRIPT = f"{ROOT}/roost-account.py"
UNIT = "/etc/systemd/system/bovine.service"
SITE = "/etc/nginx/sites-available/roost-bovine.conf"
SITE_ON = "/etc/nginx/sites-enabled/roost-bovine.conf"
KEY_INFO = b"roost bovine Moo-Auth-1 client key"
VERSION_IS = (
    "import sys, importlib.metadata as m\n"
    "sys.exit(0 if m.version('bovine-herd') == sys.argv[1] else 1)\n"
)
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){1,3}$")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58(data: bytes) -> str:
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def client_key(password: str, handle: str, domain: str) -> Ed25519PrivateKey:
    """The account's Ed25519 client key, derived from the identity's password (the same
    derivation as the host's account script, deploy/templates/bovine-account.py.in)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=f"acct:{handle}@{domain}".encode(),
                info=KEY_INFO).derive(password.encode("utf-8"))
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def did_key(key: Ed25519PrivateKey) -> str:
    """did:key of an Ed25519 key (multicodec 0xed01, base58btc), as bovine writes it."""
    return "did:key:z" + _b58(b"\xed\x01" + _raw_public(key))


def client_secret(key: Ed25519PrivateKey) -> str:
    """The private key as bovine's clients take it (`BovineClient(secret=...)`): multicodec
    0x8026 + the 32-byte seed, base58btc with a leading z."""
    from cryptography.hazmat.primitives import serialization

    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return "z" + _b58(b"\x80\x26" + seed)


def moo_auth_signer(key: Ed25519PrivateKey, domain: str) -> Callable[[str, str, Mapping[str, str]],
                                                         Mapping[str, str]]:
    """Headers that sign a request Moo-Auth-1 style, as bovine's MooAuthClient does:
    Ed25519 over `(request-target)`, `host` and `date`, the signer named by its did:key."""
    did = did_key(key)

    def sign(method: str, path: str, headers: Mapping[str, str]) -> Mapping[str, str]:
        date = email.utils.formatdate(usegmt=True)
        target = path.split("?", 1)[0]
        message = f"(request-target): {method.lower()} {target}\nhost: {domain}\ndate: {date}"
        signature = "z" + _b58(key.sign(message.encode("utf-8")))
        return {"Date": date, "Authorization": f"Moo-Auth-1 {did}",
                "X-Moo-Signature": signature}

    return sign


@dataclass(frozen=True)
class AccountHealth(WaitHealth):
    """The WebFinger + actor proof, the actor fetched Moo-Auth-1 signed with the account's
    client key, which it derives here from the vault's password when it runs."""

    password: Secret | None = None
    handle: str = ""

    def once(self, t: Transport, ctx: StepContext) -> str | None:
        if self.password is None or self.site is None:
            return super().once(t, ctx)
        domain = self.site.host_name
        try:
            key = client_key(ctx.secret(self.password), self.handle, domain)
            out = webfinger_probe(self.site, self.handle,
                                  sign=moo_auth_signer(key, domain))()
        except RoostError:
            raise
        except Exception as exc:  # a probe failing is an unhealthy answer, not a crash
            return ctx.redact(f"{type(exc).__name__}: {str(exc)[:200]}")
        return None if out is True else ctx.redact(str(out) or "the probe said no")


def _unsigned(method: str, path: str, headers: Mapping[str, str]) -> Mapping[str, str]:
    raise RoostError("this probe signs with the key vault's password: it runs inside a deploy")


def _nginx_steps(listen: int, domain: str, port: int) -> list[Step]:
    """The nginx site that proxies to bovine, turned on and loaded."""
    return [
        RenderTemplate(SITE, template="bovine-nginx.conf", mode=0o644,
                       values={"listen": str(listen), "domain": domain, "port": str(port)}),
        RunCommand(("ln", "-sfn", SITE, SITE_ON), unless=("test", "-L", SITE_ON),
                   description="turn the bovine site on in nginx"),
        EnableService("nginx"),
        Restart("nginx", watch=(SITE, SITE_ON), action="reload"),
    ]


def _next_steps(host: TargetHost | None, domain: str, first: str) -> tuple[str, ...]:
    """What to tell the person once bovine runs (`first`: about their account), and how to
    make more accounts and client keys on the host."""
    python = f"{VENV}/bin/python"

    def store(*words: str) -> str:
        return host_command(host, (python, "-m", "bovine_store", *words), user=USER, cwd=DATA,
                            env=(f"BOVINE_DB_URL={DB_URL}",))

    return (
        first,
        "bovine is a small experimental server with no web page and no app: it is for "
        "people who write their own fediverse tools with the bovine Python library "
        "(BovineClient). Mastodon apps cannot log in to it. Its upstream says development "
        "will probably stop; for a household account choose GoToSocial or Akkoma.",
        f"Point {domain} at this host (DNS A/AAAA record) and give it HTTPS before you use "
        f"it: other servers only talk to https://{domain}. For example, on the host: "
        f"{https_commands(host, domain)}.",
        f"More accounts, on the host: `{store('register', '--domain', domain, '--handle', 'NAME')}`"
        " prints the new account's bovine name; a client key of your own for an account: "
        f"`{store('key', 'BOVINE_NAME', '--new')}`.",
    )


@register(SERVICE)
def build_bovine(host: TargetHost | None, options: Mapping[str, str],
                 identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    domain = o.text("domain")
    port, listen = o.port("port"), o.port("listen")
    if not _VERSION.match(o["version"]):
        raise RoostError(f"{o['version']!r} is not a bovine-herd version", hint="like 0.5.19")
    address = reach_address(o.text("address"), host, "127.0.0.1")
    python = f"{VENV}/bin/python"
    steps: list[Step] = [
        InstallPackages(("python3", "python3-venv", "nginx")),
        EnsureUser(USER, home=DATA),
        EnsureDir(ROOT, mode=0o755),
        EnsureDir(DATA, mode=0o750, owner=USER, group=USER),
        *pip_install(VENV, "bovine-herd", o["version"], VERSION_IS, env_for="bovine",
                     shown="bovine-herd", free_mb=300),
        # Its change (a new version) restarts the server.
        RenderTemplate(INSTALLED, text="bovine-herd ${version}\n", mode=0o644,
                       values={"version": o["version"]}),
        RenderTemplate(APP, template="bovine-app.py.in", mode=0o644, values={"db_url": DB_URL}),
        RenderTemplate(ACCOUNT_SCRIPT, template="bovine-account.py.in", mode=0o644),
        RenderTemplate(UNIT, template="bovine.service", mode=0o644,
                       values={"data": DATA, "venv": VENV, "port": str(port), "app": APP}),
        # Restart first: it starts a stopped unit, so a first deploy starts bovine once.
        Restart("bovine", watch=(INSTALLED, APP, UNIT)),
        EnableService("bovine"),
        *_nginx_steps(listen, domain, port),
    ]
    site = Site(address, domain, listen)
    account = fediverse_account(o, identities, domain)
    if account is not None:
        ident_id, handle, _mail = account
        marker = f"{DATA}/.roost-account-{handle}"
        steps.append(CreateAccount(
            # From /var/lib/bovine: bovine opens its JSON-LD cache in the current folder.
            ("env", "-C", DATA, python, ACCOUNT_SCRIPT, DB_URL, domain, handle, marker),
            Secret(ident_id, "password"), as_user=USER, exists=("test", "-e", marker),
            description=f"create the account @{handle}@{domain} and its client key"))
        health: WaitHealth = AccountHealth(
            f"check that WebFinger and the actor of @{handle}@{domain} answer through nginx",
            probe=webfinger_probe(site, handle, sign=_unsigned), site=site,
            timeout=90, interval=1.0, password=Secret(ident_id, "password"), handle=handle)
        first = (f"Your account is @{handle}@{domain}. bovine has no password: programs sign "
                 "in with an Ed25519 client key (Moo-Auth-1). The one roost added is derived "
                 "from the identity's password and used for roost's checks; for your own "
                 "programs make a key on the host with the command below.")
    else:
        # No account: the server's own application actor (acct:bovine@domain) proves it.
        health = WaitHealth(f"check that bovine answers WebFinger for {domain} through nginx",
                            probe=webfinger_probe(site, "bovine"), site=site, timeout=90,
                            interval=1.0)
        first = ("No fediverse identity for this domain was in the key vault, so no account "
                 "was made: create one with `roost keys` and deploy again.")
    return Recipe(
        id=SERVICE,
        version=o["version"],
        service_id=SERVICE,
        title=f"bovine-herd for {domain}",
        steps=tuple(steps),
        ports=(Port(listen, units=("nginx",), option="listen"), Port(port, units=("bovine",))),
        health=health,
        next_steps=_next_steps(host, domain, first),
        uninstall=(DisableService("bovine"), RemovePath(UNIT), RemovePath(SITE_ON),
                   RemovePath(SITE), Restart("nginx", watch=(SITE_ON,), action="reload")),
        purge=(RemovePath(DATA), RemovePath(ROOT)),
    )

