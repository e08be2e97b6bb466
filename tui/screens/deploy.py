"""Deploy: pick a host, then live progress as lines of text ("step 3 of 7: ..."), cancel
between steps, resume what stopped; at the end, the health check and what to do next.

The recipe engine runs in a worker thread; its events come back to the screen as lines.
Ctrl+C quits the app at any time: the engine's journal and the host's step record let the
next run continue where this one stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.widgets.secret import SecretInput

if TYPE_CHECKING:
    from pathlib import Path

    from roost.deploy.hosts import Host


class Cancelled(RoostError):
    """The person cancelled; the deploy stopped before its next step."""


def deploy_job(recipe_id: str, host: Host, home: Path, options: dict[str, str],
               passphrase: str, sudo_password: str, resume: bool,
               emit: Callable[[Any], None], cancel: threading.Event) -> Any:
    """Blocking: build the recipe for this host and run it. Returns the engine's result."""
    from roost.deploy import engine, session
    from roost.deploy.events import StepStarted
    from roost.deploy.hosts import open_transport
    from roost.deploy.journal import Journal
    from roost.deploy.recipes import builder
    from roost.deploy.trust import TrustNeeded

    builder(recipe_id)  # an unknown service is refused before connecting

    def passphrase_given() -> str:
        if not passphrase:
            raise RoostError("this service needs a key from your vault",
                             hint="type the vault passphrase and start again")
        return passphrase

    def on_event(e: Any) -> None:
        if isinstance(e, StepStarted) and cancel.is_set():
            raise Cancelled("the deploy was cancelled before this step",
                            hint="resume it with r, or start it again later")
        emit(e)

    t = open_transport(host, sudo_password=sudo_password or None)
    try:
        connect = getattr(t, "connect", None)
        if connect is not None:
            try:
                connect()
            except TrustNeeded:
                raise RoostError(f"roost has not confirmed {host.name}'s host key yet",
                                 hint="open Hosts, choose the host and read its facts "
                                      "to confirm it") from None
        recipe = session.build_recipe(recipe_id, host, options, t, home)
        session.check_ports(recipe, t, host.name, home)  # before anything is installed
        journal = Journal.for_host(host.name, recipe.id)
        previous = journal.load()
        resuming = resume and previous is not None and previous.unfinished
        return engine.run(recipe, t, journal=journal,
                          secrets=session.vault_secrets(passphrase_given, home),
                          on_event=on_event, resume=resuming,
                          state_dir=session.host_state_dir())
    finally:
        t.close()


