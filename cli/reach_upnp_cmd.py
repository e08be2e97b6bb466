"""`roost reach-upnp SERVICE --host NAME [--remove]`: the home router forwards the service's
ports to the host (UPnP-IGD), or says how to do it by hand.

Exit code 0: the router forwards every port (or, with --remove, roost's forwardings are gone);
1: the router offers no UPnP, nothing was opened, the steps by hand are printed; 2: an error
(one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from roost.core import paths
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("reach-upnp", help="have the home router forward a service's ports",
                       description="Ask the home router (UPnP) to forward the ports of a "
                       "service to the host it runs on, so people outside reach it. Without "
                       "UPnP on the router, prints the steps to do it by hand and exits 1.")
    p.add_argument("service", help="the service, e.g. prosody")
    p.add_argument("--host", required=True, help="the host at home it runs on")
    p.add_argument("--remove", action="store_true",
                   help="remove the forwardings roost made for it instead")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="the service's deploy options (they decide its ports)")
    p.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact with the host, trust this host key")
    p.set_defaults(handler=run_reach_upnp)


def show_line(text: str) -> None:
    sys.stdout.write(printable(text, 1000) + "\n")
    sys.stdout.flush()


def run_reach_upnp(args: argparse.Namespace) -> int:
    from roost.app.opening import Opening
    from roost.cli.deploy_cmd import ask_sudo_password, target_host
    from roost.cli.host_cmd import ask_trust

    host = target_host(args.host)
    o = Opening(args.service, host, paths.data_dir(), args.option, on_line=show_line,
                trust=args.trust, ask_trust=ask_trust(host, args.trust),
                sudo_password=lambda: ask_sudo_password(host))
    if args.remove:
        lines = o.close()
        for line in lines:
            show_line(line)
        if not lines:
            show_line(f"The router forwards nothing roost made for {args.service}.")
        return 0
    return o.open().exit_code
