"""`roost backup`, `roost backups` and `roost restore`: the CLI of roost.app.backing_up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    b = sub.add_parser("backup", help="back a service up to another host (BorgBackup, "
                                      "encrypted, append-only) and run the first backup")
    b.add_argument("service", metavar="ID", nargs="?")
    b.add_argument("--host", help="the host the service runs on")
    b.add_argument("--to", metavar="TARGET",
                   help="another host roost knows, that keeps the backups")
    b.add_argument("--vault", action="store_true",
                   help="copy roost's own data (the sealed vault, progress, hosts) instead of "
                        "a service: to a host (--to) or a folder (--to-path)")
    b.add_argument("--all", action="store_true",
                   help="every running service roost can back up, each from its host, to "
                        "--to")
    b.add_argument("--to-path", type=Path, metavar="DIR",
                   help="a folder, such as a USB disk: on the service's own host (--host; "
                        "not enough on its own), or with --vault on this machine")
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
    r.add_argument("service", metavar="ID", nargs="?")
    r.add_argument("--to", metavar="HOST")
    r.add_argument("--vault", action="store_true",
                   help="bring back roost's own data (vault, progress, hosts) from a copy")
    r.add_argument("--from", dest="frm", metavar="HOST",
                   help="with --vault: the host that keeps the copies")
    r.add_argument("--from-path", type=Path, metavar="DIR",
                   help="the folder given to --to-path: a service's disk, mounted there on "
                        "the host it is restored onto (--to), or with --vault on this machine")
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
    m.add_argument("--forget-old", action="store_true",
                   help="once it works on the new host, delete its data on the old one too "
                        "(the backups keep it)")
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


def _copies(args: argparse.Namespace) -> Any:
    from roost.app.home_copies import HomeCopies
    from roost.core import clock

    return HomeCopies(paths.data_dir(), trust=args.trust, clock=clock.from_environment())


def _one_of(host: str | None, path: Path | None, what: str, flags: str) -> None:
    if (host is None) == (path is None):
        raise RoostError(f"{what} needs one place: {flags}",
                         hint="give a host roost knows, or a folder")


def _service(args: argparse.Namespace, example: str) -> str:
    if args.service is None:
        raise RoostError("which service? Name one (as `roost backups` lists them), or give "
                         "--vault", hint=f"write {example}")
    _check_service(args.service)
    return str(args.service)


def run_backup(args: argparse.Namespace) -> int:
    if args.vault:
        if args.service or args.host:
            raise RoostError("--vault copies roost's own data, not a service",
                             hint="write roost backup --vault --to HOST")
        _one_of(args.to, args.to_path, "a copy of roost's data", "--to HOST or --to-path DIR")
        lines = (_copies(args).copy_to(_host(args.to)) if args.to
                 else _copies(args).copy_to_path(args.to_path))
        print("\n".join(lines))
        return 0
    if args.all:
        if args.service or args.host or not args.to:
            raise RoostError("--all backs up every running service to one host (--to)",
                             hint="write roost backup --all --to HOST")
        print("\n".join(_backups(args).back_up_all(_host(args.to), args.every)))
        return 0
    _service(args, "roost backup ID --host HOST --to OTHER")
    disk = None if args.to_path is None else str(args.to_path)
    if args.verify or args.prune:
        b = _backups(args)
        for line in (b.prune(args.service, disk=disk) if args.prune else []) + (
                b.verify(args.service, disk=disk) if args.verify else []):
            print(line)
        return 0
    if disk is not None:
        if not args.host or args.to:
            raise RoostError("a backup to a folder (--to-path) goes on the service's own host "
                             "(--host), without --to",
                             hint=f"write roost backup {args.service} --host HOST --to-path "
                                  "/mnt/usb")
        for line in _backups(args).back_up_to_path(args.service, _host(args.host), disk,
                                                   args.every):
            print(line)
        return 0
    if not args.host or not args.to:
        raise RoostError("a backup needs the host it runs on (--host) and the one it goes "
                         "to (--to)",
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
    if args.vault:
        if args.service or args.to:
            raise RoostError("--vault brings back roost's own data, not a service",
                             hint="write roost restore --vault --from HOST")
        _one_of(args.frm, args.from_path, "bringing back roost's data",
                "--from HOST or --from-path DIR")
        c = _copies(args)
        lines = (c.restore_from(_host(args.frm), args.archive, replace=args.yes) if args.frm
                 else c.restore_from_path(args.from_path, args.archive, replace=args.yes))
        print("\n".join(lines))
        return 0
    _service(args, "roost restore ID --to HOST")
    if not args.to:
        raise RoostError("a restore needs the host to restore onto (--to)",
                         hint=f"write roost restore {args.service} --to HOST")
    to = _host(args.to)
    lines = _backups(args).restore(args.service, to, args.archive, replace=args.yes,
                                   from_path=(None if args.from_path is None
                                              else str(args.from_path)))
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


def run_move(args: argparse.Namespace) -> int:
    _check_service(args.service)
    frm, to = _host(args.frm), _host(args.to)
    for line in _backups(args).move(args.service, frm, to, replace=args.yes,
                                    forget_old=args.forget_old):
        print(line)
    return 0
