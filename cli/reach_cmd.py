"""`roost reach ID --host NAME --relay VPS`: make a service at home reachable from outside
through the person's VPS (a WireGuard tunnel and forwarded ports), and `--close` to remove it.

Progress is printed as plain lines, one per step, as `roost deploy` prints them; what it did
and where the domain must point come last.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from roost.app.relaying import Relaying
from roost.cli.deploy_cmd import ABOVE, ask_sudo_password, printer, target_host
from roost.cli.host_cmd import ask_trust
from roost.core import paths
from roost.core.errors import RoostError
from roost.deploy import engine


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("reach", help="let people outside reach a service on one of your hosts",
                       description="Let people outside reach a service on one of your hosts. "
                       "With --relay VPS: a WireGuard tunnel from the host to your VPS, which "
                       "forwards the service's ports to it; your domain then points at the "
                       "VPS. --close removes it from both hosts.")
    p.add_argument("service", help="the service, e.g. prosody")
    p.add_argument("--host", default="local", help="the host it runs on (default: local)")
    p.add_argument("--relay", metavar="VPS", help="relay through this host (your VPS)")
    p.add_argument("--close", action="store_true", help="remove the way in again")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    p.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.set_defaults(handler=run_reach)


def relaying(args: argparse.Namespace) -> Relaying:
    """The use case with this terminal's callbacks (as `roost deploy` asks them)."""
    from roost.keys.vault import passphrase_from_env_or_prompt

    return Relaying(args.service, target_host(args.host), target_host(args.relay),
                    paths.data_dir(), on_event=printer(args.quiet),
                    passphrase=passphrase_from_env_or_prompt,
                    ask_trust=lambda h: ask_trust(h, None),
                    sudo_password=lambda h: lambda: ask_sudo_password(h))


def run_reach(args: argparse.Namespace) -> int:
    if not args.relay:
        raise RoostError("say how people outside reach it",
                         hint="--relay VPS relays it through your VPS")
    r = relaying(args)
    if args.dry_run:
        print("\n".join(r.removal_dry_run() if args.close else r.dry_run()))
        return 0
    try:
        lines = r.close() if args.close else r.open()
    except engine.DeployFailed as exc:
        if exc.event is None:
            raise
        what = "removing the relay" if args.close else "the relay"
        sys.stderr.write(f"roost: {what} stopped at step {exc.event.index} of "
                         f"{exc.event.total}; {ABOVE}.\n")
        return 2
    for line in lines:
        print(line)
    return 0
