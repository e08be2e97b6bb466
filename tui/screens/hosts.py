"""Hosts: the machines roost sets up, their fingerprints and facts."""

from __future__ import annotations

from collections.abc import Sequence

from roost.plan.detect import format_mb
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class HostsScreen(RoostScreen):
    TITLE = "Hosts"
    LIST_ID = "hosts"
    ENTER = "open"
    NAME = "Hosts"

    def intro(self) -> str:
        return "The machines roost can set services up on."

    def rows(self) -> Sequence[Row]:
        f = self.ws.facts
        out: list[Row] = []
        if f is not None:
            out.append(Row("local", f"This machine ({f.hostname})", state="found by itself",
                           extra=f.describe()))
            if f.disk_free_mb is not None:
                out.append(Row("local:disk", "Free disk here",
                               state=format_mb(f.disk_free_mb)))
        return out or [Row("none", "No hosts yet", state="empty")]
