"""Can others reach it? Choose where it runs and where to check from, then one line per check
(DNS records, ports, certificate) with its state in words and what to do when it fails.

Opened from the deploy result (key o), a step of the plan (key o) and a host (key o). The
checks are roost.app.reaching's, run in a worker thread; each line appears as it is done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen

if TYPE_CHECKING:
    from roost.deploy.reachability.model import Check, Report

HERE = "-"
"""In a row's key: checked from this computer ("-" is never a host's name)."""


def check_row(i: int, c: Check) -> Row:
    """A check as a row, its state first (heard first, and on the cursor line however narrow
    the terminal): "missing, SRV _xmpp-client._tcp.example.org, 2 of 6. There is no...",
    then what was found and what to do."""
    extra = c.found if c.ok or not c.fix else f"{c.found.rstrip('.')}. {c.fix}"
    return Row(f"check:{i}", c.state, detail=c.subject, extra=extra)


class ReachScreen(RoostScreen):
    TITLE = "Can others reach it?"
    LIST_ID = "reach"
    ENTER = "check / act on the line"
    FIELDS = True
    NAME = "Can others reach it"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "again", "check again"),
    ]

    def __init__(self, service_id: str = "", host_name: str = "") -> None:
        super().__init__()
        self.service_id = service_id
        self.host_name = host_name
        self.phase = "choose"
        """choose, running or finished."""
        self.checks: list[Check] = []
        self.report: Report | None = None
        self.last: tuple[str, str, str] | None = None
        """(service, host, from) of the last run, for r."""

    # --- what is shown ------------------------------------------------------------------

    def title_text(self) -> str:
        what = self.service_id or "your services"
        where = f" on {self.host_name}" if self.host_name else ""
        words = {"choose": "choose where to check from", "running": "checking",
                 "finished": "done"}[self.phase]
        return f"Can others reach {what}{where}? {words}"

    def intro(self) -> str:
        if self.phase != "choose":
            return ""
        return ("Checks DNS, each port and the certificate. From another host (a VPS) it "
                "proves the internet reaches it; from here, only your own network.")

    def compose_form(self) -> Iterable[Widget]:
        inp = Input(placeholder="the one the deploy used", id="field-domain",
                    select_on_focus=False)
        inp.cursor_blink = False
        yield Vertical(Horizontal(Label("Domain: "), inp, classes="form-row"),
                       Static(Content("The name people use. Empty: the one the deploy "
                                      "used."), classes="field-note"), id="reach-form")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """In a short terminal the body scrolls: the focused field or list comes into view."""
        self.call_after_refresh(self.scroll_to_widget, event.widget, animate=False)

    def pairs(self) -> list[tuple[str, str]]:
        """(service, host) to offer: as given, else from the progress (what runs where)."""
        from roost.app.hosts import host_store
        from roost.app.reaching import reached_from_outside

        hosts = [h.name for h in host_store(self.ws.home).all()]
        running = [(e.service_id or "", str(e.detail.get("host", "")))
                   for e in self.ws.progress.running()]
        out = [(s, h) for s, h in running
               if (not self.service_id or s == self.service_id)
               and (not self.host_name or h == self.host_name) and reached_from_outside(s)]
        if not out and self.service_id:
            out = [(self.service_id, h) for h in ([self.host_name] if self.host_name
                                                  else hosts)]
        return out

    def rows(self) -> Sequence[Row]:
        if self.phase == "choose":
            from roost.app.hosts import host_store

            hosts = [h.name for h in host_store(self.ws.home).all()]
            out = []
            for service, host in self.pairs():
                for other in [h for h in hosts if h not in (host, "local")] + [HERE]:
                    # "From vps, outside, prosody on pi": where from and what it proves
                    # first, so both fit the cursor line of a 40-column terminal.
                    label = "From here" if other == HERE else f"From {other}"
                    state = "own network only" if other == HERE else "outside"
                    out.append(Row(f"go:{service}:{host}:{other}", label, state=state,
                                   detail=f"{service} on {host}"))
            if not out:
                out.append(Row("none", "Nothing to check here",
                               state="no service others reach runs here yet"))
            return out
        out = [check_row(i, c) for i, c in enumerate(self.checks)]
        if self.phase == "running":
            out.append(Row("running", "Checking", state=f"{len(self.checks)} done so far"))
        elif self.report is not None:
            out.insert(0, Row("summary", "Result", state=_verdict(self.report),
                              extra=self.report.summary()))
            out += [Row(f"note:{i}", "Note", extra=n) for i, n in enumerate(self.report.notes)]
            out.append(Row("again", "Check again", state="action, key r"))
        return out

    # --- running ------------------------------------------------------------------------

    def activate(self, key: str) -> None:
        if key.startswith("go:") and self.phase == "choose":
            _, service, host, other = key.split(":", 3)
            self.start(service, host, other)
        elif key == "again":
            self.action_again()

    def start(self, service: str, host: str, other: str) -> None:
        from roost.app.hosts import find
        from roost.app.reaching import Reaching

        domain = self.query_one("#field-domain", Input).value.strip()
        home = self.ws.home
        try:
            r = Reaching(service, find(home, host), home, domain=domain,
                         from_host=None if other == HERE else find(home, other),
                         on_check=self._from_worker)
        except RoostError as exc:
            self.say(exc.line())
            return
        self.last = (service, host, other)
        self.service_id, self.host_name = service, host
        self.phase, self.checks, self.report = "running", [], None
        self.query_one("#reach-form").display = False
        self.refresh_content()
        self.menu.focus()
        where = "this computer" if other == HERE else other
        self.say(f"Checking {service} on {host} from {where}; each check is a line.")
        self.run_worker(r.run, thread=True, exclusive=True, exit_on_error=False,
                        name="reach")

    def _from_worker(self, c: Check) -> None:
        with contextlib.suppress(RuntimeError):  # RuntimeError: the app has quit
            self.app.call_from_thread(self.add_check, c)

    def add_check(self, c: Check) -> None:
        self.checks.append(c)
        self.refresh_content(keep="running")
        self.menu.highlighted = len(self.menu.rows) - 1

    def show(self, report: Report) -> None:
        """The finished report: the verdict first (focused), a line per check, the notes."""
        self.phase, self.report, self.checks = "finished", report, list(report.checks)
        self.query_one("#reach-form").display = False
        self.refresh_content()
        self.menu.highlighted = 0
        self.menu.focus()
        self.say(report.summary())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "reach":
            return
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.show(event.worker.result)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            err = event.worker.error
            self.phase = "choose"
            self.query_one("#reach-form").display = True
            self.refresh_content()
            self.say(err.line() if isinstance(err, RoostError)
                     else f"The checks stopped: {type(err).__name__}.")

    def action_again(self) -> None:
        if self.phase == "running":
            self.say("It is checking.")
        elif self.last is None:
            self.say("Choose where to check from first.")
        else:
            self.start(*self.last)


def _verdict(report: Report) -> str:
    return {0: "all fine", 1: "needs your attention", 2: "could not check everything"}[
        report.exit_code]
