"""Deploy: pick a host, then live progress as lines of text ("step 3 of 7: ..."), cancel
between steps, resume what stopped; at the end, the health check and what to do next.

The recipe engine runs in a worker thread; its events come back to the screen as lines.
Ctrl+C quits the app at any time: the engine's journal and the host's step record let the
next run continue where this one stopped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row, to_ascii
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.forms import Field, FormScreen
from roost.tui.widgets.secret import SecretInput

if TYPE_CHECKING:
    from pathlib import Path

    from roost.deploy.hosts import Host
    from roost.deploy.options import Option
    from roost.deploy.sudo import SudoPassword


def deploy_job(recipe_id: str, host: Host, home: Path, options: dict[str, str],
               passphrase: str, sudo_password: SudoPassword, resume: bool,
               emit: Callable[[Any], None], cancel: threading.Event) -> Any:
    """Blocking: connect, build the recipe for this host and run it (the use case in
    roost.app.deploying). Returns the engine's result. `sudo_password` may be a function: it
    is called only once connected, and only when a command needs root and sudo asks."""
    from roost.app.deploying import Deployment

    d = Deployment(recipe_id, host, home, options, on_event=emit,
                   passphrase=typed(passphrase, "this service needs a key"),
                   sudo_password=sudo_password or None, cancel=cancel)
    with trusted_in_hosts():
        return d.run(restart=not resume)


def typed(passphrase: str, needs: str) -> Callable[[], str]:
    """The passphrase field as a use case's callback: a RoostError line when it was left
    empty and the vault is needed."""
    from roost.app.on_host import no_passphrase

    return no_passphrase(needs, passphrase, hint="type the vault passphrase and start again")


@contextlib.contextmanager
def trusted_in_hosts() -> Iterator[None]:
    """A host whose key nobody confirmed yet (whichever of the job's hosts it is): one line
    that says where to confirm it (the screen has no question to ask during a job)."""
    from roost.deploy.trust import TrustNeeded

    try:
        yield
    except TrustNeeded as need:
        raise RoostError(f"roost has not confirmed {need.name}'s host key yet",
                         hint="open Hosts, choose the host and read its facts "
                              "to confirm it") from None


def relay_job(service_id: str, host: Host, vps: Host, home: Path, passphrase: str,
              sudo_password: SudoPassword, emit: Callable[[Any], None],
              cancel: threading.Event) -> list[str]:
    """Blocking: relay the service through the VPS (the use case in roost.app.relaying, as
    `roost reach ID --host H --relay VPS`); the lines to tell."""
    from roost.app.relaying import Relaying

    return Relaying(service_id, host, vps, home, on_event=emit,
                    passphrase=typed(passphrase, "the relay needs the WireGuard keys"),
                    sudo_password=lambda h: sudo_password if h.name == host.name else None,
                    cancel=cancel).open()


class OptionsForm(Vertical):
    """The deploy's fields, above the hosts; the screen's body scrolls them (and the hosts)
    into view in a short terminal, and Tab goes from field to field."""


class DeployScreen(RoostScreen):
    TITLE = "Deploy"
    LIST_ID = "deploy-log"
    ENTER = "start on the host / act on the line"
    FIELDS = True
    NAME = "Deploy"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel", "cancel after this step"),
        Binding("r", "resume", "resume what stopped"),
        Binding("m", "done", "mark the step done"),
        Binding("o", "reach", "can others reach it?"),
    ]
    ASKS_PASSPHRASE: ClassVar[bool] = True
    """Whether the work may need a key from the vault (a field for its passphrase)."""

    def __init__(self, service_id: str = "") -> None:
        super().__init__()
        self.service_id = service_id
        self.lines: list[str] = []
        self.phase = "choose"
        """choose, running, finished or stopped."""
        self.host_name = ""
        self.cancel = threading.Event()
        self.finish_rows: list[Row] = []
        self._reach_add: Callable[[str], None] = lambda line: None

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

    def recipe_id(self) -> str:
        svc = self.ws.catalog.get(self.service_id)
        return svc.recipe if svc is not None and svc.recipe else self.service_id

    def option_fields(self) -> tuple[Option, ...]:
        """The recipe's declared options (roost.deploy.options.fields), one field each."""
        from roost.deploy.options import fields

        try:
            return fields(self.recipe_id())
        except RoostError:  # no recipe, or one that declares no options
            return ()

    def compose_form(self) -> Iterable[Widget]:
        # One labelled field per declared option, its meaning and default on the line below
        # and a refusal under it once a value is refused. No sudo password here: it is asked
        # (SudoScreen) only once connected to a trusted host, and only when sudo asks.
        rows: list[Widget] = []
        for o in self.option_fields():
            inp = Input(placeholder="" if o.required else o.default_text(),
                        id=f"field-{o.name}", select_on_focus=False)
            inp.cursor_blink = False
            rows.append(Horizontal(Label(f"{o.label}: "), inp, classes="form-row"))
            rows.append(Static(Content(to_ascii(self.field_note(o))), classes="field-note"))
            error = Static(Content(""), id=f"error-{o.name}", classes="field-error")
            error.display = False
            rows.append(error)
        if self.ASKS_PASSPHRASE:
            inp = SecretInput(id="field-passphrase", select_on_focus=False)
            inp.cursor_blink = False
            rows.append(Horizontal(Label("Vault passphrase (if it needs keys): "), inp,
                                   classes="form-row"))
        yield OptionsForm(*rows, id="deploy-form")

    @staticmethod
    def field_note(o: Option) -> str:
        """What the field is for, and what an empty field means."""
        choices = f" One of: {', '.join(o.values)}." if o.values else ""
        if o.required:
            return f"{_cap(o.meaning)}.{choices} Required."
        return f"{_cap(o.meaning)}.{choices} Default: {o.default_text()}."

    def check_field(self, o: Option, inp: Input) -> bool:
        """Check one field's value with its option's validator; a refusal is shown under the
        field and said on the status line. True when the value may be used."""
        error = self.query_one(f"#error-{o.name}", Static)
        try:
            if inp.value:
                o.check(inp.value)
            elif o.required:
                raise RoostError(f"{o.name} has no default", hint="type a value for it")
        except RoostError as exc:
            line = to_ascii(f"{o.label}: {exc.line()}")
            error.update(Content(line))
            error.display = True
            self.say(line)

            def in_view() -> None:  # the refusal, and above all the field (the cursor)
                self.scroll_to_widget(error, animate=False)
                self.scroll_to_widget(inp, animate=False)

            self.call_after_refresh(in_view)
            return False
        if error.display:
            error.display = False
            self.say(f"{o.label}: accepted.")
        return True

    def _option_of(self, inp: Input) -> Option | None:
        return next((o for o in self.option_fields() if inp.id == f"field-{o.name}"), None)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """In a short terminal the body scrolls: once the frame is laid out, the focused
        field (where the cursor is) is in view."""
        self.call_after_refresh(self.scroll_to_widget, event.widget, animate=False)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        o = self._option_of(event.input)
        if o is not None and event.input.value and self.phase == "choose":
            self.check_field(o, event.input)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field: check it, then go to the next field (after the last, the
        hosts)."""
        event.stop()
        o = self._option_of(event.input)
        if o is not None and not self.check_field(o, event.input):
            return
        inputs = list(self.query(Input))
        i = inputs.index(event.input)
        (inputs[i + 1] if i + 1 < len(inputs) else self.menu).focus()

    def rows(self) -> Sequence[Row]:
        if self.phase == "choose":
            from roost.app.hosts import host_store

            out = []
            for h in host_store(self.ws.home).all():
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
        elif key.startswith("relay:") and self.phase == "finished":
            self.start_relay(key.split(":", 1)[1])
        elif key == "done":
            self.action_done()
        elif key == "reach":
            self.action_reach()

    def refuse_unless_installable(self, host: Host) -> None:
        """Before connecting: a service roost does not install is refused in one line that
        says why, the host's memory against the need, and what to run instead."""
        from roost.deploy.not_installed import explain, no_recipe_error
        from roost.deploy.recipes import RECIPES

        svc = self.ws.catalog.get(self.service_id)
        recipe_id = self.recipe_id()
        if recipe_id in RECIPES:
            return
        if svc is None:
            raise no_recipe_error(recipe_id, RECIPES, host)
        raise explain(svc, self.ws.catalog, RECIPES, host, in_app=True)

    def passphrase(self) -> str:
        """The vault passphrase typed ("" on a screen without the field)."""
        found = self.query("#field-passphrase")
        return found.first(Input).value if found else ""

    def options(self) -> dict[str, str] | None:
        """The options typed, name -> value as typed (an empty field is left out: its
        default is used); None when a field is refused (said, and focused)."""
        out: dict[str, str] = {}
        for o in self.option_fields():
            inp = self.query_one(f"#field-{o.name}", Input)
            if not self.check_field(o, inp):
                inp.focus()
                return None
            if inp.value:
                out[o.name] = inp.value
        return out

    def start(self, resume: bool) -> None:
        from roost.app.hosts import host_store

        passphrase = self.passphrase()
        options = self.options()
        if options is None:
            return
        try:
            host = host_store(self.ws.home).get(self.host_name)
            self.refuse_unless_installable(host)
        except RoostError as exc:
            self.say(exc.line())
            return
        self.finish_rows = []
        self.query_one("#deploy-form").display = False
        self._begin(f"starting on {host.name}", self.running_words())

        if self.cancel not in self.roost.cancel_events:
            self.roost.cancel_events.append(self.cancel)

        emit = self._emitter("the deploy", "start it again to resume")
        self.run_worker(self.make_job(host, options, passphrase, resume, emit), thread=True,
                        exclusive=True, exit_on_error=False, name="deploy")

    def _begin(self, line: str, words: str) -> None:
        """A run starts: its first line in the followed, focused list, and `words` said."""
        self.cancel.clear()
        self.phase = "running"
        self.lines.append(line)
        self._follow()
        self.menu.focus()
        self.say(words)

    def _emitter(self, what: str, hint: str) -> Callable[[Any], None]:
        """The worker's event callback: each event shown on the screen; once the app has quit,
        the run stops before its next step (its journal is saved)."""
        def emit(e: Any) -> None:
            try:
                self.app.call_from_thread(self.on_engine_event, e)
            except RuntimeError:  # the app has quit: stop here, the journal is saved
                self.cancel.set()
                from roost.app.deploying import Cancelled

                raise Cancelled(f"roost was closed during {what}", hint=hint) from None
        return emit

    def make_job(self, host: Host, options: dict[str, str], passphrase: str, resume: bool,
                 emit: Callable[[Any], None]) -> Callable[[], Any]:
        """What the worker runs (blocking): the deploy; a screen that runs another use case
        the same way (roost.tui.screens.ways_in) gives its own."""
        recipe_id, home = self.recipe_id(), self.ws.home

        def job() -> Any:
            return deploy_job(recipe_id, host, home, options, passphrase,
                              lambda: self.ask_sudo_password(host), resume, emit,
                              self.cancel)

        return job

    def running_words(self) -> str:
        return "Deploying; each step is shown as a line."

    def relay_rows(self, ports: Sequence[str]) -> list[Row]:
        """After a deploy others connect to: one line per other host to relay it through."""
        from roost.app.hosts import host_store

        if not ports or self.ws.catalog.get(self.service_id) is None:
            return []
        return [Row(f"relay:{h.name}", f"Reach it from outside through {h.name}",
                    extra=f"a WireGuard tunnel from {self.host_name} to {h.name}, which "
                          f"forwards {', '.join(ports)}; your domain then points at "
                          f"{h.name}")
                for h in host_store(self.ws.home).all()
                if not h.is_local and h.name != self.host_name]

    def start_relay(self, vps_name: str) -> None:
        from roost.app.hosts import host_store

        passphrase = self.passphrase()
        try:
            store = host_store(self.ws.home)
            host, vps = store.get(self.host_name), store.get(vps_name)
        except RoostError as exc:
            self.say(exc.line())
            return
        self._begin(f"relaying through {vps.name}",
                    f"Relaying through {vps.name}; each step is shown as a line.")
        home, service_id = self.ws.home, self.service_id

        emit = self._emitter("the relay", "start it again to continue")

        def job() -> list[str]:
            return relay_job(service_id, host, vps, home, passphrase,
                             lambda: self.ask_sudo_password(host), emit, self.cancel)

        self.run_worker(job, thread=True, exclusive=True, exit_on_error=False, name="relay")

    def ask_sudo_password(self, host: Host) -> str | None:
        """From the deploy's worker thread, once connected and only when a command needs
        root and sudo asks: ask on a SudoScreen and wait for the answer (None: cancelled)."""
        question = (f"sudo on {host.name} asks for the password of {host.user or 'you'} "
                    "to go on with the deploy.")
        answer = self.ask_from_worker(SudoScreen(question))
        return answer if isinstance(answer, str) else None

    def ask_from_worker(self, screen: Screen[Any]) -> object:
        """From the worker thread: push a question's screen and wait for what it is dismissed
        with (None when roost quits or the work is cancelled meanwhile)."""
        answer: list[object] = []
        given = threading.Event()

        def answered(value: object) -> None:
            answer.append(value)
            given.set()

        try:
            self.app.call_from_thread(self.app.push_screen, screen, answered)
        except RuntimeError:  # the app has quit
            return None
        while not given.wait(0.1):
            # Quitting roost (or leaving the screen) while the question is open ends the
            # work: the worker must not wait for an answer nobody can give any more.
            if self.cancel.is_set() or not self.app.is_running:
                return None
        return answer[0]

    def on_engine_event(self, e: Any) -> None:
        from roost.app.deploying import text_of

        self.lines += text_of(e).splitlines()
        self._follow()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "reach-after" and event.state == WorkerState.SUCCESS:
            for line in event.worker.result or ():
                self._reach_add(line)
            return
        if event.worker.name == "relay":
            self.relay_ended(event)
            return
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

    def relay_ended(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS:
            said = list(event.worker.result or [])
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            err = event.worker.error
            said = [err.line() if isinstance(err, RoostError) else "the relay stopped",
                    "Choose the relay's line again to continue: finished steps are not "
                    "done again."]
        else:
            return
        self.phase = "finished"
        self.lines += said
        self._follow()
        self.say(said[0])

    def finished(self, result: Any) -> None:
        self.phase = "finished"
        svc = self.ws.catalog.get(self.service_id)
        health = getattr(result, "health", None)
        noted: list[str] = []
        if svc is not None:
            from roost.app.deploying import note_deployed

            noted = note_deployed(self.service_id, self.host_name, result, self.ws.home,
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
        from roost.app.reaching import reached_from_outside

        if reached_from_outside(self.service_id):
            rows.append(Row("reach", "Can others reach it?", state="action, key o",
                            extra="Check its DNS records, ports and certificate, from "
                                  "another of your hosts."))
            self.check_reach()
        if health is None or health.ok:
            rows += self.relay_rows(tuple(getattr(result, "ports", ()) or ()))
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

    def check_reach(self) -> None:
        """After the deploy, the reach checks from this computer (roost.app.reaching), each
        a line of the result as it is done, then how to check from outside."""
        from roost.app.hosts import host_store
        from roost.app.reaching import after_deploy

        home, service = self.ws.home, self.service_id
        try:
            host = host_store(home).get(self.host_name)
            options = self.options() or {}
        except RoostError:
            return

        def add(line: str) -> None:
            self.finish_rows.append(Row(f"reached:{len(self.finish_rows)}", "Reach",
                                        extra=line))
            self.refresh_content()

        def job() -> list[str]:
            def one(c: Any) -> None:
                with contextlib.suppress(RuntimeError):  # the app has quit
                    self.app.call_from_thread(add, c.line())

            return after_deploy(service, host, home, on_check=one, options=options)

        self._reach_add = add
        self.run_worker(job, thread=True, exit_on_error=False, name="reach-after")

    def action_reach(self) -> None:
        if self.phase != "finished":
            self.say("Check who can reach it once the deploy has finished.")
            return
        from roost.tui.screens import open_screen

        open_screen(self.app, "reach", f"{self.service_id}:{self.host_name}")

    def action_done(self) -> None:
        if self.ws.catalog.get(self.service_id) is None:
            self.say("This is not a step of your plan.")
            return
        if self.act(self.ws.done, self.service_id):
            nxt = self.ws.next_step() if self.ws.answers else None
            self.say("Marked done." + (f" Next: {nxt.name}." if nxt else ""))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class SudoScreen(FormScreen):
    """The sudo password, asked only when a step of a running deploy needs root and sudo
    wants one. Dismissed with the password, or None when the person goes back."""

    TITLE = "sudo password"
    NAME = "sudo password"
    SUBMIT = "Go on with the deploy"
    BACK_WORD = "cancel, the deploy stops"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def intro(self) -> str:
        return self.question

    def fields(self) -> Sequence[Field]:
        return [Field("sudo", "sudo password", password=True)]

    def activate(self, key: str) -> None:
        if key == "submit":
            self.dismiss(self.values().get("sudo", ""))  # type: ignore[arg-type]
        elif key == "cancel":
            self.dismiss(None)

    def action_back(self) -> None:
        self.dismiss(None)
