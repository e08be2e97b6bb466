"""`roost updates` and `roost upgrade`: the CLI of roost.app.upgrading. What is newer for the
deployed services; upgrading one, with a backup first and an automatic rollback."""

from __future__ import annotations

import argparse
from typing import Any

from roost.core import paths
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    u = sub.add_parser(
        "updates", help="what is newer for the deployed services",
        description="For each deployed service, on each host: the Debian packages its "
        "recipe installed that have a newer version (security updates first), and for "
        "upstream releases the version roost knows against the one installed. Changes "
        "nothing; exit code 0.")
    u.add_argument("--host", metavar="NAME", help="only this host")
    u.add_argument("--json", action="store_true", help="the report as JSON, for scripts")
    u.add_argument("--offline", action="store_true",
                   help="read the host's package lists as they are (no apt-get update)")
    u.set_defaults(handler=run_updates)
    g = sub.add_parser(
        "upgrade", help="upgrade a service, rolled back by itself when it breaks",
        description="Back the service up (where `roost backup ID --host NAME --to OTHER` "
        "set its backups up), upgrade its Debian packages, run the health check the deploy "
        "used, and when "
        "anything fails go back to the versions before, prove they work and say what "
        "failed. Run again after an interruption: it finishes the upgrade or the rollback.")
    g.add_argument("service", metavar="ID", nargs="?")
    g.add_argument("--host", metavar="NAME")
    g.add_argument("--all", action="store_true",
                   help="every deployed service with something newer, one after the other")
    g.add_argument("--no-backup", action="store_true",
                   help="upgrade without taking a backup first (knowingly)")
    g.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="for an upstream release: artifact=FILE (a release file you "
                        "downloaded) and sha256=HASH, instead of the release roost pins")
    g.set_defaults(handler=run_upgrade)


def run_updates(args: argparse.Namespace) -> int:
    from roost.app.upgrading import updates
    from roost.cli.check_cmd import print_report

    print_report(updates(paths.data_dir(), host=args.host, offline=args.offline), args.json)
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    from roost.core.errors import RoostError

    if args.all:
        if args.service or args.option:
            raise RoostError("--all upgrades every service; it takes no ID and no --option",
                             hint="write roost upgrade --all, or roost upgrade ID --host NAME")
        return _upgrade_all(args)
    if not args.service or not args.host:
        raise RoostError("roost upgrade needs the service and its host",
                         hint="write roost upgrade ID --host NAME, or roost upgrade --all")
    return _upgrade_one(args)


def _upgrade_all(args: argparse.Namespace) -> int:
    from roost.app.upgrading import upgrade_all
    from roost.cli.deploy_cmd import printer
    from roost.keys.vault import passphrase_from_env_or_prompt

    code, lines = upgrade_all(paths.data_dir(), host=args.host, no_backup=args.no_backup,
                              passphrase=passphrase_from_env_or_prompt,
                              on_event=printer(quiet=True))
    for line in lines:
        print(printable(line, 2000))
    return code


def _upgrade_one(args: argparse.Namespace) -> int:
    from roost.app.upgrading import ROLLED_BACK, upgrade
    from roost.cli.deploy_cmd import printer
    from roost.deploy.recipe import parse_options
    from roost.keys.vault import passphrase_from_env_or_prompt

    result = upgrade(paths.data_dir(), args.service, args.host, no_backup=args.no_backup,
                     options=parse_options(args.option),
                     passphrase=passphrase_from_env_or_prompt, on_event=printer(quiet=True))
    for line in result.lines:
        print(printable(line, 2000))
    return 1 if result.outcome == ROLLED_BACK else 0
