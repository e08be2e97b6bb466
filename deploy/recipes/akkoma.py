"""`akkoma` and `pleroma`: fediverse servers (ActivityPub, Mastodon-compatible) from upstream's
Erlang/OTP release, with PostgreSQL from Debian, run as a systemd unit behind nginx. Akkoma is
a fork of Pleroma; both releases have the same shape (a zip holding `release/` with
`bin/pleroma` and `bin/pleroma_ctl`), so one builder makes both.

What upstream's install guide does (docs/docs/installation/otp_en.md in Akkoma,
docs/installation/otp_en.md in Pleroma) and what roost does instead:

- The release: upstream curls a moving "latest of the stable branch" zip as the service user
  into its home. roost downloads it on this computer and checks it against upstream's own
  checksums file beside it (Akkoma's <file>.sha256; Pleroma publishes none, so roost trusts the
  first file it sees for a version: see upstream.toml), or takes --option artifact=PATH with
  --option sha256=HASH; it uploads it over SFTP and unzips it root-owned under
  /opt/<name>/releases/<sha256 prefix>/, with /opt/<name>/current pointing at it. The service
  cannot rewrite its own code; the Elixir release's runtime files go to
  RELEASE_TMP=/var/lib/<name>/tmp instead of the release folder.
- The configuration: upstream runs `pleroma_ctl instance gen --dbpass P`, which puts a database
  password in argv and writes it into the config. roost renders config.exs itself (the keys
  `instance gen` writes, from priv/templates/sample_config.eex) and connects to PostgreSQL over
  its Unix socket (Ecto's `socket_dir`) with peer authentication: the system user is the
  database role, so there is no database password at all.
- The secrets `instance gen` makes (secret_key_base: 64 characters, Endpoint and LiveView
  signing salts: 8, the Joken signer: 64, a P-256 web push key pair, url-safe base64 without
  padding) have ONE source: the fediverse identity in roost's key vault, which made them with
  `cryptography` (keys/fediverse.py). keys.fediverse.akkoma_secrets_exs renders them into
  secrets.exs (Elixir strings, escaped) at apply time; the file is uploaded with the
  secret-file step (RenderTemplate with Secret values: over SFTP, atomically, 0640
  root:<name>, never in argv or output), and config.exs imports it.
  `roost keys export ID --to FOLDER` writes the very same file, byte for byte, so the
  exported and the running secrets agree.
  Why the vault and not the host: the vault is where a person's secrets already live (backed
  up, exportable, the same after a host is rebuilt); secrets made on a host die with it. So a
  deploy needs a fediverse identity on the domain (`roost keys new fediverse ...`), which is
  also the first account.
  A host deployed before this (its secrets.exs made on the host by roost, from openssl
  output): the next deploy REPLACES that file with the vault's and restarts the server,
  because keeping it would leave the host and the vault disagreeing for good. What that costs,
  once: sessions signed with the old secret_key_base end (people log in again), and web push
  subscriptions made under the old VAPID key stop receiving notifications until the app
  subscribes again (apps do when they start or when the person logs in again).
- The release's Erlang cookie (releases/COOKIE) is the same in every copy of a published zip,
  so roost replaces it with one made on the host from /dev/urandom (64 hex digits, 0640
  root:<name>; it is never exported, nothing outside the host needs it), and the unit keeps
  Erlang distribution and epmd on 127.0.0.1. NOT SOLVED: Elixir's release script (the
  `cli_text` template in mix's release.init.ex) runs the VM with `--cookie "$RELEASE_COOKIE"`
  for start, eval and rpc, so the cookie is on the command line of the running server (and of
  every pleroma_ctl call), where any user of the host can read it and, over 127.0.0.1, run code
  as the service. Read in Elixir's source, not run here (no real release); a fix needs a real
  release to test, e.g. RELEASE_DISTRIBUTION=none with pleroma_ctl's PLEROMA_CTL_RPC_DISABLED.
- The database: upstream feeds a generated setup_db.psql to psql. roost writes its own
  /etc/<name>/setup_db.psql (no password in it) and feeds it to psql, run as postgres, on
  standard input: the role (LOGIN, no password), a UTF-8 database it owns and
  the extensions citext, pg_trgm and uuid-ossp (which need a superuser); every statement is
  idempotent. Then `pleroma_ctl migrate` as the service user, once per release.
- The first account: upstream's `pleroma_ctl user new NAME EMAIL --password P` puts the password
  in argv. Without --password, `user new` makes a random password and prints a password-reset
  URL (lib/mix/tasks/pleroma/user.ex, run(["new", ...]) then run(["reset_password", ...])).
  roost runs `user new NAME EMAIL --admin -y`, then `user reset_password NAME`, reads the token
  from its output, and posts the vault's password with the token to the reset endpoint
  (POST /api/v1/pleroma/password_reset, PasswordController.do_reset: data[token],
  data[password], data[password_confirmation]) from the host to 127.0.0.1, as JSON on curl's
  standard input. The password travels over SSH and a pipe, never argv, disk or the network.
  roost sends it already written as a JSON string (json.dumps: quoted, every `"`, backslash and
  control character escaped, ASCII only), which the script puts as it is into the body's two
  password fields next to the token (letters, digits, `-` and `_`, as the script checks), so
  any password works.

The health check is the shared fediverse proof
(activitypub.webfinger_probe) through nginx with `Host: domain`: WebFinger finds
acct:NAME@domain, its rel=self link leads to an actor document whose id, preferredUsername,
inbox and public key are the account's. It asks unsigned: Pleroma and Akkoma answer actors
unsigned unless `config :pleroma, :activitypub, authorized_fetch_mode: true`, which roost's
config.exs does not set (upstream's default was not checked against its source here; if it is
on, the check says in one line that the server wants a signed request)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.activitypub import webfinger_probe
from roost.deploy.recipes.gotosocial import fediverse_account
from roost.deploy.recipes.host import host_command, https_commands
from roost.deploy.recipes.upstream import (
    InstallArtifact,
    UpstreamService,
    release_layout,
)
from roost.deploy.steps.accounts import CreateAccount
from roost.deploy.steps.base import Secret, Step, script
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate, WriteFile
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart
from roost.keys import fediverse

OPTIONS = recipe_options("akkoma")
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
# What upstream's guide installs on Debian, with today's names: libncurses5 is gone from
# Debian 12/13 (libncurses6), libmagic comes with `file`; curl posts the first password to
# 127.0.0.1.
PACKAGES = ("postgresql", "postgresql-contrib", "unzip", "libncurses6", "file", "curl",
            "ca-certificates")
SOCKET_DIR = "/var/run/postgresql"


@dataclass(frozen=True)
class Flavor:
    name: str
    """Recipe id, service id, system user, database role and database name."""
    title: str

    @property
    def root(self) -> str:
        return f"/opt/{self.name}"

    @property
    def data(self) -> str:
        return f"/var/lib/{self.name}"

    @property
    def etc(self) -> str:
        return f"/etc/{self.name}"

    @property
    def config(self) -> str:
        return f"{self.etc}/config.exs"

    @property
    def secrets(self) -> str:
        return f"{self.etc}/secrets.exs"

    @property
    def cookie(self) -> str:
        return f"{self.etc}/erlang.cookie"

    @property
    def unit(self) -> str:
        return f"/etc/systemd/system/{self.name}.service"

    def env(self) -> tuple[str, ...]:
        """The environment every release command runs with (no secrets)."""
        return (f"HOME={self.data}", f"PLEROMA_CONFIG_PATH={self.config}",
                f"RELEASE_TMP={self.data}/tmp", "ERL_EPMD_ADDRESS=127.0.0.1")


AKKOMA = Flavor("akkoma", "Akkoma")
PLEROMA = Flavor("pleroma", "Pleroma")

# $1 the Erlang cookie file, $2 the service's group. Made only when missing, in a private
# temporary file first: 32 bytes of /dev/urandom as 64 hex digits (letters and digits, as an
# Erlang cookie must be), through pipes only.
GEN_COOKIE = r"""k=$1; g=$2; umask 077
od -An -vtx1 -N32 /dev/urandom | tr -dc 0-9a-f > "$k.roost-tmp" \
  && [ "$(wc -c < "$k.roost-tmp")" = 64 ] && chown "root:$g" "$k.roost-tmp" \
  && chmod 0640 "$k.roost-tmp" && mv "$k.roost-tmp" "$k" || { rm -f "$k.roost-tmp"; exit 6; }
