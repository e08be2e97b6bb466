"""Status: is every deployed service still working? The last check's lines (kept, so the
screen opens at once without connecting), and `r` to check again now (roost.app.checking, in
a worker thread; the same check as `roost check`). Each line is a row, read as a sentence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class StatusScreen(RoostScreen):
    TITLE = "Status: is everything working?"
    LIST_ID = "status-lines"
    ENTER = "check again"
    NAME = "Status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "check", "check again now"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.checking = False

    def intro(self) -> str:
        from roost.app.last_check import last_report

        if self.checking:
            return "Checking every service on every host now."
        last = last_report(self.ws.home)
        if last is None:
            return "Not checked yet. Press r to check every deployed service now."
        return f"Last checked {last.at.strftime('%Y-%m-%d %H:%M')} UTC. Press r to check again."

    def rows(self) -> Sequence[Row]:
        from roost.app.last_check import last_report

        last = last_report(self.ws.home)
        if last is None:
            return [Row("check", "Check now", state="not checked yet")]
        return [Row(f"line:{i}", e.what, state=e.state,
                    extra=e.line if e.line != e.what else "")
                for i, e in enumerate(last.entries)]

    def activate(self, key: str) -> None:
        self.action_check()

    def action_check(self) -> None:
        if self.checking:
            self.say("Already checking; the result comes as soon as every host answered.")
            return
        from roost.app.checking import check

        self.checking = True
        self.refresh_content()
        self.say("Checking every deployed service; this takes a few seconds.")
        home = self.ws.home
        self.run_worker(lambda: check(home), thread=True, exclusive=True,
                        exit_on_error=False, name="check")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "check" or event.state not in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.checking = False
        self.refresh_content()
        if event.state == WorkerState.SUCCESS:
            report: Any = event.worker.result
            self.say(report.summary)
        else:
            err = event.worker.error
            self.say(err.line() if isinstance(err, RoostError)
                     else f"The check stopped: {type(err).__name__}.")
