"""The key line at the bottom of every screen: every action there is, as plain text."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static


def key_name(key: str) -> str:
    return {
        "question_mark": "?", "backspace": "Backspace", "escape": "Esc", "enter": "Enter",
        "tab": "Tab", "space": "Space", "ctrl+c": "Ctrl+C", "ctrl+g": "Ctrl+G",
        "up": "Up", "down": "Down",
    }.get(key, key)


class KeyBar(Static):
    """'Enter open | m mark done | q back | ? help', wrapped at the screen width."""

    def set_keys(self, keys: Sequence[tuple[str, str]], short: bool = False) -> None:
        """Every key; or, on a short terminal (SHORT_ROWS), only moving, Enter, back and
        help, so the screen's list keeps rows to show (help lists all of them)."""
        if short:
            keys = [(k, d) for k, d in keys if not k.startswith("PgUp")]
            keys = [*keys[:3], *(("?", "every key") for k, _ in keys[3:] if k == "?")]
        self.update(Content("Keys: " + " | ".join(f"{k} {d}" for k, d in keys)))


SHORT_ROWS = 16
"""A terminal with fewer rows than this gets the short key line."""