"""
# $1 the host's cookie, $2 the release's releases/COOKIE, $3 group.
SET_COOKIE = ('cp "$1" "$2.roost-tmp" && chown "root:$3" "$2.roost-tmp" '
              '&& chmod 0640 "$2.roost-tmp" && mv "$2.roost-tmp" "$2"')
SAME_COOKIE = 'cmp -s "$1" "$2"'

# Idempotent database set-up, fed to `psql` as postgres on stdin. Names are validated
# ([a-z][a-z0-9_]*) before they are put in.
DB_SQL = """\\set ON_ERROR_STOP on
SELECT 'CREATE ROLE {n} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{n}')\\gexec
SELECT 'CREATE DATABASE {n} OWNER {n} ENCODING ''UTF8'' TEMPLATE template0 '
  'LC_COLLATE ''C.UTF-8'' LC_CTYPE ''C.UTF-8'''
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{n}')\\gexec
\\c {n}
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
"""
# $1 an SQL file, read by root and fed to psql (as postgres) on its standard input.
PSQL_FILE = 'runuser -u postgres -- psql -X -q -d postgres < "$1"'
DB_READY = ("n=$1; [ \"$(runuser -u postgres -- psql -XtAq -d \"$n\" -c \"SELECT count(*) FROM "
            "pg_extension WHERE extname IN ('citext','pg_trgm','uuid-ossp')\" 2>/dev/null)\" = 3 ]")
DB_DROP = """\\set ON_ERROR_STOP on
DROP DATABASE IF EXISTS {n};
DROP ROLE IF EXISTS {n};
"""
DB_GONE = ("n=$1; [ \"$(runuser -u postgres -- psql -XtAq -c \"SELECT count(*) FROM pg_roles "
           "WHERE rolname = '$n'\" 2>/dev/null)\" = 0 ]")
# $1 user, $2 pleroma_ctl, $3 the `current` link, $4 working folder, then the environment.
# The migrations of the release in use, once per release: the marker in the data folder $4 is
# named after the release folder `current` ($3) points at (the sha256 prefix of its file).
MIGRATE = 'u=$1; c=$2; r=$3; w=$4; shift 4; ' \
          'm="$w/.roost-migrated-$(basename "$(readlink "$r")")"; ' \
          'cd "$w" && runuser -u "$u" -- env "$@" "$c" migrate && touch "$m"'
MIGRATED = '[ -e "$1/.roost-migrated-$(basename "$(readlink "$2")")" ]'
# The password reset's JSON body, from $tok (checked: letters, digits, - and _) and $pw (the
# password as a JSON string, made by json.dumps), on standard output.
RESET_BODY = ("""printf '{"data":{"token":"%s","password":%s,"password_confirmation":%s}}' """
              '"$tok" "$pw" "$pw"')
# $1 user, $2 pleroma_ctl, $3 nickname, $4 e-mail, $5 port, $6 marker, $7 working folder, then
# the environment. The first line of standard input is the password as a JSON string (made by
# json.dumps). `user new` without --password makes a random one; `user reset_password` prints a
# one-time URL whose token is posted with the password (JSON on curl's stdin) to the server on
# 127.0.0.1.
ADMIN_CREATE = r"""u=$1; c=$2; n=$3; e=$4; p=$5; m=$6; w=$7; shift 7
IFS= read -r pw || exit 3
case $pw in '"'*'"') ;; *) echo 'the password did not come as a JSON string' >&2; exit 6;; esac
cd "$w" || exit 3
i=0; until curl -fsS -o /dev/null "http://127.0.0.1:$p/api/v1/instance" 2>/dev/null; do
  i=$((i+1)); [ $i -lt 120 ] || { echo "the server did not answer on 127.0.0.1:$p" >&2; exit 7; }
  sleep 1
