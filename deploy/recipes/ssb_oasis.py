"""`ssb-oasis`: Oasis, the Secure Scuttlebutt app in the web browser, run by systemd for a
dedicated user, as the key vault's SSB identity, on 127.0.0.1 port 3000 only.

What this follows in upstream Oasis (github.com/fraction/oasis, commit bd0b3f54c707, the last
one, May 2022, package version 2.17.0): it is started as `node src/index.js` (its `bin`), with
its own flags `--host`, `--port`, `--allow-host` (the extra host name the browser may use,
`localhost` through an SSH tunnel) and `--no-open`; it first tries an SSB server already running
for the same `~/.ssb`, else starts its own (secret-stack with ssb-db, ssb-conn, ssb-ws ... on
the ports of `~/.ssb/config`: 8008 for peers, 8989 for ssb-ws by default); its identity is
`~/.ssb/secret`. `GET /.well-known/oasis` answers `oasis` (behind the middleware that opens the
SSB connection, so it also proves the SSB server is up); `GET /profile` shows the feed id;
`POST /profile/edit` (multipart: name, description, an empty image part) sets the profile name,
`POST /settings/invite/accept` (field `invite`) redeems a pub invite. Non-GET requests need a
Referer on the same host, and every request a Host header Oasis knows.

Where the source comes from:
- `--option artifact=PATH --option sha256=HASH`: a tar.gz of the repository with its files at
  the top (`git archive --format=tar.gz -o oasis.tar.gz HEAD` in a clone), checked against the
  hash here, uploaded over SFTP and unpacked by `upstream.InstallArtifact` (reused, with the
  entry point `src/index.js` as its "binary"). This is the path the tests run.
- otherwise, for hosts that reach GitHub: `git clone` of the upstream repository on the host,
  checked out at the pinned commit above (confirmed from a copy of the repository) or
  `--option commit=SHA`. GitHub cannot be reached from the test machines: this path is shown by
  the dry run and never ran here.
Its npm dependencies are installed on the host with `npm install --omit=dev` (upstream's lock
file, lockfileVersion 1, is honoured). One of them, ssb-validate2-rsjs-node 1.0.4 (under ssb-db2,
which ssb-friends and ssb-replication-scheduler need), downloads a prebuilt library from
github.com in its install script and otherwise builds it with Rust's `nj-cli`; where that fails
the recipe installs again with `--ignore-scripts` and checks that the native modules Oasis
uses (leveldown, sodium-native) load from their bundled prebuilds.

Measured by hand (not CI) with the REAL Oasis, a `git archive` of that commit, on the Debian
test containers (Node.js 18.20.4 from Debian), which cannot reach GitHub. One run of this recipe
with a name and an invite from a real ssb-server pub (the ssb-pub recipe on a second container)
took 231 s: apt 85 s; npm 137 s (the first install failed in that script, the fallback installed
611 packages, 174 MB); the rest 10 s. Oasis listened on 127.0.0.1:3000, *:8008 and
127.0.0.1:8989, answered `oasis`, showed the vault's id on /profile, took the profile name
through /profile/edit and used 126 MB of memory. The invite was redeemed in 6 s: Oasis then
crashed in ssb-invite (`server.gossip.add is not a function`: the "exits after redeeming"),
systemd started it again, and the pub's feed held a contact message following the vault's id. A
second run applied nothing (1.4 s); uninstall (0.4 s) kept ~/.ssb; deploying again (4.4 s) found
the name and the follow; purge (5.8 s) removed /opt/oasis and /var/lib/oasis.

One identity, one place: Oasis and `ssb-pub` on one host with the same identity would be two
SSB servers writing the same feed from two databases, and the feed would fork. The recipe
checks this first and refuses, offering: another SSB identity for Oasis
(`--option identity=ID`; the pub keeps its own) or removing the pub. With another identity both
can run on one host when their ports differ: the pub has 8008 (and ssb-ws 8989), so give
Oasis `--option ssb_port=8010 --option ws_port=8990`; the same check refuses any port already
taken (Synapse uses 8008 too)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from roost.core.errors import RoostError
from roost.deploy.options import Values, recipe_options
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import host_command
from roost.deploy.recipes.identity import Picked
from roost.deploy.recipes.ssb_pub import feed, secret_file_template, ssb_identity
from roost.deploy.recipes.upstream import Artifact, InstallArtifact, check_sha256
from roost.deploy.steps.accounts import EnsureUser
from roost.deploy.steps.base import Secret, Step, script
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate, WriteFile, load_template
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.keys.ssb import profile_name

SERVICE = "ssb-oasis"
"""The catalog id this recipe installs: its registry name, options and journal."""
REPO = "https://github.com/fraction/oasis.git"
VERSION = "2.17.0"
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
PINNED_COMMIT = OPTIONS.default("commit")
"""The last commit of fraction/oasis (3 May 2022, package version 2.17.0), read from a copy of
the repository; the v2.17.0 tag is df2ebced and lacks the ssb-friends fix after it."""
USER = "oasis"
HOME = "/var/lib/oasis"
SSB_DIR = f"{HOME}/.ssb"
SECRET_FILE = f"{SSB_DIR}/secret"
CONFIG = f"{SSB_DIR}/config"
OPT = "/opt/oasis"
CURRENT = f"{OPT}/current"
HELPER = f"{OPT}/roost-oasis.js"
UNIT = "/etc/systemd/system/oasis.service"
ENTRY = "src/index.js"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_KEY = r"[A-Za-z0-9+/]{43}="
# Legacy invites: host:port:@key.ed25519~seed; multiserver ones: net:host:port~shs:key:seed.
_INVITE_LEGACY = re.compile(rf"^[A-Za-z0-9.:\[\]-]+:[0-9]{{1,5}}:(@{_KEY}\.ed25519)~{_KEY}$")
_INVITE_MS = re.compile(rf"^net:[A-Za-z0-9.:\[\]-]+:[0-9]{{1,5}}~shs:({_KEY}):{_KEY}$")

# $1 the id, $2 $3 $4 the ports. Refuse when an ssb-pub on this host runs as the same identity,
# or (while Oasis itself is not running) when one of the ports is taken.
CONFLICTS = (
    'if systemctl cat ssb-server.service >/dev/null 2>&1 '
    '&& grep -qF -- "$1" /var/lib/ssb/.ssb/secret 2>/dev/null; then '
    'echo "the ssb-pub on this host runs as the same identity"; exit 1; fi; '
    'systemctl is-active --quiet oasis && exit 0; shift; for p in "$@"; do '
    'if ss -Htln "sport = :$p" | grep -q .; then echo "port $p is already in use"; exit 1; fi; '
    'done; exit 0'
)
# $1 the release folder. Install Oasis's npm dependencies there (as upstream's install guide).
# When an install script fails (ssb-validate2-rsjs-node fetches its prebuilt library from
# github.com, else needs a Rust toolchain), install again without install scripts: Oasis ran so
# (see the module docstring); leveldown and sodium-native load their bundled prebuilds, and
# the check below proves they do.
NPM_INSTALL = (
    'set -e; cd "$1"; rm -f .roost-npm-done .roost-npm-partial; '
    'if ! npm install --omit=dev --no-audit --no-fund --loglevel=error; then '
    'echo "an npm install script failed (some fetch prebuilt parts from github.com):" '
    '"installing again without install scripts"; '
    'npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error; '
    'touch .roost-npm-partial; fi; '
    'for m in leveldown sodium-native ssb-keys; do if [ -d "node_modules/$m" ]; then '
    'node -e "require(process.argv[1])" "./node_modules/$m"; fi; done; touch .roost-npm-done'
)
NPM_DONE = '[ -f "$1/.roost-npm-done" ] && [ -d "$1/node_modules" ]'
# $1 repository, $2 commit, $3 release folder, $4 the "current" link.
GIT_CLONE = (
    'set -e; u=$1; c=$2; d=$3; cur=$4; rm -rf "$d.roost-tmp"; '
    'git clone --quiet --no-checkout -- "$u" "$d.roost-tmp"; '
    'git -C "$d.roost-tmp" -c advice.detachedHead=false checkout --quiet "$c"; '
    'echo "$c" > "$d.roost-tmp/.roost-commit"; rm -rf "$d"; mv "$d.roost-tmp" "$d"; '
    'ln -sfn "$d" "$cur.roost-tmp"; mv -T "$cur.roost-tmp" "$cur"'
)
GIT_DONE = '[ "$(readlink "$1")" = "$2" ] && [ "$(cat "$2/.roost-commit" 2>/dev/null)" = "$3" ]'


class InstallSource(InstallArtifact):
    """`upstream.InstallArtifact` for a source archive: its "binary" is the entry point
    `src/index.js`, a path inside the archive."""

    def __post_init__(self) -> None:
        if not self.root.startswith("/opt/") or ".." in self.root:
            raise RoostError(f"{self.root!r} is not a folder under /opt")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", self.file) or \
                not re.match(r"^[a-z0-9]+(/[a-z0-9]+)*\.js$", self.binary):
            raise RoostError("the archive's file name or entry point is not usable")

    def describe(self) -> str:
        return "install Oasis from the source archive you gave"

    def hint(self) -> str:
        return ("the archive may be damaged or not Oasis: it must hold the repository's files "
                "at its top (src/index.js), as `git archive --format=tar.gz HEAD` makes it")


def invite_pub_id(code: str) -> str:
    """The pub's feed id from an invite code (legacy or multiserver form)."""
    code = code.strip()
    m = _INVITE_LEGACY.match(code)
    if m:
        return m.group(1)
    m = _INVITE_MS.match(code)
    if m:
        return f"@{m.group(1)}.ed25519"
    raise RoostError("the invite is not a Scuttlebutt pub invite",
                     hint="paste the whole code the pub gave, like host:8008:@key.ed25519~seed")


