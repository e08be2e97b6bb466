"""Settings (screen-reader mode, pace, colours) and Help (every key on every screen)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

from roost.core.errors import RoostError
from roost.plan.answers import PACE, PACE_LABELS
from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen


class SettingsScreen(RoostScreen):
    TITLE = "Settings"
    LIST_ID = "settings"
    ENTER = "change the setting"
    NAME = "Settings"

    def intro(self) -> str:
        return "Enter changes the highlighted setting; it is saved at once."

    def rows(self) -> Sequence[Row]:
        app = self.roost
        out = [
            Row("screen-reader", "Screen-reader mode", state="on" if app.screen_reader else "off",
                extra="Cursor on the focused line, plain text, no borders or animation."),
        ]
        answers = self.ws.answers
        if answers is not None:
            out.append(Row("pace", "Pace", state=PACE_LABELS[answers.pace],
                           extra="Sets the suggested dates; you can always go ahead sooner."))
        else:
            out.append(Row("pace", "Pace", state="set by the questions",
                           extra="Answer the questions first."))
        out.append(Row("colours", "Colours", state="on" if app.settings.colours else "off",
                       extra="Off shows the screen in shades of grey. "
                       "NO_COLOR in the environment turns colours off too."))
        return out

    def activate(self, key: str) -> None:
        app = self.roost
        if key == "screen-reader":
            try:
                app.set_screen_reader(not app.screen_reader)
            except RoostError as exc:
                self.say(exc.line())
                return
            self.menu.set_screen_reader(app.screen_reader)
            self.say(f"Screen-reader mode is {'on' if app.screen_reader else 'off'}.")
        elif key == "colours":
            try:
                app.set_colours(not app.settings.colours)
            except RoostError as exc:
                self.say(exc.line())
                return
            self.say(f"Colours are {'on' if app.settings.colours else 'off'}.")
        elif key == "pace":
            answers = self.ws.answers
            if answers is None:
                from roost.tui.screens import open_screen

                open_screen(self.app, "assess")
                return
            pace = PACE[(PACE.index(answers.pace) + 1) % len(PACE)]
            if self.act(self.ws.save_answers, dataclasses.replace(answers, pace=pace)):
                self.say(f"Pace: {PACE_LABELS[pace]}.")
        self.refresh_content(keep=key)


def all_screens() -> list[type[RoostScreen]]:
    from roost.tui.screens.alerts import AlertsScreen, WatchFormScreen
    from roost.tui.screens.assessment import AssessmentScreen
    from roost.tui.screens.deploy import DeployScreen
    from roost.tui.screens.hosts import AddHostScreen, HostScreen, HostsScreen, TrustScreen
    from roost.tui.screens.identities import (
        BackupScreen,
        IdentitiesScreen,
        IdentityFormScreen,
        KindScreen,
    )
    from roost.tui.screens.plan import PlanScreen, ServiceScreen, SkipScreen
    from roost.tui.screens.reach import ReachScreen
    from roost.tui.screens.status import StatusScreen
    from roost.tui.screens.updates import UpdatesScreen
    from roost.tui.screens.welcome import WelcomeScreen

    return [WelcomeScreen, AssessmentScreen, PlanScreen, ServiceScreen, SkipScreen,
            IdentitiesScreen, KindScreen, IdentityFormScreen, BackupScreen, HostsScreen,
            HostScreen, AddHostScreen, TrustScreen, DeployScreen, ReachScreen, StatusScreen,
            AlertsScreen, WatchFormScreen,
            UpdatesScreen, SettingsScreen,
            HelpScreen]


class HelpScreen(RoostScreen):
    """Made from the screens' own key tables, so it cannot fall out of date."""

    TITLE = "Help: every key on every screen"
    LIST_ID = "help"
    ENTER = "nothing (reading only)"
    NAME = "Help"
    BINDINGS: ClassVar[list] = []  # type: ignore[type-arg]

    def __init__(self, at: str | None = None) -> None:
        super().__init__()
        self.at = at
        """The name of the screen help was asked from: the list opens at its keys."""

    def on_mount(self) -> None:
        super().on_mount()
        if self.at:
            self.menu.highlight_key(f"screen:{self.at}")

    def intro(self) -> str:
        return ("Everything works from the keyboard; no mouse is needed. "
                "Ctrl+C or Ctrl+Q quits from anywhere; your progress is saved after every "
                "change. Screen-reader mode: run roost --screen-reader, or set "
                "ROOST_SCREEN_READER=1.")

    def rows(self) -> Sequence[Row]:
        out: list[Row] = []
        for cls in all_screens():
            keys = cls.key_help()
            out.append(Row(f"screen:{cls.NAME}", f"{cls.NAME} screen",
                           state=f"{len(keys)} keys"))
            for key, what in keys:
                out.append(Row(f"key:{cls.NAME}:{key}", f"{key}: {what}", detail=cls.NAME))
        return out

    def action_help(self) -> None:
        self.say("This is the help.")