done
if [ ! -e "$m.created" ]; then
  # A deploy cut after `user new` and before the touch left the account without the mark:
  # `user new` then fails (the name is taken); the password reset below finds the account.
  if runuser -u "$u" -- env "$@" "$c" user new "$n" "$e" --admin -y > /dev/null; then
    touch "$m.created"
  else
    echo "pleroma_ctl user new failed: setting the password of an existing @$n instead" >&2
  fi
fi
out=$(runuser -u "$u" -- env "$@" "$c" user reset_password "$n") || {
  echo "pleroma_ctl could not reset the password of @$n (no such account?)" >&2; exit 9; }
tok=$(printf '%s\n' "$out" | sed -n 's|.*/password_reset/\([A-Za-z0-9_-]*\).*|\1|p' | head -n 1)
[ -n "$tok" ] || { echo "pleroma_ctl printed no password reset link" >&2; exit 10; }
ans=$(""" + RESET_BODY + r""" \
  | curl -fsS -H 'Content-Type: application/json' -H 'Accept: text/html' \
    --data-binary @- "http://127.0.0.1:$p/api/v1/pleroma/password_reset") || exit 11
case $ans in
  *"Password changed"*) ;;
  *) echo "the server refused the new password" >&2; exit 12;;
esac
touch "$m"
"""


@register("akkoma")
def build_akkoma(host: TargetHost | None, options: Mapping[str, str],
                 identities: Identities) -> Recipe:
    return _build(AKKOMA, host, options, identities)


@register("pleroma")
def build_pleroma(host: TargetHost | None, options: Mapping[str, str],
                  identities: Identities) -> Recipe:
    return _build(PLEROMA, host, options, identities)


def _account(f: Flavor, o: Mapping[str, str], identities: Identities, domain: str
             ) -> tuple[str, str, str]:
    """The fediverse identity the secrets and first account come from: (id, user, e-mail)."""
    account = fediverse_account(o, identities, domain)
    if account is None:
        raise RoostError(f"{f.title}'s secrets come from a fediverse identity on {domain} in "
                         "the key vault, and there is none",
                         hint="make one (it is also the first account): roost keys new "
                              f"fediverse --handle NAME --domain {domain} --email YOU@EXAMPLE"
                              ".ORG --software akkoma")
    ident_id, user, email = account
    public = identities[ident_id].public
    if not all(public.get(k) for k in fediverse.AKKOMA_PUBLIC):
        raise RoostError(f"the fediverse identity {ident_id} has no web push key",
                         hint="make a new one with `roost keys new fediverse`")
    if '"' in email or "\\" in email or "#" in email:
        raise RoostError("the e-mail address cannot go into the configuration",
                         hint="use an address without quotes, backslashes or #")
    return ident_id, user, email


def _database_steps(f: Flavor, install: InstallArtifact) -> list[Step]:
    """The PostgreSQL role and database (peer login), then the release's migrations."""
    ctl = f"{install.current}/bin/pleroma_ctl"
    return [
        WriteFile(f"{f.etc}/setup_db.psql", DB_SQL.format(n=_db_name(f.name)), mode=0o640,
                  owner="root", group=f.name),
        RunCommand(tuple(script(PSQL_FILE, f"{f.etc}/setup_db.psql")),
                   unless=tuple(script(DB_READY, f.name)),
                   description=f"create the PostgreSQL role and database {f.name} (peer "
                               "login, no password) with citext, pg_trgm and uuid-ossp"),
        RunCommand(tuple(script(MIGRATE, f.name, ctl, install.current, f.data, *f.env())),
                   unless=tuple(script(MIGRATED, f.data, install.current)),
                   description=f"migrate {f.title}'s database for this release",
                   on_failure="see the output above; PostgreSQL must be running "
                              "(systemctl status postgresql)"),
    ]


