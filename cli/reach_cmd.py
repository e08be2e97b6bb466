"""`roost reach ID --host NAME`: the ways people outside reach a service on a host.

`--tor` makes a Tor onion service for it from the vault's Tor identity (`--remove` takes it
away again); the address is printed with what to do with it. Other ways in (the router,
a relay through a VPS) and the checks are options of the same command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
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


def register_dyndns(hs: argparse._SubParsersAction[Any]) -> None:
    """`roost host dyndns NAME ...` (registered by `roost host`)."""
    d = hs.add_parser("dyndns", help="keep a dynamic-DNS name pointed at a host whose "
                      "address changes (ddclient)",
                      description="Install ddclient on the host and keep a dynamic-DNS name "
                      "pointed at its address. The provider's token is the password of a "
                      "login in your vault: roost keys new login --name dyndns --user LOGIN "
                      "--type-password.")
    d.add_argument("name", help="the host's name")
    d.add_argument("--domain", default="", help="the name to keep up to date")
    d.add_argument("--server", default="", metavar="HOST[:PORT]",
                   help="your provider's dyndns2 server, like members.dyndns.org")
    d.add_argument("--login", default="", help="your login there (default: the vault "
                   "login's user)")
    d.add_argument("--identity", default="", metavar="ID",
                   help="the vault login with the token (default: dyndns)")
    d.add_argument("--check", default="dyndns", metavar="NAME|URL",
                   help="where ddclient learns the home's address (default: dyndns, "
                   "checkip.dyndns.org)")
    d.add_argument("--no-tls", action="store_true",
                   help="talk to the provider over plain http (a provider on your network)")
    d.add_argument("--remove", action="store_true", help="stop ddclient and delete its file")
    d.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    d.add_argument("--quiet", action="store_true", help="print steps, not command output")
    d.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact, trust the host key with this fingerprint")
    d.set_defaults(handler=run_dyndns)


def run_dyndns(args: argparse.Namespace) -> int:
    from roost.app.dyndns import DynDns
    from roost.keys.vault import passphrase_from_env_or_prompt

    host = target_host(args.name)
    d = DynDns(host, paths.data_dir(), domain=args.domain, server=args.server,
               login=args.login, identity=args.identity, check=args.check,
               ssl=not args.no_tls, on_event=printer(args.quiet),
               passphrase=passphrase_from_env_or_prompt, trust=args.trust,
               ask_trust=ask_trust(host, args.trust),
               sudo_password=lambda: ask_sudo_password(host))
    if args.dry_run:
        print("\n".join(d.removal_dry_run() if args.remove else d.dry_run()))
        return 0
    return _told(lambda: d.remove() if args.remove else d.run(), "ddclient", host.name)


def _told(act: Callable[[], list[str]], what: str, where: str) -> int:
    """Run a use case and print its lines; a stopped run points at the step's own advice."""
    try:
        lines = act()
    except engine.DeployFailed as exc:
        if exc.event is None:
            raise
        sys.stderr.write(f"roost: {what} on {where} stopped at step {exc.event.index} of "
                         f"{exc.event.total}; {ABOVE}.\n")
        return 2
    for line in lines:
        print(line)
    return 0


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
        print("\n".join(o.removal_dry_run() if args.remove else o.dry_run()))
        return 0
    return _told(lambda: o.close() if args.remove else o.open(),
                 f"the onion service of {args.service}", host.name)
