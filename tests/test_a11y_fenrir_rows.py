"""Long rows at 40x12 under the real Fenrir (issue 20, point 2): a list row that wraps is
spoken whole, not only its first line. NOT SOLVED YET: the test is a strict xfail; it passes
with the work on branch r20-rows-wip (see docs/accessibility.md), which is not finished.

Fenrir reads the line the cursor moves to, and only that line. roost keeps the cursor on a
row's first line; the fix in progress writes the rest of a row that wraps on a line below
the list, one line a frame after the move, where Fenrir reads it as new text. So each key on a
list says the row's first line and then its rest: label, state, position ("3 of 17") and its
longer text. A row that fits says just itself (the blank line below the list is silent).

Before: at 40 columns the position and the end of the state were never said for a row that
wrapped (18 of the 52 keys of the 40x12 journey); here every key must say its position.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from a11y.fenrir_harness import FenrirSession, content, norm, require_fenrir
from a11y.pty_harness import keys
from a11y.roost_walk import roost_argv, roost_env
from test_a11y_fenrir import Script

pytestmark = pytest.mark.slow


@pytest.fixture
def home(home: Path, tmp_path: Path) -> Path:
    """A plan made from answers (roost assess --answers), so the plan screen has long rows."""
    from support.answers import answers_toml

    from roost.cli.main import main

    home.mkdir()
    answers = tmp_path / "answers.toml"
    answers.write_text(answers_toml(["whatsapp", "gmail", "hosted-blog"], domain="example.org"))
    assert main(["assess", "--answers", str(answers)]) == 0
    return home


@pytest.mark.xfail(strict=True, reason="issue 20, point 2 is open: at 40 columns Fenrir says "
                   "only a wrapped row's first line (branch r20-rows-wip has a fix in progress)")
def test_a_wrapped_row_is_spoken_whole_at_40x12(home: Path) -> None:
    require_fenrir()
    env = roost_env(home, HOME=str(home.parent / "user"))
    s = FenrirSession(roost_argv("--screen-reader"), workdir=home.parent / "fenrir", env=env,
                      gap=0.5, cols=40, rows=12)
    w = Script(s)
    try:
        s.start(ready="every key", maximum=40)
        w.key(b"p", "p", screen="Your plan", cursor="of")
        total = 0
        wrapped = 0
        for n in range(2, 9):
            st = w.key(keys.DOWN, "Down", until=lambda s, n=n: f"{n} of" in s.screen_text)
            spoken = norm(" ".join(content(st)))
            row = s.cursor_line.strip()
            position = re.search(r"\b(\d+) of (\d+)\b", spoken)
            # the cursor line first, and the row's position said, on every key
            assert spoken.startswith(norm(row)), s.transcript()
            assert position and int(position.group(1)) == n, (
                f"row {n}'s position was not said: {content(st)}\n{s.transcript()}\n"
                f"{s.screen_text}")
            total = int(position.group(2))
            others = re.findall(r"\b(\d+) of \d+\b", spoken)
            assert others == [str(n)], f"another row was said too: {content(st)}"
            wrapped += len(content(st)) > 1  # its first line, then the rest from below
        assert total >= 8 and wrapped >= 3, s.transcript()
        # a row that fits one line: said, and nothing from below the list after it
        w.key(b"q", "q", screen="Answer")
        st = w.key(keys.DOWN, "Down", until=lambda s: "Identities" not in s.cursor_line
                   and "See your plan" in s.cursor_line)
        # (the list scrolled: Fenrir reads the lines that came into view, ending with it)
        assert len(content(st)) == 1, s.transcript()
        assert norm(content(st)[0]).endswith(norm(s.cursor_line)), s.transcript()
        assert s.quit(b"q")
    finally:
        s.close()
        print(s.transcript())
