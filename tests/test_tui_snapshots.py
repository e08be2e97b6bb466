"""Snapshot tests of every screen, in default and screen-reader mode, at 80x24.

Regenerate after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/ before committing them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.scenes import CLOCK, FACTS, SCENES, Scene, prepare, run_before

from roost.tui.app import RoostApp


@pytest.mark.parametrize("mode", ["default", "screen-reader"])
@pytest.mark.parametrize("scene", [s for s in SCENES if s.snapshot],
                         ids=[s.name for s in SCENES if s.snapshot])
def test_screen(scene: Scene, mode: str, snap_compare: Any, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    monkeypatch.delenv("NO_COLOR", raising=False)
    prepare(tmp_path, scene.state)
    app = RoostApp(screen_reader=mode == "screen-reader", home=tmp_path, facts=FACTS,
                   clock=CLOCK)
    assert snap_compare(app, run_before=run_before(scene), terminal_size=(80, 24))


@pytest.mark.parametrize("scene", [s for s in SCENES if s.snapshot],
                         ids=[s.name for s in SCENES if s.snapshot])
def test_screen_reader_mode_draws_only_ascii(scene: Scene, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """No border glyphs, bullets or emoji: a console screen reader reads each as a word."""
    import asyncio

    from roost.tui.a11y import screen_lines

    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    prepare(tmp_path, scene.state)
    app = RoostApp(screen_reader=True, home=tmp_path, facts=FACTS, clock=CLOCK)

    async def go() -> list[str]:
        async with app.run_test(size=(80, 24)) as pilot:
            await run_before(scene)(pilot)
            return screen_lines(app)

    lines = asyncio.run(go())
    bad = sorted({c for line in lines for c in line if not c.isascii()})
    assert not bad, f"non-ASCII on the {scene.name} screen: {bad}"
