"""`roost reach SERVICE --host NAME`: can the people it is for reach it, and the ways in.

Without a way, it checks: one line per check, in words, each with what to do when it fails,
then one summary line. Exit code 0: every check is fine; 1: something needs attention; 2:
something could not be checked, or bad input (one line on stderr). `--json` prints the report
for scripts.

With a way in it opens it: `--upnp` asks the home router to forward the ports, `--relay VPS`
goes through the person's VPS (a WireGuard tunnel and forwarded ports), `--tor` makes a Tor
onion service from the vault's Tor identity; `--close` (or `--remove`) takes it away again.
Progress is printed as plain lines, one per step, as `roost deploy` prints them; what it did
and what to do next (where the domain must point, the onion address) come last.

`roost host dyndns NAME ...` (registered by `roost host`) keeps a dynamic-DNS name pointed at a
host whose home address changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import printable

if TYPE_CHECKING:
    from roost.app.relaying import Relaying


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("reach", help="check that others can reach a service, or open a way in",
                       description="Check that the people a service is for can reach it: the "
                       "DNS records it needs, each port from outside (from another of your "
                       "hosts, with --from), and its TLS certificate. Exit code 0: all fine; "
                       "1: something needs attention; 2: could not check. With a way in "
                       "(--relay VPS: a WireGuard tunnel from the host to your VPS, which "
                       "forwards the service's ports to it; your domain then points at the "
                       "VPS; --tor: a Tor onion service, for private use by friends and "
                       "your own phone), it opens that way; --close takes it away again.")
    p.add_argument("service", help="the service, e.g. prosody")
    p.add_argument("--host", default="local", help="the host it runs on (default: local)")
    check = p.add_argument_group("checking")
    check.add_argument("--from", dest="from_host", metavar="HOST",
                       help="another of your hosts (a VPS) to check the ports from, over SSH; "
                       "without it they are checked from this computer, which proves only "
                       "your own network")
    check.add_argument("--domain", default="", help="the name people use (default: the one "
                       "the deploy uses)")
    check.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                       help="the service's deploy options, to find its domain as the deploy "
                       "does")
    check.add_argument("--resolver", default="", metavar="ADDRESS[:PORT]",
                       help="the DNS resolver to ask (also ROOST_DNS_RESOLVER; default: this "
                       "computer's)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--trust", metavar="SHA256:…",
                       help="on first contact with the host (or the --from host), trust "
                       "this host key")
    ways = p.add_argument_group("ways in")
    ways.add_argument("--relay", metavar="VPS", help="relay through this host (your VPS)")
    ways.add_argument("--upnp", action="store_true",
                      help="ask the home router (UPnP) to forward the service's ports to the "
                      "host; without UPnP on the router, prints the steps by hand, exit 1")
    ways.add_argument("--tor", action="store_true",
                      help="a Tor onion service from the vault's Tor identity")
    ways.add_argument("--identity", default="", metavar="ID",
                      help="with --tor: the Tor identity to use, when the vault has several")
    ways.add_argument("--close", "--remove", dest="close", action="store_true",
                      help="take the way in away again")
    ways.add_argument("--dry-run", action="store_true",
                      help="print every command and file it would run or write, change "
                      "nothing")
    ways.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.set_defaults(handler=run_reach)


def show_line(text: str) -> None:
    sys.stdout.write(printable(text, 1000) + "\n")
    sys.stdout.flush()


def run_reach(args: argparse.Namespace) -> int:
    if sum((bool(args.relay), args.tor, args.upnp)) > 1:
        raise RoostError("one way in at a time", hint="use one of --upnp, --relay VPS, --tor")
    if args.upnp:
        return run_upnp(args)
    if args.relay:
        return run_relay(args)
    if args.tor:
        return run_tor(args)
    if args.close or args.dry_run:
        raise RoostError("--close and --dry-run go with a way in",
                         hint="add --upnp, --relay VPS or --tor, or leave them out to check")
    return run_check(args)


def run_check(args: argparse.Namespace) -> int:
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


def relaying(args: argparse.Namespace) -> Relaying:
    """The use case with this terminal's callbacks (as `roost deploy` asks them)."""
    from roost.app.relaying import Relaying
    from roost.cli.deploy_cmd import ask_sudo_password, printer, target_host
    from roost.cli.host_cmd import ask_trust
    from roost.keys.vault import passphrase_from_env_or_prompt

    return Relaying(args.service, target_host(args.host), target_host(args.relay),
                    paths.data_dir(), on_event=printer(args.quiet),
                    passphrase=passphrase_from_env_or_prompt,
                    ask_trust=lambda h: ask_trust(h, None),
                    sudo_password=lambda h: lambda: ask_sudo_password(h))


def run_relay(args: argparse.Namespace) -> int:
    from roost.cli.deploy_cmd import told

    r = relaying(args)
    if args.dry_run:
        print("\n".join(r.removal_dry_run() if args.close else r.dry_run()))
        return 0
    return told(lambda: r.close() if args.close else r.open(),
                f"{'removing the relay' if args.close else 'the relay'} on {args.host}")


def run_upnp(args: argparse.Namespace) -> int:
    """Exit code 0: the router forwards every port (or, with --close, roost's forwardings are
    gone); 1: the router offers no UPnP, nothing was opened, the steps by hand are printed."""
    from roost.app.opening import Opening
    from roost.cli.deploy_cmd import ask_sudo_password, target_host
    from roost.cli.host_cmd import ask_trust

    if args.dry_run:
        raise RoostError("--upnp has no dry run", hint="leave out --dry-run")
    host = target_host(args.host)
    o = Opening(args.service, host, paths.data_dir(), args.option, on_line=show_line,
                trust=args.trust, ask_trust=ask_trust(host, args.trust),
                sudo_password=lambda: ask_sudo_password(host))
    if args.close:
        for line in o.close():
            show_line(line)
        return 0
    return o.open().exit_code


def run_tor(args: argparse.Namespace) -> int:
    from roost.app.onion import Onion
    from roost.cli.deploy_cmd import ask_sudo_password, printer, target_host, told
    from roost.cli.host_cmd import ask_trust
    from roost.keys.vault import passphrase_from_env_or_prompt

    host = target_host(args.host)
    o = Onion(args.service, host, paths.data_dir(), identity=args.identity,
              on_event=printer(args.quiet), passphrase=passphrase_from_env_or_prompt,
              trust=args.trust, ask_trust=ask_trust(host, args.trust),
              sudo_password=lambda: ask_sudo_password(host))
    if args.dry_run:
        print("\n".join(o.removal_dry_run() if args.close else o.dry_run()))
        return 0
    return told(lambda: o.close() if args.close else o.open(),
                f"the onion service of {args.service} on {host.name}")


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
    from roost.cli.deploy_cmd import ask_sudo_password, printer, target_host, told
    from roost.cli.host_cmd import ask_trust
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
    return told(lambda: d.remove() if args.remove else d.run(), f"ddclient on {host.name}")
