"""roost under a real screen reader: Debian's Fenrir, headless in PTY mode, speech to a file.

One scripted walk through `roost --screen-reader` asserts what Fenrir SAID after each key, in
order: the first screen; each list item as the arrow keys reach it, with its state
("not chosen", "x chosen", "next", "done"); the assessment answered; the plan with the
suggested step first; that service opened and marked done; an identity made in the vault;
errors spoken (a backup with no vault, two passphrases that differ); hosts, left with Esc
(through Fenrir's bypass); settings toggled and read back; help; quit. A second, short
case checks the default look is spoken item by item too.

Fenrir missing: the tests skip and print why; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from a11y.fenrir_harness import (
    FenrirSession,
    Step,
    fenrir_version,
    last_said,
    require_fenrir,
    said,
)
from a11y.pty_harness import keys
from a11y.roost_walk import roost_argv, roost_env

pytestmark = pytest.mark.slow

PASSPHRASE = "correct horse battery 42"


@pytest.fixture
def home(home: Path) -> Path:
    """The shared `home` (tests/conftest.py), made before the test starts."""
    home.mkdir()
    return home


def fenrir(home: Path, *args: str, gap: float = 0.4) -> FenrirSession:
    require_fenrir()
    env = roost_env(home, ROOST_HOST_STATE_DIR=str(home.parent / "state"),
                    HOME=str(home.parent / "user"))  # no ~/.ssh of the machine's user
    s = FenrirSession(roost_argv(*args), workdir=home.parent / "fenrir", env=env, gap=gap)
    s.start(ready="Identities", maximum=40)
    return s


def masked(line: str) -> int:
    """How many password mask characters end the line (Textual draws * or a bullet)."""
    tail = line.rstrip()
    return len(tail) - len(tail.rstrip("*\u2022"))


class Script:
    """Press keys and assert on the speech; failures show the whole transcript."""

    def __init__(self, s: FenrirSession) -> None:
        self.s = s

    def top(self) -> str:
        return self.s.line(0).strip()

    def key(self, key: bytes, name: str, *, last: str | None = None,
            heard: tuple[str, ...] = (), silent: bool = False, **wait: object) -> Step:
        t0 = time.monotonic()
        st = self.s.press(key, name=name, **wait)  # type: ignore[arg-type]
        if time.monotonic() - t0 > 4:
            print(f"slow key {name}: {time.monotonic() - t0:.1f} s, cursor {self.s.cursor_line!r}")
        ctx = f"after {name}: spoken {st.spoken}\n\n{self.s.transcript()}\n\nscreen:\n" \
              f"{self.s.screen_text}"
        if silent:
            assert not st.spoken, ctx
        if heard:
            assert said(st, *heard), f"expected {heard} in order; {ctx}"
        if last is not None:
            assert last_said(st, last), f"expected the last utterance to say {last!r}; {ctx}"
        return st

    def new_top(self) -> object:
        before = self.top()
        return lambda s: s.line(0).strip() not in ("", before)

    def type_password(self, text: str) -> None:
        """Typed text goes in one write: Fenrir passes a chunk that is no shortcut as is.
        Waits until the field shows one mask character per character typed."""
        t0 = time.monotonic()
        self.s.press(text.encode(), name="<typed>", gap=0.3,
                     until=lambda s: masked(s.cursor_line) == len(text))
        if time.monotonic() - t0 > 4:
            print(f"slow typing: {time.monotonic() - t0:.1f} s, cursor {self.s.cursor_line!r}")


@pytest.fixture
def walk(home: Path) -> Iterator[Script]:
    s = fenrir(home, "--screen-reader")
    try:
        yield Script(s)
    finally:
        s.close()
        print(f"fenrir {fenrir_version()}; transcript:\n{s.transcript()}")


def test_full_walk_is_spoken(walk: Script, home: Path) -> None:
    w, s = walk, walk.s
    # --- welcome: the first screen is read, then each item as the arrows reach it
    assert said(Step("<start>", b"", s.startup, None),
                "Answer a few questions to get your plan, start here, 1 of 6"), s.transcript()
    w.key(keys.DOWN, "Down", last="Identities, your keys and ids, 2 of 6")
    w.key(keys.UP, "Up", last="Answer a few questions to get your plan, start here, 1 of 6")
    # --- assessment
    # A key that opens a screen: Fenrir reads the new screen's text; whether it then
    # repeats the cursor line depends on timing, so only the order is asserted.
    w.key(keys.ENTER, "Enter", screen="Question 1 of",
          heard=("Question 1 of", "Facebook, not chosen, 1 of 15"))
    w.key(keys.DOWN, "Down", last="X (Twitter), not chosen, 2 of 15")
    w.key(keys.ENTER, "Enter", cursor="[x]", heard=("X (Twitter), x chosen, 2 of 15",
                                                     "Chosen: X (Twitter)."))
    w.key(keys.END, "End", last="Done, next question, 1 chosen")
    w.key(keys.ENTER, "Enter", screen="Question 2 of", heard=("Question 2 of",))
    for _ in range(15):
        if not w.top().startswith("Question"):
            break
        line = s.cursor_line
        if "[ ]" in line or "[x]" in line:  # pick the first of a many-choice question
            w.key(keys.ENTER, "Enter", cursor="[x]", heard=("x chosen",))
            w.key(keys.END, "End", last="Done, next question")
        elif "( )" in line or "(*)" in line:
            # a one-choice question: the focused choice was read with its state
            assert "not chosen" in line, line
        else:
            assert "Your answer" in line, f"a text question: cursor on the field\n{line}"
        w.key(keys.ENTER, "Enter", until=w.new_top())
    # --- the plan: suggested step first, read with its state
    top = w.top()
    assert top.startswith("Your plan") and "Next: " in top, s.screen_text
    suggested = top.split("Next: ", 1)[1].rstrip(".")
    st = s.steps[-1]
    assert said(st, "Your plan: 0 of", f"Next: {suggested}", f"{suggested}, next, 1 of"), \
        s.transcript()
    # --- open the suggested service, mark it done
    w.key(keys.ENTER, "Enter", screen="State, next", heard=(suggested, "State, next, step 1 of"))
    w.key(b"m", "m", screen="State, done", heard=("State, done",
                                                   f"Marked {suggested} done."))
    w.key(b"q", "q", screen="Your plan: 1 of", heard=("Your plan: 1 of", f"{suggested}, done"))
    w.key(b"q", "q", screen="Continue where you left off",
          heard=("Continue where you left off",))
    # --- identities: an error is spoken, then an identity is made
    w.key(b"i", "i", screen="Make a new identity", heard=("No identities yet, empty",))
    w.key(b"e", "e", heard=("There is no vault yet: make an identity first.",))
    w.key(b"n", "n", screen="which kind", heard=("Secure Scuttlebutt identity, no questions",))
    w.key(keys.ENTER, "Enter", screen="Vault passphrase", heard=("Name (for you): ssb",))
    while "Vault passphrase" not in s.cursor_line:
        w.key(keys.ENTER, "Enter", until=lambda s, before=s.cursor_line: s.cursor_line != before)
    assert last_said(s.steps[-1], "Vault passphrase"), s.transcript()
    w.type_password(PASSPHRASE)
    w.key(keys.ENTER, "Enter", cursor="The passphrase again", last="The passphrase again")
    w.type_password(PASSPHRASE + "x")
    st = w.key(keys.ENTER, "Enter", screen="differ", heard=("the two passphrases differ",))
    assert not said(st, "sealing the vault"), s.transcript()  # checked first, then work
    # fix the second passphrase: delete the extra x, submit again
    w.key(keys.BACKSPACE, "Backspace",
          until=lambda s: masked(s.cursor_line) == len(PASSPHRASE))
    w.key(keys.ENTER, "Enter", screen="Public id", maximum=30,
          heard=("Made ssb. Public id",))
    assert "Secure Scuttlebutt" in s.screen_text and "in the vault" in s.screen_text
    assert any(p.name == "vault" or "vault" in p.name for p in home.iterdir()), \
        sorted(p.name for p in home.iterdir())
    assert PASSPHRASE.encode() not in (home.parent / "fenrir" / "speech.jsonl").read_bytes()
    w.key(b"q", "q", screen="Continue where you left off")
    # --- hosts; back with Esc, which reaches roost only after Fenrir's bypass key
    w.key(b"h", "h", screen="Add a host",
          heard=("Hosts", "local, facts not read yet, this computer, 1 of 2"))
    w.key(keys.DOWN, "Down", last="Add a host, action, key a, 2 of 2")
    w.key(keys.UP, "Up", last="local, facts not read yet, this computer, 1 of 2")
    st = s.press_escape()
    assert said(st, "Continue where you left off"), s.transcript()
    # --- settings: the state is spoken as it changes
    w.key(b"s", "s", screen="Screen-reader mode", heard=("Screen-reader mode, on, 1 of 3",))
    w.key(keys.ENTER, "Enter", screen="[off]", heard=("Screen-reader mode", "off"))
    w.key(keys.ENTER, "Enter", screen="mode, on", heard=("Screen-reader mode, on, 1 of 3",))
    w.key(keys.DOWN, "Down", last="Pace, ")
    w.key(b"q", "q", screen="Continue where you left off")
    # --- help: every key, read line by line
    w.key(b"?", "?", screen="Help: every key", heard=("Help: every key on every screen",))
    w.key(keys.DOWN, "Down", last="Up/Down or j/k: move, Welcome, 2 of")
    w.key(b"q", "q", screen="Continue where you left off")
    # --- quit: Fenrir exits when roost does
    assert s.quit(b"q", timeout=15), f"q did not quit roost:\n{s.transcript()}"


def test_default_look_is_spoken_item_by_item(home: Path) -> None:
    """Without --screen-reader the terminal cursor still follows the highlight."""
    with fenrir(home, gap=0.4) as s:
        assert not os.environ.get("ROOST_SCREEN_READER")
        w = Script(s)
        w.key(keys.DOWN, "Down", last="Identities")
        w.key(b"j", "j", last="Hosts")
        w.key(b"k", "k", last="Identities")
        w.key(keys.UP, "Up", last="Answer a few questions")
        assert s.quit(b"q", timeout=15), s.transcript()
