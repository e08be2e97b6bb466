"""`roost --plain` through a real pty with scripted answers: the same walk as the full-screen
app (answer the assessment, open the suggested step, mark it done, quit), and its output is
plain lines: not one escape sequence with TERM=dumb or with NO_COLOR, no border glyphs or
emoji, and a wrong answer gets a one-line explanation, not a crash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from a11y.checks import BORDER_RE, EMOJI_RE
from a11y.pty_harness import PtySession, escape_sequences
from a11y.roost_walk import roost_argv, roost_env

pytestmark = pytest.mark.slow

MENU = rb"Type a number from 0 to (\d+), then Enter: "
PROMPT = re.compile(
    rb"(?P<menu>Type a number from 0 to \d+, then Enter: )"
    rb"|(?P<many>Type the numbers of all that apply[^\n]*?: )"
    rb"|(?P<one>Type a number[^\n]*?; 0 goes back: )"
    rb"|(?P<text>Type your answer[^\n]*?, or 0 to go back: )"
)


def menu_items(chunk: bytes) -> dict[str, int]:
    """'  3. See your plan' lines of the last menu -> {text: number}."""
    return {m.group(2).decode().strip(): int(m.group(1))
            for m in re.finditer(rb"^ +(\d+)\. ([^\r\n]*)", chunk, re.M)}


def answer(s: PtySession, line: str) -> None:
    s.write(line.encode() + b"\r")


def plain_walk(s: PtySession) -> dict[str, str]:
    """Drive the walk; return what was seen, for the asserts."""
    seen: dict[str, str] = {}
    pos = 0

    def until_prompt(kind: str | None = None) -> tuple[re.Match[bytes], bytes]:
        nonlocal pos
        m = s.expect(PROMPT, timeout=20)
        chunk = s.raw[pos:m.end()]
        pos = m.end()
        if kind is not None:
            assert m.group(kind), f"expected a {kind} prompt, got {m.group(0)!r}:\n" \
                                  f"{chunk.decode(errors='replace')}"
        return m, chunk

    m, chunk = until_prompt("menu")
    assert b"What would you like to do?" in chunk
    items = menu_items(chunk)
    # a wrong answer is explained in one line and the menu comes again
    answer(s, "seven")
    m, chunk = until_prompt("menu")
    assert b"'seven' is not one of the numbers." in chunk, chunk
    answer(s, str(items["Answer a few questions to get your plan"]))
    # --- the assessment
    questions = 0
    while True:
        m, chunk = until_prompt()
        if m.group("menu"):
            break
        questions += 1
        assert re.search(rb"Question \d+ of \d+: ", chunk), chunk
        if m.group("many"):
            assert b"1. [ ] " in chunk, chunk  # state as text: not chosen
            answer(s, "1")
        elif m.group("one"):
            assert b"1. ( ) " in chunk, chunk
            answer(s, "1")
        else:
            answer(s, "")
        assert questions < 20, "the questions never ended"
    saved = re.search(rb"Your answers are saved\. Your first step: ([^,\r\n]+),", chunk)
    assert saved, chunk
    first = saved.group(1).decode()
    seen["first"] = first
    seen["questions"] = str(questions)
    items = menu_items(chunk)
    start = next(k for k in items if k.startswith(f"Start with: {first}"))
    answer(s, str(items[start]))
    # --- the suggested step: its state in words, then mark it done
    m, chunk = until_prompt("menu")
    assert f"{first}: next".encode() in chunk, chunk
    assert f"What would you like to do with {first}?".encode() in chunk, chunk
    answer(s, str(menu_items(chunk)["Mark it done"]))
    m, chunk = until_prompt("menu")
    done = re.search(rb"Marked (.+?) done\. Next: ([^\r\n]+)\.", chunk)
    assert done and done.group(1).decode() == first, chunk
    seen["next"] = done.group(2).decode()
    items = menu_items(chunk)
    assert any(k.startswith(f"Continue where you left off: {seen['next']}") for k in items), items
    assert any(re.match(r"See your plan: 1 of \d+ done", k) for k in items), items
    # --- quit
    answer(s, "0")
    s.expect(rb"Bye\. Your progress is saved\.")
    assert s.wait_exit(10), "roost --plain did not exit after 0 on the first menu"
    assert s.exit_status == 0
    return seen


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"TERM": "xterm-256color", "NO_COLOR": "1"}],
                         ids=["TERM=dumb", "NO_COLOR"])
def test_plain_walk_has_no_escape_sequences(tmp_path: Path, env: dict[str, str]) -> None:
    term = env.pop("TERM")
    with PtySession(roost_argv("--plain"), term=term, env=roost_env(tmp_path, **env)) as s:
        seen = plain_walk(s)
    raw = s.raw
    assert escape_sequences(raw) == [], f"escape sequences in --plain: {escape_sequences(raw)[:5]}"
    text = raw.decode("utf-8")
    assert not BORDER_RE.search(text) and not EMOJI_RE.search(text)
    assert int(seen["questions"]) >= 3
    # the progress is really saved: a second run continues where this one left off
    with PtySession(roost_argv("--plain"), term=term, env=roost_env(tmp_path, **env)) as s2:
        s2.expect(MENU, timeout=20)
        assert f"Continue where you left off: {seen['next']}".encode() in s2.raw
        answer(s2, "q")
        s2.expect(rb"Bye\.")
        assert s2.wait_exit(10) and s2.exit_status == 0


def test_plain_end_of_input_quits_cleanly(tmp_path: Path) -> None:
    with PtySession(roost_argv("--plain"), term="dumb", env=roost_env(tmp_path)) as s:
        s.expect(MENU, timeout=20)
        s.write(b"\x04")  # Ctrl+D: end of input
        s.expect(rb"Bye\. Your progress is saved\.")
        assert s.wait_exit(10) and s.exit_status == 0
        assert b"Traceback" not in s.raw
