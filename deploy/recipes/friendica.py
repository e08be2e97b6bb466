"""`friendica`: Friendica from upstream's release file (friendica-full-VERSION.tar.gz, PHP with
its libraries included) with MariaDB, PHP-FPM and nginx, installed by upstream's own unattended
installer, `bin/console autoinstall -f FILE`.

Only on a host with enough memory: the catalog's requirement (512 megabytes) is checked
against the host's facts (the cached ones for a dry run, the ones read on connecting for a
deploy) before any step runs, and a smaller host is refused in one line.

How it is put together (each point checked in Friendica's source):
- The release is unpacked under /opt/friendica/releases/ (its one top folder is
  friendica-full-VERSION) and /opt/friendica/current points at it.
- Commands run as `php bin/console.php ...`: upstream's bin/console is a bash wrapper around
  it, which `php` itself would only print.
- The settings are /etc/friendica/local.config.php, rendered by roost (0640 root:www-data).
  Friendica reads its config folder from FRIENDICA_CONFIG_DIR (src/Core/Config/Factory/
  Config.php), given to PHP-FPM by nginx, to the worker by its unit and to every console
  command, so the settings, and node.config.php that the admin pages write (the folder is
  0770 root:www-data), survive a new release. autoinstall copies its -f file into the
  release's config/local.config.php unless the file IS that path, so roost links that path to
  /etc/friendica/local.config.php and runs `autoinstall -f config/local.config.php`.
- The database is reached over MariaDB's socket as www-data (unix_socket authentication):
  Friendica's Database::connect accepts `socket` with an empty host and an empty password.
  autoinstall refuses a database that already has a `user` table, so roost runs it only
  when that table is missing.
- A new release file: /opt/friendica/current switches to it, the link and the template
  cache's owner are made again, and the settings and database stay; Friendica updates its
  database schema itself on the next request (upstream's doc/Update.md, "it may go into
  maintenance mode").
- The worker (upstream: "once every 5-10 minutes", bin/worker.php) is a systemd timer.
- The admin: Friendica treats the account whose e-mail is the config's admin_email as the
  admin. `bin/console user add NAME NICK EMAIL LANG` makes the account (User::createMinimal
  also mails it a random first password and returns whether that mail went out, so its exit
  status says nothing about the account: roost goes on, and `user password` fails loudly if
  the account is missing). `bin/console user password NICK` without a password argument
  asks for it with seld/cli-prompt's hiddenPrompt, which reads one line of standard input
  with `read -r` in a shell (a builtin): the password from the key vault travels over SSH
  and pipes only, never in argv. That prompt hands the line back through an unquoted
  `echo`, so roost refuses a password with characters the shell would change (spaces,
  * ? [, a leading -); Friendica allows only letters, digits and ASCII punctuation anyway
  (User::getPasswordRegExp)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes import mariadb
from roost.deploy.recipes.host import https_commands, reach_address
from roost.deploy.recipes.logins import pick_login
from roost.deploy.recipes.upstream import InstallArtifact, choose
from roost.deploy.steps.accounts import CreateAccount
from roost.deploy.steps.base import Secret, Step, load_script, script
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import EnsureDir, RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages
from roost.deploy.steps.services import DisableService, EnableService, Restart

SERVICE = "friendica"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
MIN_RAM_MB = 512
"""The catalog's requirements.ram_mb for friendica (a test keeps the two equal)."""
# Upstream's doc/Install.md: Curl, GD, GMP, PDO, mbstring, MySQLi, xml, zip, IntlChar, IDN,
# OpenSSL and POSIX; ImageMagick is recommended (animated GIF and WebP).
PACKAGES = ("mariadb-server", "nginx", "php-fpm", "php-cli", "php-mysql", "php-curl", "php-gd",
            "php-gmp", "php-mbstring", "php-xml", "php-zip", "php-intl", "php-imagick")
ROOT = "/opt/friendica"
CONF_DIR = "/etc/friendica"
CONF = f"{CONF_DIR}/local.config.php"
SITE = "/etc/nginx/sites-available/roost-friendica.conf"
SITE_ON = "/etc/nginx/sites-enabled/roost-friendica.conf"
UNIT = "/etc/systemd/system/friendica-worker.service"
TIMER = "/etc/systemd/system/friendica-worker.timer"
ENV = f"FRIENDICA_CONFIG_DIR={CONF_DIR}"
_NICK = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

