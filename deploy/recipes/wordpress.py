"""`wordpress`: WordPress from Debian with MariaDB, PHP-FPM and nginx, installed without a
browser.

The database is reached over MariaDB's socket as `www-data` (unix_socket authentication), so
there is no database password at all. WordPress's secret keys are made once on the host (mode
0640, group www-data). The admin account's password comes from the key vault and reaches the
host only on the standard input of the PHP that finishes the install (`wp_install`, as the web
installer does), never in a command line."""

from __future__ import annotations

import re
from collections.abc import Mapping

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.backup import BackupSpec, Dump
from roost.deploy.options import recipe_options
from roost.deploy.reach import Site
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes import mariadb
from roost.deploy.recipes.host import debian_version, host_command, https_commands
from roost.deploy.recipes.logins import pick_login
from roost.deploy.steps.accounts import CreateAccount
from roost.deploy.steps.base import Secret, Step
from roost.deploy.steps.commands import RunCommand
from roost.deploy.steps.files import RemovePath, RenderTemplate
from roost.deploy.steps.health import WaitHealth
from roost.deploy.steps.packages import InstallPackages, RemovePackages
from roost.deploy.steps.services import EnableService, Restart

SERVICE = "wordpress"
"""The catalog id this recipe installs: its registry name, options and journal."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
# The theme is only recommended by the package: without it the front page is blank.
PACKAGES = ("wordpress", "wordpress-theme-twentytwentythree", "mariadb-server", "nginx",
            "php-fpm", "php-mysql", "php-mbstring", "php-xml")
CONFIG = "/etc/wordpress/config-default.php"
CONTENT = "/var/lib/wordpress"
"""Debian's wp-content (uploads, themes, plugins)."""
BACKUP = BackupSpec(paths=(CONTENT, "/etc/wordpress"),
                    dumps=(Dump("mariadb", "wordpress", f"{CONTENT}/roost-wordpress.sql"),))
"""The posts are in MariaDB: dumped in one transaction (nothing paused), and loaded back by a
restore; uploads and the config (its secret keys) as files."""
SALTS = "/etc/wordpress/roost-salts.php"
SITE = "/etc/nginx/sites-available/roost-wordpress.conf"
SITE_ON = "/etc/nginx/sites-enabled/roost-wordpress.conf"
DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
_USER = re.compile(r"^[A-Za-z0-9._@-]{1,60}$")

DATABASE_SQL = (
    b"CREATE DATABASE IF NOT EXISTS wordpress DEFAULT CHARACTER SET utf8mb4;\n"
    b"CREATE USER IF NOT EXISTS 'www-data'@'localhost' IDENTIFIED VIA unix_socket;\n"
    b"GRANT ALL PRIVILEGES ON wordpress.* TO 'www-data'@'localhost';\n"
    b"FLUSH PRIVILEGES;\n"
)

# $argv[1]: the file. WordPress's eight secret keys, random, written once (temp + rename).
SALTS_PHP = (
    "$f = $argv[1];"
    "$t = \"<?php\\n// Made once by roost: WordPress's secret keys. Keep this file private.\\n\";"
    "foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',"
    " 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $k) {"
    " $t .= \"define('$k', '\" . bin2hex(random_bytes(32)) . \"');\\n\"; }"
    "$tmp = $f . '.roost-tmp'; umask(027);"
    "if (file_put_contents($tmp, $t) === false) exit(1);"
    "chgrp($tmp, 'www-data'); chmod($tmp, 0640); exit(rename($tmp, $f) ? 0 : 1);"
)

_LOAD_PHP = (
    "$_SERVER['HTTP_HOST'] = $argv[1]; $_SERVER['REQUEST_URI'] = '/';"
    "define('WP_INSTALLING', true);"
    "require '/usr/share/wordpress/wp-load.php';"
)
_UPGRADE_PHP = "require_once ABSPATH . 'wp-admin/includes/upgrade.php';"
_BOOT_PHP = _LOAD_PHP + _UPGRADE_PHP
# $argv: host, title, admin, e-mail; the password is the first line of standard input.
# wp_install() would e-mail "your new site" to the admin through /usr/sbin/sendmail, which a
# fresh host does not have ("sh: 1: /usr/sbin/sendmail: not found"); the function is
# pluggable (upgrade.php defines it only if it is not yet), so it is made silent here, as
# `wp core install --skip-email` does. The next steps say that WordPress sends no mail yet.
INSTALL_PHP = _LOAD_PHP + "function wp_new_blog_notification() {}" + _UPGRADE_PHP + (
    "if (is_blog_installed()) { echo \"already installed\\n\"; exit(0); }"
    "$pw = rtrim((string) fgets(STDIN), \"\\r\\n\");"
    "if (strlen($pw) < 8) { fwrite(STDERR, \"the admin password is too short\\n\"); exit(1); }"
    "$r = wp_install($argv[2], $argv[3], $argv[4], true, '', wp_slash($pw));"
    "if (is_wp_error($r)) { fwrite(STDERR, $r->get_error_message() . \"\\n\"); exit(1); }"
    "echo \"WordPress is installed\\n\";"
)
INSTALLED_PHP = _BOOT_PHP + "exit(is_blog_installed() ? 0 : 1);"


