"""`roost host`: add, list, remove and forget hosts, and read their facts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.hosts import Host, HostStore, open_transport, parse_target
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import KnownHosts, TrustNeeded


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


def _ask(question: str) -> bool:
    sys.stdout.write(question + " Type yes or no: ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def connect_trusting(host: Host, trust: str | None,
                     sudo_password: SudoPassword = None) -> Transport:
    """Connect; on first contact ask to confirm the fingerprint (or use --trust).
    `sudo_password` may be a function: it is called only when sudo asks for a password."""
    from roost.deploy.ssh import SSHTransport

    t = open_transport(host, trust=trust, sudo_password=sudo_password)
    if not isinstance(t, SSHTransport):
        return t
    try:
        t.connect()
        return t
    except TrustNeeded as need:
        t.close()
        if trust is not None or not _interactive():
            raise
        if not _ask(need.question()):
            raise RoostError(f"{host.name} was not trusted; nothing was changed",
                             hint="check the fingerprint on the host, then try again") from None
        t = open_transport(host, trust=need.fingerprint, sudo_password=sudo_password)
        assert isinstance(t, SSHTransport)
        t.connect()
        return t


def run_add(args: argparse.Namespace) -> int:
    from roost.deploy import facts

    name = validate.short_name(args.name, "host name")
    user, address, port = parse_target(args.target)
    if args.key and not Path(args.key).expanduser().is_file():
        raise RoostError(f"there is no key file {args.key[:80]!r}",
                         hint="give the path of your private key, like ~/.ssh/id_ed25519")
    host = Host(name=name, address=address, user=user, port=port,
                key_path=args.key or None)
    store = HostStore()
    if any(h.name == name for h in store.all()):
        store.add(host)  # raises "already a host called…"
    t = connect_trusting(host, args.trust)
    try:
        found = facts.gather(t)
    finally:
        t.close()
    store.add(host)
    store.save_facts(name, found.to_dict(), found.read_at)
    print(f"Added {name}: {host.target()}.")
    for line in found.lines():
        print(line)
    return 0


def run_list(args: argparse.Namespace) -> int:
    hosts = HostStore().all()
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
    host = HostStore().remove(args.name)
    print(f"Removed {host.name} ({host.target()}). Its host key is still trusted; "
          f"`roost host forget {host.name}` before removing drops it too.")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from roost.deploy.ssh import resolve

    host = HostStore().get(args.name)
    if host.is_local:
        raise RoostError("`local` has no host key: it is this computer")
    ep = resolve(host.address, user=host.user, port=host.port, key_path=host.key_path)
    n = KnownHosts().forget(ep.host, ep.port)
    if n:
        print(f"Forgot the host key of {host.name}. The next connection shows the new "
              f"fingerprint and asks before trusting it.")
    else:
        print(f"roost kept no host key for {host.name}.")
    return 0


def run_facts(args: argparse.Namespace) -> int:
    from roost.deploy import facts

    store = HostStore()
    host = store.get(args.name)
    if host.facts is None or args.refresh:
        t = connect_trusting(host, args.trust)
        try:
            found = facts.gather(t)
        finally:
            t.close()
        store.save_facts(host.name, found.to_dict(), found.read_at)
    else:
        found = facts.Facts.from_dict({**host.facts, "read_at": host.facts_read_at or ""})
    if args.json:
        json.dump({"host": host.name, **found.to_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in found.lines():
            print(line)
    return 0