def read_invite_file(value: str) -> str:
    """The invite code from the first line of a file on this computer (its text is never put
    in a message)."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise RoostError(f"{path} is not a file",
                         hint="save the pub's invite code in a file and give its path")
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise RoostError(f"cannot read {path} ({type(exc).__name__})") from None
    line = head.decode("utf-8", "replace").splitlines()[0].strip() if head.strip() else ""
    if not line:
        raise RoostError(f"{path} is empty", hint="put the pub's invite code on its first line")
    return line


def config_json(ssb_port: int, ws_port: int) -> bytes:
    """~/.ssb/config: the peer port and ssb-ws on localhost; ssb-config fills in the rest."""
    conf = {
        "port": ssb_port,
        "ws": {"port": ws_port},
        "connections": {"incoming": {
            "net": [{"port": ssb_port, "scope": ["device", "local"], "transform": "shs"}],
            "ws": [{"host": "127.0.0.1", "port": ws_port, "scope": ["device"],
                    "transform": "shs"}],
        }},
    }
    return (json.dumps(conf, indent=2) + "\n").encode()


def _identity(o: Mapping[str, str], identities: Identities) -> Picked:
    if not any(v.kind == "ssb" for v in identities.values()):
        raise RoostError("Oasis needs a Secure Scuttlebutt identity",
                         hint="create one with `roost keys` (kind ssb), then deploy again")
    return ssb_identity(o, identities)


def _invite(o: Values, ssb_id: str) -> tuple[str, str]:
    """The pub invite to redeem (from `invite` or `invite_file`) and its pub's id, or ("", "")."""
    invite = o["invite"].strip()
    if o["invite_file"]:
        if invite:
            raise RoostError("give the invite or invite_file, not both",
                             hint="invite_file keeps the code off roost's command line")
        invite = read_invite_file(o["invite_file"])
    pub_id = invite_pub_id(invite) if invite else ""
    if pub_id == ssb_id:
        raise RoostError("the invite comes from a pub with your own identity",
                         hint="redeem an invite from someone else's pub")
    return invite, pub_id


