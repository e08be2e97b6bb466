"""Identities: the person's keys and ids (public parts only), readable aloud."""

from __future__ import annotations

from collections.abc import Sequence

from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class IdentitiesScreen(RoostScreen):
    TITLE = "Identities"
    LIST_ID = "identities"
    ENTER = "open"
    NAME = "Identities"

    def intro(self) -> str:
        return ("An identity is a key pair: the public part is your id that others see; "
                "the secret part stays in roost's locked vault.")

    def rows(self) -> Sequence[Row]:
        out: list[Row] = []
        for e in self.ws.history():
            if e.kind == "identity":
                kind = str(e.detail.get("kind", ""))
                pid = str(e.detail.get("public_id", ""))
                out.append(Row(f"identity:{len(out)}", f"{kind} identity", state="recorded",
                               extra=f"Id: {pid}"))
        if not out:
            out.append(Row("none", "No identities yet", state="empty",
                           extra="They are made when a step of your plan needs one."))
        return out
