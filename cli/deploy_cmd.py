"""`roost deploy SERVICE --host NAME` and `roost undeploy SERVICE --host NAME`.

Progress is printed as plain lines ("step 3 of 7: install packages prosody"), one per event,
so it reads the same on a screen, a braille display or a log. A failed step prints its last
lines of output and what to try; running the same command again continues where it stopped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from roost.core.errors import RoostError
from roost.core.validate import short_name
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, Output, as_text
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe, parse_options
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
    p.set_defaults(handler=run_deploy)

    u = sub.add_parser("undeploy", help="remove a service from one of your hosts")
    u.add_argument("service")
    u.add_argument("--host", default="local")
    u.add_argument("--purge-data", action="store_true",
                   help="also delete the service's data (cannot be undone)")
    u.add_argument("--dry-run", action="store_true")
    u.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    u.set_defaults(handler=run_undeploy)


# -- hosts, facts, identities, secrets: from the layers that own them ------------------------

def open_transport(host: str) -> Transport:
    """The transport for a host name: `local` is this machine, others come from roost's hosts
    list (roost host add)."""
    short_name(host, "host name")
    hosts = _optional("roost.deploy.hosts")
    opener = getattr(hosts, "open_transport", None) if hosts is not None else None
    if opener is not None:
        t: Transport = opener(host)
        return t
    if host == "local":
        from roost.deploy.local import LocalTransport

        return LocalTransport("local")
    raise RoostError(f"roost does not know a host called {host}",
                     hint="add it with `roost host add NAME user@address`")


def host_facts(host: str, t: Transport | None) -> Any:
    """The host's facts (cached when there is no connection), or None when unknown."""
    facts = _optional("roost.deploy.facts")
    if facts is None:
        return None
    for name in ("cached_or_gather", "get_facts", "gather"):
        fn = getattr(facts, name, None)
        if fn is None:
            continue
        try:
            if name == "gather":
                return fn(t) if t is not None else None
            return fn(host, t)
        except TypeError:
            continue
    return None


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


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


# -- commands --------------------------------------------------------------------------------

def build(service: str, host: str, options: list[str], t: Transport | None) -> Recipe:
    opts = parse_options(options)
    return builder(service)(host_facts(host, t), opts, identities())


def printer(quiet: bool = False) -> Callable[[Event], None]:
    def show(e: Event) -> None:
        if quiet and isinstance(e, Output):
            return
        sys.stdout.write(as_text(e) + "\n")
        sys.stdout.flush()
    return show


def run_deploy(args: argparse.Namespace) -> int:
    host = short_name(args.host, "host name")
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(plan_lines(recipe, host)))
        return 0
    with open_transport(host) as t:
        recipe = build(args.service, host, args.option, t)
        journal = Journal.for_host(host, recipe.id)
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
    host = short_name(args.host, "host name")
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(removal_lines(recipe, args.purge_data, host)))
        return 0
    with open_transport(host) as t:
        recipe = build(args.service, host, args.option, t)
        try:
            engine.undeploy(recipe, t, purge_data=args.purge_data,
                            journal=Journal.for_host(host, recipe.id),
                            secrets=vault_secrets(), on_event=printer(),
                            state_dir=state_dir())
        except engine.DeployFailed as exc:
            if exc.event is None:
                raise
            sys.stderr.write(f"roost: removing {args.service} from {host} stopped. "
                             "Run the same command again to continue.\n")
            return 2
    return 0
