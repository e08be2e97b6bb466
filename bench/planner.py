#!/usr/bin/env python3
"""Catalog load and planning time: the real catalog and a synthetic one of 1,000 services.

The synthetic catalog is the real manifests copied (new ids and names) until there are
1,000, so every field and check is the real thing. For each catalog: load time (parse and
check every manifest), build_plan time for a typical person's answers with an empty
progress and with 1,000 events of history, and the per-service cost. It must stay
interactive: a plan under 100 ms is redrawn without a visible pause.

    .venv/bin/python bench/planner.py [--services 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def synthetic_catalog(dest: Path, n: int) -> Path:
    from roost.catalog.loader import builtin_dir

    src = builtin_dir()
    (dest / "manifests").mkdir(parents=True)
    shutil.copy(src / "platforms.toml", dest / "platforms.toml")
    originals = sorted((src / "manifests").glob("*.toml"))
    for p in originals:
        shutil.copy(p, dest / "manifests" / p.name)
    i = 0
    while len(list((dest / "manifests").glob("*.toml"))) < n:
        p = originals[i % len(originals)]
        text = p.read_text("utf-8")
        copy = i // len(originals) + 1
        sid = f"{p.stem}-copy{copy}"
        text = re.sub(r'^id = "[^"]+"', f'id = "{sid}"', text, count=1, flags=re.M)
        text = re.sub(r'^name = "([^"]+)"', rf'name = "\1 copy {copy}"', text, count=1,
                      flags=re.M)
        (dest / "manifests" / f"{sid}.toml").write_text(text, "utf-8")
        i += 1
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()

    from roost.catalog import load
    from roost.catalog.loader import load_from
    from roost.plan.answers import Answers
    from roost.plan.planner import build_plan
    from roost.plan.progress import Event, Progress

    answers = Answers(uses=("whatsapp", "gmail", "facebook", "instagram", "youtube",
                            "spotify", "x", "discord"),
                      hardware=("pi", "vps"), has_domain=True, domain="example.org",
                      skill="some", pace="days", pi_ram_mb=4096, pi_arch="aarch64",
                      vps_ram_mb=2048)
    today = datetime.now(UTC).date()
    work = Path(tempfile.mkdtemp(prefix="roost-bench-plan-"))
    synth = synthetic_catalog(work / "synth", a.services)

    rows = []
    for label, loader in (("real", load),
                          (f"synthetic {a.services}",
                           lambda: load_from(synth / "manifests", synth / "platforms.toml"))):
        t_load, cat = median_time(loader, a.repeat)
        assert not cat.problems, cat.problems[:3]
        n = len(cat.services)
        empty = Progress()
        t_plan, plan = median_time(lambda c=cat, e=empty: build_plan(c, answers, e, today),
                                   a.repeat)
        ids = [s.id for s in cat.services]
        start = datetime(2026, 1, 1, tzinfo=UTC)
        events = tuple(Event(("started", "done", "skipped")[k % 3], start + timedelta(minutes=k),
                             ids[k % n], {"reason": "later"} if k % 3 == 2 else {})
                       for k in range(1000))
        history = Progress(events)
        t_hist, _ = median_time(lambda c=cat, h=history: build_plan(c, answers, h, today),
                                a.repeat)
        rows.append((label, n, t_load, t_plan, t_hist, len(plan.steps)))

    print(f"catalog and planner, median of {a.repeat} runs")
    print(f"{'catalog':18s}{'services':>9s}{'load ms':>10s}{'plan ms':>10s}"
          f"{'plan+1000 ev ms':>17s}{'steps':>7s}{'load µs/svc':>13s}")
    for label, n, tl, tp, th, steps in rows:
        print(f"{label:18s}{n:9d}{tl * 1e3:10.1f}{tp * 1e3:10.1f}{th * 1e3:17.1f}{steps:7d}"
              f"{tl / n * 1e6:13.0f}")
    (_, n0, l0, p0, h0, _), (_, n1, l1, p1, h1, _) = rows
    print(f"ratio synthetic/real: {n1 / n0:.0f}x the services, load {l1 / l0:.1f}x, "
          f"plan {p1 / p0:.1f}x, plan with history {h1 / h0:.1f}x")
    verdict = "interactive" if p1 < 0.1 and h1 < 0.1 else "NOT interactive (over 100 ms)"
    print(f"planning {n1} services: {verdict}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
