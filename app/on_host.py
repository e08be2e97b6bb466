"""What the use cases that run a recipe on a host share (a deploy, a way in, ddclient):
connect the one way (roost.app.connecting), run or remove the recipe through the deploy
engine with the data folder's journal and vault and the host's step markers, and note the
outcome in the progress without letting a progress file that cannot be written cost the
work done.

    @dataclass
    class DynDns(OnHost):          # on_event, trust, ask_trust, sudo_password: keywords
        host: Host
        home: Path
        passphrase: Callable[[], str] = NO_PASSPHRASE   # no_passphrase("ddclient needs...")

        def run(self) -> list[str]:
            with self.connect_to(self.host, self.home) as t:
                run_recipe(recipe, t, self.home, passphrase=self.passphrase,
                           on_event=self.on_event)

Nothing here prints or prompts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.app.connecting import connect
from roost.core.errors import RoostError
from roost.deploy import engine, session
from roost.deploy.engine import DeployResult
from roost.deploy.hosts import Host
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import Transport
from roost.deploy.trust import AskTrust
from roost.plan.workspace import Workspace


def no_passphrase(needs: str, typed: str = "",
                  hint: str = "give the vault passphrase and start again") -> Callable[[], str]:
    """The passphrase callback of a use case: what was `typed` (a screen's field), or, when
    nothing was, one RoostError line saying what `needs` the vault."""
    def ask() -> str:
        if not typed:
            raise RoostError(f"{needs} from your vault", hint=hint)
        return typed
    return ask


def _ignore(event: Any) -> None:
    """Events nobody shows."""


@dataclass(kw_only=True)
class OnHost:
    """The callbacks of a use case on one host, given by keyword after its own fields:
    `on_event` receives every event to show; `trust` (a fingerprint the person gave) or
    `ask_trust` settle a first contact; `sudo_password` is asked only when sudo wants one."""

    on_event: Callable[[Any], None] = _ignore
    trust: str | None = None
    ask_trust: AskTrust | None = None
    sudo_password: SudoPassword = None

    def connect_to(self, host: Host, home: Path) -> Transport:
        """A connected transport to `host` with these callbacks (a context manager)."""
        return connect(host, home, trust=self.trust, ask_trust=self.ask_trust,
                       sudo_password=self.sudo_password)


def run_recipe(recipe: Recipe, t: Transport, home: Path, *, passphrase: Callable[[], str],
               on_event: Callable[[Any], None], journal: Journal | None = None,
               resume: bool = True, cache: Path | None = None) -> DeployResult:
    """Run `recipe` on the host behind `t` through the engine: its journal in the data folder
    `home` (unless `journal` is given), secrets from the vault there (`passphrase` asked when
    a step first needs one), the host's markers where the session keeps them. Raises
    engine.DeployFailed."""
    return engine.run(recipe, t, journal=journal or Journal.for_host(t.name, recipe.id, home),
                      secrets=session.vault_secrets(passphrase, home), on_event=on_event,
                      resume=resume, state_dir=session.host_state_dir(), cache=cache)


def remove_recipe(recipe: Recipe, t: Transport, home: Path, *,
                  on_event: Callable[[Any], None], passphrase: Callable[[], str] | None = None,
                  purge_data: bool = False) -> None:
    """Run `recipe`'s removal on the host behind `t` (journal, vault and markers as
    `run_recipe`)."""
    engine.undeploy(recipe, t, purge_data=purge_data,
                    journal=Journal.for_host(t.name, recipe.id, home),
                    secrets=(session.vault_secrets(passphrase, home) if passphrase is not None
                             else None),
                    on_event=on_event, state_dir=session.host_state_dir())


def note(change: Callable[[Workspace], None], home: Path, what: str = "this",
         quiet: bool = False) -> list[str]:
    """Apply `change` to the progress in `home`; the lines to tell: noted (none when `quiet`),
    or why not (`what` names what could not be noted)."""
    try:
        change(Workspace.open(home, detect=False))
    except RoostError as exc:
        return [f"roost could not note {what} in your progress: {exc.line()}"]
    return [] if quiet else ["Noted in your progress."]
