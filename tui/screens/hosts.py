"""Hosts: the machines roost sets up. Add one (confirm its SSH host key fingerprint on first
contact), read its facts, remove it. Connecting and reading facts run in worker threads.

roost.deploy (and paramiko, only when SSH is used) is imported when this screen opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.forms import Field, FormScreen, YesNoScreen

if TYPE_CHECKING:
    from pathlib import Path

    from roost.deploy.hosts import Host, HostStore


def store(home: Path) -> HostStore:
    from roost.app.hosts import host_store

    return host_store(home)


@dataclass(frozen=True)
class NeedTrust:
    """A worker's answer: the host is new; ask the person about this fingerprint."""

    question: str
    fingerprint: str


def connect_and_read(host: Host, home: Path, trust: str | None,
                     add: bool) -> NeedTrust | list[str]:
    """Blocking: connect, read the facts, save them (and the host when `add`)."""
    from roost.app.hosts import read_facts
    from roost.deploy.trust import TrustNeeded

    try:
        found = read_facts(host, home, trust=trust, add=add)
    except TrustNeeded as need:
        return NeedTrust(need.question(), need.fingerprint)
    return found.lines()


class HostsScreen(RoostScreen):
    TITLE = "Hosts"
    LIST_ID = "hosts"
    ENTER = "open the host"
    NAME = "Hosts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "add a host"),
    ]

    def intro(self) -> str:
        return ("The machines roost can set services up on: this computer (local), and "
                "others reached over SSH.")

    def rows(self) -> Sequence[Row]:
        out: list[Row] = []
        for h in store(self.ws.home).all():
            state = f"facts read {h.facts_read_at}" if h.facts_read_at else "facts not read yet"
            out.append(Row(f"host:{h.name}", h.name, state=state, detail=h.target()))
        out.append(Row("add", "Add a host", state="action, key a"))
        return out

    def activate(self, key: str) -> None:
        if key == "add":
            self.action_add()
        elif key.startswith("host:"):
            self.app.push_screen(HostScreen(key.split(":", 1)[1]))

    def action_add(self) -> None:
        self.app.push_screen(AddHostScreen())


