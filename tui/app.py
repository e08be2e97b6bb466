"""The full-screen app: `run(screen_reader)` is what `roost` starts.

No business logic lives here: every screen calls the Workspace facade (roost.plan.workspace)
and, when they are there, roost.keys and roost.deploy. Those heavy layers (paramiko, httpx,
nacl) are imported only when a screen needs them, so the first screen shows quickly.

Stable widget ids (tests and the pty/Fenrir harness rely on them): every screen has `#title`,
`#intro`, `#status`, `#keys` and one main list: `#welcome-menu`, `#choices` (assessment),
`#steps` (plan), `#detail` (service), `#skip-reasons`, `#identities`, `#hosts`, `#deploy-log`,
`#settings`, `#help`.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import Monochrome
from textual.geometry import Offset
from textual.widgets import Input

from roost.core.clock import Clock
from roost.core.errors import RoostError
from roost.tui.a11y import AccessibleList
from roost.tui.settings import Settings

if TYPE_CHECKING:
    from roost.plan.detect import HostFacts
    from roost.plan.workspace import Workspace

SCREEN_READER_ENV = "ROOST_SCREEN_READER"


class RoostApp(App[int]):
    CSS_PATH = "roost.tcss"
    ENABLE_COMMAND_PALETTE = False
    TITLE = "roost"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "quit (progress is saved)", show=False, priority=True),
        Binding("ctrl+q", "quit", "quit (progress is saved)", show=False, priority=True),
    ]

    def __init__(self, screen_reader: bool = False, *, home: Path | None = None,
                 facts: HostFacts | None = None, clock: Clock | None = None,
                 workspace: Workspace | None = None) -> None:
        self._cursor_position = Offset(0, 0)
        super().__init__()
        self._home = home
        self._facts = facts
        self._ws = workspace
        self._clock = clock
        self.cancel_events: list[threading.Event] = []
        """Set on quit: long work in worker threads stops before its next step."""
        self.kdf_limits: object | None = None
        """Vault key-derivation limits for new vaults; None means roost.keys' default."""
        self.startup_message = ""
        self.settings = Settings.load(self.ws.home)
        self.screen_reader = bool(screen_reader or self.settings.screen_reader)
        self._mono: Monochrome | None = None
        if self.screen_reader:
            self.animation_level = "none"

    # The terminal cursor goes where the focused accessible list's highlighted row is drawn
    # in the frame being written (computed at write time, so a layout change in the same
    # frame cannot leave it behind); otherwise where a widget (an Input) put it. Right
    # after a screen is drawn it waits on the title line (RoostScreen.hold_cursor).
    @property
    def cursor_position(self) -> Offset:
        from roost.tui.screens.base import RoostScreen

        try:
            focused = self.focused
            screen = self.screen
        except Exception:  # no screen yet
            focused = screen = None
        if isinstance(screen, RoostScreen):
            held = screen.held_cursor()
            if held is not None:
                return held
        if isinstance(focused, AccessibleList):
            offset = focused.cursor_offset()
            if offset is not None:
                return offset
        elif isinstance(focused, Input) and focused.content_region:
            # On the cell where the next character goes. (Textual's cursor_screen_offset
            # is one cell further at the end of the text; a screen reader then takes each
            # typed character for a changed line and reads the whole field again.)
            region = focused.content_region
            cell = focused._position_to_cell(focused.cursor_position)
            return Offset(region.x + cell - int(focused.scroll_offset.x), region.y)
        return self._cursor_position

    @cursor_position.setter
    def cursor_position(self, value: Offset) -> None:
        self._cursor_position = value

    @property
    def ws(self) -> Workspace:
        if self._ws is None:
            from roost.core.paths import data_dir
            from roost.plan.workspace import Workspace

            home = self._home if self._home is not None else data_dir()
            try:
                self._ws = Workspace.open(home, facts=self._facts,
                                          detect=self._facts is None, clock=self._clock)
            except RoostError as exc:
                # A damaged progress file was kept aside: say so, start fresh.
                self.startup_message = exc.line()
                self._ws = Workspace.open(home, facts=self._facts,
                                          detect=self._facts is None, clock=self._clock)
        return self._ws

    def on_mount(self) -> None:
        self.apply_modes()
        from roost.tui.screens.welcome import WelcomeScreen

        self.push_screen(WelcomeScreen())

    async def action_quit(self) -> None:
        """Quit at once; a running deploy stops before its next step (its journal lets it
        resume), and every change so far is already saved."""
        for event in self.cancel_events:
            event.set()
        self.exit(0)

    def apply_modes(self) -> None:
        self.set_class(self.screen_reader, "screen-reader")
        if self.screen_reader:
            self.animation_level = "none"
        colours = self.settings.colours
        if not colours and self._mono is None:
            self._mono = Monochrome()
            self._filters.append(self._mono)
        elif colours and self._mono is not None:
            self._filters.remove(self._mono)
            self._mono = None
        self.refresh(repaint=True, layout=True)

    def set_screen_reader(self, on: bool) -> None:
        self.screen_reader = on
        self.settings.screen_reader = on
        self.settings.save(self.ws.home)
        self.apply_modes()

    def set_colours(self, on: bool) -> None:
        self.settings.colours = on
        self.settings.save(self.ws.home)
        self.apply_modes()


def run(screen_reader: bool = False) -> int:
    """Start the app; returns the exit code. Ctrl+C quits; progress is saved on every change.

    On a terminal that cannot show it (TERM=dumb, or input/output not a terminal) it says
    so in one line and points to --plain, instead of writing escape sequences."""
    if os.environ.get("TERM", "") == "dumb" or not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RoostError("this terminal cannot show the full-screen app",
                         hint="run roost --plain for the line-by-line mode")
    if screen_reader or os.environ.get(SCREEN_READER_ENV, "").strip().lower() in (
            "1", "yes", "true", "on"):
        screen_reader = True
        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    app = RoostApp(screen_reader=screen_reader)
    result = app.run()
    return int(result or 0)