DATABASE_SQL = (
    b"CREATE DATABASE IF NOT EXISTS friendica DEFAULT CHARACTER SET utf8mb4 "
    b"COLLATE utf8mb4_general_ci;\n"
    b"CREATE USER IF NOT EXISTS 'www-data'@'localhost' IDENTIFIED VIA unix_socket;\n"
    b"GRANT ALL PRIVILEGES ON friendica.* TO 'www-data'@'localhost';\n"
    b"FLUSH PRIVILEGES;\n"
)
# $1 the release's application folder, $2 nickname, $3 display name, $4 e-mail, $5 marker.
# The password is the first line of standard input; printf is a builtin, so it is in no
# process's arguments. `user add` fails harmlessly when the account exists (a resumed run);
# `user password` then fails loudly if the account is still missing.
ADMIN_CREATE = load_script("friendica-admin.sh")


def json_probe(site: Site, url: str) -> Callable[[], bool | str]:
    """From this computer: GET /friendica/json through nginx at the host's address with
    `Host: domain` (Friendica's own self-description, src/Module/Friendica.php) and check it
    is Friendica at `url`."""

    def probe() -> bool | str:
        r = site.get("/friendica/json", timeout=10.0)
        if r.status_code != 200:
            return f"/friendica/json answered {r.status_code}"
        try:
            data = r.json()
        except ValueError:
            return "/friendica/json did not answer JSON"
        if not isinstance(data, dict) or data.get("platform") != "friendica":
            return "/friendica/json does not say it is Friendica"
        if str(data.get("url", "")).rstrip("/") != url:
            return f"Friendica says it is {str(data.get('url'))[:80]!r}, not {url}"
        return True

    probe.__qualname__ = f"GET {site.shown('/friendica/json')}"
    return probe


def check_memory(host: TargetHost | None) -> None:
    """Refuse, in one line, a host with less memory than the catalog's requirement, and say
    what fits it instead: a public server, or the lighter GoToSocial that talks to the same
    fediverse."""
    target = TargetHost.of(host)
    ram = target.ram_mb
    if ram is not None and 0 < ram < MIN_RAM_MB:
        name = target.name or "NAME"
        raise RoostError(f"Friendica needs at least {MIN_RAM_MB} megabytes of memory and "
                         f"{name} has {ram}, so roost will not install it there",
                         hint="join a public Friendica server listed at "
                              "https://dir.friendica.social/servers, or let roost set up the "
                              f"lighter GoToSocial: roost deploy gotosocial --host {name}")


def _admin(o: Mapping[str, str], identities: Identities, domain: str) -> tuple[str, str, str]:
    """The admin account: its identity id (the password's vault entry), nickname and e-mail."""
    ident, login = pick_login(identities, o["identity"], "friendica")
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,40}$", ident):
        raise RoostError(f"{ident!r} is not an identity id", hint="like friendica")
    nick = (o["admin"] or str(login.get("user") or "admin")).lower()
    if not _NICK.match(nick):
        raise RoostError(f"{nick[:40]!r} is not a Friendica nickname",
                         hint="use lower-case letters, digits and _, starting with a letter "
                              "(--option admin=NAME)")
    email = o["email"] or str(login.get("email") or "") or f"admin@{domain}"
    email = validate.email(email)
    return ident, nick, email


def _sitename(given: str) -> str:
    """The site name, checked to be one line that fits in the PHP config's quotes."""
    sitename = given.strip()
    if not sitename or len(sitename) > 80 or any(c in sitename for c in "'\\") \
            or any(ord(c) < 32 for c in sitename):
        raise RoostError("the site name must be one line of up to 80 characters without ' or \\")
    return sitename


def _worker_steps(app: str) -> list[Step]:
    """Friendica's background worker: a systemd timer that runs it every few minutes."""
    return [
        RenderTemplate(UNIT, template="friendica-worker.service", mode=0o644,
                       values={"app": app, "config_dir": CONF_DIR}),
        RenderTemplate(TIMER, template="friendica-worker.timer", mode=0o644, values={}),
        EnableService("friendica-worker.timer"),
        Restart("friendica-worker.timer", watch=(UNIT, TIMER)),
    ]


def _nginx_steps(listen: int, domain: str, app: str) -> list[Step]:
    """The nginx site that serves Friendica through PHP-FPM, turned on and loaded."""
    return [
        RenderTemplate(SITE, template="friendica-nginx.conf", mode=0o644, values={
            "listen": str(listen), "domain": domain, "app": app, "config_dir": CONF_DIR}),
        RunCommand(("ln", "-sfn", SITE, SITE_ON), unless=("test", "-L", SITE_ON),
                   description="turn the Friendica site on in nginx"),
        EnableService("nginx"),
        Restart("nginx", watch=(SITE, SITE_ON), action="reload"),
    ]


