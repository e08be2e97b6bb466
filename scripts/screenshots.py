#!/usr/bin/env python3
"""Make screenshots/<screen>-<mode>.svg and .png for every screen of the app, in default and
screen-reader mode, at 80x24. The SVG is Textual's own export; the PNG is drawn from it
with cairosvg (the test extra), or Debian's rsvg-convert when cairosvg is missing.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--only plan,help]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the scenes live with the snapshot tests
MODES = ("default", "screen-reader")


def png_ready(svg_text: str) -> str:
    """The SVG names the web font Fira Code, which a converter here does not have; point it
    at the installed DejaVu Sans Mono so the columns line up in the PNG."""
    return (svg_text.replace('font-family: "Fira Code";', 'font-family: "DejaVu Sans Mono";')
            .replace("font-family: Fira Code, monospace;",
                     'font-family: "DejaVu Sans Mono", monospace;'))


def to_png(svg_path: Path, png: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(png_ready(svg_path.read_text("utf-8")))
    svg = Path(tmp.name)
    try:
        _convert(svg, png)
    finally:
        svg.unlink()


def _convert(svg: Path, png: Path) -> None:
    try:
        import cairosvg
    except ImportError:
        tool = shutil.which("rsvg-convert")
        if tool is None:
            raise SystemExit("screenshots: install cairosvg (pip) or librsvg2-bin (apt) "
                             "to make PNGs") from None
        subprocess.run([tool, "-o", str(png), str(svg)], check=True)
        return
    cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=1400)


async def shoot(scene_name: str, mode: str, out: Path) -> Path:
    from support.scenes import CLOCK, FACTS, SCENES, prepare, run_before

    from roost.tui.app import RoostApp

    scene = next(s for s in SCENES if s.name == scene_name)
    with tempfile.TemporaryDirectory(prefix="roost-shot-") as tmp:
        home = Path(tmp)
        os.environ["ROOST_HOME"] = tmp
        prepare(home, scene.state)
        app = RoostApp(screen_reader=mode == "screen-reader", home=home, facts=FACTS,
                       clock=CLOCK)
        async with app.run_test(size=(80, 24)) as pilot:
            await run_before(scene)(pilot)
            svg = app.export_screenshot(title=f"roost - {scene.name} ({mode})")
    path = out / f"{scene.name}-{mode}.svg"
    path.write_text(svg, "utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--only", default="", help="comma-separated scene names")
    args = parser.parse_args()
    os.environ.pop("NO_COLOR", None)
    from support.scenes import SCENES

    wanted = [s.name for s in SCENES if not args.only or s.name in args.only.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        for mode in MODES:
            svg = asyncio.run(shoot(name, mode, args.out))
            to_png(svg, svg.with_suffix(".png"))
            print(f"{svg.relative_to(ROOT) if svg.is_relative_to(ROOT) else svg} (+ .png)")
    from support.scenes import HELLO_ROOT

    for path in (HELLO_ROOT, HELLO_ROOT + "-state"):  # the demo deploy's scratch folders
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
