"""`roost reach ID --host NAME`: the ways people outside reach a service on a host.

`--tor` makes a Tor onion service for it from the vault's Tor identity (`--remove` takes it
away again); the address is printed with what to do with it. Other ways in (the router,
a relay through a VPS) and the checks are options of the same command.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from roost.cli.deploy_cmd import ABOVE, ask_sudo_password, printer, target_host
from roost.cli.host_cmd import ask_trust
from roost.core import paths
from roost.core.errors import RoostError
from roost.deploy import engine


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("reach", help="let people outside reach a service on one of your hosts",
                       description="The ways people outside reach a service on one of your "
                       "hosts. --tor makes a Tor onion service for it, for private use: "
                       "friends and your own phone, with the Tor Browser or Orbot.")
    p.add_argument("service", help="the service, e.g. prosody")
    p.add_argument("--host", default="local", help="the host's name (default: local)")
    p.add_argument("--tor", action="store_true",
                   help="a Tor onion service from the vault's Tor identity")
    p.add_argument("--identity", default="", metavar="ID",
                   help="the Tor identity to use, when the vault has several")
    p.add_argument("--remove", action="store_true", help="take the way in away again")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    p.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact, trust the host key with this fingerprint")
    p.set_defaults(handler=run_reach)


def run_reach(args: argparse.Namespace) -> int:
    if not args.tor:
        raise RoostError("say which way in to make", hint=f"add --tor: roost reach "
                         f"{args.service} --host {args.host} --tor")
    from roost.app.onion import Onion
    from roost.keys.vault import passphrase_from_env_or_prompt

    host = target_host(args.host)
    o = Onion(args.service, host, paths.data_dir(), identity=args.identity,
              on_event=printer(args.quiet), passphrase=passphrase_from_env_or_prompt,
              trust=args.trust, ask_trust=ask_trust(host, args.trust),
              sudo_password=lambda: ask_sudo_password(host))
    if args.dry_run:
        print("\n".join(o.dry_run()))
        return 0
    try:
        lines = o.close() if args.remove else o.open()
    except engine.DeployFailed as exc:
        if exc.event is None:
            raise
        sys.stderr.write(f"roost: the onion service of {args.service} on {host.name} stopped "
                         f"at step {exc.event.index} of {exc.event.total}; {ABOVE}.\n")
        return 2
    for line in lines:
        print(line)
    return 0
