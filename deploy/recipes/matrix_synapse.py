"""`matrix-synapse`: a Matrix homeserver (Synapse from PyPI in a venv) run by systemd.

The server's identity comes from the key vault's Matrix identity: its server name, its signing
key (the file `signing_key_path` points at, mode 0600 for the synapse user) and its random
secrets. The first account, an admin, is registered with the shared secret: its password goes
to `register_new_matrix_user --password-file /dev/stdin`, never on a command line. SQLite holds
the data (right for a household; PostgreSQL is for big servers)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.backup import BackupSpec
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import host_command, reach_address
from roost.deploy.recipes.identity import Picked, pick_identity
from roost.deploy.recipes.pypi import pip_install
from roost.deploy.steps.accounts import CreateAccount, EnsureUser
from roost.deploy.steps.base import Secret, Step
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart

SERVICE = "matrix-synapse"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
SYNAPSE_VERSION = OPTIONS.default("version")
VENV = "/opt/synapse/venv"
CONF_DIR = "/etc/synapse"
DATA = "/var/lib/synapse"
CONF = f"{CONF_DIR}/homeserver.yaml"
LOG_CONF = f"{CONF_DIR}/log.yaml"
SIGNING_KEY = f"{CONF_DIR}/signing.key"
UNIT = "/etc/systemd/system/matrix-synapse.service"
BACKUP = BackupSpec(paths=(DATA, CONF_DIR), pause=("matrix-synapse",))
"""The SQLite database (rooms, accounts, history) and the media store, read with Synapse
stopped (so the database file is consistent); the config and signing key."""

# Exit 0 when the user ($2) is in the database ($1): the admin is registered.
USER_EXISTS = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
    "row = db.execute('select 1 from users where name = ?', (sys.argv[2],)).fetchone()\n"
    "sys.exit(0 if row else 1)\n"
)
VERSION_IS = (
    "import sys, importlib.metadata as m\n"
    "sys.exit(0 if m.version('matrix-synapse') == sys.argv[1] else 1)\n"
)
HEALTH_ON_HOST = (
    "import sys, urllib.request\n"
    "urllib.request.urlopen(f'http://127.0.0.1:{sys.argv[1]}/health', timeout=3).read()\n"
)
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){1,3}$")
_LOCALPART = re.compile(r"^[a-z0-9._=/-]{1,64}$")


def matrix_identity(options: Mapping[str, str], identities: Identities) -> Picked:
    return pick_identity(
        options["identity"], identities, "matrix", "Matrix",
        none="matrix-synapse needs a Matrix identity (the server's name and keys)",
        none_hint="create one with `roost keys` (kind matrix, with the server name), "
                  "then deploy again")


def _health(address: str, server_name: str, port: int) -> WaitHealth:
    """The client API at the reach address when known, else a probe on the host itself."""
    if address:
        return WaitHealth("check that Synapse answers Matrix clients",
                          site=Site(address, server_name, port),
                          path="/_matrix/client/versions", expect_text="versions",
                          timeout=60, interval=1)
    return WaitHealth("check that Synapse answers",
                      argv=(f"{VENV}/bin/python", "-c", HEALTH_ON_HOST, str(port)), timeout=60,
                      interval=1)


def _next_steps(facts: TargetHost | None, ident_id: str, admin: str, server_name: str,
                base: str, port: int) -> tuple[str, ...]:
    """What to tell the person once Synapse runs: the admin account, apps, HTTPS, accounts."""
    register = (f"{VENV}/bin/register_new_matrix_user", "-c", CONF, f"http://127.0.0.1:{port}")
    return (
        f"Your admin account is @{admin}:{server_name}; its password is in roost's key "
        f"vault: `roost keys show {ident_id} --secret` shows it.",
        "Apps: Element (phone, desktop and web), FluffyChat (phone), Nheko (desktop). "
        f"Sign in with the homeserver {base}.",
        "Before you use it from outside your home: put it behind HTTPS (nginx or Caddy with "
        f"Let's Encrypt for {server_name}) and open port 443, and 8448 for federation.",
        "Accounts for family and friends: on the host, run "
        f"`{host_command(facts, register, user='synapse')}`; it asks for the new user's "
        "name and password. Or turn on registration with a token in homeserver.yaml.",
    )


@register(SERVICE)
def build_matrix_synapse(facts: TargetHost | None, options: Mapping[str, str],
                         identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    ident_id, ident = matrix_identity(o, identities)
    public = ident.public
    server_name = validate.hostname(str(public.get("server_name", "")), "Matrix server name")
    key_version = str(public.get("key_version", ""))
    if not re.match(r"^a_[A-Za-z0-9]{1,16}$", key_version):
        raise RoostError(f"the Matrix identity {ident_id} has no usable key version",
                         hint="make a new Matrix identity with `roost keys`")
    if not _VERSION.match(o["version"]):
        raise RoostError(f"{o['version']!r} is not a Synapse version", hint="like 1.163.2")
    admin = o["admin"].lower()
    if not _LOCALPART.match(admin):
        raise RoostError(f"{admin!r} is not a Matrix user name",
                         hint="use lower-case letters, digits, . _ = - /")
    bind = o.text("bind")
    port = o.port("port")
    address = reach_address(o.text("address"), facts)
    host = f"[{address}]" if ":" in address else address
    base = f"http://{host}:{port}/" if address else f"http://{server_name}:{port}/"
    secret = {f: Secret(ident_id, f) for f in
              ("registration_shared_secret", "macaroon_secret_key", "form_secret")}
    python = f"{VENV}/bin/python"
    steps: list[Step] = [
        InstallPackages(("python3", "python3-venv", "sqlite3")),
        EnsureUser("synapse", home=DATA),
        EnsureDir("/opt/synapse", mode=0o755),
        EnsureDir(CONF_DIR, mode=0o750, owner="root", group="synapse"),
        EnsureDir(DATA, mode=0o750, owner="synapse", group="synapse"),
        *pip_install(VENV, "matrix-synapse", o["version"], VERSION_IS, env_for="Synapse",
                     shown="Synapse", free_mb=500),
        RenderTemplate(SIGNING_KEY, text="ed25519 ${version} ${seed}\n", mode=0o600,
                       owner="synapse", group="synapse",
                       values={"version": key_version,
                               "seed": Secret(ident_id, "signing_key_seed")}),
        RenderTemplate(LOG_CONF, template="synapse-log.yaml", mode=0o644),
        RenderTemplate(CONF, template="synapse-homeserver.yaml", mode=0o600, owner="synapse",
                       group="synapse",
                       values={"server_name": server_name, "public_baseurl": base,
                               "bind": bind, "port": str(port), **secret}),
        RenderTemplate(UNIT, template="matrix-synapse.service", mode=0o644,
                       values={"venv": VENV}),
        # Restart first: it starts a stopped unit, so a first deploy starts Synapse once.
        Restart("matrix-synapse", watch=(SIGNING_KEY, LOG_CONF, CONF, UNIT)),
        EnableService("matrix-synapse"),
        WaitHealth("wait for Synapse to answer on the host",
                   argv=(python, "-c", HEALTH_ON_HOST, str(port)), timeout=120, interval=1),
        CreateAccount(
            (f"{VENV}/bin/register_new_matrix_user", "-c", CONF, "-u", admin, "-a",
             "--password-file", "/dev/stdin", f"http://127.0.0.1:{port}"),
            Secret(ident_id, "admin_password"),
            exists=(python, "-c", USER_EXISTS, f"{DATA}/homeserver.db",
                    f"@{admin}:{server_name}"),
            description=f"register the admin @{admin}:{server_name}",
        ),
    ]
    return Recipe(
        id=SERVICE,
        version=o["version"],
        service_id=SERVICE,
        title=f"the Matrix server {server_name}",
        steps=tuple(steps),
        ports=(Port(port, units=("matrix-synapse",)),),
        backup=BACKUP,
        health=_health(address, server_name, port),
        next_steps=_next_steps(facts, ident_id, admin, server_name, base, port),
        uninstall=(DisableService("matrix-synapse"), RemovePath(UNIT)),
        purge=(RemovePath(DATA), RemovePath(CONF_DIR), RemovePath("/opt/synapse")),
    )
