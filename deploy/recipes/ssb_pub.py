"""`ssb-pub`: a Secure Scuttlebutt pub (npm `ssb-server`) run by systemd for a dedicated user.

The pub's identity is the key vault's SSB identity: its `~/.ssb/secret` (mode 0400, the user
`ssb`) is rendered on the host from the vault, the private key reaching it only as file
contents. Its friendly name is published as an `about` message: the vault's own signed message
when the feed is new, so the name others see is the one made with the key.

ssb-server 16 is installed from its npm package as the top-level project, so npm honours the
package's own lock file (installed as a dependency, npm 9 ignores it and pulls an ssb-friends
that cannot start)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping

from roost.core.errors import RoostError
from roost.deploy.backup import BackupSpec
from roost.deploy.options import recipe_options
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import host_command, reach_address
from roost.deploy.recipes.identity import Picked, pick_identity
from roost.deploy.steps.accounts import EnsureUser
from roost.deploy.steps.base import Secret, Step, script
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate, WriteFile, load_template
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.keys.model import Identity
from roost.keys.ssb import ssb_secret_file_text

SERVICE = "ssb-pub"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
SSB_SERVER_VERSION = OPTIONS.default("version")
HOME = "/var/lib/ssb"
SSB_DIR = f"{HOME}/.ssb"
SECRET_FILE = f"{SSB_DIR}/secret"
CONFIG = f"{SSB_DIR}/config"
OPT = "/opt/ssb-server"
APP = f"{OPT}/app"
INVITE = ("node", f"{APP}/bin.js", "invite.create", "1")
"""Makes a one-use invite; run as the ssb user with HOME set (the next steps say how)."""
ABOUT_JS = f"{APP}/roost-about.js"
UNIT = "/etc/systemd/system/ssb-server.service"
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")

# $1 version. Download the package, install its dependencies as the top-level project (npm then
# follows the package's lock file), and swap it in only when complete.
NPM_INSTALL = (
    'set -e; v=$1; cd /opt/ssb-server; rm -rf app.new; mkdir app.new; '
    'tgz=$(npm pack --silent "ssb-server@$v"); tar -xzf "$tgz" -C app.new --strip-components=1; '
    'rm -f -- "$tgz"; cd app.new; '
    'npm install --omit=dev --no-audit --no-fund --loglevel=error; '
    'touch .roost-installed; cd ..; rm -rf app.old; if [ -d app ]; then mv app app.old; fi; '
    'mv app.new app; rm -rf app.old'
)
INSTALLED = (
    '[ -f /opt/ssb-server/app/.roost-installed ] && '
    '[ "$(node -p "require(\'/opt/ssb-server/app/package.json\').version" 2>/dev/null)" = "$1" ]'
)
# $1 the expected id: `whoami` through the running server answers with it.
WHOAMI = (
    'out=$(env HOME=/var/lib/ssb node /opt/ssb-server/app/bin.js whoami 2>/dev/null) '
    '|| exit 1; case "$out" in *"\\"$1\\""*) exit 0 ;; esac; '
    'echo "the pub answers as another id"; exit 1'
)


SSB_ID = re.compile(r"^@[A-Za-z0-9+/]{43}=\.ed25519$")
"""A feed id: @, the ed25519 public key in base64, .ed25519."""


def ssb_identity(options: Mapping[str, str], identities: Identities) -> Picked:
    return pick_identity(options["identity"], identities, "ssb", "SSB",
                         none="ssb-pub needs a Secure Scuttlebutt identity",
                         none_hint="create one with `roost keys` (kind ssb), then deploy again")


def feed(picked: Picked) -> tuple[str, dict[str, str], str]:
    """A picked SSB identity's vault id, public part and feed id (checked)."""
    ident_id, ident = picked
    public = dict(ident.public)
    ssb_id = str(public.get("ssb_id", ""))
    if not SSB_ID.match(ssb_id):
        raise RoostError(f"the SSB identity {ident_id} has no usable id",
                         hint="make a new SSB identity with `roost keys`")
    return ident_id, public, ssb_id


def secret_file_template(ident_id: str, public: Mapping[str, str]) -> str:
    """The `~/.ssb/secret` text with `${private}` where the private key goes (the same text
    roost.keys.ssb writes locally, so both places hold the identical file)."""
    stand_in = Identity(ident_id, "ssb", dict(public), {"private": "${private}"})
    return ssb_secret_file_text(stand_in)