def _next_steps(f: Flavor, host: TargetHost | None, domain: str, user: str, ident_id: str,
                ctl: str) -> tuple[str, ...]:
    """What to tell the person once it runs: their account, HTTPS, and a web interface."""
    env = f.env()
    return (
        f"Your account is @{user}@{domain} (an admin); its password is in roost's key "
        f"vault (`roost keys show {ident_id} --secret`).",
        f"Point {domain} at this host (DNS A/AAAA record) and give it HTTPS before you "
        f"use it: other servers only talk to https://{domain}. For example, on the host: "
        f"{https_commands(host, domain)}. Uploads are served from the same name; upstream "
        "advises a separate media name later.",
        "A web interface is not part of the release: install one on the host with "
        f"`{host_command(host, (ctl, 'frontend', 'install', 'pleroma-fe', '--ref', 'stable'), user=f.name, env=env)}`"  # noqa: E501
        ", or use a Mastodon app (Tusky, Ice Cubes, "
        f"Phanpy) with the server name {domain}.",
    )


def _build(f: Flavor, host: TargetHost | None, options: Mapping[str, str],
           identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, f.name)
    svc = UpstreamService.read(f.name, host, o, f.root, max_body="40m")
    domain, port, listen, address = svc.domain, svc.port, svc.listen, svc.address
    ident_id, user, email = _account(f, o, identities, domain)
    public = identities[ident_id].public
    art, install = svc.art, svc.install
    ctl = f"{install.current}/bin/pleroma_ctl"
    env = f.env()
    steps: list[Step] = [
        InstallPackages(PACKAGES),
        *release_layout(install, f.name, f.data, folders=("uploads", "static", "tmp"),
                        between=(EnsureDir(f.etc, mode=0o750, owner="root", group=f.name),)),
        RenderTemplate(f.secrets, render=fediverse.akkoma_secrets_exs, mode=0o640,
                       owner="root", group=f.name, values={
                           **{k: Secret(ident_id, k) for k in fediverse.AKKOMA_SECRETS},
                           **{k: str(public[k]) for k in fediverse.AKKOMA_PUBLIC}}),
        RunCommand(tuple(script(GEN_COOKIE, f.cookie, f.name)),
                   creates=f.cookie,
                   description="make an Erlang cookie of this host's own"),
        RunCommand(tuple(script(SET_COOKIE, f.cookie, f"{install.current}/releases/COOKIE",
                                f.name)),
                   unless=tuple(script(SAME_COOKIE, f.cookie,
                                       f"{install.current}/releases/COOKIE")),
                   description="give the release this host's own Erlang cookie"),
        RenderTemplate(f.config, template="akkoma-config.exs", mode=0o640, owner="root",
                       group=f.name, values={
                           "service": f.name, "domain": domain, "port": str(port),
                           "email": email, "data": f.data, "user": f.name,
                           "secrets": f.secrets}),
        *_database_steps(f, install),
        RenderTemplate(f.unit, template="akkoma.service", mode=0o644, values={
            "service": f.name, "title": f.title, "user": f.name, "data": f.data,
            "config": f.config, "release": install.current}),
        EnableService(f.name),
        Restart(f.name, watch=(f.config, f.secrets, f.unit, install.current)),
        *svc.proxy,
    ]
    site = Site(address, domain, listen)
    marker = f"{f.data}/.roost-admin-{user}"
    steps.append(CreateAccount(
        tuple(script(ADMIN_CREATE, f.name, ctl, user, email, str(port), marker, f.data, *env)),
        Secret(ident_id, "password"), exists=("test", "-e", marker), encode=json.dumps,
        description=f"create the admin account @{user}@{domain}"))
    probe = webfinger_probe(site, user)
    drop = RunCommand(("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-d", "postgres"),
                      stdin=DB_DROP.format(n=_db_name(f.name)),
                      unless=tuple(script(DB_GONE, f.name)),
                      description=f"drop the PostgreSQL database and role {f.name}")
    return Recipe(
        id=f.name,
        version=art.version,
        # An Elixir release names its own version: "ERTS_VSN APP_VSN" in start_erl.data.
        version_argv=("cut", "-d", " ", "-f", "2", f"{install.current}/releases/start_erl.data"),
        service_id=f.name,
        title=f"{f.title} for {domain}",
        steps=tuple(steps),
        ports=(Port(listen, units=("nginx",), option="listen"), Port(port, units=(f.name,)),
               Port(5432, units=("postgresql",), option=None)),
        health=WaitHealth(f"check that {f.title} answers for {domain} through nginx",
                          probe=probe, site=site, timeout=180, interval=2.0),
        next_steps=_next_steps(f, host, domain, user, ident_id, ctl),
        uninstall=(DisableService(f.name), RemovePath(f.unit), *svc.unproxy),
        purge=(drop, RemovePath(f.data), RemovePath(f.root), RemovePath(f.etc)),
    )


def _db_name(name: str) -> str:
    if not name.isascii() or not name.isalpha() or not name.islower():
        raise RoostError(f"{name!r} cannot be a database name")
    return name