def _next_steps(facts: TargetHost | None, url: str, admin: str, ident: str, domain: str
                ) -> tuple[str, ...]:
    """What to tell the person once WordPress runs: log in, HTTPS, updates and e-mail."""
    return (
        f"Open {url}/wp-admin/ and log in as {admin} with the password from roost's "
        f"key vault: `roost keys show {ident} --secret` shows it.",
        "Write your first post, pick a theme under Appearance, and remove the sample post.",
        "Before others read it from the internet: a domain pointing at this host and HTTPS. "
        f"For example, on the host: {https_commands(facts, domain)}.",
        "Updates come with Debian's security updates: keep them installing by themselves "
        f"with `{host_command(facts, ('apt-get', 'install', 'unattended-upgrades'))}` on "
        "the host.",
        "WordPress cannot send e-mail yet (the host has no mail program): no password "
        "resets or comment notices arrive. To send mail, add an SMTP plugin (for example "
        "WP Mail SMTP) with your mail provider's account.",
    )


@register(SERVICE)
def build_wordpress(facts: TargetHost | None, options: Mapping[str, str],
                    identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    ident, login = pick_login(identities, o["identity"], "wordpress")
    o["admin"] = o["admin"] or str(login.get("user") or "admin")
    o["email"] = o["email"] or str(login.get("email") or "")
    if not re.match(r"^[a-z0-9][a-z0-9_-]{0,40}$", ident):
        raise RoostError(f"{ident!r} is not an identity id", hint="like wordpress")
    port = o.port("port")
    target = TargetHost.of(facts)
    domain = o["domain"] or target.address
    if not domain:
        raise RoostError("wordpress needs the name or address people will open",
                         hint="add --option domain=blog.example.org (or the host's address)")
    domain = validate.hostname(domain, "domain")
    if not _USER.match(o["admin"]):
        raise RoostError(f"{o['admin'][:40]!r} is not a WordPress user name",
                         hint="use letters, digits and . _ @ -")
    email = o["email"] or f"admin@{domain if '.' in domain and ':' not in domain else 'localhost'}"
    email = validate.email(email)
    title = o["title"].strip()
    if not title or len(title) > 100 or any(ord(c) < 32 for c in title):
        raise RoostError("the title must be one line of up to 100 characters")
    host = f"[{domain}]" if ":" in domain else domain
    url = f"http://{host}" + ("" if port == 80 else f":{port}")
    php_boot_args = (f"{host}",)
    # Reached by the host's address, asked for the domain: the domain need not point here yet.
    site = Site(target.address or domain, domain, port)
    steps: list[Step] = [
        InstallPackages(PACKAGES),
        *mariadb.database_steps("wordpress", DATABASE_SQL),
        RunCommand(("php", "-r", SALTS_PHP, "--", SALTS), creates=SALTS,
                   description="make WordPress's secret keys"),
        RenderTemplate(CONFIG, template="wordpress-config.php", mode=0o640, owner="root",
                       group="www-data", values={"url": url}),
        RenderTemplate(SITE, template="wordpress-nginx.conf", mode=0o644,
                       values={"port": str(port)}),
        RunCommand(("ln", "-sfn", SITE, SITE_ON), unless=("test", "-L", SITE_ON),
                   description="turn the site on in nginx"),
        RemovePath(DEFAULT_SITE),
        EnableService("nginx"),
        Restart("nginx", watch=(SITE, SITE_ON, DEFAULT_SITE), action="reload"),
        CreateAccount(
            ("php", "-r", INSTALL_PHP, "--", *php_boot_args, title, o["admin"], email),
            Secret(ident, "password"),
            exists=("php", "-r", INSTALLED_PHP, "--", *php_boot_args),
            as_user="www-data",
            description=f"finish the install and make the admin {o['admin']}"),
    ]
    return Recipe(
        id=SERVICE,
        version_argv=debian_version("wordpress"),
        service_id=SERVICE,
        title="WordPress",
        steps=tuple(steps),
        ports=(Port(port, units=("nginx",)),
               mariadb.PORT),
        backup=BACKUP,
        health=WaitHealth("check that WordPress serves its front page", site=site,
                          expect_text='<meta name="generator" content="WordPress',
                          timeout=60, interval=1),
        next_steps=_next_steps(facts, url, o["admin"], ident, domain),
        uninstall=(RemovePath(SITE_ON), Restart("nginx", watch=(SITE_ON,), action="reload")),
        purge=(RunCommand(("mysql", "-e", "DROP DATABASE IF EXISTS wordpress"),
                          description="delete the WordPress database"),
               RemovePath(CONFIG), RemovePath(SALTS), RemovePath(SITE),
               RemovePath("/var/lib/wordpress/wp-content/uploads"),
               RemovePackages(("wordpress",), purge=True)),
    )
