"""`roost deploy SERVICE --host NAME` and `roost undeploy SERVICE --host NAME`.

Progress is printed as plain lines ("step 3 of 8: install the package prosody"), one per event,
so it reads the same on a screen, a braille display or a log. A failed step prints its last
lines of output and what to try; running the same command again continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from roost.core.errors import RoostError
from roost.core.text import printable
from roost.core.validate import short_name
from roost.deploy import engine, session
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, Output, as_text
from roost.deploy.hosts import Host, HostStore
from roost.deploy.journal import Journal
from roost.deploy.not_installed import refuse_unless_installable
from roost.deploy.recipe import Recipe, parse_options
from roost.deploy.recipes import builder
from roost.deploy.steps import Secret
from roost.deploy.transport import Transport

ABOVE = "what to try is just above"
"""A stopped deploy's last line points at the failed step's own advice instead of repeating it."""


class _RecipeHelp(argparse.Action):
    """-h/--help that adds the recipe's own options: `roost deploy static-blog --help`."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.print_help()
        print()
        print("\n".join(recipe_help(getattr(namespace, "service", None))))
        parser.exit()


def recipe_help(service: str | None) -> list[str]:
    """The lines `--help` adds: the service's options, or the services there are."""
    from roost.deploy.options import recipe_options
    from roost.deploy.recipes import RECIPES

    if service in RECIPES:
        return recipe_options(service).help_lines()
    lines = []
    if service:
        try:
            builder(service)
        except RoostError as exc:
            lines.append(printable(exc.line(), 600))
    lines += textwrap.wrap(f"Services roost deploys: {', '.join(sorted(RECIPES))}. roost "
                           "deploy ID --help lists the options of one.", width=79,
                           break_on_hyphens=False)
    return lines


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("deploy", help="install a service on one of your hosts", add_help=False,
                       description="Install a service on one of your hosts, check that it "
                       "works, and say what to do next. roost deploy ID --help lists that "
                       "service's options.")
    p.add_argument("-h", "--help", action=_RecipeHelp,
                   help="show this help and the options of the service named before it")
    p.add_argument("service", help="the service to install, e.g. static-blog")
    p.add_argument("--host", default="local", help="the host's name (default: local)")
    p.add_argument("--dry-run", action="store_true",
                   help="print every command and file it would run or write, change nothing")
    p.add_argument("--resume", action="store_true",
                   help="continue a deploy that stopped (also done by default)")
    p.add_argument("--restart", action="store_true",
                   help="start over instead of continuing a deploy that stopped")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="one of the service's options (listed by roost deploy ID --help); "
                   "repeat for several")
    p.add_argument("--quiet", action="store_true", help="print steps, not command output")
    p.add_argument("--trust", metavar="SHA256:…",
                   help="on first contact, trust the host key with this fingerprint")
    p.set_defaults(handler=run_deploy)

    u = sub.add_parser("undeploy", help="remove a service from one of your hosts",
                       description="Stop a service and remove it from one of your hosts. Its "
                       "data and settings stay on the host, in the folders roost names when it "
                       "is done (a dry run names them first), unless --purge-data.")
    u.add_argument("service", help="the service to remove, e.g. static-blog")
    u.add_argument("--host", default="local", help="the host's name (default: local)")
    u.add_argument("--purge-data", action="store_true",
                   help="also delete the service's data and settings (cannot be undone)")
    u.add_argument("--dry-run", action="store_true",
                   help="print what it would run and what it would keep, change nothing")
    u.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    u.add_argument("--trust", metavar="SHA256:…")
    u.set_defaults(handler=run_undeploy)


# -- hosts, facts, identities, secrets: from the layers that own them ------------------------

def target_host(name: str) -> Host:
    return HostStore().get(short_name(name, "host name"))


def open_transport(host: Host, trust: str | None = None) -> Transport:
    """Connect to the host: `local` is this machine; others over SSH, asking to trust the
    host key on first contact (or --trust). The sudo password is asked only later, and only
    when a command needs root and `sudo -n true` says sudo wants one: never before the
    connection works and its host key is trusted."""
    from roost.cli.host_cmd import connect_trusting

    return connect_trusting(host, trust, sudo_password=lambda: ask_sudo_password(host))


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


def vault_secrets() -> Callable[[Secret], str]:
    """Secrets from the vault; the passphrase is asked (or read from ROOST_PASSPHRASE_FILE)
    only when a step first needs one."""
    from roost.keys.vault import passphrase_from_env_or_prompt

    return session.vault_secrets(passphrase_from_env_or_prompt)


# -- commands --------------------------------------------------------------------------------

def build(service: str, host: Host, options: list[str], t: Transport | None) -> Recipe:
    return session.build_recipe(service, host, parse_options(options), t)


def printer(quiet: bool = False) -> Callable[[Event], None]:
    def show(e: Event) -> None:
        if quiet and isinstance(e, Output):
            return
        sys.stdout.write(as_text(e) + "\n")
        sys.stdout.flush()
    return show


def run_deploy(args: argparse.Namespace) -> int:
    host = target_host(args.host)
    refuse_unless_installable(args.service, host)  # why not and what instead, before SSH
    builder(args.service)
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(plan_lines(recipe, host.name)))
        return 0
    with open_transport(host, args.trust) as t:
        recipe = build(args.service, host, args.option, t)
        session.check_ports(recipe, t, host.name)  # before anything is installed
        journal = Journal.for_host(host.name, recipe.id)
        previous = journal.load()
        resume = previous is not None and previous.unfinished and not args.restart
        if resume:
            print(f"continuing the deploy of {args.service} to {host.name} that stopped earlier; "
                  "finished steps are not redone")
        elif args.resume:
            print(f"nothing to continue for {args.service} on {host.name}; starting the deploy")
        try:
            result = engine.run(recipe, t, journal=journal, secrets=vault_secrets(),
                                on_event=printer(args.quiet), resume=resume,
                                state_dir=session.host_state_dir())
        except engine.DeployFailed as exc:
            if exc.event is None:
                raise
            # What to try was just printed with the failed step: not a second time here.
            sys.stderr.write(f"roost: the deploy of {args.service} to {host.name} stopped at "
                             f"step {exc.event.index} of {exc.event.total}; {ABOVE}.\n")
            return 2
    for line in session.note_deployed(recipe.service_id, host.name, result):
        print(line)
    return 0


def run_undeploy(args: argparse.Namespace) -> int:
    host = target_host(args.host)
    builder(args.service)
    if args.dry_run:
        recipe = build(args.service, host, args.option, None)
        print("\n".join(removal_lines(recipe, args.purge_data, host.name)))
        print("\n".join(recipe.removed_lines(host.name, args.purge_data, dry_run=True)))
        return 0
    with open_transport(host, args.trust) as t:
        recipe = build(args.service, host, args.option, t)
        try:
            engine.undeploy(recipe, t, purge_data=args.purge_data,
                            journal=Journal.for_host(host.name, recipe.id),
                            secrets=vault_secrets(), on_event=printer(),
                            state_dir=session.host_state_dir())
        except engine.DeployFailed as exc:
            if exc.event is None:
                raise
            sys.stderr.write(f"roost: removing {args.service} from {host.name} stopped at "
                             f"step {exc.event.index} of {exc.event.total}; {ABOVE}.\n")
            return 2
    for line in recipe.removed_lines(host.name, args.purge_data):
        print(line)
    for line in session.note_removed(recipe.service_id, host.name):
        print(line)
    return 0
