"""`roost import KIND ARCHIVE --into SERVICE --host NAME`: bring a platform's archive to a
service on your host (roost.app.importing). `--dry-run` reads the archive and says what would
be imported, changing nothing.

Progress (moving roost's own progress between machines) is `roost progress import FILE`;
`roost import FILE` says so in one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "import", help="bring a platform's archive (Gmail's mbox, X's zip) to your host",
        description="Read a platform's archive on this computer and put what it holds into a "
        "service on your host. Kinds: mbox (Gmail Takeout's mail, into an IMAP archive, "
        "mail-archive), x and facebook (X's or Meta's archive zip, as pages of your "
        "static-blog). Run it "
        "again after an interruption: it continues, and nothing is imported twice.")
    p.add_argument("kind", metavar="KIND", help="the kind of archive: mbox, x, facebook")
    p.add_argument("archive", metavar="ARCHIVE", nargs="?", type=Path,
                   help="the archive file")
    p.add_argument("--into", default="", metavar="SERVICE",
                   help="the service it goes into (mbox: mail-archive; x, facebook: static-blog)")
    p.add_argument("--host", default="", metavar="NAME", help="the host the service runs on")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="an option of the service (roost deploy SERVICE --help)")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be imported, what is skipped and why; change nothing")
    p.add_argument("--trust", metavar="SHA256:…", help="the host key to trust on first contact")
    p.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from roost.app.importing import ImportProgress, check_kind, import_job
    from roost.cli.deploy_cmd import ask_sudo_password, printer, stopped, target_host
    from roost.cli.host_cmd import ask_trust
    from roost.deploy import engine
    from roost.deploy.recipe import parse_options
    from roost.keys.vault import passphrase_from_env_or_prompt

    if args.archive is None:
        raise RoostError("roost import now brings in a platform's archive: roost import KIND "
                         "ARCHIVE --host NAME",
                         hint="to load your progress from a file, run roost progress import "
                              f"{printable(args.kind, 80)}")
    into = check_kind(args.kind, args.into)
    if not args.host and not args.dry_run:
        raise RoostError("say which host the service runs on", hint="add --host NAME")
    host = target_host(args.host or "local")
    show = printer()

    def on_event(e: Any) -> None:
        if isinstance(e, ImportProgress):
            sys.stdout.write(e.text() + "\n")
            sys.stdout.flush()
        else:
            show(e)

    job = import_job(args.kind, args.archive, host, paths.data_dir(), into=into,
                     options=parse_options(args.option), on_event=on_event,
                     passphrase=passphrase_from_env_or_prompt, trust=args.trust,
                     ask_trust=ask_trust(host, args.trust),
                     sudo_password=lambda: ask_sudo_password(host))
    if args.dry_run:
        for line in job.scan().lines(dry_run=True):
            print(line)
        return 0
    try:
        summary = job.run()
    except engine.DeployFailed as exc:
        return stopped(exc, f"setting up {into} on {host.name}")
    for line in summary.lines():
        print(line)
    return 0
