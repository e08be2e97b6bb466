"""Backups: where each deployed service is backed up and how old its last good backup is (the
lines of `roost backups`, from roost.app.backing_up, as roost saw them last), and the actions:
back a running service up to another host (`BackupFormScreen`, as `roost backup ID --host H
--to T`), copy roost's own data with the sealed vault (`HomeCopyScreen`, as `roost backup
--vault --to T`). Enter on a backed-up service says how to restore it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.forms import Field, FormScreen


class BackupsScreen(RoostScreen):
    TITLE = "Backups"
    LIST_ID = "backups"
    ENTER = "act on the line"
    NAME = "Backups"

    def intro(self) -> str:
        return ("Where each service is kept safe, as roost saw it last, then what you can "
                "back up. `roost backups` asks the hosts again.")

    def rows(self) -> Sequence[Row]:
        from roost.app.backing_up import overview
        from roost.core import clock

        out: list[Row] = []
        for n, line in enumerate(overview(self.ws.home, clock.from_environment()())):
            service, _, rest = line.partition(": ")
            out.append(Row(f"backup:{n}:{service.split()[0]}", service,
                           state=rest.split(";")[0].split(".")[0], extra=rest))
        for e in self.ws.progress.running():
            svc = self.ws.catalog.get(e.service_id or "")
            if svc is None or not svc.backed_up:
                continue
            host = str(e.detail.get("host", ""))
            out.append(Row(f"set-up:{svc.id}:{host}", f"Back up {svc.name} on {host}",
                           state="action, Enter"))
        out.append(Row("home-copy", "Copy roost's data, with the sealed vault, to another "
                       "host", state="action, Enter"))
        return out

    def activate(self, key: str) -> None:
        from roost.tui.screens import open_screen

        if key.startswith("set-up:"):
            open_screen(self.app, "backup", key.split(":", 1)[1])
        elif key == "home-copy":
            open_screen(self.app, "home-copy")
        elif key.startswith("backup:"):
            service = key.rsplit(":", 1)[1]
            self.say(f"To restore {service}: roost restore {service} --to HOST, in a "
                     "terminal. roost asks before it replaces data that is running there.")


def _unconfirmed(host: str) -> RoostError:
    return RoostError(f"roost has not confirmed {host}'s host key yet",
                      hint="open Hosts, choose the host and read its facts to confirm it")


def _other_host(home: Any, but: str) -> str:
    from roost.app.hosts import host_store

    names = [h.name for h in host_store(home).all() if h.name != but and not h.is_local]
    return names[0] if names else ""


class BackupFormScreen(FormScreen):
    """The host that keeps the backups, how often, and the vault passphrase; the backup is set
    up and the first one run in a worker thread (roost.app.backing_up.Backups.back_up)."""

    TITLE = "Back up a service"
    NAME = "Back up"
    SUBMIT = "Back it up now, and then on a timer"
    BUSY = "Setting up the backup and running the first one: this can take a few minutes."

    def __init__(self, service_id: str, host_name: str) -> None:
        super().__init__()
        self.service_id = service_id
        self.host_name = host_name

    def title_text(self) -> str:
        svc = self.ws.catalog.get(self.service_id)
        return f"Back up {svc.name if svc else self.service_id} on {self.host_name}"

    def intro(self) -> str:
        return "Encrypted, on another host; this one cannot delete them."

    def fields(self) -> Sequence[Field]:
        return [Field("to", "Host that keeps the backups",
                      value=_other_host(self.ws.home, self.host_name)),
                Field("every", "How often (daily/hourly/weekly)", value="daily"),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.backing_up import Backups
        from roost.app.hosts import find
        from roost.deploy.trust import TrustNeeded

        source = find(self.ws.home, self.host_name)
        target = find(self.ws.home, values.get("to", "").strip())
        passphrase = values.get("passphrase", "")
        if not passphrase:
            raise RoostError("the backup keeps its passphrase in your vault",
                             hint="type the vault passphrase, then Enter")
        b = Backups(self.ws.home, passphrase=lambda: passphrase, clock=self.ws.clock)
        every = values.get("every", "").strip().lower() or "daily"

        def job() -> str:
            try:
                return " ".join(b.back_up(self.service_id, source, target, every))
            except TrustNeeded as need:
                raise _unconfirmed(need.name) from None

        return job


class HomeCopyScreen(FormScreen):
    """Copy roost's data folder (the vault as it is, sealed) to a host
    (roost.app.home_copies, as `roost backup --vault --to HOST`)."""

    TITLE = "Copy roost's data"
    NAME = "Copy roost's data"
    SUBMIT = "Copy it now"
    BUSY = "Copying roost's data and reading it back: a few seconds."

    def intro(self) -> str:
        return "The vault holds your backups' keys: keep a sealed copy elsewhere."

    def fields(self) -> Sequence[Field]:
        return [Field("to", "Host that keeps the copies", value=_other_host(self.ws.home, ""))]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.home_copies import HomeCopies
        from roost.app.hosts import find
        from roost.deploy.trust import TrustNeeded

        target = find(self.ws.home, values.get("to", "").strip())
        copies = HomeCopies(self.ws.home, clock=self.ws.clock)

        def job() -> str:
            try:
                return " ".join(copies.copy_to(target))
            except TrustNeeded:
                raise _unconfirmed(target.name) from None

        return job
