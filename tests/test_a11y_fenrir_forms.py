"""Forms by speech alone, under the real Fenrir (issue 20, points 3, 4 and 5).

With Fenrir's character echo on (what a typist sets), in `roost --screen-reader`:

* an empty field is read as its label and "empty", never as a placeholder's example text
  (which sounds as if the field were filled);
* a typed character is echoed as that character, not as the whole field again, and a
  password field never reads its mask ("star star star");
* Up/Down move from field to field and on to the actions, Up from the first action back to
  the last field;
* Ctrl+G leaves the form from inside a field (q is text there, and Fenrir keeps a bare Esc).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from a11y.fenrir_harness import FenrirSession, content, last_said, norm, require_fenrir, said
from a11y.pty_harness import keys
from a11y.roost_walk import roost_argv, roost_env
from test_a11y_fenrir import Script

pytestmark = pytest.mark.slow

CTRL_G = b"\x07"


@pytest.fixture
def home(home: Path) -> Path:
    home.mkdir()
    return home


def heard_only(step_spoken: list[str], *allowed: str) -> bool:
    """Everything said (Fenrir's noise aside) is one of `allowed`."""
    return all(norm(u) in {norm(a) for a in allowed} for u in step_spoken)


def test_form_fields_are_spoken_as_typed_and_left_with_ctrl_g(home: Path) -> None:
    require_fenrir()
    env = roost_env(home, ROOST_HOST_STATE_DIR=str(home.parent / "state"),
                    HOME=str(home.parent / "user"))
    s = FenrirSession(roost_argv("--screen-reader"), workdir=home.parent / "fenrir", env=env,
                      gap=0.4, extra_opts="keyboard#charEcho=True")
    w = Script(s)
    try:
        s.start(ready="Identities", maximum=40)
        w.key(b"h", "h", screen="Add a host")
        # 4: the empty field is its label and "empty", not "pi or vps"
        st = w.key(b"a", "a", screen="Short name", last="Short name: empty")
        assert not said(st, "pi or vps"), s.transcript()
        # 5: each typed character is echoed alone
        for ch in "pi":
            st = w.key(ch.encode(), ch)
            assert content(st) and heard_only(content(st), ch), s.transcript()
        # 3: Up/Down walk the fields, then the actions, and back
        w.key(keys.DOWN, "Down", last="Address: empty")
        st = w.key(b"x", "x")
        assert heard_only(content(st), "x"), s.transcript()
        w.key(keys.DOWN, "Down", last="Key file (optional): empty")
        w.key(keys.DOWN, "Down", last="Connect and add it, action, Enter, 1 of 2")
        w.key(keys.UP, "Up", last="Key file (optional): empty")
        w.key(keys.UP, "Up", last="Address: x")
        w.key(keys.UP, "Up", last="Short name: pi")
        # q inside a field is text; Ctrl+G leaves the form from there
        st = w.key(b"q", "q")
        assert heard_only(content(st), "q") and "Short name" in s.screen_text, s.transcript()
        w.key(CTRL_G, "Ctrl+G", screen="local, facts not read yet",
              heard=("Hosts", "local, facts not read yet"))
        assert "Short name" not in s.screen_text
        # a password field: nothing of the mask is read, one key at a time
        w.key(b"q", "q", screen="Answer a few questions")
        w.key(b"i", "i", screen="Make a new identity")
        w.key(b"n", "n", screen="which kind")
        w.key(keys.ENTER, "Enter", screen="Vault passphrase")
        while "Vault passphrase" not in s.cursor_line:
            w.key(keys.DOWN, "Down",
                  until=lambda s, before=s.cursor_line: s.cursor_line != before)
        assert last_said(s.steps[-1], "Vault passphrase: empty"), s.transcript()
        for ch in "secret":
            st = w.key(ch.encode(), "<secret>")
            # one "star" at most (the echo of the mask), never "star star ..." or the letter
            assert heard_only(content(st), "*", "star"), s.transcript()
        w.key(CTRL_G, "Ctrl+G", screen="No identities yet", heard=("Identities",))
        assert s.quit(b"q", timeout=15) or s.quit(b"q", timeout=15), s.transcript()
    finally:
        s.close()
        print(s.transcript())