class HostScreen(RoostScreen):
    LIST_ID = "host"
    ENTER = "act on the line"
    NAME = "Host"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_facts", "read the facts again"),
        Binding("x", "remove", "remove the host"),
        Binding("o", "reach", "can others reach its services?"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.host_name = name

    def title_text(self) -> str:
        return f"Host {self.host_name}"

    def rows(self) -> Sequence[Row]:
        from roost.deploy.facts import Facts

        h = store(self.ws.home).get(self.host_name)
        out = [Row("info:target", "Reached at", state=h.target())]
        if h.facts is not None:
            found = Facts.from_dict({**h.facts, "read_at": h.facts_read_at or ""})
            out += [Row(f"fact:{i}", line) for i, line in enumerate(found.lines())]
        else:
            out.append(Row("fact:none", "Its facts were not read yet", state="key r reads them"))
        out.append(Row("refresh", "Read the facts again", state="action, key r"))
        if not h.is_local:
            out.append(Row("dyndns", "Keep a dynamic-DNS name pointed at it",
                           state="action, Enter", extra="For a home whose address changes."))
            out.append(Row("security:on", "Install security updates by itself",
                           state="action, Enter",
                           extra="Debian's unattended-upgrades, security archive only."))
            out.append(Row("security:off", "Stop installing security updates by itself",
                           state="action, Enter"))
            out.append(Row("remove", "Remove this host from roost", state="action, key x"))
        return out

    def activate(self, key: str) -> None:
        if key == "refresh":
            self.action_refresh_facts()
        elif key == "remove":
            self.action_remove()
        elif key == "dyndns":
            from roost.tui.screens.ways_in import DynDnsScreen

            self.app.push_screen(DynDnsScreen(self.host_name))
        elif key.startswith("security:"):
            self.switch_security_updates(on=key == "security:on")

    def switch_security_updates(self, on: bool) -> None:
        """Debian's unattended-upgrades on or off (roost.app.security_updates), in a worker."""
        from roost.app.security_updates import SecurityUpdates

        h = store(self.ws.home).get(self.host_name)
        self.say(("Installing unattended-upgrades and switching it on" if on
                  else "Switching automatic security updates off") + f" on {h.name}.")
        s = SecurityUpdates(h, self.ws.home)
        self.run_worker(lambda: " ".join(s.switch(on=on)), thread=True, exclusive=True,
                        exit_on_error=False, name="security")

    def action_refresh_facts(self) -> None:
        h = store(self.ws.home).get(self.host_name)
        self.say(f"Reading the facts of {h.name}.")
        home = self.ws.home
        self.run_worker(lambda: connect_and_read(h, home, None, add=False), thread=True,
                        exclusive=True, exit_on_error=False, name="facts")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "security" and event.state in (WorkerState.SUCCESS,
                                                                WorkerState.ERROR):
            err = event.worker.error
            self.say(str(event.worker.result) if event.state == WorkerState.SUCCESS
                     else err.line() if isinstance(err, RoostError)
                     else f"That did not work: {type(err).__name__}.")
            return
        if event.worker.name != "facts":
            return
        if event.state == WorkerState.SUCCESS:
            result = event.worker.result
            if isinstance(result, NeedTrust):
                self.say("This host's key is not trusted yet: " + result.question)
                return
            self.refresh_content()
            self.say(f"Read the facts of {self.host_name}.")
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self.say(err.line() if isinstance(err, RoostError)
                     else f"Reading the facts failed: {type(err).__name__}.")

    def action_reach(self) -> None:
        from roost.tui.screens import open_screen

        open_screen(self.app, "reach", f":{self.host_name}")

    def action_remove(self) -> None:
        if self.act(store(self.ws.home).remove, self.host_name):
            self.app.pop_screen()
            screen = self.app.screen
            if isinstance(screen, RoostScreen):
                screen.say(f"Removed {self.host_name}.")


class AddHostScreen(FormScreen):
    NAME = "Add a host"
    TITLE = "Add a host reached over SSH"
    SUBMIT = "Connect and add it"
    BUSY = "Connecting and reading its facts."
    LIST_ID = "add-host-form"

    def __init__(self) -> None:
        super().__init__()
        self.trust: str | None = None

    def intro(self) -> str:
        return ("roost logs in with your SSH key (or your SSH agent). On first contact it "
                "shows the host key's fingerprint for you to confirm.")

    def fields(self) -> Sequence[Field]:
        return [Field("name", "Short name", placeholder="pi or vps"),
                Field("target", "Address", placeholder="user@address or user@address:port"),
                Field("key", "Key file (optional)", placeholder="~/.ssh/id_ed25519")]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.core import validate
        from roost.deploy.hosts import Host, parse_target

        name = validate.short_name(values.get("name", "").strip(), "host name")
        user, address, port = parse_target(values.get("target", "").strip())
        host = Host(name=name, address=address, user=user, port=port,
                    key_path=values.get("key", "").strip() or None)
        home = self.ws.home
        if any(h.name == name for h in store(home).all()):
            store(home).add(host)  # raises "there is already a host called..."
        trust = self.trust
        return lambda: connect_and_read(host, home, trust, add=True)

    def activate(self, key: str) -> None:
        if key == "submit":
            try:
                job = self.work(self.values())
            except RoostError as exc:
                self.say(exc.line())
                return
            self.say(self.BUSY)
            self.run_worker(job, thread=True, exclusive=True, exit_on_error=False,
                            name="form")
        else:
            super().activate(key)

    def done(self, result: Any) -> None:
        if isinstance(result, NeedTrust):
            def answered(yes: bool | None) -> None:
                if yes:
                    self.trust = result.fingerprint
                    self.activate("submit")
                else:
                    self.say("Not trusted; nothing was added. Check the fingerprint on the "
                             "host, then try again.")

            self.app.push_screen(TrustScreen(result.question), answered)
            return
        name = self.values().get("name", "").strip()
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, RoostScreen):
            screen.refresh_content(keep=f"host:{name}")
            screen.say(f"Added {name}. " + " ".join(result))


class TrustScreen(YesNoScreen):
    """First contact: show the fingerprint and ask. Dismissed with True or False."""

    TITLE = "Trust this host?"
    LIST_ID = "trust"
    NAME = "Trust a host"
    BACK_WORD = "no, do not trust it"
    YES = "Yes, I checked: the fingerprint is the same"
    NO = "No, do not trust it"
