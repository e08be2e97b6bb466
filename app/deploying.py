"""Deploy a service to a host, or remove it: the one use case the CLI and the TUI both run.

A `Deployment` is built from the data folder, the host, the service's options and callbacks:
`on_event` receives every event to show (the engine's steps, and `Said` notices such as
"continuing the deploy that stopped earlier"; `text_of` turns any of them into the lines to
print or render), `passphrase` is asked only when a step first needs a vault secret,
`ask_trust` on first contact with the host, `sudo_password` (a function) only when a command
needs root and sudo asks for one, and `cancel` stops the run before its next step.

    d = Deployment("static-blog", host, home, options, on_event=show, ...)
    d.dry_run()                    # lines: every command and file, nothing changed
    result = d.run()               # connect once, check (facts, ports), run or continue
    d.notes(result)                # noted in the progress: lines to tell the person
    d.undeploy(purge_data=False)   # lines: what was removed, what is kept, the progress

Nothing here prints or prompts. The progress (the plan) is written here, never below.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.app.deploy_options import record_options
from roost.app.on_host import OnHost, no_passphrase, remove_recipe, run_recipe
from roost.app.opening import close_on
from roost.core.errors import RoostError
from roost.deploy import ports, session
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepStarted, as_text
from roost.deploy.hosts import Host
from roost.deploy.journal import Journal
from roost.deploy.not_installed import no_recipe_error
from roost.deploy.recipe import Recipe, parse_options
from roost.deploy.recipes import RECIPES, builder
from roost.deploy.recipes.upstream import UPSTREAM_CACHE
from roost.deploy.steps import Secret
from roost.deploy.transport import Transport
from roost.plan.progress import ProgressStore, ports_words
from roost.plan.workspace import PROGRESS_FILE, Workspace


@dataclass(frozen=True)
class Said:
    """A notice of the deploy itself (not of a step), shown as its text."""

    text: str


def text_of(e: Event | Said) -> str:
    """The line (or lines) the CLI prints and the TUI shows for an event."""
    return e.text if isinstance(e, Said) else as_text(e)


class Cancelled(RoostError):
    """The person cancelled; the deploy stopped before its next step."""


def vault_secrets(passphrase: Callable[[], str], home: Path) -> Callable[[Secret], str]:
    """Resolve Secret(identity id, field) from the vault in `home`, asking `passphrase` and
    opening the vault only when a step first needs a secret."""
    return session.vault_secrets(passphrase, home)


def refuse_unless_installable(service_id: str, host: Host | None = None) -> None:
    """Raise the honest one-line RoostError, before any connection, when roost has no recipe
    for `service_id`."""
    if service_id not in RECIPES:
        raise no_recipe_error(service_id, RECIPES, host)


_NO_PASSPHRASE = no_passphrase("this service needs a key")


@dataclass
class Deployment(OnHost):
    recipe_id: str
    host: Host
    home: Path
    """The data folder: hosts, known hosts, journals, the vault and the progress."""
    options: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    """The service's options, or the person's NAME=VALUE words (read after the service is
    known, so an unknown service is named first)."""
    passphrase: Callable[[], str] = _NO_PASSPHRASE
    cancel: threading.Event | None = None

    def __post_init__(self) -> None:
        builder(self.recipe_id)  # an unknown service is refused before connecting
        self.values: Mapping[str, str] = (self.options if isinstance(self.options, Mapping)
                                          else parse_options(list(self.options)))
        """The options, read."""
        self.recipe: Recipe | None = None
        """The recipe as built for the host, once `run` or `undeploy` built it."""

    # -- the parts -------------------------------------------------------------------------

    def build(self, t: Transport | None) -> Recipe:
        """The recipe for the host (facts read now and kept when never read and connected)."""
        self.recipe = session.build_recipe(self.recipe_id, self.host, self.values, t,
                                           self.home)
        return self.recipe

    def connect(self) -> Transport:
        return self.connect_to(self.host, self.home)

    def check(self, t: Transport) -> Recipe:
        """Connected, before anything is installed: the recipe for the host's facts, and
        every port it binds free (or held by this same service)."""
        recipe = self.build(t)
        check_ports(recipe, t, self.host.name, self.home)
        return recipe

    def journal(self, recipe: Recipe) -> Journal:
        return Journal.for_host(self.host.name, recipe.id, self.home)

    def _emit(self, e: Any) -> None:
        if isinstance(e, StepStarted) and self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the deploy was cancelled before this step",
                            hint="resume it with r, or start it again later")
        self.on_event(e)

    # -- the use cases ---------------------------------------------------------------------

    def dry_run(self) -> list[str]:
        """Every command and file the deploy would run or write; no connection."""
        return plan_lines(self.build(None), self.host.name)

    def removal_dry_run(self, purge_data: bool = False) -> list[str]:
        recipe = self.build(None)
        return [*removal_lines(recipe, purge_data, self.host.name),
                *recipe.removed_lines(self.host.name, purge_data, dry_run=True)]

    def run(self, *, restart: bool = False, asked_resume: bool = False) -> Any:
        """Connect once, check, then run the recipe, continuing a deploy that stopped unless
        `restart`. Returns the engine's result; raises engine.DeployFailed, Cancelled or a
        RoostError."""
        with self.connect() as t:
            recipe = self.check(t)
            journal = self.journal(recipe)
            previous = journal.load()
            resume = previous is not None and previous.unfinished and not restart
            name, where = self.recipe_id, self.host.name
            if resume:
                self.on_event(Said(f"continuing the deploy of {name} to {where} that stopped "
                                   "earlier; finished steps are not redone"))
            elif asked_resume:
                self.on_event(Said(f"nothing to continue for {name} on {where}; starting "
                                   "the deploy"))
            result = run_recipe(recipe, t, self.home, passphrase=self.passphrase,
                                on_event=self._emit, journal=journal, resume=resume,
                                cache=self.home / UPSTREAM_CACHE)
        try:  # kept for a restore; a file that cannot be written costs a warning, not the deploy
            record_options(self.home, recipe.service_id, self.host.name, self.values)
        except (OSError, RoostError) as exc:
            self.on_event(Said(f"roost could not keep this deploy's options for a later "
                               f"restore: {exc}"))
        return dataclasses.replace(result, options=tuple(sorted(self.values.items())))

    def notes(self, result: Any, workspace: Workspace | None = None,
              service_id: str | None = None) -> list[str]:
        """After `run`: the deploy noted in the progress, as lines to tell the person."""
        sid = service_id or (self.recipe.service_id if self.recipe else self.recipe_id)
        return note_deployed(sid, self.host.name, result, self.home, workspace)

    def undeploy(self, purge_data: bool = False) -> list[str]:
        """Stop the service and remove it; returns the lines to tell: what was removed, what
        is kept and where, and the progress noted."""
        from roost.app.onion import Onion, has_onion

        with self.connect() as t:
            recipe = self.build(t)
            remove_recipe(recipe, t, self.home, on_event=self._emit,
                          passphrase=self.passphrase, purge_data=purge_data)
            onion: list[str] = []
            if has_onion(recipe.service_id, self.host.name, self.home):
                try:  # its onion service goes with it
                    onion = Onion(recipe.service_id, self.host, self.home,
                                  on_event=self._emit).close(t)
                except RoostError as exc:  # the service is gone: still note that
                    onion = [f"Its onion service is still there: {exc.line()} Remove it "
                             f"with: roost reach {recipe.service_id} --host {self.host.name} "
                             "--tor --remove"]
            closed = close_on(t, recipe, self.host.name, self.home)  # the router's forwards
        relays = self._close_relays(recipe.service_id)
        return [*recipe.removed_lines(self.host.name, purge_data), *closed, *onion, *relays,
                *note_removed(recipe.service_id, self.host.name, self.home)]

    def _close_relays(self, service_id: str) -> list[str]:
        """A relay through a VPS (roost.app.relaying) goes with the service, on both ends."""
        from roost.app.relaying import close_relays

        mine = self.host.name
        return close_relays(
            service_id, self.host, self.home, on_event=self._emit, passphrase=self.passphrase,
            trust=lambda h: self.trust if h.name == mine else None,
            ask_trust=lambda h: self.ask_trust if h.name == mine else None,
            sudo_password=lambda h: self.sudo_password if h.name == mine else None)


# -- the progress ------------------------------------------------------------------------------

def check_ports(recipe: Recipe, t: Transport, host: str, home: Path) -> None:
    """Before the first step: refuse, in one sentence, a deploy whose port another program
    holds on the host (naming a roost service there from the progress); nothing is installed
    then. A port the service itself holds (a redeploy) passes."""
    ports.check(recipe, t, known=lambda: roost_ports(host, home))


def roost_ports(host: str, home: Path) -> dict[str, str]:
    """The services on `host` by port ("8008/tcp" -> "ssb-pub"), as the progress recorded
    the deploys; {} when there is no progress yet."""
    path = home / PROGRESS_FILE
    if not path.exists():
        return {}
    return ProgressStore(path).load().ports_on(host)


def note_deployed(service_id: str, host: str, result: Any, home: Path,
                  workspace: Workspace | None = None) -> list[str]:
    """Record a finished deploy in the progress (host, version, the ports it binds, time; the
    plan step done when it is healthy) and return the lines to tell the person: what was noted
    and the plan's next step. A progress file that cannot be written costs a warning, never
    the deploy."""
    version = str(getattr(result, "version", "") or "")
    bound = tuple(str(p) for p in getattr(result, "ports", ()) or ())
    recipe = str(getattr(result, "recipe", "") or "")
    options = dict(getattr(result, "options", ()) or ())
    health = getattr(result, "health", None)
    healthy = health is None or bool(getattr(health, "ok", False))
    try:
        ws = workspace if workspace is not None else Workspace.open(home, detect=False)
        if ws.catalog.get(service_id) is None:
            return []
        nxt = ws.deployed(service_id, host, version, healthy=healthy, ports=bound,
                          recipe=recipe, options=options)
    except RoostError as exc:
        return [f"roost could not note this deploy in your progress: {exc.line()}"]
    name = ws.catalog.get(service_id)
    shown = name.name if name is not None else service_id
    lines = [f"Noted in your progress: {shown} runs on {host}"
             + ports_words(bound, ", ")
             + (f", version {version}." if version else ".")
             + (" Its step in your plan is done." if healthy and ws.answers is not None
                else "")]
    protect = ws.protect_offer() if healthy else None
    if protect:
        lines.append(protect)
    if nxt is not None:
        when = (f" (suggested from {nxt.not_before.isoformat()}, at your pace)"
                if nxt.not_before else "")
        lines.append(f"Next in your plan: {nxt.name}{when}. See it with: roost next")
    elif ws.answers is not None:
        lines.append("Every step of your plan is done, skipped or under way.")
    return lines


def note_removed(service_id: str, host: str, home: Path) -> list[str]:
    """Record that a service was removed from a host; returns the line to tell."""
    try:
        ws = Workspace.open(home, detect=False)
        if ws.catalog.get(service_id) is None:
            return []
        ws.record_removed(service_id, host)
    except RoostError as exc:
        return [f"roost could not note the removal in your progress: {exc.line()}"]
    return [f"Noted in your progress: {service_id} no longer runs on {host}."]
