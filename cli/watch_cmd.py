"""`roost watch ID --host NAME --from OTHER --to YOU@SERVER`: alerts that do not depend on the
server that is down. Another of your hosts (OTHER, a VPS) probes the service every few minutes
and sends you one XMPP message when it goes down, and one when it is back (or a Matrix message
with --via matrix, or an e-mail with --via email).

`--test` sends one message now; `--remove` takes the watcher away; `--list` says what is
watched. The use case is roost.app.watching; progress is printed as `roost deploy` prints it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import printable


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "watch", help="alerts from another host when a service goes down, and when it is back",
        description="Set up a watcher on another of your hosts (--from, e.g. your VPS) that "
        "checks the service every few minutes from outside, as its users reach it, and sends "
        "one XMPP message to you (--to) when it goes down and one when it is back, from the "
        "vault's XMPP account --sender (default: alerts), which should live on another "
        "server than the one watched; or a Matrix message (--via matrix) from a Matrix "
        "identity's admin account, or an e-mail (--via email). --test sends one message now.")
    p.add_argument("service", nargs="?", default="", help="the service, e.g. prosody")
    p.add_argument("--host", default="", help="the host it runs on")
    p.add_argument("--from", dest="watcher", default="", metavar="HOST",
                   help="the host that watches (not the one watched)")
    p.add_argument("--to", default="", metavar="ADDRESS", help="your XMPP address (your "
                   "Matrix ID @you:example.org or a room ID with --via matrix, your e-mail "
                   "address with --via email), where alerts go")
    p.add_argument("--via", choices=("xmpp", "matrix", "email"), default="xmpp",
                   help="how alerts travel: an XMPP message (default), a Matrix message "
                   "(in a direct room made for them) or an e-mail (SMTP)")
    p.add_argument("--sender", default="", metavar="ID",
                   help="the vault identity that sends them (default: alerts): an XMPP "
                   "identity; with --via matrix a Matrix identity (its server's admin "
                   "account sends); with --via email a login with the mailbox's user and "
                   "address")
    p.add_argument("--server", default="", metavar="ADDRESS[:PORT]",
                   help="where the sender's server is reached (XMPP default: its domain, port "
                   "5222; Matrix: the homeserver's HTTPS name, default its server name, port "
                   "443; e-mail: the SMTP server, needed, port 587 by default)")
    p.add_argument("--server-certificate", default="", metavar="FILE",
                   help="the sender's server's certificate (PEM) to trust, when it is "
                   "self-signed")
    p.add_argument("--address", default="", metavar="ADDRESS",
                   help="where the watcher reaches the service (default: the address the "
                   "deploy checked; give your domain or the router's address outside when "
                   "that was an address at home)")
    p.add_argument("--every", type=int, default=5, metavar="MINUTES",
                   help="minutes between two checks (default 5)")
    p.add_argument("--test", action="store_true", help="send one message now")
    p.add_argument("--remove", action="store_true", help="take the watcher away")
    p.add_argument("--list", action="store_true", help="what is watched, from where")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    p.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.set_defaults(handler=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    from roost.app.watching import Watching
    from roost.cli.deploy_cmd import ask_sudo_password, printer, told
    from roost.cli.host_cmd import ask_trust
    from roost.cli.reach_cmd import show_line
    from roost.keys.vault import passphrase_from_env_or_prompt

    w = Watching(paths.data_dir(), on_event=printer(args.quiet),
                 passphrase=passphrase_from_env_or_prompt,
                 ask_trust=lambda h: ask_trust(h, None),
                 sudo_password=lambda h: lambda: ask_sudo_password(h))
    if args.list:
        for line in w.listed():
            show_line(line)
        return 0
    if sum((args.test, args.remove)) > 1 or not args.service or not args.host:
        raise RoostError("roost watch needs the service and its host, and one thing to do",
                         hint="roost watch ID --host NAME --from OTHER --to YOU@SERVER; add "
                              "--test or --remove for a watch set up; --list lists them")
    if args.test:
        return told(lambda: w.test(args.service, args.host), f"the test message on {args.host}")
    if args.remove:
        return told(lambda: w.remove(args.service, args.host),
                    f"removing the watcher on {args.host}")
    if not args.watcher:
        raise RoostError("roost watch needs the host that watches",
                         hint="add --from OTHER: another of your hosts, not the one watched")
    watch = w.plan(args.service, args.host, args.watcher, to=args.to, sender=args.sender,
                   server=args.server, ca_pem=_certificate(args.server_certificate),
                   every=args.every, address=args.address, via=args.via)
    if args.dry_run:
        print("\n".join(w.dry_run(watch)))
        return 0
    return told(lambda: w.watch(watch), f"the watcher on {args.watcher}")


def _certificate(path: str) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoostError(f"roost cannot read {printable(path, 80)} ({type(exc).__name__})",
                         hint="give the server's certificate as a PEM file") from None
