"""Deploy: live progress as lines of text, cancel, resume, then health and what next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class DeployScreen(RoostScreen):
    TITLE = "Deploy"
    LIST_ID = "deploy-log"
    ENTER = "nothing (reading only)"
    NAME = "Deploy"
    BINDINGS: ClassVar[list] = []  # type: ignore[type-arg]

    def __init__(self, service_id: str = "") -> None:
        super().__init__()
        self.service_id = service_id
        self.lines: list[Row] = []

    def rows(self) -> Sequence[Row]:
        return self.lines or [Row("idle", "Nothing is being deployed", state="idle")]
