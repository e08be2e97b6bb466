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

from roost.app import deploying
from roost.app.deploying import Deployment, Said, refuse_unless_installable, text_of
from roost.app.hosts import find
from roost.cli.host_cmd import ask_trust
from roost.core import paths
from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy import engine
from roost.deploy.events import Event, Output
from roost.deploy.hosts import Host
from roost.deploy.recipes import builder
from roost.deploy.steps import Secret

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


def service_on_host(p: argparse.ArgumentParser, what: str) -> None:
    """The service (to `what`) and --host NAME, as deploy and undeploy take them."""
    p.add_argument("service", help=f"the service to {what}, e.g. static-blog")
    p.add_argument("--host", default="local", help="the host's name (default: local)")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("deploy", help="install a service on one of your hosts", add_help=False,
                       description="Install a service on one of your hosts, check that it "
                       "works, and say what to do next. roost deploy ID --help lists that "
                       "service's options.")
    p.add_argument("-h", "--help", action=_RecipeHelp,
                   help="show this help and the options of the service named before it")
    service_on_host(p, "install")
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
    service_on_host(u, "remove")
    u.add_argument("--purge-data", action="store_true",
                   help="also delete the service's data and settings (cannot be undone)")
    u.add_argument("--dry-run", action="store_true",
                   help="print what it would run and what it would keep, change nothing")
    u.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    u.add_argument("--trust", metavar="SHA256:…")
    u.set_defaults(handler=run_undeploy)


# -- the callbacks the use case asks through: trust, sudo, the vault, progress ---------------

def target_host(name: str) -> Host:
    return find(paths.data_dir(), name)


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

    return deploying.vault_secrets(passphrase_from_env_or_prompt, paths.data_dir())


def printer(quiet: bool = False) -> Callable[[Event | Said], None]:
    def show(e: Event | Said) -> None:
        if quiet and isinstance(e, Output):
            return
        sys.stdout.write(text_of(e) + "\n")
        sys.stdout.flush()
    return show


def deployment(args: argparse.Namespace, on_event: Callable[[Event | Said], None]) -> Deployment:
    """The use case with this terminal's callbacks: the host key confirmed on first contact
    (or --trust), the sudo password asked only when a command needs root and sudo asks for
    one (so never before the connection works and its host key is trusted), the vault
    passphrase (or ROOST_PASSPHRASE_FILE) only when a step first needs a secret."""
    from roost.keys.vault import passphrase_from_env_or_prompt

    host = target_host(args.host)
    return Deployment(args.service, host, paths.data_dir(), args.option,
                      on_event=on_event, passphrase=passphrase_from_env_or_prompt,
                      trust=args.trust, ask_trust=ask_trust(host, args.trust),
                      sudo_password=lambda: ask_sudo_password(host))


# -- commands --------------------------------------------------------------------------------

def run_deploy(args: argparse.Namespace) -> int:
    refuse_unless_installable(args.service, target_host(args.host))  # before SSH
    d = deployment(args, printer(args.quiet))
    if args.dry_run:
        print("\n".join(d.dry_run()))
        return 0
    try:
        result = d.run(restart=args.restart, asked_resume=args.resume)
    except engine.DeployFailed as exc:
        return stopped(exc, f"the deploy of {args.service} to {d.host.name}")
    for line in d.notes(result):
        print(line)
    print_reach(args.service, d)
    return 0


def print_reach(service: str, d: Deployment) -> None:
    """For a service others must reach: each reach check as a line, as `roost reach` prints
    them (its exit code is that command's, not the deploy's)."""
    from roost.app.reaching import after_deploy, reached_from_outside

    if not reached_from_outside(service):
        return
    print("Can others reach it? Checking DNS, the ports and the certificate:")
    domain = d.recipe.domain if d.recipe is not None else ""
    for line in after_deploy(service, d.host, d.home, domain,
                             on_check=lambda c: print(printable(c.line(), 1000))):
        print(printable(line, 1000))


def run_undeploy(args: argparse.Namespace) -> int:
    d = deployment(args, printer())
    if args.dry_run:
        print("\n".join(d.removal_dry_run(args.purge_data)))
        return 0
    return told(lambda: d.undeploy(args.purge_data),
                f"removing {args.service} from {d.host.name}")


def stopped(exc: engine.DeployFailed, what: str) -> int:
    """A run that stopped at a step: one line naming the step (what to try was just printed
    with the failed step, not a second time here); exit code 2. A failure before any step
    is raised on."""
    if exc.event is None:
        raise exc
    sys.stderr.write(f"roost: {what} stopped at step {exc.event.index} of {exc.event.total}; "
                     f"{ABOVE}.\n")
    return 2


def told(act: Callable[[], list[str]], what: str) -> int:
    """Run a use case and print its lines; a stopped run points at the step's own advice."""
    try:
        lines = act()
    except engine.DeployFailed as exc:
        return stopped(exc, what)
    for line in lines:
        print(line)
    return 0
