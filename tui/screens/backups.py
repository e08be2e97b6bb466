"""Backups: where each deployed service is backed up and how old its last good backup is (the
lines of `roost backups`, from roost.app.backing_up, as roost saw them last), and the actions:
back a running service up to another host or a disk on its own (`BackupFormScreen`, as `roost
backup ID --host H --to T` and `--to-path DIR`), copy roost's own data with the sealed vault
(`HomeCopyScreen`, as `roost backup --vault --to T`); Enter on a backed-up service opens
`RestoreFormScreen` (as `roost restore ID --to HOST [--from-path DIR] [--yes]`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen
from roost.tui.screens.deploy import trusted_in_hosts
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
        out: list[Row] = []
        for n, line in enumerate(overview(self.ws.home, self.ws.clock())):
            service, _, rest = line.partition(": ")
            state = rest.split(";")[0].split(".")[0].split(" (")[0]  # fits 40 columns
            disk = " on the same machine (" in rest  # a disk's own line: its restore
            if disk:  # "backed up to /mnt/usb on the same machine": the folder, in 40 columns
                state = "on disk " + state.removeprefix("backed up to ").split(" on the ")[0]
            out.append(Row(f"backup:{n}:{service.split()[0]}" + (":disk" if disk else ""),
                           service, state=state, extra=rest))
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
            _, _, service, *disk = key.split(":")
            from roost.app.backing_up import load_records

            if service in load_records(self.ws.home, disk=bool(disk)):
                open_screen(self.app, "restore", service + (":disk" if disk else ""))
            else:
                self.say(f"{service} has no backup yet: back it up first (below).")


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
        return ("Encrypted, on another host; this one cannot delete them. A disk on this "
                "host too, if you like: not enough on its own.")

    def fields(self) -> Sequence[Field]:
        return [Field("to", "Host that keeps the backups",
                      value=_other_host(self.ws.home, self.host_name)),
                Field("disk", "A disk folder here too, e.g. /mnt/usb"),
                Field("every", "How often (daily/hourly/weekly)", value="daily"),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.backing_up import Backups
        from roost.app.hosts import find

        source = find(self.ws.home, self.host_name)
        to, disk = values.get("to", "").strip(), values.get("disk", "").strip()
        if not to and not disk:
            raise RoostError("the backups need a place: another host, or a disk folder",
                             hint="type a host roost knows, or a folder such as /mnt/usb")
        target = find(self.ws.home, to) if to else None
        passphrase = values.get("passphrase", "")
        if not passphrase:
            raise RoostError("the backup keeps its passphrase in your vault",
                             hint="type the vault passphrase, then Enter")
        b = Backups(self.ws.home, passphrase=lambda: passphrase, clock=self.ws.clock)
        every = values.get("every", "").strip().lower() or "daily"

        def job() -> str:
            with trusted_in_hosts():
                return " ".join(
                    (b.back_up(self.service_id, source, target, every) if target else [])
                    + (b.back_up_to_path(self.service_id, source, disk, every) if disk
                       else []))

        return job


class RestoreFormScreen(FormScreen):
    """Put a service's last backup back on a host (roost.app.backing_up.Backups.restore, as
    `roost restore ID --to HOST [--from-path DIR] [--yes]`), in a worker thread. Opened for
    "SERVICE:disk", it restores from the service's disk (its folder filled in)."""

    TITLE = "Restore a service"
    NAME = "Restore"
    SUBMIT = "Restore it now"
    BUSY = "Installing it, putting the backup back, checking it works: a few minutes."

    def __init__(self, service_id: str) -> None:
        super().__init__()
        self.service_id, _, disk = service_id.partition(":")
        self.disk = disk == "disk"

    def title_text(self) -> str:
        return f"Restore {self.service_id} from its " + ("disk" if self.disk else "backups")

    def intro(self) -> str:
        return "Data it replaces is kept aside, never deleted."

    def fields(self) -> Sequence[Field]:
        from roost.app.backing_up import load_records

        rec = load_records(self.ws.home, disk=self.disk).get(self.service_id)
        disk = ([Field("from_path", "The disk's folder on that host",
                       value=rec.to_path if rec else "")] if self.disk else [])
        return [Field("to", "Restore onto host", value=rec.target if rec else ""), *disk,
                Field("replace", "Replace data running there (yes/no)", value="no"),
                Field("passphrase", "Vault passphrase", password=True)]

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        from roost.app.backing_up import Backups
        from roost.app.hosts import find

        to = find(self.ws.home, values.get("to", "").strip())
        replace = values.get("replace", "").strip().lower()
        if replace not in ("yes", "no"):
            raise RoostError("say yes or no for replacing the data running there",
                             hint="no stops if it runs there; yes keeps that data aside")
        passphrase = values.get("passphrase", "")
        if not passphrase:
            raise RoostError("the backup's passphrase is in your vault",
                             hint="type the vault passphrase, then Enter")
        b = Backups(self.ws.home, passphrase=lambda: passphrase, clock=self.ws.clock)
        from_path = values.get("from_path", "").strip() if self.disk else None
        if from_path == "":
            raise RoostError("which folder is the disk at on that host?",
                             hint="type it, such as /mnt/usb")

        def job() -> str:
            with trusted_in_hosts():
                return " ".join(b.restore(self.service_id, to, replace=replace == "yes",
                                          from_path=from_path))

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

        target = find(self.ws.home, values.get("to", "").strip())
        copies = HomeCopies(self.ws.home, clock=self.ws.clock)

        def job() -> str:
            with trusted_in_hosts():
                return " ".join(copies.copy_to(target))

        return job
