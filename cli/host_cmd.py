"""`roost host`: add, list, remove and forget hosts, and read their facts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from roost.app.connecting import known_hosts
from roost.app.hosts import cached_facts, host_store, read_facts
from roost.core import paths, validate
from roost.core.errors import RoostError
from roost.deploy.hosts import Host, parse_target
from roost.deploy.trust import AskTrust, TrustNeeded


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("host", help="the computers roost deploys to")
    hs = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)

    a = hs.add_parser("add", help="add a host reached over SSH")
    a.add_argument("name", help="a short name for it, like pi or vps")
    a.add_argument("target", metavar="user@host[:port]", help="how to reach it over SSH")
    a.add_argument("--key", metavar="PATH", help="the SSH key file to log in with")
    a.add_argument("--trust", metavar="SHA256:…",
                   help="trust the host key with this fingerprint without asking")
    a.set_defaults(handler=run_add)

    ls = hs.add_parser("list", help="list the hosts, one line each")
    ls.add_argument("--json", action="store_true", help="print JSON instead")
    ls.set_defaults(handler=run_list)

    rm = hs.add_parser("remove", help="remove a host from roost's list")
    rm.add_argument("name")
    rm.set_defaults(handler=run_remove)

    fg = hs.add_parser("forget", help="forget a host's key (after it was reinstalled)")
    fg.add_argument("name")
    fg.set_defaults(handler=run_forget)

    fa = hs.add_parser("facts", help="what the host is: OS, memory, disk, ports in use")
    fa.add_argument("name")
    fa.add_argument("--json", action="store_true", help="print JSON instead")
    fa.add_argument("--refresh", action="store_true", help="read them again from the host")
    fa.add_argument("--trust", metavar="SHA256:…",
                    help="on first contact, trust the host key with this fingerprint")
    fa.set_defaults(handler=run_facts)

    from roost.cli.reach_cmd import register_dyndns

    register_dyndns(hs)

    su = hs.add_parser("security-updates",
                       help="have the host install security updates by itself every day "
                            "(Debian's unattended-upgrades); --off stops it")
    su.add_argument("name", help="the host's name")
    su.add_argument("--off", action="store_true",
                    help="switch automatic security updates off (the package stays)")
    su.add_argument("--dry-run", action="store_true",
                    help="print every command and file it would run or write, change nothing")
    su.add_argument("--quiet", action="store_true", help="print steps, not command output")
    su.add_argument("--trust", metavar="SHA256:…",
                    help="on first contact, trust the host key with this fingerprint")
    su.set_defaults(handler=run_security_updates)


def run_security_updates(args: argparse.Namespace) -> int:
    from roost.app.security_updates import SecurityUpdates
    from roost.cli.deploy_cmd import ask_sudo_password, printer, target_host, told

    host = target_host(args.name)
    s = SecurityUpdates(host, paths.data_dir(), on_event=printer(args.quiet), trust=args.trust,
                        ask_trust=ask_trust(host, args.trust),
                        sudo_password=lambda: ask_sudo_password(host))
    if args.dry_run:
        print("\n".join(s.dry_run(on=not args.off)))
        return 0
    return told(lambda: s.switch(on=not args.off), f"security updates on {host.name}")


def _ask(question: str) -> bool:
    sys.stdout.write(question + " Type yes or no: ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask_trust(host: Host, trust: str | None) -> AskTrust | None:
    """On first contact in a terminal (and no --trust): show the fingerprint and ask, within
    the one SSH handshake. None (TrustNeeded is raised) when --trust was given or nobody is
    there to answer."""
    if trust is not None or not _interactive():
        return None

    def ask(need: TrustNeeded) -> bool:
        if not _ask(need.question()):
            raise RoostError(f"{host.name} was not trusted; nothing was changed",
                             hint="check the fingerprint on the host, then try again")
        return True

    return ask


def run_add(args: argparse.Namespace) -> int:
    name = validate.short_name(args.name, "host name")
    user, address, port = parse_target(args.target)
    if args.key and not Path(args.key).expanduser().is_file():
        raise RoostError(f"there is no key file {args.key[:80]!r}",
                         hint="give the path of your private key, like ~/.ssh/id_ed25519")
    host = Host(name=name, address=address, user=user, port=port,
                key_path=args.key or None)
    home = paths.data_dir()
    store = host_store(home)
    if any(h.name == name for h in store.all()):
        store.add(host)  # raises "already a host called…"
    found = read_facts(host, home, trust=args.trust, ask_trust=ask_trust(host, args.trust),
                       add=True)
    print(f"Added {name}: {host.target()}.")
    for line in found.lines():
        print(line)
    return 0


def run_list(args: argparse.Namespace) -> int:
    hosts = host_store(paths.data_dir()).all()
    if args.json:
        json.dump([{"name": h.name, "address": h.address, "user": h.user, "port": h.port,
                    "key": h.key_path, "facts_read_at": h.facts_read_at} for h in hosts],
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for h in hosts:
            print(h.describe())
    return 0


def run_remove(args: argparse.Namespace) -> int:
    host = host_store(paths.data_dir()).remove(args.name)
    print(f"Removed {host.name} ({host.target()}). Its host key is still trusted; "
          f"`roost host forget {host.name}` before removing drops it too.")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from roost.deploy.ssh import resolve

    home = paths.data_dir()
    host = host_store(home).get(args.name)
    if host.is_local:
        raise RoostError("`local` has no host key: it is this computer")
    ep = resolve(host.address, user=host.user, port=host.port, key_path=host.key_path)
    n = known_hosts(home).forget(ep.host, ep.port)
    if n:
        print(f"Forgot the host key of {host.name}. The next connection shows the new "
              f"fingerprint and asks before trusting it.")
    else:
        print(f"roost kept no host key for {host.name}.")
    return 0


def run_facts(args: argparse.Namespace) -> int:
    home = paths.data_dir()
    host = host_store(home).get(args.name)
    found = None if args.refresh else cached_facts(host)
    if found is None:
        found = read_facts(host, home, trust=args.trust, ask_trust=ask_trust(host, args.trust))
    if args.json:
        json.dump({"host": host.name, **found.to_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in found.lines():
            print(line)
    return 0
