"""`roost deploy SERVICE --host NAME` and `roost undeploy SERVICE --host NAME`.

Progress is printed as plain lines ("step 3 of 7: install packages prosody"), one per event,
so it reads the same on a screen, a braille display or a log. A failed step prints its last
lines of output and what to try; running the same command again continues where it stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from roost.core.errors import RoostError
from roost.core.validate import short_name
from roost.deploy import engine, hosts
from roost.deploy import facts as facts_mod
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, Output, as_text
from roost.deploy.hosts import Host, HostStore
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe, TargetHost, parse_options
from roost.deploy.recipes import builder
from roost.deploy.steps import Secret
from roost.deploy.transport import Transport


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("deploy", help="install a service on one of your hosts")
    p.add_argument("service", help="the service to install, e.g. static-blog")
    p.add_argument("--host", default="local", help="the host's name (default: local)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    p.add_argument("--resume", action="store_true",
                   help="continue a deploy that stopped (also done by default)")
    p.add_argument("--restart", action="store_true",
                   help="start over instead of continuing a deploy that stopped")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a recipe option; repeat for several")
    p.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact, trust the host key with this fingerprint")
    p.set_defaults(handler=run_deploy)

    u = sub.add_parser("undeploy", help="remove a service from one of your hosts")
    u.add_argument("service")
    u.add_argument("--host", default="local")
    u.add_argument("--purge-data", action="store_true",
                   help="also delete the service's data (cannot be undone)")
    u.add_argument("--dry-run", action="store_true")
    u.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    u.add_argument("--trust", metavar="SHA256:…")
    u.set_defaults(handler=run_undeploy)


# -- hosts, facts, identities, secrets: from the layers that own them ------------------------

def target_host(name: str) -> Host:
    return HostStore().get(short_name(name, "host name"))


def open_transport(host: Host, trust: str | None = None) -> Transport:
    """Connect to the host: `local` is this machine; others over SSH, asking to trust the
    host key on first contact (or --trust). Asks for the sudo password when the host's
    facts say sudo needs one."""
    from roost.cli.host_cmd import connect_trusting

    password: str | None = None
    if host.facts and host.facts.get("sudo") == "password":
        password = ask_sudo_password(host)
    if password is None:
        return connect_trusting(host, trust)
    if not host.is_local:
        connect_trusting(host, trust).close()  # trust is settled before the password is used
    t = hosts.open_transport(host, sudo_password=password)
    connect = getattr(t, "connect", None)
    if connect is not None:
        connect()
    return t


def ask_sudo_password(host: Host) -> str:
    if not sys.stdin.isatty():
        raise RoostError(f"sudo on {host.name} asks for a password and roost cannot ask here",
                         hint="run roost in a terminal, or allow sudo without a password "
                              "for this user")
    import getpass

    try:
        return getpass.getpass(f"sudo password for {host.user or 'you'} on {host.name}: ")
    except EOFError:
        raise RoostError("no password was given", hint="nothing was changed") from None


def host_info(host: Host, t: Transport | None) -> TargetHost:
    """The host as a builder sees it: name, address and facts (read now when never read
    before and connected; the cached ones otherwise)."""
    found: Any = None
    if host.facts:
        found = facts_mod.Facts.from_dict({**host.facts, "read_at": host.facts_read_at or ""})
    elif t is not None:
        found = facts_mod.gather(t)
        HostStore().save_facts(host.name, found.to_dict(), found.read_at)
    address = "127.0.0.1" if host.is_local else host.address
    return TargetHost(host.name, address, found)


def identities() -> Mapping[str, Any]:
    """Public parts of the identities in the key vault (no passphrase needed)."""
    try:
        from roost.keys.vault import Vault

        return {i.id: i for i in Vault.public_index()}
    except (ImportError, RoostError):
        return {}


def vault_secrets() -> Callable[[Secret], str]:
    """Resolve Secret(identity id, field) from the vault, opening it only when first needed."""
    opened: dict[str, Any] = {}

    def resolve(s: Secret) -> str:
        from roost.keys.vault import Vault, passphrase_from_env_or_prompt

        if "v" not in opened:
            opened["v"] = Vault.open(None, passphrase_from_env_or_prompt())
        try:
            ident = opened["v"].get(s.name)
        except RoostError:
            raise RoostError(f"the key vault has no identity {s.name}",
                             hint="create it with `roost keys`") from None
        value = ident.secret.get(s.field)
        if value is None:
            raise RoostError(f"the identity {s.name} has no {s.field}")
        return str(value)

    return resolve


# -- commands --------------------------------------------------------------------------------

def build(service: str, host: Host, options: list[str], t: Transport | None) -> Recipe:
    opts = parse_options(options)
    make = builder(service)
    return make(host_info(host, t), opts, identities())


def printer(quiet: bool = False) -> Callable[[Event], None]:
    def show(e: Event) -> None:
        if quiet and isinstance(e, Output):
            return
        sys.stdout.write(as_text(e) + "\n")
        sys.stdout.flush()
    return show


def run_deploy(args: argparse.Namespace) -> int:
    host = target_host(args.host)
    builder(args.service)
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(plan_lines(recipe, host.name)))
        return 0
    with open_transport(host, args.trust) as t:
        recipe = build(args.service, host, args.option, t)
        journal = Journal.for_host(host.name, recipe.id)
        previous = journal.load()
        resume = previous is not None and previous.unfinished and not args.restart
        if resume:
            print(f"continuing the deploy of {args.service} to {host} that stopped earlier; "
                  "finished steps are not redone")
        elif args.resume:
            print(f"nothing to continue for {args.service} on {host}; starting the deploy")
        try:
            engine.run(recipe, t, journal=journal, secrets=vault_secrets(),
                       on_event=printer(args.quiet), resume=resume, state_dir=state_dir())
        except engine.DeployFailed as exc:
            if exc.event is None:
                raise
            sys.stderr.write(f"roost: the deploy of {args.service} to {host} stopped. "
                             "Run the same command again to continue.\n")
            return 2
    return 0


def state_dir() -> str:
    """Where the host keeps roost's step markers (tests point it at a temp folder)."""
    return os.environ.get("ROOST_HOST_STATE_DIR") or engine.HOST_STATE_DIR


def run_undeploy(args: argparse.Namespace) -> int:
    host = target_host(args.host)
    builder(args.service)
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(removal_lines(recipe, args.purge_data, host.name)))
        return 0
    with open_transport(host, args.trust) as t:
        recipe = build(args.service, host, args.option, t)
        try:
            engine.undeploy(recipe, t, purge_data=args.purge_data,
                            journal=Journal.for_host(host.name, recipe.id),
                            secrets=vault_secrets(), on_event=printer(),
                            state_dir=state_dir())
        except engine.DeployFailed as exc:
            if exc.event is None:
                raise
            sys.stderr.write(f"roost: removing {args.service} from {host} stopped. "
                             "Run the same command again to continue.\n")
            return 2
    return 0
