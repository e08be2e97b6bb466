"""`roost playbook`: any deploy written out as an Ansible project (roost.app.playbook)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("playbook", help="write a deployed service (or --all) out as an "
                                        "Ansible project, its secrets in an encrypted vault")
    p.add_argument("service", metavar="ID", nargs="?")
    p.add_argument("--host", help="the host the service was deployed to")
    p.add_argument("--to", type=Path, required=True, metavar="DIR",
                   help="an empty or new folder for the project")
    p.add_argument("--all", dest="every", action="store_true",
                   help="every deployed service on every host")
    p.add_argument("--vault-password-file", type=Path, metavar="FILE",
                   help="the file holding the password ansible-vault encrypts the secrets "
                        "with (else it is asked)")
    p.add_argument("--force", action="store_true",
                   help="write into a folder that is not empty")
    p.set_defaults(handler=run_playbook)


def ask_vault_password() -> str:
    """A new Ansible vault password, typed twice without echo."""
    if not sys.stdin.isatty():
        raise RoostError("the secrets need an Ansible vault password and roost cannot ask here",
                         hint="give --vault-password-file FILE")
    import getpass

    try:
        first = getpass.getpass("Ansible vault password for the secrets: ")
        if getpass.getpass("Type it again: ") != first:
            raise RoostError("the two passwords differ", hint="nothing was written; try again")
    except EOFError:
        raise RoostError("no password was given", hint="nothing was written") from None
    return first


def run_playbook(args: argparse.Namespace) -> int:
    from roost.app.playbook import export
    from roost.keys.vault import passphrase_from_env_or_prompt

    if args.every and (args.service or args.host):
        raise RoostError("--all exports every deployed service: leave out ID and --host",
                         hint="write `roost playbook --all --to DIR`")
    done = export(paths.data_dir(), args.to, service=args.service, host=args.host,
                  every=args.every, force=args.force,
                  vault_password=args.vault_password_file or ask_vault_password,
                  passphrase=passphrase_from_env_or_prompt)
    for line in done.lines():
        print(line)
    return 0
