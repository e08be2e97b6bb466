"""The one accessible list every roost screen is built on.

A console screen reader (Fenrir, Speakup) reads the line under the terminal cursor. Textual
hides the cursor and leaves it wherever the last frame ended, so a stock list is silent. This
list parks the (invisible) terminal cursor on the highlighted row after every key, and each row
reads as one sentence: label, detail, state in words, position ("Prosody (XMPP chat), next,
1 of 14"). See shared/reference/accessibility.md; the Textual minor version is pinned because
this leans on `App.cursor_position` and `OptionList._index_to_line`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Offset
from textual.visual import Visual
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class Row:
    """One line of a list: something to read, and maybe something to do with Enter."""

    key: str
    """Stable id (the option id): 'step:prosody', 'action:done'..."""
    label: str
    state: str = ""
    """The state in words: 'next', 'done', '[x] chosen', 'fits'. Never colour alone."""
    detail: str = ""
    """Short, read after the label."""
    extra: str = ""
    """Longer text read after the position (may wrap to further lines)."""
    numbered: bool = True
    """Say 'i of n' (False for lines of a log, which carry their own 'step i of n')."""


def sentence(row: Row, index: int, total: int) -> str:
    """The row as read aloud: 'Prosody (XMPP chat), next, 1 of 14. Replaces WhatsApp.'

    The state comes right after the label so it stays on the first (cursor) line."""
    parts = [row.label]
    if row.state:
        parts.append(row.state)
    if row.detail:
        parts.append(row.detail)
    if row.numbered:
        parts.append(f"{index + 1} of {total}")
    parts = [p.strip() for p in parts if p.strip()]
    text = parts[0] if len(parts) == 1 else ", ".join(p.rstrip(".,") for p in parts)
    if row.extra:
        text += ". " + row.extra.strip()
    return to_ascii(text)


_ASCII = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ", "\u2022": "*", "\u2192": "->",
})


def to_ascii(text: str) -> str:
    """Typographic punctuation to ASCII; anything else outside ASCII is kept (names)."""
    return text.translate(_ASCII)


def fill_lines(text: str, width: int) -> list[str]:
    """Wrap `text` at spaces to `width`, but split a long word (a path, an address) to fill
    the rest of the line instead of moving it whole to the next one: the first line (the
    one a screen reader reads at the cursor) then says as much as fits, not just "- Read"."""
    if width < 4 or len(text) <= width:
        return [text]
    long_word = max(12, width // 3)
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        while word:
            sep = " " if cur else ""
            if len(cur) + len(sep) + len(word) <= width:
                cur, word = cur + sep + word, ""
                continue
            if len(word) >= long_word or not cur:
                room = width - len(cur) - len(sep)
                if room >= 4 or not cur:
                    cur, word = cur + sep + word[:room], word[room:]
            lines.append(cur)
            cur = ""
    if cur:
        lines.append(cur)
    return lines


class AccessibleList(OptionList):
    """An OptionList of `Row`s that keeps the terminal cursor on the highlighted row.

    In screen-reader mode every row is the plain sentence with its position; otherwise the
    label is bold and the state is in brackets, with the same words.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def __init__(self, rows: Sequence[Row] = (), *, id: str | None = None,
                 screen_reader: bool = False, classes: str | None = None) -> None:
        self.screen_reader = screen_reader
        self._rows: list[Row] = list(rows)
        self._filled: dict[tuple[str, int], Content] = {}
        self._rendered_for: bool | None = screen_reader if self._rows else None
        """The screen-reader mode the current options were rendered in (None: none yet)."""
        # The rows are options from the start, so the first frame already shows them
        # (no second layout pass after mount).
        total = len(self._rows)
        super().__init__(*(Option(self.render_row(r, i, total), id=r.key)
                           for i, r in enumerate(self._rows)), id=id, classes=classes)

    # --- content -----------------------------------------------------------------------

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(self._rows)

    @property
    def current(self) -> Row | None:
        i = self.highlighted
        if i is None or not 0 <= i < len(self._rows):
            return None
        return self._rows[i]

    def render_row(self, row: Row, index: int, total: int) -> Content:
        if self.screen_reader:
            return Content(sentence(row, index, total))
        # Sighted layout: the same words, without the position (the highlight shows it).
        parts: list[str | tuple[str, str]] = [(to_ascii(row.label), "bold")]
        if row.state:
            parts.append(("  [" + to_ascii(row.state) + "]", "italic"))
        if row.detail:
            parts.append("  " + to_ascii(row.detail))
        if row.extra:
            parts.append(": " + to_ascii(row.extra))
        return Content.assemble(*parts)

    def set_rows(self, rows: Iterable[Row], keep: str | None = None) -> None:
        """Replace the rows; keep the highlight on the row with key `keep` (or the same
        index) so a refresh after an action does not move the reader. Rows equal to the
        ones shown change nothing (no relayout, no extra frame)."""
        new_rows = list(rows)
        if new_rows == self._rows and self._rendered_for == self.screen_reader:
            if keep is not None:
                self.highlight_key(keep)
            self.park_cursor()
            return
        old = self.highlighted
        if keep is None and self.current is not None:
            keep = self.current.key
        self._rows = new_rows
        self._rendered_for = self.screen_reader
        self._filled.clear()
        total = len(self._rows)
        self.clear_options()
        self.add_options([Option(self.render_row(r, i, total), id=r.key)
                          for i, r in enumerate(self._rows)])
        index = next((i for i, r in enumerate(self._rows) if r.key == keep), None)
        if index is None and total:
            index = min(old or 0, total - 1)
        if index is not None:
            self.highlighted = index
        self.park_cursor()

    def _get_visual(self, option: Option) -> Visual:
        """In screen-reader mode a row longer than the list is wrapped by `fill_lines`."""
        visual = super()._get_visual(option)
        if not self.screen_reader or not isinstance(visual, Content):
            return visual
        padding = self.get_component_styles("option-list--option").padding
        width = (self.scrollable_content_region.width - self._get_left_gutter_width()
                 - padding.width)
        text = visual.plain
        if width < 4 or len(text) <= width or "\n" in text:
            return visual
        key = (text, width)
        filled = self._filled.get(key)
        if filled is None:
            filled = self._filled[key] = Content("\n".join(fill_lines(text, width)))
        return filled

    def set_screen_reader(self, on: bool) -> None:
        if on != self.screen_reader:
            self.screen_reader = on
            self.set_rows(self._rows)

    def highlight_key(self, key: str) -> bool:
        index = next((i for i, r in enumerate(self._rows) if r.key == key), None)
        if index is None:
            return False
        self.highlighted = index
        return True

    # --- the cursor --------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        """Up on the first row goes back to the text field above the list (a form's last
        field), so Up/Down alone walk a whole form."""
        if not self.highlighted and self.is_mounted:
            chain = self.screen.focus_chain
            i = chain.index(self) if self in chain else 0
            if i > 0 and isinstance(chain[i - 1], Input):
                chain[i - 1].focus()
                return
        super().action_cursor_up()

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)  # scrolls, posts OptionHighlighted
        self.park_cursor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.park_cursor()

    def on_focus(self) -> None:
        self.park_cursor()
        self.call_after_refresh(self.park_cursor)

    def on_resize(self) -> None:
        self.call_after_refresh(self.park_cursor)

    def cursor_offset(self) -> Offset | None:
        """Screen offset of the highlighted row's first line, or None when not shown."""
        index = self.highlighted
        if index is None or not self.is_mounted:
            return None
        region = self.content_region
        if not region:
            return None
        line = self._index_to_line.get(index)
        if line is None:
            return None
        y = region.y + line - int(self.scroll_offset.y)
        if not region.y <= y < region.bottom:
            return None
        return Offset(region.x, y)

    def park_cursor(self) -> None:
        """Put the terminal cursor on the highlighted row (only while this list has focus)."""
        if not self.is_mounted or not self.has_focus:
            return
        try:
            if self.screen is not self.app.screen:
                return
        except Exception:  # not attached to a screen yet
            return
        if getattr(self.screen, "cursor_held", False):
            return  # the screen moves the cursor here in its own frame once drawn
        offset = self.cursor_offset()
        if offset is None:
            return
        if self.app.cursor_position != offset:
            self.app.cursor_position = offset
            # cursor_position is a plain attribute: make sure a frame carries the move.
            self.refresh()


def screen_lines(app: object) -> list[str]:
    """The current screen as plain text lines (what a screen reader would see)."""
    import io

    from rich.console import Console
    from textual.app import App

    assert isinstance(app, App)
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      color_system=None, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    lines = console.export_text(styles=False).split("\n")
    return (lines + [""] * height)[:height]


def cursor_line(app: object) -> str:
    """The screen line under `app.cursor_position`."""
    from textual.app import App

    assert isinstance(app, App)
    y = app.cursor_position.y
    lines = screen_lines(app)
    return lines[y] if 0 <= y < len(lines) else ""
