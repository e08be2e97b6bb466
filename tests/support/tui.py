"""Waiting for the full-screen app in tests: the cursor rule, checked once a screen is drawn.

A screen is drawn in one frame and moves the terminal cursor onto its focused row or field in
a later one (RoostScreen.hold_cursor); on a loaded machine text a worker posts can come a few
frames later still. `shown` waits for both, bounded, instead of a loop in each test."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Label

from roost.tui.a11y import AccessibleList, cursor_line, screen_lines
from roost.tui.app import RoostApp

TRIES = 100
PAUSE = 0.05


def check_cursor(app: RoostApp) -> str:
    """The cursor rule: the line under the terminal cursor names what has focus, and its state."""
    line = cursor_line(app)
    focused = app.focused
    if isinstance(focused, AccessibleList):
        row = focused.current
        assert row is not None, "a focused list always has a highlighted row"
        assert row.label[:40] in line, f"{row.label!r} not under the cursor: {line!r}"
        if row.state:
            assert row.state[:30] in line, f"state {row.state!r} not on the cursor line: {line!r}"
    elif isinstance(focused, Input):
        label = focused.parent.query_one(Label) if focused.parent else None
        assert label is not None
        text = str(label.render()).strip()
        assert text and text in line, f"the field's label {text!r} is not on {line!r}"
    else:
        raise AssertionError(f"focus on {focused!r}: every screen focuses its list or input")
    return line


def _text(app: RoostApp) -> str:
    return " ".join(x.strip() for x in screen_lines(app))


async def shown(pilot: Any, app: RoostApp, text: str = "", *, cursor: bool = True) -> str:
    """Wait, at most TRIES pauses, until the screen has moved the cursor off its title,
    `text` is drawn on it (words as one line) and, with `cursor`, the cursor is on the
    focused row or field (`check_cursor`). Returns the cursor line; fails with what was
    missing when the wait runs out."""
    for _ in range(TRIES):
        if not getattr(app.screen, "cursor_held", False) and text in _text(app):
            if not cursor:
                return cursor_line(app)
            try:
                return check_cursor(app)
            except AssertionError:
                pass
        await pilot.pause(PAUSE)
    assert text in _text(app), f"{text!r} is not drawn: {_text(app)}"
    assert not getattr(app.screen, "cursor_held", False), "the cursor stayed on the title"
    return check_cursor(app) if cursor else cursor_line(app)
