"""`roost reach SERVICE --host NAME [--from OTHER]`: can the people it is for reach it?

One line per check, in words, each with what to do when it fails, then one summary line.
Exit code 0: every check is fine; 1: something needs attention; 2: something could not be
checked, or bad input (one line on stderr). `--json` prints the report for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from roost.core import paths
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("reach", help="check that others can reach a service",
                       description="Check that the people a service is for can reach it: the "
                       "DNS records it needs, each port from outside (from another of your "
                       "hosts, with --from), and its TLS certificate. Exit code 0: all fine; "
                       "1: something needs attention; 2: could not check.")
    p.add_argument("service", help="the service, e.g. prosody")
    p.add_argument("--host", default="local", help="the host it runs on (default: local)")
    p.add_argument("--from", dest="from_host", metavar="HOST",
                   help="another of your hosts (a VPS) to check the ports from, over SSH; "
                   "without it they are checked from this computer, which proves only your "
                   "own network")
    p.add_argument("--domain", default="", help="the name people use (default: the one the "
                   "deploy uses)")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="the service's deploy options, to find its domain as the deploy does")
    p.add_argument("--resolver", default="", metavar="ADDRESS[:PORT]",
                   help="the DNS resolver to ask (also ROOST_DNS_RESOLVER; default: this "
                   "computer's)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact with the --from host, trust this host key")
    p.set_defaults(handler=run_reach)


def show_line(text: str) -> None:
    sys.stdout.write(printable(text, 1000) + "\n")
    sys.stdout.flush()


def run_reach(args: argparse.Namespace) -> int:
    from roost.app.hosts import find
    from roost.app.reaching import Reaching
    from roost.cli.host_cmd import ask_trust

    home = paths.data_dir()
    host = find(home, args.host)
    other = find(home, args.from_host) if args.from_host else None
    r = Reaching(args.service, host, home, domain=args.domain, options=args.option,
                 from_host=other, resolver=args.resolver, trust=args.trust,
                 ask_trust=ask_trust(other, args.trust) if other is not None else None,
                 on_check=(lambda c: None) if args.json else (lambda c: show_line(c.line())))
    report = r.run()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        for note in report.notes:
            show_line(note)
        show_line(report.summary())
    if report.exit_code == 2:
        sys.stderr.write("roost: some checks could not be done; the lines above say why.\n")
    return report.exit_code
