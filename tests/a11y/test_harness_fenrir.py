"""The Fenrir harness itself, on the fixture app: a stock Textual OptionList must be SILENT
when the arrow keys move (that is the bug roost works around), the cursor-parking list must
be spoken item by item, and Esc must reach the app through Fenrir's bypass. If the harness
stopped hearing speech, or heard it where there is none, these fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from a11y.fenrir_harness import FenrirSession, require_fenrir
from a11y.pty_harness import keys

APP = str(Path(__file__).with_name("option_app.py"))
ITEMS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]

pytestmark = pytest.mark.slow


def session(mode: str, tmp_path: Path) -> FenrirSession:
    require_fenrir()
    s = FenrirSession([sys.executable, APP, mode], workdir=tmp_path / mode, gap=0.5)
    # A silent case could pass because the app never started: prove it drew and was read.
    s.start(ready=f"Pick a letter ({mode})", maximum=30)
    assert any("Pick a letter" in t for t in s.startup), f"first screen not spoken: {s.startup}"
    return s


def test_stock_option_list_is_silent_under_fenrir(tmp_path: Path) -> None:
    with session("plain", tmp_path) as s:
        for _ in ITEMS[1:4]:
            s.press(keys.DOWN, name="Down")
        spoken = [t for st in s.steps for t in st.spoken]
        assert not any(item in t for t in spoken for item in ITEMS), s.transcript()
        assert s.quit(keys.CTRL_Q), s.transcript()


def test_cursor_option_list_is_spoken_item_by_item(tmp_path: Path) -> None:
    with session("cursor", tmp_path) as s:
        for item in ITEMS[1:4]:
            st = s.press(keys.DOWN, name="Down")
            assert any(item in t for t in st.spoken), f"expected {item}:\n{s.transcript()}"
            others = [i for i in ITEMS if i != item]
            assert not any(o in t for t in st.spoken for o in others), s.transcript()
        # Esc passes to the app only after Fenrir's bypass; the fixture quits on Esc.
        s.press_escape()
        assert s.wait_exit(10), f"Esc did not reach the app:\n{s.transcript()}"


def test_missing_fenrir_skips_locally_and_fails_in_ci(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from a11y import fenrir_harness

    monkeypatch.setenv("PATH", str(tmp_path))  # no fenrir on this PATH
    assert "not installed" in (fenrir_harness.fenrir_unavailable() or "")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        fenrir_harness.require_fenrir()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        fenrir_harness.require_fenrir()
