#!/usr/bin/env python3
"""Bytes roost writes to the terminal per key press and per idle minute (a slow SSH link).

Runs the real app in a pty (80x24) for each terminal type and mode, and a minimal Textual app
of the same widgets (header, title label, list, footer) as the floor, in the same run:
- per key: Down and Up through the first screen's list (a move), Enter then Escape (a screen
  opened and closed); bytes from the key until the output is quiet;
- idle: bytes written while nobody types, over --idle seconds, scaled to a minute.
At 9,600 bit/s (a bad mobile link) 1 KB takes about 1 s.

    .venv/bin/python bench/terminal_bytes.py [--idle 20] [--moves 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "a11y"))
sys.path.insert(0, str(ROOT / "bench"))

from pty_harness import PtySession, keys  # noqa: E402
from startup import FLOOR_APP, TITLE  # noqa: E402

PY = sys.executable


def measure(argv: list[str], term: str, moves: int, idle: float) -> dict[str, float]:
    home = tempfile.mkdtemp(prefix="roost-bench-bytes-")
    s = PtySession(argv, term=term, env={"ROOST_HOME": home}, cwd=str(ROOT))
    with s:
        if not s.wait_until(lambda x: TITLE in x.text, timeout=30):
            raise RuntimeError(f"no first screen:\n{s.dump()}")
        s.settle(quiet=0.5, timeout=10)
        first = s.nbytes
        move = [s.press(keys.DOWN, quiet=0.3).nbytes for _ in range(moves)]
        move += [s.press(keys.UP, quiet=0.3).nbytes for _ in range(moves)]
        s.press(keys.HOME, quiet=0.3)
        opened = s.press(keys.ENTER, quiet=0.6).nbytes
        closed = s.press(keys.ESC, quiet=0.6).nbytes
        s.settle(quiet=1.0, timeout=10)
        n0 = s.nbytes
        time.sleep(idle)
        idle_bytes = s.nbytes - n0
    return {"first": first, "move": statistics.median(move), "move_max": max(move),
            "open": opened, "close": closed, "idle_min": idle_bytes * 60 / idle}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=float, default=20.0, help="idle window in seconds")
    ap.add_argument("--moves", type=int, default=8)
    a = ap.parse_args()
    cases = [
        ("roost", "xterm-256color", [PY, "-m", "roost"]),
        ("roost --screen-reader", "xterm-256color", [PY, "-m", "roost", "--screen-reader"]),
        ("roost --screen-reader", "linux", [PY, "-m", "roost", "--screen-reader"]),
        ("floor (bare Textual)", "xterm-256color", [PY, "-c", FLOOR_APP]),
        ("floor (bare Textual)", "linux", [PY, "-c", FLOOR_APP]),
    ]
    print(f"bytes to the terminal at 80x24; idle window {a.idle:.0f} s scaled to a minute; "
          f"load average {os.getloadavg()[0]:.2f}")
    head = (f"{'app':24s}{'TERM':16s}{'1st screen':>11s}{'per move':>9s}{'max':>7s}"
            f"{'open':>7s}{'close':>7s}{'idle/min':>9s}")
    print(head)
    results = {}
    for label, term, argv in cases:
        r = measure(argv, term, a.moves, a.idle)
        results[(label, term)] = r
        print(f"{label:24s}{term:16s}{r['first']:11.0f}{r['move']:9.0f}{r['move_max']:7.0f}"
              f"{r['open']:7.0f}{r['close']:7.0f}{r['idle_min']:9.0f}")
    for term in ("xterm-256color", "linux"):
        floor = results[("floor (bare Textual)", term)]
        mine = results.get(("roost --screen-reader", term))
        if mine and floor["move"]:
            print(f"{term}: roost --screen-reader per move / floor per move = "
                  f"{mine['move'] / floor['move']:.2f}; first screen ratio "
                  f"{mine['first'] / floor['first']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
