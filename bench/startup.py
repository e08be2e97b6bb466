#!/usr/bin/env python3
"""Cold start of roost, side by side with its floor, in one run.

1. The full-screen app in a real pty (80x24): time from exec to the first screen's title on
   the (pyte-rendered) screen, and idle RSS 2 s later, against a minimal Textual app with the
   same kind of widgets (a title label, a header, a list, a footer) started the same way,
   interleaved run by run so machine load hits both alike.
2. `roost --version` and `roost catalog`: wall time, against `python -c pass` and
   `python -c "import argparse"` (the floor of any Python CLI).
3. What the CLI imports at start: which command modules `roost --version` and `roost catalog`
   load, the import cost of each command module alone, and which roost modules pull in
   paramiko, httpx, nacl or cryptography at start (`python -X importtime`).

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "a11y"))

from pty_harness import PtySession  # noqa: E402

PY = sys.executable
TITLE = "roost: leave the big platforms"
FLOOR_APP = textwrap.dedent(f'''
    from textual.app import App
    from textual.widgets import Footer, Header, Label, OptionList
    class Floor(App):
        BINDINGS = [("q", "quit", "Quit"), ("question_mark", "help", "Help")]
        def compose(self):
            yield Header()
            yield Label({TITLE + " one service at a time"!r})
            yield OptionList(*[f"Step {{i}}: a service to move to" for i in range(12)])
            yield Footer()
    Floor().run()
''')
HEAVY = ("paramiko", "httpx", "nacl", "cryptography", "textual")


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def pty_start(argv: list[str], home: str) -> tuple[float, int]:
    """Seconds to the title on screen, and idle RSS (kB) after 2 s."""
    s = PtySession(argv, env={"ROOST_HOME": home}, cwd=str(ROOT))
    t0 = time.perf_counter()
    s.start()
    try:
        if not s.wait_until(lambda x: TITLE in x.text, timeout=30):
            raise RuntimeError(f"{argv[-1][:40]}: no title on screen:\n{s.dump()}")
        first = time.perf_counter() - t0
        time.sleep(2.0)
        return first, rss_kb(s.pid)
    finally:
        s.close()


def wall(argv: list[str], home: str, runs: int) -> float:
    env = {**os.environ, "ROOST_HOME": home}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def importtime(argv: list[str], home: str) -> list[tuple[int, int, str]]:
    """(depth, cumulative µs, module) in the order Python printed them (children first)."""
    env = {**os.environ, "ROOST_HOME": home}
    r = subprocess.run([PY, "-X", "importtime", *argv], env=env, capture_output=True,
                       text=True, cwd=ROOT)
    out = []
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            out.append((len(m.group(3)) // 2, int(m.group(2)), m.group(4)))
    return out


def importers(rows: list[tuple[int, int, str]], target: str) -> list[str]:
    """The roost modules whose import chain first loaded `target` (post-order walk)."""
    found = []
    for i, (depth, _, name) in enumerate(rows):
        if name != target:
            continue
        chain, want = [], depth
        for d, _, n in rows[i + 1:]:
            if d < want:
                chain.append(n)
                want = d
            if d == 0:
                break
        roost_mods = [n for n in chain if n.startswith("roost.")]
        found.append(" <- ".join(roost_mods[:3]) or "(top level)")
    return found


def command_modules() -> list[str]:
    from roost.cli.main import COMMAND_MODULES

    return [f"roost.cli.{m}" for m in COMMAND_MODULES]


def cmd_module_cost(module: str, home: str) -> tuple[float, list[str]]:
    code = (f"import sys, time; t=time.perf_counter(); import {module}; "
            f"d=time.perf_counter()-t; print(d, *[h for h in {HEAVY!r} if h in sys.modules])")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "ROOST_HOME": home})
    parts = r.stdout.split()
    if r.returncode != 0 or not parts:
        return -1.0, ["(failed to import)"]
    return float(parts[0]), parts[1:]


def cli_modules_loaded(args: list[str], home: str) -> list[str]:
    code = ("import sys, atexit; atexit.register(lambda: print(*sorted(m for m in sys.modules "
            "if m.startswith('roost.cli.') or m in " + repr(HEAVY) + "), file=sys.stderr)); "
            f"sys.argv=['roost', *{args!r}]; from roost.cli.main import main; "
            "raise SystemExit(main())")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "ROOST_HOME": home})
    return r.stderr.split()[-20:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="roost-bench-")
    print(f"roost cold start, {a.runs} runs each, median; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    roost_first, roost_rss, floor_first, floor_rss = [], [], [], []
    pty_start([PY, "-m", "roost"], home)  # warm the page cache once (not counted)
    for _ in range(a.runs):
        f, r = pty_start([PY, "-m", "roost"], home)
        roost_first.append(f)
        roost_rss.append(r)
        f, r = pty_start([PY, "-c", FLOOR_APP], home)
        floor_first.append(f)
        floor_rss.append(r)
    rf, ff = statistics.median(roost_first), statistics.median(floor_first)
    rr, fr = statistics.median(roost_rss) / 1024, statistics.median(floor_rss) / 1024
    print()
    print(f"{'':34s}{'roost':>10s}{'floor':>10s}{'ratio':>8s}")
    print(f"{'TUI: first screen (s)':34s}{rf:10.3f}{ff:10.3f}{rf / ff:8.2f}")
    print(f"{'TUI: idle RSS (MB)':34s}{rr:10.1f}{fr:10.1f}{rr / fr:8.2f}")

    py_pass = wall([PY, "-c", "pass"], home, a.runs)
    py_argparse = wall([PY, "-c", "import argparse"], home, a.runs)
    version = wall([PY, "-m", "roost", "--version"], home, a.runs)
    catalog = wall([PY, "-m", "roost", "catalog"], home, a.runs)
    print(f"{'CLI: roost --version (s)':34s}{version:10.3f}{py_argparse:10.3f}"
          f"{version / py_argparse:8.2f}")
    print(f"{'CLI: roost catalog (s)':34s}{catalog:10.3f}{py_argparse:10.3f}"
          f"{catalog / py_argparse:8.2f}")
    print(f"(python -c pass: {py_pass:.3f} s; the floor is `python -c 'import argparse'`)")

    rows = importtime(["-m", "roost", "--version"], home)
    total = sum(us for d, us, _ in rows if d == 0) / 1e6
    top = {name: cmd_module_cost(name, home) for name in command_modules()}
    print()
    print(f"`roost --version` imports {len(rows)} modules, {total:.3f} s of import time "
          "(-X importtime, which itself slows imports)")
    for args in (["--version"], ["catalog"]):
        print(f"  `roost {' '.join(args)}` loads: "
              f"{', '.join(cli_modules_loaded(args, home)) or '-'}")
    print("  each command module imported alone in a fresh process (time, heavy modules):")
    for name, (s, heavy_in) in sorted(top.items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:32s}{s:8.3f} s   {', '.join(heavy_in) or '-'}")
    loaded = {n for _, _, n in rows}
    for heavy in HEAVY:
        if heavy in loaded:
            via = importers(rows, heavy)
            print(f"  {heavy:12s} loaded at start, via {'; '.join(via)}")
        else:
            print(f"  {heavy:12s} not loaded at start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
