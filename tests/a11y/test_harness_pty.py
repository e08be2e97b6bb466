"""The pty harness itself: it must tell a spoken list from a silent one, and a quiet app
from a noisy one, or the roost tests built on it prove nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from a11y.pty_harness import PtySession, escape_sequences, keys

APP = str(Path(__file__).with_name("option_app.py"))
ITEMS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
# One Down in the fixture redraws two rows of an 80x24 screen: about 1.2 KB measured.
KEY_BUDGET = 4000


def run(mode: str) -> PtySession:
    s = PtySession([sys.executable, APP, mode], cols=80, rows=24, term="xterm-256color",
                   env={"TEXTUAL_ANIMATIONS": "none"})
    s.start()
    s.wait_for(f"Pick a letter ({mode})")
    return s


def test_stock_option_list_leaves_cursor_off_the_highlighted_row() -> None:
    with run("plain") as s:
        for item in ITEMS[1:4]:
            r = s.press(keys.DOWN)
            assert r.nbytes > 0, "the highlight did move: Textual redrew"
            assert item not in r.cursor_line, (
                f"stock OptionList should leave the cursor at the top, not on {item}:\n{s.dump()}")
            assert r.cursor == (0, 0)


def test_cursor_option_list_puts_cursor_on_each_item() -> None:
    with run("cursor") as s:
        assert "Alpha" in s.cursor_line, s.dump()
        ys = []
        for item in ITEMS[1:4]:
            r = s.press(keys.DOWN)
            assert item in r.cursor_line, f"after Down expected {item} on cursor line:\n{s.dump()}"
            assert 0 < r.nbytes <= KEY_BUDGET, str(r)
            assert not r.timed_out
            ys.append(r.cursor[1])
        assert ys == sorted(ys) and len(set(ys)) == 3
        assert s.idle(2.0) == 0
        s.press(keys.CTRL_Q)
        assert s.wait_exit(5) and s.exit_status == 0


def test_idle_check_catches_a_blinking_cursor() -> None:
    with run("blink") as s:
        written = s.idle(2.0)
        assert written > 100, f"a focused Input blinks, the harness must see it (got {written} B)"


def test_press_reports_no_bytes_for_a_key_the_app_ignores() -> None:
    with run("cursor") as s:
        r = s.press(b"z")
        assert r.nbytes == 0, str(r)


def test_escape_sequences_detects_terminal_control() -> None:
    assert escape_sequences(b"plain text\r\nsecond line\n\tindented") == []
    found = escape_sequences(b"a\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b=\x08")
    assert found == [b"\x1b[31m", b"\x1b[0m", b"\x1b]0;title\x07", b"\x1b=", b"\x08"]


def test_textual_output_is_full_of_escapes_and_line_program_is_not(tmp_path: Path) -> None:
    with run("cursor") as s:
        assert len(escape_sequences(s.raw)) > 20
    script = tmp_path / "lines.py"
    script.write_text("name = input('Your name? ')\nprint(f'Hello, {name}.')\n")
    with PtySession([sys.executable, str(script)], term="dumb") as s:
        s.wait_for_raw(b"Your name? ")
        s.type_text("Ada")
        s.press(keys.ENTER)
        assert s.wait_exit(5) and s.exit_status == 0
        assert b"Hello, Ada." in s.raw
        assert escape_sequences(s.raw) == []


@pytest.mark.parametrize("size", [(60, 20), (120, 40)])
def test_size_is_passed_to_the_program(size: tuple[int, int]) -> None:
    cols, rows = size
    code = "import shutil;c,r=shutil.get_terminal_size();print(f'size={c}x{r}')"
    with PtySession([sys.executable, "-c", code], cols=cols, rows=rows) as s:
        s.wait_for(f"size={cols}x{rows}")
