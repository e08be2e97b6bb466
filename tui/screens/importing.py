"""Bring your data: a platform's archive into a service on a host (roost.app.importing, as
`roost import KIND ARCHIVE --host NAME`). The form asks the kind, the file, the host and the
vault passphrase; "See what it would import" says the dry run's lines, "Import it" runs the
import in a worker thread, its progress said on the status line as it goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.worker import Worker, WorkerState

from roost.core.errors import RoostError
from roost.tui.a11y import Row
from roost.tui.screens.backups import _other_host
from roost.tui.screens.deploy import trusted_in_hosts
from roost.tui.screens.forms import Field, FormScreen


class ImportFormScreen(FormScreen):
    TITLE = "Bring your data"
    NAME = "Bring your data"
    SUBMIT = "Import it"
    BUSY = "Importing: this can take a while. If it stops, do the same again: it continues."

    def intro(self) -> str:
        from roost.app.importing import KIND_NAMES

        kinds = "; ".join(f"{k}: {v}" for k, v in KIND_NAMES.items())
        return f"A platform's archive into your own service. Kinds: {kinds}."

    def fields(self) -> Sequence[Field]:
        return [Field("kind", "Kind of archive", value="mbox"),
                Field("archive", "Archive file", placeholder="the full path"),
                Field("host", "Host", value=_other_host(self.ws.home, "")),
                Field("passphrase", "Vault passphrase", password=True)]

    def rows(self) -> Sequence[Row]:
        return [Row("dry-run", "See what it would import", state="action, Enter"),
                *super().rows()]

    def job(self, values: dict[str, str]) -> Any:
        from roost.app.deploying import text_of
        from roost.app.hosts import find
        from roost.app.importing import ImportProgress, import_job

        kind = values.get("kind", "").strip()
        path = values.get("archive", "").strip()
        if not path:
            raise RoostError("say which archive file to import", hint="type its full path")
        passphrase = values.get("passphrase", "")

        def show(e: Any) -> None:
            text = e.text() if isinstance(e, ImportProgress) else text_of(e)
            self.app.call_from_thread(self.say, text)

        host = find(self.ws.home, values.get("host", "").strip())
        return import_job(kind, Path(path).expanduser(), host, self.ws.home, on_event=show,
                          passphrase=lambda: passphrase)

    def activate(self, key: str) -> None:
        if key != "dry-run":
            super().activate(key)
            return
        try:
            job = self.job(self.values())
        except RoostError as exc:
            self.say(exc.line())
            return
        self.say("Reading the archive.")
        self.run_worker(lambda: " ".join(job.scan().lines(dry_run=True)), thread=True,
                        exclusive=True, exit_on_error=False, name="dry-run")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "dry-run":
            super().on_worker_state_changed(event)
        elif event.state == WorkerState.SUCCESS:
            self.say(str(event.worker.result))
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self.say(err.line() if isinstance(err, RoostError) else
                     f"That did not work: {type(err).__name__}.")

    def work(self, values: dict[str, str]) -> Callable[[], Any]:
        job = self.job(values)

        def run() -> str:
            with trusted_in_hosts():
                return " ".join(job.run().lines())

        return run
