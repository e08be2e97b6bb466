"""Fixture app that proves the a11y harnesses can tell silent from spoken.

    python option_app.py plain    # stock OptionList: Textual leaves the hidden terminal
                                  # cursor at (0, 0); a screen reader says nothing on Down
    python option_app.py cursor   # after every highlight change the terminal cursor is
                                  # parked on the highlighted row: it is spoken
    python option_app.py blink    # cursor list plus a focused Input with a blinking
                                  # cursor: writes bytes while idle

Quit with q, Ctrl+Q or Esc. Copied in spirit from shared/reference/fenrir/option_app.py.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.widgets import Input, Label, OptionList

ITEMS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]


class CursorOptionList(OptionList):
    """OptionList that parks the real terminal cursor on the highlighted row."""

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self._park_cursor()

    def on_resize(self) -> None:
        self.call_after_refresh(self._park_cursor)

    def _park_cursor(self) -> None:
        index = self.highlighted
        if index is None or not self.is_mounted:
            return
        region = self.content_region
        if not region:
            return
        line = self._index_to_line.get(index)
        if line is None:
            return
        y = region.y + line - int(self.scroll_offset.y)
        self.app.cursor_position = Offset(region.x, y)
        self.refresh()


class OptionApp(App[None]):
    CSS = "OptionList { height: auto; max-height: 9; width: 30; }"
    BINDINGS: ClassVar = [
        ("q", "quit", "Quit"), ("ctrl+q", "quit", "Quit"), ("escape", "quit", "Quit"),
    ]

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Label(f"Pick a letter ({self.mode})")
        cls = OptionList if self.mode == "plain" else CursorOptionList
        yield cls(*ITEMS, id="choices")
        if self.mode == "blink":
            yield Input(placeholder="type here", id="entry")

    def on_mount(self) -> None:
        target = "#entry" if self.mode == "blink" else "#choices"
        self.query_one(target).focus()


if __name__ == "__main__":
    OptionApp(sys.argv[1] if len(sys.argv) > 1 else "plain").run()
