"""`roost keys`: make identities and keep them in the encrypted vault.

`new`, `export`, `remove`, `passwd`, `backup` and `restore` need the vault passphrase (typed
without echo, or read from the file named by ROOST_PASSPHRASE_FILE); `list` and `show` read
only the public index and never ask for it. Only `show --secret` prints secrets: every secret
the identity holds, each named in words (keys.model.SECRET_LABELS), passwords first. It asks
for the passphrase and prints to a terminal only; `--to-pipe` says a script wants the password
alone (keys.model.PASSWORD_FIELD). A password a person chooses is typed without echo or read
from standard input, never taken from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from roost.app.identities import add_and_record, remove_and_record
from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import count, printable
from roost.keys import KINDS, LOSS_WARNING, Identity, IdentityInfo, Vault
from roost.keys.export import WHAT, export_identity, export_target
from roost.keys.factory import create
from roost.keys.model import WITH_PASSWORD, a_kind, group, password_of, secret_lines
from roost.keys.vault import (
    ENV_PASSPHRASE_FILE,
    passphrase_from_env_or_prompt,
    passphrase_from_file,
)

ENV_NEW_PASSPHRASE_FILE = "ROOST_NEW_PASSPHRASE_FILE"  # noqa: S105 - a variable name


def _say(text: str) -> None:
    """Print line by line with control characters escaped: labels, profile names and paths
    come from the user and must not drive the terminal or a screen reader."""
    for line in text.split("\n"):
        print(printable(line, 2000))


# The public fields `show` reads out, in order, with a spoken label; `True` = also read the
# value in groups of four characters (for comparing fingerprints and keys by ear or by eye).
SHOWN: dict[str, list[tuple[str, str, bool]]] = {
    "ssb": [("ssb_id", "SSB id", True), ("profile_name", "Profile name", False),
            ("about_message_id", "Profile message id", False)],
    "xmpp": [("jid", "Address", False)],
    "fediverse": [("address", "Address", False), ("webfinger", "WebFinger", False),
                  ("software", "Server software", False), ("email", "Admin e-mail", False),
                  ("vapid_public_key", "Web push public key", False)],
    "matrix": [("server_name", "Server name", False), ("verify_key_id", "Signing key id", False),
               ("verify_key", "Verify key", True)],
    "ssh": [("fingerprint", "Fingerprint", True), ("public_key", "Public key", False)],
    "wireguard": [("public_key", "Public key", True)],
    "tor": [("hostname", "Onion address", True)],
    "login": [("user", "User name", False), ("email", "E-mail", False),
              ("password_made", "Password made", False)],
}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "keys", help="make identities and keys, kept in an encrypted vault",
        description="Make the identities your services need and keep their secrets in an "
        f"encrypted vault. {LOSS_WARNING} Scripts can set {ENV_PASSPHRASE_FILE} to a file "
        "holding the passphrase.")
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(handler=lambda args: _help(p))

    n = ks.add_parser("new", aliases=["create"], help="make a new identity",
                      description=f"Make a new identity. Kinds: {', '.join(KINDS)}. A login "
                      "named wordpress (or mail) is the admin's (or the mailbox's) password "
                      "that roost deploy wordpress (or mail-in-a-box) uses.")
    n.add_argument("kind", help=f"one of {', '.join(KINDS)}")
    n.add_argument("--name", help="a short name for it in roost (default: the kind)")
    n.add_argument("--profile-name", help="ssb: the name others see on your posts")
    n.add_argument("--jid", help="xmpp: the address, like alice@example.org")
    n.add_argument("--handle", help="fediverse: the user name")
    n.add_argument("--domain", help="fediverse: the server's domain")
    n.add_argument("--email", help="fediverse: the admin e-mail address; login: the e-mail")
    n.add_argument("--user", help="login: the user name (default: the e-mail, else admin)")
    n.add_argument("--type-password", action="store_true",
                   help="login: type your own password (asked without echo, or read from "
                   "standard input) instead of letting roost make one")
    n.add_argument("--software", help="fediverse: mastodon (default), gotosocial or akkoma")
    n.add_argument("--server-name", help="matrix: the server name, like example.org")
    n.add_argument("--comment", help="ssh: a comment at the end of the public key")
    n.set_defaults(handler=run_new)

    s = ks.add_parser("list", help="your identities, one a line (no passphrase needed)")
    s.add_argument("--json", action="store_true", help="print JSON instead")
    s.set_defaults(handler=run_list)

    s = ks.add_parser("show", help="the public parts of one identity (no passphrase needed)")
    s.add_argument("id", help="its name, as roost keys list shows it")
    s.add_argument("--json", action="store_true", help="print JSON instead")
    s.add_argument("--secret", action="store_true",
                   help="also show every secret it holds, each named in words: passwords "
                   "first, then keys (asks for the passphrase; only to a terminal)")
    s.add_argument("--to-pipe", action="store_true",
                   help="with --secret: print only its password (a Matrix identity's: the "
                   "admin's), even to a pipe or a file")
    s.set_defaults(handler=run_show)

    s = ks.add_parser("remove", help="delete an identity and its secrets from the vault",
                      description="Delete an identity and its secrets from the vault. roost "
                      "asks first; only a backup made before can bring it back.")
    s.add_argument("id", help="its name, as roost keys list shows it")
    s.add_argument("--yes", action="store_true", help="do not ask first")
    s.set_defaults(handler=run_remove)

    s = ks.add_parser("export", help="write an identity's secret files where you say")
    s.add_argument("id", help="its name, as roost keys list shows it")
    s.add_argument("--to", required=True, type=Path, metavar="PATH",
                   help="a new file name, or a folder to write the usual file name in "
                   "(secret, id_ed25519, SERVER.signing.key...); never overwritten")
    s.set_defaults(handler=run_export)

    s = ks.add_parser("passwd", help="change the vault passphrase",
                      description="Change the vault passphrase. Scripts can put the new one in "
                      f"the file named by {ENV_NEW_PASSPHRASE_FILE}.")
    s.set_defaults(handler=run_passwd)

    for name, what, handler in (
            ("backup", "save an encrypted copy of the vault to a file", run_backup),
            ("restore", "bring back identities from a backup file", run_restore)):
        s = ks.add_parser(name, help=what)
        s.add_argument("path", type=Path)
        s.set_defaults(handler=handler)


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 0


def _home() -> Path:
    return paths.data_dir()


def _err(line: str) -> None:
    sys.stderr.write(f"roost: {line}\n")


def _open_or_create(home: Path) -> Vault:
    if Vault.exists(home):
        return Vault.open(home, passphrase_from_env_or_prompt())
    _err(f"there is no key vault yet, so roost makes one in {Vault.path(home)}.")
    _err(LOSS_WARNING)
    passphrase = passphrase_from_env_or_prompt(new=True)
    return Vault.create(home, passphrase)


def _first_line(info: IdentityInfo) -> str:
    return f"{info.id}: {a_kind(info.kind)}, {info.public_id}."


def _detail(info: IdentityInfo) -> list[str]:
    lines = [f"{info.id}, {a_kind(info.kind)}, made {_when(info.created)}."]
    for key, label, grouped in SHOWN.get(info.kind, []):
        value = info.public.get(key)
        if not value:
            continue
        lines.append(f"{label}: {value}")
        if grouped:
            core = value.removeprefix("SHA256:").removeprefix("@").removesuffix(".ed25519")
            core = core.removesuffix(".onion")
            lines.append(f"{label} in groups of four: {group(core)}")
    return lines


def _when(created: str) -> str:
    return created.replace("T", " at ").replace("+00:00", " UTC") if created else "at some time"


def run_new(args: argparse.Namespace) -> int:
    options = {"profile_name": args.profile_name, "jid": args.jid, "handle": args.handle,
               "domain": args.domain, "email": args.email, "software": args.software,
               "server_name": args.server_name, "comment": args.comment,
               "user": args.user}
    # Check everything the person typed before asking for the passphrase.
    options = {k: v for k, v in options.items() if v is not None}
    own = None
    if args.type_password:
        create(args.kind, args.name, password="x" * 8, **options)  # the options first
        own = read_own_password()
    probe = create(args.kind, args.name, password=own, **options)
    home = _home()
    vault = _open_or_create(home)
    ident: Identity = probe
    if args.name is None and probe.id in vault:
        ident = probe.relabel(vault.free_label(probe.id))
    warning = add_and_record(vault, ident)
    info = ident.info()
    _say(f"Made {info.id}, {a_kind(info.kind)}. Its secrets are in the vault.")
    for line in _detail(info)[1:]:
        _say(line)
    _say(f"To write its files, run: roost keys export {info.id} --to PATH ({WHAT[info.kind]}).")
    if warning:
        _err(warning)
    return 0


def run_list(args: argparse.Namespace) -> int:
    infos = Vault.public_index(_home())
    if args.json:
        json.dump([i.to_dict() for i in infos], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not infos:
        _say(f"No identities yet. Make one with: roost keys new KIND (kinds: {', '.join(KINDS)}).")
        return 0
    for info in infos:
        _say(_first_line(info))
    return 0


def _find(identity_id: str) -> IdentityInfo:
    for info in Vault.public_index(_home()):
        if info.id == identity_id:
            return info
    raise RoostError(f"there is no identity called {identity_id[:40]!r}",
                     hint="run 'roost keys list' to see them")


def run_show(args: argparse.Namespace) -> int:
    info = _find(args.id)
    if args.secret:
        return _show_secret(args, info)
    if args.to_pipe:
        raise RoostError("--to-pipe goes with --secret", hint="roost keys show ID --secret")
    if args.json:
        json.dump(info.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    _say("\n".join(_detail(info)))
    return 0


def read_own_password() -> str:
    """The person's own password: asked twice without echo on a terminal, else the first
    line of standard input. Never an argument: argv is visible to every user of the host."""
    from roost.keys.login import check_password

    try:
        if sys.stdin.isatty():
            first = check_password(getpass.getpass("Your password (not shown): "))
            if getpass.getpass("Type it again: ") != first:
                raise RoostError("the two passwords differ", hint="nothing was made; try again")
            return first
        line = sys.stdin.readline()
    except EOFError:
        line = ""
    except KeyboardInterrupt:
        raise RoostError("no password was typed", hint="nothing was made") from None
    if not line:
        raise RoostError("no password was given on standard input",
                         hint="type it on a terminal, or send it as one line on stdin")
    return check_password(line.removesuffix("\n").removesuffix("\r"))


def _show_secret(args: argparse.Namespace, info: IdentityInfo) -> int:
    if args.json:
        raise RoostError("--secret and --json do not go together",
                         hint="use --secret --to-pipe to print only the password")
    if not args.to_pipe and not sys.stdout.isatty():
        raise RoostError("roost prints secrets only to a terminal",
                         hint="add --to-pipe to send the password to a pipe or a file on "
                              "purpose")
    if args.to_pipe and info.kind not in WITH_PASSWORD:  # no passphrase asked for nothing
        raise RoostError(f"{info.id} has no password to show",
                         hint=f"its secrets are keys: write them with roost keys export "
                              f"{info.id}, or read them with roost keys show {info.id} "
                              "--secret in a terminal")
    vault = Vault.open(_home(), passphrase_from_env_or_prompt())
    ident = vault.get(info.id)
    if args.to_pipe:
        value = password_of(ident)
        if not value:
            raise RoostError(f"{info.id} has no password to show",
                             hint=f"write its secrets with roost keys export {info.id}")
        sys.stdout.write(value + "\n")
        return 0
    _say("\n".join(_detail(info)))
    for label, value in secret_lines(ident):
        if "\n" in value.strip():
            _say(f"{label}, {len(value.strip().splitlines())} lines:")
            _say(value.strip())
            _say(f"End of {label[0].lower() + label[1:]}.")
        else:
            _say(f"{label}: {value}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    info = _find(args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise RoostError(f"roost asks before it removes {info.id}, but cannot ask here",
                             hint="add --yes to remove it without asking")
        _say(f"Remove {info.id}, {a_kind(info.kind)}, {info.public_id}? Its secrets are "
             "deleted from the vault; only a backup made before can bring them back.")
        try:
            answer = input("Type yes to remove it: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "yes":
            _say(f"Nothing was removed: {info.id} is still in the vault.")
            return 1
    vault = Vault.open(_home(), passphrase_from_env_or_prompt())
    warning = remove_and_record(vault, info.id)
    if warning:
        _say(f"roost: {warning}")
    _say(f"Removed {info.id} from the vault. Services set up with it keep their accounts, "
         "but roost can no longer tell you its secrets.")
    return 0


def run_export(args: argparse.Namespace) -> int:
    target = export_target(_find(args.id), args.to)
    if target.exists() or target.is_symlink():
        raise RoostError(f"{target} already exists",
                         hint="roost never overwrites a key file; choose a new name")
    vault = Vault.open(_home(), passphrase_from_env_or_prompt())
    written = export_identity(vault.get(args.id), target)
    for path in written:
        mode = oct(path.stat().st_mode & 0o777)[2:]
        _say(f"Wrote {path} (mode {mode}).")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    vault = Vault.open(_home(), passphrase_from_env_or_prompt(prompt="Current passphrase: "))
    new_file = os.environ.get(ENV_NEW_PASSPHRASE_FILE)
    if new_file:
        new = passphrase_from_file(new_file)
    else:
        new = passphrase_from_env_or_prompt(new=True, env=False)
    vault.change_passphrase(new)
    _say("The vault passphrase is changed. Backups made before keep the old passphrase.")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    vault = Vault.open(_home(), passphrase_from_env_or_prompt())
    vault.export_backup(args.path)
    n = count(len(vault.list()), "identity", "identities")
    _say(f"Saved an encrypted backup of {n} to {args.path}. "
          "It opens with the current vault passphrase.")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    home = _home()
    if not Path(args.path).is_file():
        raise RoostError(f"there is no file {args.path}", hint="check the path")
    if not Vault.exists(home):
        vault = Vault.restore(home, args.path,
                              passphrase_from_env_or_prompt(prompt="Backup passphrase: "))
        _say(f"Restored the vault with {count(len(vault.list()), 'identity', 'identities')}. "
              "It opens with the backup's passphrase.")
        return 0
    passphrase = passphrase_from_env_or_prompt()
    vault = Vault.open(home, passphrase)
    try:
        added, skipped = vault.import_backup(args.path, passphrase)
    except RoostError as exc:
        if "passphrase is wrong" not in exc.message or not sys.stdin.isatty():
            raise
        added, skipped = vault.import_backup(
            args.path, passphrase_from_env_or_prompt(prompt="Backup passphrase: ", env=False))
    _say(f"Added {count(len(added), 'identity', 'identities')} from the backup"
          + (f": {', '.join(added)}." if added else "."))
    if skipped:
        _say(f"Kept your current {', '.join(skipped)}: the backup has identities with the "
              "same names.")
    return 0
