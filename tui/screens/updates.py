"""Updates: what is newer for each deployed service, and upgrading one (roost.app.upgrading, the
same as `roost updates` and `roost upgrade`, in a worker thread). Each service is a row, read as
a sentence; Enter on one upgrades it: a backup first when one is set up (else Enter once more
upgrades without one), the health check after, and the rollback, each step on the status line
and as a row below, told in words."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen

if TYPE_CHECKING:
    from roost.app.upgrading import UpdatesReport


def _passphrase() -> str:
    """The vault passphrase from ROOST_PASSPHRASE_FILE; never a prompt under the app."""
    from roost.keys.vault import ENV_PASSPHRASE_FILE, passphrase_from_file

    file = os.environ.get(ENV_PASSPHRASE_FILE)
    if not file:
        raise RoostError("this upgrade needs the vault passphrase (for its backup)",
                         hint="run `roost upgrade ID --host NAME` in a terminal, where it "
                                  "asks for it")
    return passphrase_from_file(file)


class UpdatesScreen(RoostScreen):
    TITLE = "Updates: what is newer"
    LIST_ID = "update-lines"
    ENTER = "upgrade it (on the first row: look for updates)"
    NAME = "Updates"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "look again, each host fetching the newest package lists"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.busy = ""
        """What runs now ("looking", "upgrading prosody on pi"), or ""."""
        self.report: UpdatesReport | None = None
        self.confirm = ""
        self.outcomes: dict[str, str] = {}
        """Row key -> how its upgrade here ended ("upgraded", "rolled back"), until looked again."""
        self.upgrading = ""
        self.steps_said: list[str] = []

    def intro(self) -> str:
        if self.busy:
            return f"Busy: {self.busy}."
        if self.report is None:
            return ("Enter looks for updates with the package lists each host has; r has each "
                    "host fetch the newest lists first.")
        return f"{self.report.summary} Enter on a service upgrades it."

    def rows(self) -> Sequence[Row]:
        out = [Row("look", "Look for updates now",
                   state="not looked yet" if self.report is None else "")]
        if self.report is not None:
            for h in self.report.hosts:
                if not h.reached:
                    out.append(Row(f"host:{h.host}", h.host, state="could not be reached",
                                   extra=h.problem))
                    continue
                for s in h.services:
                    state = ("could not look" if s.problem else "upgrade cut off"
                             if s.unfinished else f"{s.count} newer" if s.count
                             else "up to date")
                    key = f"svc:{s.service_id}:{s.host}"
                    out.append(Row(key, f"{s.service_id} on {s.host}",
                                   state=self.outcomes.get(key, state),
                                   extra=s.words()))
        out += [Row(f"log:{i}", line) for i, line in enumerate(self.steps_said)]
        return out

    def activate(self, key: str) -> None:
        if key == "look":
            self.look(offline=True)
        elif key.startswith("svc:"):
            _, service, host = key.split(":", 2)
            self.upgrade(service, host, key)

    def action_refresh(self) -> None:
        self.look(offline=False)

    def _start(self, what: str, job: Any, name: str) -> bool:
        if self.busy:
            self.say(f"Still {self.busy}; the result comes when it is done.")
            return False
        self.busy = what
        self.refresh_content()
        self.run_worker(job, thread=True, exclusive=True, exit_on_error=False, name=name)
        return True

    def look(self, offline: bool) -> None:
        from roost.app.upgrading import updates

        home = self.ws.home
        if self._start("looking for updates on every host", lambda: updates(
                home, offline=offline), "look"):
            self.say("Looking for updates on every host; this takes a moment.")

    def upgrade(self, service: str, host: str, key: str) -> None:
        from roost.app.deploying import text_of
        from roost.app.upgrading import backup_set_up, upgradable, upgrade
        from roost.deploy.events import Output

        if self.report is None or key not in {f"svc:{s.service_id}:{s.host}"
                                              for s in upgradable(self.report)}:
            self.say(f"Nothing to upgrade for {service} on {host}.")
            return
        home = self.ws.home
        no_backup = not backup_set_up(home, service, host)
        if no_backup and self.confirm != key:
            self.confirm = key
            self.say(f"No backup of {service} on {host} is set up (roost backup {service} "
                     f"--host {host} --to OTHER-HOST sets one up). Press Enter again to "
                     "upgrade without one.")
            return
        self.confirm = ""
        self.upgrading = key
        self.steps_said = []

        def show(e: Any) -> None:
            if not isinstance(e, Output):
                self.app.call_from_thread(self._note, text_of(e))

        if self._start(f"upgrading {service} on {host}", lambda: upgrade(
                home, service, host, no_backup=no_backup, passphrase=_passphrase,
                on_event=show), "upgrade"):
            self.say(f"Upgrading {service} on {host}; each step is said here.")

    def _note(self, line: str) -> None:
        self.steps_said.append(line)
        self.refresh_content()
        self.say(line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name not in ("look", "upgrade") or event.state not in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.busy = ""
        if event.state != WorkerState.SUCCESS:
            err = event.worker.error
            self.refresh_content()
            self.say(err.line() if isinstance(err, RoostError)
                     else f"It stopped: {type(err).__name__}.")
            return
        result: Any = event.worker.result
        if event.worker.name == "look":
            self.report = result
            self.outcomes = {}
            self.refresh_content()
            self.say(result.summary)
            return
        self.outcomes[self.upgrading] = result.outcome
        self.steps_said.extend(result.lines)
        self.refresh_content()
        self.say(" ".join(result.lines[:2]))
