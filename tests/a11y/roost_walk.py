"""Drive the real `roost` app through a pty, checking every key the way a screen reader needs.

`Walker` wraps a `PtySession` and, after every key, checks:
* the line under the terminal cursor names the focused item (an expected text) and reads
  well aloud (words, no border glyphs in screen-reader mode, no emoji), and it carries a
  position or state ("3 of 14", "[x] chosen", "next", "on"...);
* the bytes the key caused stay under a budget (one key = one redraw);
and `idle()` checks that the screen writes nothing while nobody types.

Every problem is collected with the screen dump, so one run reports all of them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from a11y.checks import has_state, speakable_problems, words
from a11y.pty_harness import KeyResult, PtySession, keys

# Byte budgets per key at 80x24 (measured on the 2-core CI machine, Textual 8.2.8):
# TERM=linux (16 colours), screen-reader mode: a Down in a list 2.3-2.9 KB (two rows
# redrawn and the cursor moved), opening or closing a screen 9-12 KB (one full frame);
# xterm-256color, default mode: a Down 3-5.4 KB, a screen 11-27 KB (truecolour, scrollbar).
# A budget of about 1.5x the largest measured value catches a key that redraws twice; a
# move is at most 4 KB in both looks (issue 20: 4.6 KB on the plan before the lists lost
# their scrollbar, which made every row redraw).
# Rows are redrawn whole and a list repaints its whole height on a move (120x40: 5.3 KB on
# TERM=linux, 6.2 KB on xterm-256color for one Down on the welcome screen, the same before
# issue 20), so both budgets scale with the area.
BASE_BUDGETS = {"linux": (4 * 1024, 16 * 1024), "other": (4 * 1024, 40 * 1024)}


def budgets(term: str, cols: int = 80, rows: int = 24) -> tuple[int, int]:
    """(bytes for a key that moves, bytes for a key that opens/closes a screen)."""
    move, screen = BASE_BUDGETS["linux" if term == "linux" else "other"]
    scale = max(1.0, cols * rows / (80 * 24))
    return int(move * scale), int(screen * scale)
IDLE_SECONDS = 2.0
POSITION_RE = re.compile(r"\b\d+ of \d+\b")


def roost_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "roost", *args]


def roost_env(home: Path, **extra: str) -> dict[str, str]:
    env = {"ROOST_HOME": str(home)}
    env.update(extra)
    return env


@dataclass
class Walker:
    s: PtySession
    screen_reader: bool
    problems: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    max_move: int = 0
    max_screen: int = 0
    idle_bytes: dict[str, int] = field(default_factory=dict)
    budget: tuple[int, int] = field(default=(0, 0))

    def __post_init__(self) -> None:
        if self.budget == (0, 0):
            self.budget = budgets(self.s.env.get("TERM", ""), self.s.cols, self.s.rows)

    def _problem(self, what: str) -> None:
        self.problems.append(f"{what}\n{self.s.dump()}")

    def check_line(self, expect: str | None = None, *, where: str = "",
                   field: bool = False) -> str:
        """Check the cursor line; `field` means a text field is focused (no position)."""
        line = self.s.cursor_line
        said = words(line)
        for p in speakable_problems(line, allow_borders=not self.screen_reader):
            self._problem(f"{where}: cursor line {line!r}: {p}")
        if expect is not None and expect.lower() not in said.lower():
            self._problem(f"{where}: expected {expect!r} on the cursor line, got {said!r}")
        # Screen-reader rows end in a position ("3 of 14"); the default look may drop it,
        # and the walk checks the states it cares about ("[x] chosen", "done") by text.
        if self.screen_reader and not field and not (POSITION_RE.search(said)
                                                     or has_state(said)):
            self._problem(f"{where}: no position or state on the cursor line {said!r}")
        return said

    def key(self, key: bytes, expect: str | None = None, *, opens: bool = False,
            name: str = "", title: str | None = None, new_title: bool = False,
            field: bool = False) -> KeyResult:
        """Press `key`; `opens` means it opens/closes a screen (bigger byte budget).

        Waits for `expect` on the cursor line, `title` in the first line, or (`new_title`)
        for the first line to change, before measuring."""
        name = name or repr(key)
        before = self.title()

        def ready(s: PtySession) -> bool:
            top = words(s.line(0))
            return ((title is None or title in top) and (not new_title or top != before))

        # Opening a screen writes 3-5 chunks over 0.2-0.35 s (measured): wait for a longer
        # quiet so the tail of that frame is not counted against the next key.
        r = self.s.press(key, quiet=0.45 if opens else 0.3, expect=expect,
                         until=ready if (title is not None or new_title) else None)
        budget = self.budget[1 if opens else 0]
        if opens:
            self.max_screen = max(self.max_screen, r.nbytes)
        else:
            self.max_move = max(self.max_move, r.nbytes)
        if r.nbytes > budget:
            self._problem(f"{name}: wrote {r.nbytes} bytes, budget {budget}")
        if r.timed_out:
            self._problem(f"{name}: output never settled")
        # A text field has no position; the app labels it "Your answer".
        said = self.check_line(expect, where=name,
                               field=field or "Your answer" in self.s.cursor_line)
        self.log.append(f"{name:>10} {r.nbytes:6d} B {r.seconds:5.2f} s  {said}")
        return r

    def move_to(self, text: str, key: bytes = keys.DOWN, limit: int = 30) -> str:
        """Press Down (or `key`) until the cursor line contains `text`."""
        for _ in range(limit):
            if text.lower() in words(self.s.cursor_line).lower():
                return self.s.cursor_line
            self.key(key, name="Down" if key == keys.DOWN else "Up")
        self._problem(f"never reached {text!r} with {key!r}")
        raise AssertionError("\n\n".join(self.problems))

    def idle(self, screen: str) -> None:
        # The last key's response has ended (0.5 s of quiet); from now on nobody types.
        self.s.settle(0.5)
        n = self.s.idle(IDLE_SECONDS)
        self.idle_bytes[screen] = n
        if n:
            self._problem(f"{screen}: wrote {n} bytes in {IDLE_SECONDS}s of idling")

    def title(self) -> str:
        return words(self.s.line(0))

    def answer_assessment(self) -> list[str]:
        """Answer every question with the first choice (and one Down to hear the second).

        Returns the question titles seen."""
        seen = []
        for _ in range(20):
            title = self.title()
            if not title.startswith("Question"):
                break
            seen.append(title)
            line = self.s.cursor_line
            if "[ ]" in line or "[x]" in line:
                self.key(keys.DOWN, "[ ] not chosen", name="Down")
                self.key(keys.UP, "[ ] not chosen", name="Up")
                self.key(keys.ENTER, "[x] chosen", name="Enter")
                self.key(keys.END, "Done, next question", name="End")
                self.key(keys.ENTER, opens=True, name="Enter", new_title=True)
            elif "( )" in line or "(*)" in line or "Your answer" not in self.s.text:
                # one choice (at 40 columns the "( )" may be on the row's second line)
                self.key(keys.ENTER, opens=True, name="Enter", new_title=True)
            else:
                # a text question: the cursor should be on the answer field
                self.check_line("Your answer", where=f"text question {title!r}", field=True)
                self.key(keys.ENTER, opens=True, name="Enter", new_title=True)
        return seen
