"""`roost backup`, `roost backups` and `roost restore`: the CLI of roost.app.backing_up."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    b = sub.add_parser("backup", help="back a service up to another host (BorgBackup, "
                                      "encrypted, append-only) and run the first backup")
    b.add_argument("service", metavar="ID")
    b.add_argument("--host", help="the host the service runs on")
    b.add_argument("--to", metavar="TARGET",
                   help="another host roost knows, that keeps the backups")
    b.add_argument("--prune", action="store_true",
                   help="thin out old archives from roost's side (keeps 7 daily, 4 weekly, "
                        "6 monthly)")
    b.add_argument("--verify", action="store_true",
                   help="check the repository and unpack the last archive (nothing written)")
    b.add_argument("--every", default="daily", choices=("hourly", "daily", "weekly"))
    b.add_argument("--trust", metavar="SHA256:…")
    b.set_defaults(handler=run_backup)
    ls = sub.add_parser("backups", help="where each deployed service is backed up, and how "
                                        "old its last good backup is")
    ls.add_argument("--offline", action="store_true",
                    help="what roost saw last, without asking the hosts")
    ls.set_defaults(handler=run_backups)
    r = sub.add_parser("restore", help="install a service on a host and put its backed-up "
                                       "data back")
    r.add_argument("service", metavar="ID")
    r.add_argument("--to", required=True, metavar="HOST")
    r.add_argument("--archive", metavar="NAME", help="an archive (default: the last one)")
    r.add_argument("--yes", action="store_true",
                   help="replace the data of a service already running there (kept aside)")
    r.add_argument("--trust", metavar="SHA256:…")
    r.set_defaults(handler=run_restore)
    m = sub.add_parser("move", help="move a service to the host that keeps its backups, "
                                    "proven there before it is removed here")
    m.add_argument("service", metavar="ID")
    m.add_argument("--from", dest="frm", required=True, metavar="HOST")
    m.add_argument("--to", required=True, metavar="HOST")
    m.add_argument("--yes", action="store_true",
                   help="replace the data of a service already running there (kept aside)")
    m.add_argument("--trust", metavar="SHA256:…")
    m.set_defaults(handler=run_move)


def _backups(args: argparse.Namespace) -> Any:
    from roost.app.backing_up import Backups
    from roost.cli.deploy_cmd import printer
    from roost.core import clock
    from roost.keys.vault import passphrase_from_env_or_prompt

    return Backups(paths.data_dir(), passphrase=passphrase_from_env_or_prompt,
                   on_event=printer(quiet=True), trust=getattr(args, "trust", None),
                   clock=clock.from_environment())


def _host(name: str) -> Any:
    from roost.app.hosts import find

    return find(paths.data_dir(), name)


def _check_service(service: str) -> None:
    from roost.deploy.recipes import RECIPES

    if service not in RECIPES:
        raise RoostError(f"roost knows no service {service[:40]!r}",
                         hint="`roost catalog` lists them")


def run_backup(args: argparse.Namespace) -> int:
    _check_service(args.service)
    if args.verify or args.prune:
        b = _backups(args)
        for line in (b.prune(args.service) if args.prune else []) + (
                b.verify(args.service) if args.verify else []):
            print(line)
        return 0
    if not args.host or not args.to:
        raise RoostError("a backup needs --host and --to",
                         hint=f"write roost backup {args.service} --host HOST --to OTHER-HOST")
    source, target = _host(args.host), _host(args.to)
    for line in _backups(args).back_up(args.service, source, target, args.every):
        print(line)
    return 0


def run_backups(args: argparse.Namespace) -> int:
    from roost.app.backing_up import load_records, overview
    from roost.core import clock

    home = paths.data_dir()
    records = load_records(home) if args.offline else _backups(args).refresh()
    for line in overview(home, clock.from_environment()(), records):
        print(line)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    _check_service(args.service)
    to = _host(args.to)
    lines = _backups(args).restore(args.service, to, args.archive, replace=args.yes)
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


def run_move(args: argparse.Namespace) -> int:
    _check_service(args.service)
    frm, to = _host(args.frm), _host(args.to)
    for line in _backups(args).move(args.service, frm, to, replace=args.yes):
        print(line)
    return 0
