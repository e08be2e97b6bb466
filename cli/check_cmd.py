"""`roost check`: is every deployed service still working? One line per service in words,
`--json` for scripts; exit 0 all good, 1 something needs attention, 2 could not check.

The checking itself is roost.app.checking (the same the full-screen status view runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Protocol

from roost.core import paths
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "check", help="check that every deployed service still works",
        description="Check every deployed service, on every host (in parallel): the "
        "health check the deploy used, its TLS certificate, the host's disk and memory, a "
        "read-only SD card, and automatic security updates. Exit code 0: all good; 1: "
        "something needs attention; 2: something could not be checked.")
    p.add_argument("--json", action="store_true", help="the report as JSON, for scripts")
    p.add_argument("--disk", action="append", default=[], metavar="PATH",
                   help="also check the free space of the file system holding PATH on every "
                        "host (/ always is); may be given more than once")
    p.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from roost.app.checking import check
    from roost.keys.vault import passphrase_from_env_or_prompt

    report = check(paths.data_dir(), paths=[_path(p) for p in args.disk],
                   passphrase=passphrase_from_env_or_prompt)
    print_report(report, args.json)
    return report.exit_code


class Report(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    def lines(self) -> list[str]: ...


def print_report(report: Report, as_json: bool) -> None:
    """A report of roost check or roost updates: JSON for scripts, else its lines."""
    if as_json:
        json.dump(report.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for line in report.lines():
            print(printable(line, 2000))


def _path(p: str) -> str:
    from roost.core.errors import RoostError

    if not p.startswith("/") or any(not c.isprintable() for c in p) or len(p) > 400:
        raise RoostError(f"{printable(p, 60)!r} is not a path on the host",
                         hint="give an absolute path like /srv")
    return p
