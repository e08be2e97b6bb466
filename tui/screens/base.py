"""What every roost screen shares: a title, text, the accessible list, a status line, keys.

Layout, top to bottom (= reading order = Tab order): `#title`, `#intro` (optional text),
the screen's `AccessibleList`, extra areas a screen adds, `#status` (the result of the last
action, in words), `#keys` (every key of this screen, as text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from roost.core.errors import RoostError
from roost.tui.a11y import AccessibleList, Row, to_ascii
from roost.tui.widgets.keybar import KeyBar, key_name

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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "back", "back"),
        Binding("backspace", "back", "back", show=False),
        Binding("escape", "back", "back", show=False),
        Binding("question_mark", "help", "help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._pending_status = ""
        self._resumed = False

    # --- access to the app -------------------------------------------------------------

    @property
    def roost(self) -> RoostApp:
        from roost.tui.app import RoostApp

        app = self.app
        assert isinstance(app, RoostApp)
        return app

    @property
    def ws(self) -> Workspace:
        return self.roost.ws

    @property
    def screen_reader(self) -> bool:
        return self.roost.screen_reader

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Content(to_ascii(self.title_text())), id="title")
        with Vertical(id="body"):
            yield Static(Content(""), id="intro")
            yield from self.compose_form()
            yield AccessibleList(id=self.LIST_ID, screen_reader=self.screen_reader,
                                 classes="main-list")
            yield from self.compose_extra()
        yield Static(Content(""), id="status")
        yield KeyBar(id="keys")

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

    def on_mount(self) -> None:
        self.refresh_content()
        self.query_one("#keys", KeyBar).set_keys(self.key_help())
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
            self.refresh_content()
            self.menu.set_screen_reader(self.screen_reader)
            self.call_after_refresh(self.menu.park_cursor)

    def refresh_content(self, keep: str | None = None) -> None:
        try:
            text = self.intro()
            rows = list(self.rows())
        except RoostError as exc:
            text, rows = exc.line(), [Row("error", "Something went wrong", "see above")]
        self.query_one("#title", Static).update(Content(to_ascii(self.title_text())))
        intro = self.query_one("#intro", Static)
        intro.update(Content(to_ascii(text)))
        intro.display = bool(text)
        self.menu.set_rows(rows, keep=keep)

    def say(self, message: str) -> None:
        """Show the result of an action on the status line (read as changed text)."""
        if not self.is_mounted:
            self._pending_status = message  # shown once the screen is up
            return
        self.query_one("#status", Static).update(Content(to_ascii(message)))

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
        back = [key_name(k) for k, b in final.items() if b.action == "back"]
        out: list[tuple[str, str]] = [("Up/Down or j/k", "move"),
                                      ("PgUp/PgDn Home/End", "jump"), ("Enter", cls.ENTER)]
        if back:
            out.append(("/".join(back), cls.BACK_WORD))
        out += [(key_name(k), b.description) for k, b in final.items()
                if b.show and b.action != "back"]
        return [*out, ("Tab", "next area")]

    def on_option_list_option_selected(self, event: AccessibleList.OptionSelected) -> None:
        event.stop()
        key = event.option.id or ""
        self.activate(key)

    def activate(self, key: str) -> None:
        """Enter on the row `key`."""

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit(0)

    def action_help(self) -> None:
        from roost.tui.screens.settings import HelpScreen

        self.app.push_screen(HelpScreen())
