"""Backups: where each deployed service is backed up and how old its last good backup is (the
lines of `roost backups`, from roost.app.backing_up, as roost saw them last). Enter on a
service says how to restore it; setting up and restoring run from the command line for now."""

from __future__ import annotations

from collections.abc import Sequence

from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class BackupsScreen(RoostScreen):
    TITLE = "Backups"
    LIST_ID = "backups"
    ENTER = "how to restore it"
    NAME = "Backups"

    def intro(self) -> str:
        return ("Where each service is kept safe, as roost saw it last. `roost backups` asks "
                "the hosts again.")

    def rows(self) -> Sequence[Row]:
        from roost.app.backing_up import overview
        from roost.core import clock

        out: list[Row] = []
        for n, line in enumerate(overview(self.ws.home, clock.from_environment()())):
            service, _, rest = line.partition(": ")
            out.append(Row(f"backup:{n}:{service.split()[0]}", service,
                           state=rest.split(";")[0].split(".")[0], extra=rest))
        return out

    def activate(self, key: str) -> None:
        if key.startswith("backup:"):
            service = key.rsplit(":", 1)[1]
            self.say(f"To restore {service}: roost restore {service} --to HOST, in a "
                     "terminal. roost asks before it replaces data that is running there.")
