#!/usr/bin/env python3
"""Cold start and idle memory of the full-screen app, in a real pseudo-terminal at 80x24.

Measures, over N runs: time from exec to the first screen's text on the terminal, the
resident memory after 1.5 s idle (VmRSS) and the peak (VmHWM). Also lists which heavy
modules (paramiko, httpx, nacl) the first screen loaded: it should be none.

    .venv/bin/python bench/tui_start.py [--runs 5] [--screen-reader]

roost's modules are byte-compiled first (as `pip install` does), so that with
PYTHONDONTWRITEBYTECODE set roost is not compiled from source on every start while Textual
(installed, compiled) is not: that would measure the compiler, not the first screen.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time

MARK = b"roost: leave the big platforms"
CHECK = ("import sys, runpy; sys.argv=['roost'] + sys.argv[1:]; "
         "import atexit; atexit.register(lambda: open(__import__('os').environ['ROOST_BENCH_MODS'],"
         "'w').write(' '.join(m for m in ('paramiko','httpx','nacl') if m in sys.modules)));"
         "runpy.run_module('roost', run_name='__main__')")


def kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


BASELINE = ("from textual.app import App\nfrom textual.widgets import Label, OptionList\n"
            "class A(App):\n"
            "    def compose(self):\n"
            "        yield Label('roost: leave the big platforms')\n"
            "        yield OptionList(*[f'item {i}' for i in range(8)])\n"
            "A().run()\n")


DIRECT = CHECK.replace(
    "runpy.run_module('roost', run_name='__main__')",
    "from roost.tui.app import run; sys.exit(run('--screen-reader' in sys.argv))")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` so far: unlike wall time, not stretched by other load."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPU: dict[str, list[float]] = {"roost": [], "direct": [], "bare": []}


def one(screen_reader: bool, baseline: bool = False,
        direct: bool = False) -> tuple[float, int, int, str]:
    home = tempfile.mkdtemp(prefix="roost-bench-")
    mods = os.path.join(home, "mods.txt")
    args = [sys.executable, "-c", CHECK] + (["--screen-reader"] if screen_reader else [])
    if baseline:
        args = [sys.executable, "-c", BASELINE]
    elif direct:
        args = [sys.executable, "-c", DIRECT] + (["--screen-reader"] if screen_reader else [])
    env = {**os.environ, "ROOST_HOME": home, "TERM": "xterm-256color",
           "ROOST_BENCH_MODS": mods}
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, args, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    buf = b""
    first = -1.0
    while time.perf_counter() - t0 < 10:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
            if first < 0 and MARK in buf:
                first = time.perf_counter() - t0
                CPU["bare" if baseline else "direct" if direct else "roost"].append(
                    cpu_seconds(pid))
                break
    idle_end = time.perf_counter() + 1.5
    while time.perf_counter() < idle_end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            os.read(fd, 65536)
    rss, hwm = kb(pid, "VmRSS"), kb(pid, "VmHWM")
    os.write(fd, b"\x11")  # Ctrl+Q
    end = time.perf_counter() + 5
    while time.perf_counter() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                os.read(fd, 65536)
            except OSError:
                break
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    loaded = "?"
    if os.path.exists(mods):
        with open(mods) as f:
            loaded = f.read()
    return first, rss, hwm, loaded


def compile_roost() -> None:
    """Write roost's .pyc files (into __pycache__ beside the sources, as an install does)."""
    import compileall
    import importlib.util

    for name in ("roost", "roost.core", "roost.catalog", "roost.plan", "roost.keys",
                 "roost.deploy", "roost.tui", "roost.cli"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--screen-reader", action="store_true")
    a = p.parse_args()
    compile_roost()
    results, base, direct = [], [], []
    for _ in range(a.runs):  # interleaved, so machine load hits all alike
        results.append(one(a.screen_reader))
        direct.append(one(a.screen_reader, direct=True))
        base.append(one(False, baseline=True))
    starts = [r[0] for r in results]
    print(f"first screen: median {statistics.median(starts):.3f} s, "
          f"max {max(starts):.3f} s over {a.runs} runs")
    print(f"the app without the CLI dispatcher (roost.tui.app.run), same runs: median "
          f"{statistics.median(r[0] for r in direct):.3f} s; heavy modules: "
          f"{direct[-1][3] or 'none'}")
    print(f"a bare Textual app (label + list), same runs: median "
          f"{statistics.median(r[0] for r in base):.3f} s, "
          f"RSS {statistics.median(r[1] for r in base) / 1024:.1f} MB")
    print("CPU time used up to the first screen (medians; steadier under load): "
          + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in CPU.items() if v))
    print(f"load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"idle RSS: median {statistics.median(r[1] for r in results) / 1024:.1f} MB; "
          f"peak (VmHWM) max {max(r[2] for r in results) / 1024:.1f} MB")
    print(f"heavy modules loaded by the first screen: {results[-1][3] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