def config_json(address: str, port: int) -> bytes:
    net: dict[str, object] = {"scope": ["public", "local", "device"], "host": "0.0.0.0",  # noqa: S104
                           "port": port, "transform": "shs"}
    conf: dict[str, object] = {"port": port}
    if address:
        net["external"] = address
        try:
            ip = ipaddress.ip_address(address)
            conf["allowPrivate"] = ip.is_private  # invites for a home-network address
        except ValueError:
            pass
    conf["connections"] = {"incoming": {"net": [net]}, "outgoing": {"net": [{"transform": "shs"}]}}
    return (json.dumps(conf, indent=2) + "\n").encode()


@register(SERVICE)
def build_ssb_pub(facts: TargetHost | None, options: Mapping[str, str],
                  identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    ident_id, public, ssb_id = feed(ssb_identity(o, identities))
    name = public.get("profile_name", "")
    about = public.get("about_message", "")
    if not _VERSION.match(o["version"]):
        raise RoostError(f"{o['version']!r} is not an ssb-server version", hint="like 16.0.1")
    port = o.port("port")
    address = reach_address(o.text("address"), facts)
    run_node = ("env", f"HOME={HOME}", "node")
    steps: list[Step] = [
        InstallPackages(("nodejs", "npm")),
        EnsureUser("ssb", home=HOME),
        EnsureDir(HOME, mode=0o750, owner="ssb", group="ssb"),
        EnsureDir(SSB_DIR, mode=0o700, owner="ssb", group="ssb"),
        EnsureDir(OPT, mode=0o755),
        RunCommand(tuple(script(NPM_INSTALL, o["version"])),
                   unless=tuple(script(INSTALLED, o["version"])), timeout=1800,
                   description=f"install ssb-server {o['version']} from npm",
                   on_failure="check that the host reaches registry.npmjs.org and has 300 MB "
                              "free"),
        RenderTemplate(SECRET_FILE, text=secret_file_template(ident_id, public), mode=0o400,
                       owner="ssb", group="ssb",
                       values={"private": Secret(ident_id, "private")}),
        WriteFile(CONFIG, config_json(address, port), mode=0o644, owner="ssb", group="ssb"),
        WriteFile(ABOUT_JS, load_template("ssb-about.js"), mode=0o644),
        RenderTemplate(UNIT, template="ssb-server.service", mode=0o644),
        Restart("ssb-server", watch=(SECRET_FILE, CONFIG, UNIT)),
        EnableService("ssb-server"),
        WaitHealth("wait for the pub to answer as your id",
                   argv=tuple(script(WHOAMI, ssb_id)), timeout=90, interval=1),
    ]
    if about and name:
        steps.append(RunCommand(
            (*run_node, ABOUT_JS, "publish", about, name),
            unless=(*run_node, ABOUT_JS, "check", about, name), as_user="ssb", cwd=HOME,
            description=f"publish the profile name {name!r}"))
    shown = f"{address}:{port}" if address else f"port {port} of the host"
    return Recipe(
        id=SERVICE,
        version=o["version"],
        service_id=SERVICE,
        title="your Scuttlebutt pub",
        steps=tuple(steps),
        ports=(Port(port, units=("ssb-server",)),),
        backup=BackupSpec(paths=(SSB_DIR,), pause=("ssb-server",)),
        health=WaitHealth("check that the pub answers as your id",
                          argv=tuple(script(WHOAMI, ssb_id)), timeout=60, interval=1),
        next_steps=(
            f"Your pub runs as {ssb_id}" + (f" ({name})" if name else "") + f" at {shown}.",
            "Invite friends: on the host, "
            f"`{host_command(facts, INVITE, user='ssb', env=(f'HOME={HOME}',))}` prints a "
            "code; they paste it into Manyverse (phone) or Patchwork/Oasis (desktop) under "
            "\"join a pub\".",
            "For friends outside your home, the pub needs a public address and the port "
            f"{port} open on your router.",
            "Never run the same identity in two places at once: your feed would fork.",
        ),
        uninstall=(DisableService("ssb-server"), RemovePath(UNIT)),
        purge=(RemovePath(OPT), RemovePath(HOME)),
    )
