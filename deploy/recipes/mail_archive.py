"""`mail-archive`: Debian's Dovecot serving old mail over IMAP (TLS), for `roost import mbox`.

A mailbox for the vault's login (`roost keys new login --name mail-archive`; the login's user
name is the IMAP user name): its Maildir under /var/lib/roost-mail/USER/Maildir, owned by the
system user roost-mail. The password's SHA512-CRYPT hash is made on the host from standard
input (openssl passwd -stdin), so the password is never in a file or a command line. IMAP
is served with TLS only (Dovecot's Debian certificate), on port 993 by default.
"""

from __future__ import annotations

from collections.abc import Mapping

from roost.core import validate
from roost.deploy.backup import BackupSpec
from roost.deploy.options import recipe_options
from roost.deploy.recipe import Identities, Port, Recipe, TargetHost, register, take_options
from roost.deploy.recipes.host import debian_version
from roost.deploy.recipes.logins import pick_login
from roost.deploy.steps import (
    EnableService,
    EnsureDir,
    EnsureUser,
    InstallPackages,
    RemovePackages,
    RemovePath,
    RenderTemplate,
    Restart,
    RunCommand,
    Secret,
    WaitHealth,
    script,
)

SERVICE = "mail-archive"
"""The recipe id (no catalog entry: it is where `roost import mbox` puts mail)."""
OPTIONS = recipe_options(SERVICE)
"""Declared in recipes/options.toml; `roost deploy ID --help` lists them."""
ROOT = "/var/lib/roost-mail"
OWNER = "roost-mail"
CONF = "/etc/dovecot/conf.d/90-roost-archive.conf"
PASSWD = "/etc/dovecot/roost-archive.passwd"  # noqa: S105  (a path: hashes only)
# $1 = the IMAP user name; the password is the first line of standard input.
HASH_LOGIN = (
    'IFS= read -r PW || [ -n "$PW" ] || exit 3; '
    'H=$(printf "%s\\n" "$PW" | openssl passwd -6 -stdin) || exit 4; '
    'umask 027; printf "%s:{SHA512-CRYPT}%s\\n" "$1" "$H" > "$2.new" && '
    'chgrp dovecot "$2.new" && mv -f "$2.new" "$2"')


def imap_user(identities: Identities, wanted: str) -> tuple[str, str]:
    """(the vault login's id, its IMAP user name): the login's user, else `mail`."""
    ident, public = pick_login(identities, wanted, SERVICE)
    user = str(public.get("user") or "mail").strip().lower()
    if "@" in user:
        return ident, validate.email(user)
    return ident, validate.unix_user(user, "mail user name")


def maildir(user: str) -> str:
    """The user's Maildir on the host (Dovecot's `~/Maildir`, home `ROOT/%n`)."""
    return f"{ROOT}/{user.partition('@')[0]}/Maildir"


@register(SERVICE)
def build_mail_archive(host: TargetHost | None, options: Mapping[str, str],
                       identities: Identities) -> Recipe:
    o = take_options(options, OPTIONS, SERVICE)
    ident, user = imap_user(identities, o["identity"])
    port = o.port("port")
    home = maildir(user).rsplit("/", 1)[0]
    steps = (
        InstallPackages(("dovecot-imapd", "openssl")),
        EnsureUser(OWNER, home=ROOT),
        EnsureDir(ROOT, mode=0o750, owner=OWNER, group=OWNER),
        EnsureDir(home, mode=0o700, owner=OWNER, group=OWNER),
        EnsureDir(maildir(user), mode=0o700, owner=OWNER, group=OWNER),
        RunCommand(tuple(script(HASH_LOGIN, user, PASSWD)), stdin=Secret(ident, "password"),
                   creates=PASSWD, description=f"let {user} log in with the vault login "
                                               f"{ident}'s password (only its hash is kept)"),
        RenderTemplate(CONF, template="dovecot-roost-archive.conf", mode=0o644,
                       values={"root": ROOT, "passwd": PASSWD, "user": OWNER,
                               "port": str(port)}),
        EnableService("dovecot"),
        Restart("dovecot", watch=(CONF, PASSWD)),
    )
    return Recipe(
        id=SERVICE,
        service_id=SERVICE,
        title="your mail archive",
        version_argv=debian_version("dovecot-imapd"),
        steps=steps,
        ports=(Port(port, units=("dovecot",)),),
        backup=BackupSpec(paths=(ROOT,)),
        health=WaitHealth("ask Dovecot for the mailbox's user", argv=("doveadm", "user", user),
                          timeout=30, interval=0.5),
        next_steps=(
            f"Bring your old mail: roost import mbox FILE.mbox --into {SERVICE} --host NAME.",
            f"Read it in any mail app: IMAP with TLS, port {port}, user {user}, the password "
            f"of the vault login {ident}.",
        ),
        uninstall=(RemovePath(CONF), Restart("dovecot", watch=(CONF,))),
        purge=(RemovePath(ROOT), RemovePath(PASSWD), RemovePackages(("dovecot-imapd",))),
    )
