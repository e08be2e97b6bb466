"""Welcome: what roost does in three sentences, and where to go from here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType

from roost.tui.a11y import Row
from roost.tui.screens.base import RoostScreen

PROGRESS_KINDS = ("started", "done", "skipped", "failed", "deployed")
"""Events that mean the person has moved on their plan."""
ABOUT = ("Roost helps you leave the big platforms one service at a time. "
         "It asks a few questions about what you use and what you have, then suggests a plan: "
         "which service to set up next, and how. "
         "It remembers your progress, so you can stop at any time and continue later.")


class WelcomeScreen(RoostScreen):
    TITLE = "roost: leave the big platforms one service at a time"
    LIST_ID = "welcome-menu"
    ENTER = "open"
    NAME = "Welcome"
    BACK_WORD = "quit"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Only q quits from here: a stray Backspace or Esc must not end the session.
        Binding("backspace", "stay", "stay", show=False),
        Binding("escape", "stay", "stay", show=False),
        Binding("c", "go('continue')", "continue"),
        Binding("p", "go('plan')", "plan"),
        Binding("a", "go('assess')", "questions"),
        Binding("i", "go('identities')", "identities"),
        Binding("h", "go('hosts')", "hosts"),
        Binding("b", "go('backups')", "backups", show=False),
        Binding("d", "go('import')", "bring your data (import an archive)", show=False),
        Binding("s", "go('settings')", "settings"),
    ]

    def intro(self) -> str:
        msg = self.roost.startup_message
        return ABOUT + (f"\n{msg}" if msg else "")

    def rows(self) -> Sequence[Row]:
        ws = self.ws
        out: list[Row] = []
        if ws.answers is not None:
            from roost.plan.planner import WAY_NAMES

            plan = ws.plan()
            counts = plan.counts()
            total = len(plan.steps)
            moved = any(e.kind in PROGRESS_KINDS for e in ws.history())
            nxt = plan.next
            if nxt is not None:
                lead = "Continue where you left off" if moved else "Start with"
                when = (f", suggested from {nxt.not_before.isoformat()}"
                        if nxt.not_before else "")
                out.append(Row("continue", f"{lead}: {nxt.name}",
                               detail=f"{WAY_NAMES[nxt.way]}{when}", state="next step"))
            else:
                out.append(Row("continue", "Every step of your plan is done or skipped",
                               state="finished"))
            out.append(Row("plan", "See your plan",
                           state=f"{counts['done']} of {total} done"))
            out.append(Row("assess", "Change your answers"))
        else:
            out.append(Row("assess", "Answer a few questions to get your plan",
                           state="start here"))
        if ws.progress.running():  # something is deployed: its status is a row away
            out.append(Row("status", "Status", detail="is everything working? (roost check)"))
            out.append(Row("alerts", "Alerts", detail="another host tells you when a service "
                           "goes down (roost watch)"))
            out.append(Row("updates", "Updates", detail="what is newer, and upgrade "
                                                       "(roost updates)"))
        out += [
            Row("identities", "Identities", detail="your keys and ids"),
            Row("hosts", "Hosts", detail="the machines roost sets up"),
            Row("settings", "Settings", detail="screen reader, pace, colours"),
            Row("help", "Help", detail="every key on every screen"),
            Row("quit", "Quit", detail="your progress is saved"),
        ]
        return out

    def action_stay(self) -> None:
        self.say("This is the first screen: press q to quit.")

    def action_go(self, key: str) -> None:
        self.activate(key)

    def activate(self, key: str) -> None:
        from roost.tui.screens import open_screen

        if key == "continue":
            nxt = self.ws.next_step() if self.ws.answers else None
            if nxt is None:
                key = "plan" if self.ws.answers else "assess"
            else:
                open_screen(self.app, "detail", nxt.service_id)
                return
        if key == "quit":
            self.app.exit(0)
            return
        open_screen(self.app, key)
