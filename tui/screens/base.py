"""What every roost screen shares: a title, text, the accessible list, a status line, keys.

Layout, top to bottom (= reading order = Tab order): `#title`, `#intro` (optional text),
the screen's `AccessibleList`, extra areas a screen adds, `#status` (the result of the last
action, in words), `#keys` (every key of this screen, as text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Offset
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from roost.core.errors import RoostError
from roost.tui.a11y import AccessibleList, Row, to_ascii
from roost.tui.widgets.keybar import SHORT_ROWS, KeyBar, key_name

if TYPE_CHECKING:
    from roost.plan.workspace import Workspace
    from roost.tui.app import RoostApp


class RoostScreen(Screen[None]):
    """Base screen. Subclasses set TITLE, LIST_ID, ENTER and implement `rows()`."""

    TITLE: ClassVar[str] = "roost"
    LIST_ID: ClassVar[str] = "list"
    ENTER: ClassVar[str] = "choose"
    """What Enter does, for the key line and help."""
    NAME: ClassVar[str] = "Screen"
    """The screen's name in Help."""
    BACK_WORD: ClassVar[str] = "back"
    FIELDS: ClassVar[bool] = False
    """The screen has text fields: its key line says how to move between them and how to
    leave from inside one (where q and Backspace are text)."""
    EMPTY: ClassVar[str] = "     empty"
    """What an empty field shows in screen-reader mode instead of a placeholder (which a
    screen reader reads as if it had been typed): the field is read "Address: empty". The
    spaces keep the word away from where typing starts: Fenrir compares the cursor line
    only up to 3 cells right of the cursor to tell a typed character from a changed line,
    so the first character typed is echoed as itself, not as the whole line again."""
    CURSOR_DELAY: ClassVar[float] = 0.08
    """Seconds between a screen's first frame (cursor on the title) and the frame that
    moves the cursor onto the focused row: a screen reader reads the new screen, then,
    as a separate event, the focused line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "back", "back"),
        Binding("backspace", "back", "back", show=False),
        Binding("escape", "back", "back", show=False),
        # A way back that works inside a text field too and that no screen reader takes
        # (Fenrir takes a bare Esc; tmux takes Ctrl+B).
        Binding("ctrl+g", "back", "back", show=False),
        Binding("question_mark", "help", "help"),
        # In a text field Up/Down reach the screen (an Input does not use them): they move
        # to the field before or after (a list takes them itself, see AccessibleList).
        Binding("up", "field(-1)", "previous field", show=False),
        Binding("down", "field(1)", "next field", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._pending_status = ""
        self._resumed = False
        self._shown: dict[str, str] = {}
        self._short = False
        self.cursor_held = False
        """True while the screen has just been drawn: the terminal cursor waits on the
        title line (see `hold_cursor`)."""

    # --- access to the app -------------------------------------------------------------

    @property
    def roost(self) -> RoostApp:
        # Screens run only inside RoostApp; importing it here would make screens and app
        # import each other.
        return cast("RoostApp", self.app)

    @property
    def ws(self) -> Workspace:
        return self.roost.ws

    @property
    def screen_reader(self) -> bool:
        return self.roost.screen_reader

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Everything the first frame shows is known here, so that frame is the whole screen
        # (no text, rows or key line filled in after mount, which would be more writes).
        title, text, rows = self._content()
        self._shown = {"title": title, "intro": text}
        yield Static(Content(title), id="title")
        with Vertical(id="body"):
            intro = Static(Content(text), id="intro")
            intro.display = bool(text)
            yield intro
            yield from self.compose_form()
            yield AccessibleList(rows, id=self.LIST_ID, screen_reader=self.screen_reader,
                                 classes="main-list")
            yield from self.compose_extra()
        yield Static(Content(""), id="status")
        keybar = KeyBar(id="keys")
        self._short = self.app.size.height < SHORT_ROWS
        keybar.set_keys(self.key_help(), short=self._short)
        yield keybar

    def on_resize(self, event: events.Resize) -> None:
        short = event.size.height < SHORT_ROWS
        if short != self._short:
            self._short = short
            self.query_one("#keys", KeyBar).set_keys(self.key_help(), short=short)

    def _content(self) -> tuple[str, str, list[Row]]:
        """(title, intro, rows) as shown; an error becomes the intro and one row."""
        try:
            text = self.intro()
            rows = list(self.rows())
        except RoostError as exc:
            text, rows = exc.line(), [Row("error", "Something went wrong", "see above")]
        return to_ascii(self.title_text()), to_ascii(text), rows

    def compose_extra(self) -> Iterable[Widget]:
        return ()

    def compose_form(self) -> Iterable[Widget]:
        """Widgets read before the list (a form's fields)."""
        return ()

    def first_focus(self) -> Widget:
        return self.menu

    def title_text(self) -> str:
        return self.TITLE

    def intro(self) -> str:
        return ""

    def rows(self) -> Sequence[Row]:
        return ()

    @property
    def menu(self) -> AccessibleList:
        return self.query_one(f"#{self.LIST_ID}", AccessibleList)

    # --- the cursor after a screen is drawn -------------------------------------------------

    def hold_cursor(self) -> None:
        """Keep the terminal cursor on the title line for the frame that draws this screen,
        then move it onto the focused row in a separate, later frame.

        If the frame that changes the whole screen also moved the cursor, a screen reader
        may read the screen and never the focused line (it depends on timing)."""
        self.cursor_held = True
        self.call_after_refresh(self.set_timer, self.CURSOR_DELAY, self.release_cursor)

    def release_cursor(self) -> None:
        if not self.cursor_held:
            return
        self.cursor_held = False
        # Any frame carries the cursor (see RoostApp.cursor_position); the title line is
        # the smallest one.
        self.query_one("#title", Static).refresh()

    def held_cursor(self) -> Offset | None:
        """Where the cursor waits while held (the title's first line), else None."""
        if not self.cursor_held or not self.is_mounted:
            return None
        region = self.query_one("#title", Static).content_region
        return region.offset if region else Offset(0, 0)

    def placeholder(self, text: str) -> str:
        """A field's placeholder: `text`, or in screen-reader mode the word for empty."""
        return self.EMPTY if self.screen_reader else text

    def on_mount(self) -> None:
        if self.screen_reader:
            for inp in self.query(Input):
                inp.placeholder = self.EMPTY
        self.hold_cursor()
        self.refresh_content()
        if self._pending_status:
            self.say(self._pending_status)
        self.first_focus().focus()

    def on_screen_resume(self) -> None:
        # Coming back from another screen: the data may have changed there. (The first
        # resume follows on_mount, which has just drawn everything.)
        if not self._resumed:
            self._resumed = True
            return
        if self.is_mounted:
            self.hold_cursor()
            self.refresh_content()
            self.menu.set_screen_reader(self.screen_reader)
            self.call_after_refresh(self.menu.park_cursor)

    def refresh_content(self, keep: str | None = None) -> None:
        """Show the current title, intro and rows; what has not changed is left alone."""
        title, text, rows = self._content()
        if self._shown.get("title") != title:
            self.query_one("#title", Static).update(Content(title))
        if self._shown.get("intro") != text:
            intro = self.query_one("#intro", Static)
            intro.update(Content(text))
            intro.display = bool(text)
        self._shown = {"title": title, "intro": text}
        self.menu.set_rows(rows, keep=keep)

    def say(self, message: str) -> None:
        """Show the result of an action on the status line (read as changed text)."""
        if not self.is_mounted:
            self._pending_status = message  # shown once the screen is up
            return
        self.query_one("#status", Static).update(Content(to_ascii(message)))
        # The status line takes rows from the body: keep what has focus in view (a form's
        # field on a 40x12 terminal), so the cursor stays on it.
        self.set_timer(0.05, self._focus_in_view)  # once the status line is laid out

    def _focus_in_view(self) -> None:
        """Scroll what has focus now (not when the message came) into view."""
        focused = self.app.focused
        if focused is not None and focused.screen is self and self.is_current:
            focused.scroll_visible(animate=False)

    def act(self, fn: object, *args: object) -> bool:
        """Run a workspace call; a RoostError becomes the status line. True when it worked."""
        assert callable(fn)
        try:
            fn(*args)
        except RoostError as exc:
            self.say(exc.line())
            return False
        return True

    # --- keys --------------------------------------------------------------------------

    @classmethod
    def key_help(cls) -> list[tuple[str, str]]:
        """(key, what it does) for every key on this screen, in the order shown."""
        final: dict[str, Binding] = {}
        for klass in reversed(cls.__mro__):
            for b in vars(klass).get("BINDINGS", ()):
                if isinstance(b, Binding):
                    final.pop(b.key, None)
                    final[b.key] = b
        back = [key_name(k) for k, b in final.items() if b.action == "back" and k != "ctrl+g"]
        if cls.FIELDS:
            # q and Backspace are text in a field; Ctrl+G leaves from anywhere.
            out: list[tuple[str, str]] = [("Up/Down", "field to field, then the list"),
                                          ("Enter", cls.ENTER), ("Ctrl+G", cls.BACK_WORD)]
            if back:
                out.append(("/".join(back), f"{cls.BACK_WORD} (outside a field)"))
        else:
            out = [("Up/Down or j/k", "move"), ("PgUp/PgDn Home/End", "jump"),
                   ("Enter", cls.ENTER)]
            if back:
                out.append(("/".join(back), cls.BACK_WORD))
        out += [(key_name(k), b.description) for k, b in final.items()
                if b.show and b.action != "back"]
        # Tab is offered only where it goes somewhere that is read (a field, then the list):
        # a screen with one list has nowhere else, and Tab there was silent.
        return [*out, ("Tab", "next field")] if cls.FIELDS else out

    def on_option_list_option_selected(self, event: AccessibleList.OptionSelected) -> None:
        event.stop()
        key = event.option.id or ""
        self.activate(key)

    def activate(self, key: str) -> None:
        """Enter on the row `key`."""

    def action_field(self, step: int) -> None:
        """Up/Down in a text field: focus the field (or the list) before or after it."""
        focused = self.app.focused
        if not isinstance(focused, Input):
            return
        chain = self.focus_chain
        i = chain.index(focused) + step if focused in chain else -1
        if 0 <= i < len(chain):
            chain[i].focus()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit(0)

    def action_help(self) -> None:
        from roost.tui.screens import open_screen  # by name: Help lists every screen's keys

        open_screen(self.app, "help", self.NAME)  # opens at this screen's keys