def _install_step(o: Values) -> tuple[Step, str]:
    """The step that puts Oasis's code in place (a local archive or a git commit), and its
    release folder."""
    if o["artifact"]:
        if not o["sha256"]:
            raise RoostError("the Oasis archive needs its sha256",
                             hint="run `sha256sum FILE` and pass --option sha256=HASH")
        local = Path(o["artifact"]).expanduser()
        if not local.is_file():
            raise RoostError(f"{local} is not a file",
                             hint="give a tar.gz of the Oasis repository")
        name_ok = re.match(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", local.name)
        art = Artifact("oasis", "archive", "", local.name if name_ok else "oasis.tar.gz", "",
                       check_sha256(o["sha256"]), ENTRY)
        install: Step = InstallSource.of(art, OPT, str(local.resolve()))
        release = InstallSource.of(art, OPT).release
    else:
        if o["sha256"]:
            raise RoostError("the sha256 option goes with --option artifact=PATH")
        commit = o["commit"].strip().lower()
        if not _COMMIT.match(commit):
            raise RoostError(f"{o['commit'][:50]!r} is not a git commit",
                             hint="give the 40 hexadecimal characters of a commit")
        release = f"{OPT}/releases/git-{commit[:16]}"
        install = RunCommand(
            tuple(script(GIT_CLONE, REPO, commit, release, CURRENT)),
            unless=tuple(script(GIT_DONE, CURRENT, release, commit)), timeout=900,
            description=f"download Oasis from GitHub at commit {commit[:12]}",
            on_failure="the host must reach github.com; without it, make an archive "
                       "elsewhere and pass --option artifact=PATH --option sha256=HASH")
    return install, release


def _profile_steps(port: int, name: str, invite: str, pub_id: str) -> list[Step]:
    """Once Oasis answers: publish the profile name and redeem the pub invite, when given."""
    steps: list[Step] = []
    if name:
        steps.append(RunCommand(
            ("node", HELPER, "set-name", str(port), name),
            unless=("node", HELPER, "name-is", str(port), name), timeout=120,
            description=f"publish the profile name {name!r}"))
    if pub_id:
        steps.append(RunCommand(
            ("node", HELPER, "accept-invite", str(port), pub_id),
            stdin=invite + "\n",
            unless=("node", HELPER, "follows", str(port), pub_id), timeout=420,
            description=f"redeem the invite of the pub {pub_id[:12]}…",
            on_failure="the pub may be unreachable from this host or the invite used up: "
                       "ask for a new one"))
    return steps


def _next_steps(facts: TargetHost | None, ssb_id: str, name: str, port: int) -> tuple[str, ...]:
    """What to tell the person once Oasis runs: how to reach it from their computer."""
    target = TargetHost.of(facts)
    address = target.address or "HOST"
    here = target.name == "local" or address in ("localhost", "127.0.0.1", "::1")
    shown = f" ({name})" if name else ""
    reach = (f"Open http://localhost:{port} in your web browser." if here else
             f"From your computer: run `ssh -L {port}:localhost:{port} YOUR-USER@{address}`, "
             f"keep it open, then open http://localhost:{port} in your web browser.")
    return (
        f"Oasis runs as {ssb_id}{shown}, on port {port} of the host itself only.",
        reach,
        "On the host itself a text browser works too: install one with "
        f"`{host_command(facts, ('apt-get', 'install', 'w3m'))}`, then run "
        f"`w3m http://localhost:{port}`.",
        "Redeem a pub invite under Settings, or save its code in a file FILE and run "
        f"`roost deploy ssb-oasis --host {target.name or 'NAME'} --option "
        "invite_file=FILE`.",
        "Never run the same identity in two places at once: your feed would fork.",
    )


@register(SERVICE)
def build_ssb_oasis(facts: TargetHost | None, options: Mapping[str, str],
                    identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    ident_id, public, ssb_id = feed(_identity(o, identities))
    name = profile_name(o["name"]) if o["name"] else public.get("profile_name", "")
    port, ssb_port, ws_port = o.port("port"), o.port("ssb_port"), o.port("ws_port")
    if len({port, ssb_port, ws_port}) != 3:
        raise RoostError("the port, ssb_port and ws_port options must differ",
                         hint="Oasis uses 3000, 8008 and 8989 unless told otherwise")
    invite, pub_id = _invite(o, ssb_id)

    steps: list[Step] = [
        InstallPackages(("nodejs", "npm") if o["artifact"] else ("nodejs", "npm", "git")),
        RunCommand(tuple(script(CONFLICTS, ssb_id, str(port), str(ssb_port), str(ws_port))),
                   unless=tuple(script(CONFLICTS, ssb_id, str(port), str(ssb_port),
                                       str(ws_port))),
                   description="check that no pub runs as this identity and the ports are free",
                   on_failure="one identity must run in one place only: choose another SSB "
                              "identity for Oasis with --option identity=ID, or remove the pub "
                              "(roost undeploy ssb-pub); for a taken port give --option "
                              "ssb_port=, ws_port= or port="),
        EnsureUser(USER, home=HOME),
        EnsureDir(HOME, mode=0o750, owner=USER, group=USER),
        EnsureDir(SSB_DIR, mode=0o700, owner=USER, group=USER),
        EnsureDir(OPT, mode=0o755),
        EnsureDir(f"{OPT}/releases", mode=0o755),
    ]
    install, release = _install_step(o)
    marker = f"{release}/.roost-npm-done"
    steps += [
        install,
        RunCommand(tuple(script(NPM_INSTALL, release)), unless=tuple(script(NPM_DONE, release)),
                    timeout=2400, description="install Oasis's npm dependencies",
                    on_failure="check that the host reaches registry.npmjs.org and has "
                               "500 MB free"),
        RenderTemplate(SECRET_FILE, text=secret_file_template(ident_id, public), mode=0o400,
                       owner=USER, group=USER, values={"private": Secret(ident_id, "private")}),
        WriteFile(CONFIG, config_json(ssb_port, ws_port), mode=0o644, owner=USER, group=USER),
        WriteFile(HELPER, load_template("oasis-roost.js"), mode=0o644),
        RenderTemplate(UNIT, template="oasis.service", mode=0o644,
                       values={"port": str(port), "entry": f"{CURRENT}/{ENTRY}"}),
        Restart("oasis", watch=(SECRET_FILE, CONFIG, UNIT, CURRENT, marker)),
        EnableService("oasis"),
        WaitHealth("wait for Oasis to answer as your id",
                   argv=("node", HELPER, "whoami", str(port), ssb_id), timeout=300,
                   interval=2),
    ]
    steps += _profile_steps(port, name, invite, pub_id)
    next_steps = _next_steps(facts, ssb_id, name, port)
    return Recipe(
        id=SERVICE,
        version=VERSION if not o["artifact"] and o["commit"].strip().lower() == PINNED_COMMIT
        else "",
        version_argv=("node", "-p", f"require('{CURRENT}/package.json').version"),
        service_id=SERVICE,
        title="Oasis, your Scuttlebutt app",
        steps=tuple(steps),
        ports=(Port(port, units=("oasis",)), Port(ssb_port, units=("oasis",), option="ssb_port"),
               Port(ws_port, units=("oasis",), option="ws_port")),
        health=WaitHealth("check that Oasis answers on its page",
                          argv=("node", HELPER, "health", str(port)), timeout=120, interval=2),
        next_steps=next_steps,
        uninstall=(DisableService("oasis"), RemovePath(UNIT)),
        purge=(RemovePath(OPT), RemovePath(HOME)),
    )