class DeployScreen(RoostScreen):
    TITLE = "Deploy"
    LIST_ID = "deploy-log"
    ENTER = "start on the host / act on the line"
    NAME = "Deploy"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel", "cancel after this step"),
        Binding("r", "resume", "resume what stopped"),
        Binding("m", "done", "mark the step done"),
    ]

    def __init__(self, service_id: str = "") -> None:
        super().__init__()
        self.service_id = service_id
        self.lines: list[str] = []
        self.phase = "choose"
        """choose, running, finished or stopped."""
        self.host_name = ""
        self.cancel = threading.Event()
        self.finish_rows: list[Row] = []

    def title_text(self) -> str:
        svc = self.ws.catalog.get(self.service_id)
        name = svc.name if svc else self.service_id
        where = f" to {self.host_name}" if self.host_name else ""
        return f"Deploy {name}{where}: {self.phase_words()}"

    def phase_words(self) -> str:
        return {"choose": "choose a host", "running": "running",
                "finished": "finished", "stopped": "stopped"}[self.phase]

    def intro(self) -> str:
        svc = self.ws.catalog.get(self.service_id)
        if self.phase == "choose" and svc is not None and svc.install is not None \
                and not svc.recipe:
            from roost.deploy.not_installed import short_name

            return (f"roost does not install {short_name(svc)}: {svc.install.why} "
                    "Choose a host to hear what fits it instead.")
        if self.phase == "choose":
            return ("Fill in what applies, then choose the host and press Enter. Progress "
                    "is shown line by line; you can leave at any time and resume later.")
        return ""

    def compose_form(self) -> Iterable[Widget]:
        for key, label in (("options", "Options (name=value ...)"),
                           ("passphrase", "Vault passphrase (if it needs keys)"),
                           ("sudo", "sudo password (if the host asks)")):
            cls = Input if key == "options" else SecretInput
            inp = cls(id=f"field-{key}", select_on_focus=False)
            inp.cursor_blink = False
            yield Horizontal(Label(f"{label}: "), inp, classes="form-row")

    def rows(self) -> Sequence[Row]:
        if self.phase == "choose":
            from roost.tui.screens.hosts import store

            out = []
            for h in store(self.ws.home).all():
                state = "facts read" if h.facts_read_at else "facts not read yet"
                out.append(Row(f"host:{h.name}", f"Deploy to {h.name}", state=state,
                               detail=h.target()))
            return out
        n = len(self.lines)
        out = [Row(f"log:{i}", line, numbered=False) for i, line in enumerate(self.lines)]
        if self.phase == "running":
            out.append(Row("running", "Working", state=f"{n} lines so far, c cancels"))
        return out + self.finish_rows

    def _follow(self) -> None:
        """Keep the highlight (and the cursor) on the newest line while it runs."""
        self.refresh_content(keep="running" if self.phase == "running" else None)
        if self.phase != "choose" and self.menu.rows:
            self.menu.highlighted = len(self.menu.rows) - 1 - len(self.finish_rows)

    # --- running ---------------------------------------------------------------------------

    def activate(self, key: str) -> None:
        if key.startswith("host:") and self.phase == "choose":
            self.host_name = key.split(":", 1)[1]
            self.start(resume=True)
        elif key == "done":
            self.action_done()

    def refuse_unless_installable(self, host: Host) -> None:
        """Before connecting: a service roost does not install is refused in one line that
        says why, the host's memory against the need, and what to run instead."""
        from roost.deploy.not_installed import explain, no_recipe_error
        from roost.deploy.recipes import RECIPES

        svc = self.ws.catalog.get(self.service_id)
        recipe_id = svc.recipe if svc is not None and svc.recipe else self.service_id
        if recipe_id in RECIPES:
            return
        if svc is None:
            raise no_recipe_error(recipe_id, RECIPES, host)
        raise explain(svc, self.ws.catalog, RECIPES, host, in_app=True)

    def _values(self) -> dict[str, str]:
        return {i.id.removeprefix("field-"): i.value for i in self.query(Input) if i.id}

    def start(self, resume: bool) -> None:
        from roost.deploy.recipe import parse_options
        from roost.tui.screens.hosts import store

        v = self._values()
        try:
            options = parse_options(v.get("options", "").split())
            host = store(self.ws.home).get(self.host_name)
            self.refuse_unless_installable(host)
        except RoostError as exc:
            self.say(exc.line())
            return
        self.cancel.clear()
        self.phase = "running"
        self.lines.append(f"starting on {host.name}")
        self.finish_rows = []
        for row in self.query(".form-row"):
            row.display = False
        self._follow()
        self.menu.focus()
        self.say("Deploying; each step is shown as a line.")
        home = self.ws.home

        if self.cancel not in self.roost.cancel_events:
            self.roost.cancel_events.append(self.cancel)

        def emit(e: Any) -> None:
            try:
                self.app.call_from_thread(self.on_engine_event, e)
            except RuntimeError:  # the app has quit: stop here, the journal is saved
                self.cancel.set()
                raise Cancelled("roost was closed during the deploy",
                                hint="start it again to resume") from None

        svc = self.ws.catalog.get(self.service_id)
        recipe_id = svc.recipe if svc is not None and svc.recipe else self.service_id

        def job() -> Any:
            return deploy_job(recipe_id, host, home, options, v.get("passphrase", ""),
                              v.get("sudo", ""), resume, emit, self.cancel)

        self.run_worker(job, thread=True, exclusive=True, exit_on_error=False, name="deploy")

    def on_engine_event(self, e: Any) -> None:
        from roost.deploy.events import as_text

        self.lines += as_text(e).splitlines()
        self._follow()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "deploy":
            return
        if event.state == WorkerState.SUCCESS:
            self.finished(event.worker.result)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            err = event.worker.error
            self.phase = "stopped"
            msg = err.line() if isinstance(err, RoostError) else (
                f"the deploy stopped: {type(err).__name__}" if err else "the deploy stopped")
            self.lines.append(msg)
            if type(err).__name__ in ("DeployFailed", "Cancelled", "ConnectionLost"):
                self.lines.append("Press r to resume: finished steps are not done again.")
            self._follow()
            self.say(msg)

    def finished(self, result: Any) -> None:
        self.phase = "finished"
        svc = self.ws.catalog.get(self.service_id)
        health = getattr(result, "health", None)
        noted: list[str] = []
        if svc is not None:
            from roost.deploy.session import note_deployed

            noted = note_deployed(self.service_id, self.host_name, result,
                                  workspace=self.ws)
        rows: list[Row] = []
        if health is not None:
            rows.append(Row("health", "Health check", state="healthy" if health.ok
                            else "not healthy", extra=health.detail))
            if getattr(health, "note", None):
                rows.append(Row("health:note", "Note", extra=health.note))
        steps = tuple(getattr(result, "next_steps", ()) or ())
        if not steps and svc is not None:
            steps = svc.next_steps
        for i, text in enumerate(steps):
            rows.append(Row(f"next:{i}", "What next", extra=text))
        for i, text in enumerate(noted):
            rows.append(Row(f"plan:{i}", "Your plan", extra=text))
        self.finish_rows = rows
        self.refresh_content()
        if rows:
            self.menu.highlighted = len(self.menu.rows) - len(rows)
        ok = health is None or health.ok
        self.say("Finished. " + ("It is healthy." if ok else "The health check failed.")
                 + "".join(f" {line}" for line in noted[-1:]))

    def action_cancel(self) -> None:
        if self.phase != "running":
            self.say("Nothing is running.")
            return
        self.cancel.set()
        self.say("Cancelling: the deploy stops before its next step.")

    def action_resume(self) -> None:
        if self.phase in ("stopped", "finished") and self.host_name:
            self.start(resume=True)
        else:
            self.say("There is nothing to resume." if self.phase != "running"
                     else "It is running.")

    def action_done(self) -> None:
        if self.ws.catalog.get(self.service_id) is None:
            self.say("This is not a step of your plan.")
            return
        if self.act(self.ws.done, self.service_id):
            nxt = self.ws.next_step() if self.ws.answers else None
            self.say("Marked done." + (f" Next: {nxt.name}." if nxt else ""))
