"""Alerts: another of the person's hosts watches a service and writes to them once when it goes
down and once when it is back (roost.app.watching, the same use case as `roost watch`).

`AlertsScreen` lists what is watched from where; Enter on a watch sends a test message now,
`d` stops watching it, and "Set up alerts" opens `WatchFormScreen`: the service and its host,
the watching host, the way (xmpp, matrix or email), the person's address, the sender (a vault
identity) and the vault passphrase. The work runs in a worker thread; its outcome is said on
the status line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.forms import Field, FormScreen


def _outcome(event: Worker.StateChanged) -> str | None:
    """The line to say when a worker ended (None while it runs)."""
    if event.state == WorkerState.SUCCESS:
        return " ".join(str(x) for x in event.worker.result or [])
    if event.state == WorkerState.ERROR:
        err = event.worker.error
        return err.line() if isinstance(err, RoostError) else (
            f"That did not work: {type(err).__name__}.")
    return None


class AlertsScreen(RoostScreen):
    TITLE = "Alerts"
    LIST_ID = "alerts"
    ENTER = "send a test message / set up"
    NAME = "Alerts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "remove", "stop watching"),
        Binding("n", "new", "set up alerts"),
    ]

    def intro(self) -> str:
        return "Another host tells you when a service goes down, and when it is back."

    def rows(self) -> Sequence[Row]:
        from roost.app.watching import Watching

        try:
            found = Watching(self.ws.home).watches()
        except RoostError as exc:
            return [Row("broken", "The list of watches", state=exc.line())]
        out = [Row(f"watch:{w.service_id}:{w.host}", f"{w.label} on {w.host}",
                   state=f"from {w.watcher}", extra=w.how()[:1].upper() + w.how()[1:] + ".")
               for w in found]
        out.append(Row("new", "Set up alerts", state="action, n"))
        return out

    def activate(self, key: str) -> None:
        if key == "new":
            self.action_new()
        elif key.startswith("watch:"):
            _, service, host = key.split(":", 2)
            self._work("test", service, host, f"Sending a test message from the watcher of "
                       f"{service} on {host}.")

    def action_new(self) -> None:
        self.app.push_screen(WatchFormScreen())

    def action_remove(self) -> None:
        row = self.menu.current
        if row is None or not row.key.startswith("watch:"):
            self.say("Choose a watch first, then press d to stop it.")
            return
        _, service, host = row.key.split(":", 2)
        self._work("remove", service, host, f"Stopping the watcher of {service} on {host}.")

    def _work(self, what: str, service: str, host: str, said: str) -> None:
        from roost.app.watching import Watching

        w = Watching(self.ws.home)
        act: Callable[[], list[str]] = ((lambda: w.test(service, host)) if what == "test"
                                        else (lambda: w.remove(service, host)))
        self.say(said)
        self.run_worker(act, thread=True, exclusive=True, exit_on_error=False, name="alerts")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "alerts":
            return
        said = _outcome(event)
        if said is not None:
            self.refresh_content()
            self.say(said)


class WatchFormScreen(FormScreen):
    """What to watch, from where, and who is told; the watcher is set up in a worker."""

    TITLE = "Set up alerts"
    NAME = "Set up alerts"
    SUBMIT = "Set up the watcher"
    BUSY = "Setting up the watcher on the other host; this takes a few seconds."

    def intro(self) -> str:
        return ("The sender is an XMPP account in your vault (roost keys new xmpp --name "
                "alerts), for Matrix a Matrix identity (its server's admin sends), for e-mail "
                "a login; on another server than the one watched.")

    def fields(self) -> Sequence[Field]:
        running = [(str(e.service_id), str(e.detail.get("host", "")))
                   for e in self.ws.progress.running() if e.service_id]
        service, host = running[0] if running else ("", "")
        return [Field("service", "Service", value=service),
                Field("host", "Runs on host", value=host),
                Field("watcher", "Watched from host", placeholder="your VPS"),
                Field("via", "By xmpp, matrix or email", value="xmpp"),
                Field("to", "Your address", placeholder="you@example.org"),
                Field("sender", "Sender (vault identity)", value="alerts"),
                Field("server", "Sender's server", placeholder="XMPP: its domain"),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.watching import Watching

        passphrase = values.get("passphrase", "")

        def given() -> str:
            if not passphrase:
                raise RoostError("the watcher needs the sender's password from your vault",
                                 hint="type the vault passphrase and try again")
            return passphrase

        w = Watching(self.ws.home, passphrase=given)
        v = {k: x.strip() for k, x in values.items() if k != "passphrase"}

        def job() -> list[str]:
            return w.watch(w.plan(v.get("service", ""), v.get("host", ""),
                                  v.get("watcher", ""), to=v.get("to", ""),
                                  sender=v.get("sender", ""), server=v.get("server", ""),
                                  via=v.get("via", "") or "xmpp"))

        return job

    def done(self, result: Any) -> None:
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, RoostScreen):
            screen.refresh_content()
            screen.say(" ".join(str(x) for x in result or []))