def _next_steps(host: TargetHost | None, domain: str, url: str, ident: str, nick: str,
                email: str) -> tuple[str, ...]:
    """What to tell the person once Friendica runs: how to log in, and HTTPS before others."""
    return (
        f"Log in at {url}/login as {nick} with the password from roost's key vault "
        f"(`roost keys show {ident} --secret` shows it); {email} is the admin e-mail, so "
        "that account has the admin pages.",
        f"Point {domain} at this host (DNS A/AAAA record) and give it HTTPS before others "
        f"use it: other servers only talk to {url.replace('http://', 'https://')}. For "
        f"example, on the host: {https_commands(host, domain)}.",
        "New accounts are closed; open registration in the admin pages if you want others "
        "to join.",
        "Import your follows from an old fediverse account as a CSV file in the settings.",
    )


@register(SERVICE)
def build_friendica(host: TargetHost | None, options: Mapping[str, str],
                    identities: Identities) -> Recipe:
    check_memory(host)
    o = take_options(options, OPTIONS, SERVICE)
    domain = o.text("domain")
    listen = o.port("listen")
    address = reach_address(o.text("address"), host, "127.0.0.1")
    scheme = o.text("scheme")
    ident, nick, email = _admin(o, identities, domain)
    sitename = _sitename(o["sitename"])
    default_port = (scheme == "http" and listen == 80) or scheme == "https"
    url = f"{scheme}://{domain}" + ("" if default_port else f":{listen}")

    art, local = choose("friendica", host, o)
    top = f"friendica-full-{art.version}"
    art = dataclasses.replace(art, binary=f"{top}/bin/console.php")
    install = InstallArtifact.of(art, ROOT, local)
    app = f"{install.current}/{top}"
    link = f"{app}/config/local.config.php"
    console = ("env", ENV, "php", "bin/console.php")
    marker = f"{CONF_DIR}/.roost-admin-{nick}"
    steps: list[Step] = [
        InstallPackages(PACKAGES),
        *mariadb.database_steps("friendica", DATABASE_SQL),
        EnsureDir(ROOT, mode=0o755),
        EnsureDir(f"{ROOT}/releases", mode=0o755),
        install,
        EnsureDir(CONF_DIR, mode=0o770, owner="root", group="www-data"),
        RenderTemplate(CONF, template="friendica-local.config.php", mode=0o640, owner="root",
                       group="www-data", values={"admin_email": email, "sitename": sitename,
                                                 "url": url, "app": app}),
        RunCommand(("ln", "-sfn", CONF, link),
                   unless=("sh", "-c", 'test "$(readlink "$1")" = "$2"', "-", link, CONF),
                   description="link the release's config/local.config.php to roost's"),
        RunCommand(("chown", "-R", "www-data:www-data", f"{app}/view/smarty3"),
                   unless=("runuser", "-u", "www-data", "--", "test", "-w",
                           f"{app}/view/smarty3"),
                   description="let the web server write Friendica's template cache"),
        RunCommand((*console, "autoinstall", "-f", "config/local.config.php"),
                   as_user="www-data", cwd=app, timeout=600,
                   unless=("mysql", "friendica", "-e", "SELECT 1 FROM `user` LIMIT 1"),
                   description="run Friendica's installer (bin/console autoinstall)",
                   on_failure="its message says which check failed; fix it and deploy again"),
        *_worker_steps(app),
        *_nginx_steps(listen, domain, app),
        CreateAccount(tuple(script(ADMIN_CREATE, app, nick, nick, email, marker)),
                      Secret(ident, "password"), exists=("test", "-e", marker),
                      description=f"make the admin account {nick} ({email})"),
    ]
    site = Site(address, domain, listen)
    return Recipe(
        id=SERVICE,
        version=art.version,
        service_id=SERVICE,
        title=f"Friendica for {domain}",
        steps=tuple(steps),
        ports=(Port(listen, units=("nginx",), option="listen"),
               mariadb.PORT),
        health=WaitHealth(f"check that Friendica answers for {domain} through nginx",
                          probe=json_probe(site, url), site=site,
                          timeout=90, interval=1.0),
        next_steps=_next_steps(host, domain, url, ident, nick, email),
        uninstall=(DisableService("friendica-worker.timer"), RemovePath(TIMER),
                   RemovePath(UNIT), RemovePath(SITE_ON),
                   Restart("nginx", watch=(SITE_ON,), action="reload")),
        purge=(RunCommand(("mysql", "-e", "DROP DATABASE IF EXISTS friendica"),
                          description="delete the Friendica database"),
               RemovePath(CONF_DIR), RemovePath(ROOT), RemovePath(SITE)),
    )
