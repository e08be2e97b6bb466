"""What roost's backup path costs over a plain `borg create`, side by side in one run.

  plain   `borg create` to a repository reached through `borg serve` (a pipe stands in for SSH)
  roost   the same, through what roost puts on the backup host: `borg-serve-guard` (which reads
          borg's RPC stream to refuse deletes) in front of `borg serve --append-only`

Both back up the same folder of random (incompressible) files into their own fresh encrypted
(repokey) repository; the second run of each (nothing changed) is timed too. SSH itself costs
the same for both, so it is left out. Times are medians of --repeat runs.

Needs Debian's borgbackup (and its python3-msgpack) on this machine:
    .venv/bin/python bench/backup.py [--mb 200] [--files 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

GUARD = Path(__file__).resolve().parent.parent / "deploy" / "scripts" / "borg-serve-guard.py"


def _borg(env: dict[str, str], *args: str) -> None:
    subprocess.run(["borg", *args], env=env, check=True, capture_output=True)


def run_once(data: Path, root: Path, way: str) -> tuple[float, float]:
    repo = root / f"repo-{way}"
    serve = f"borg serve --restrict-to-path {shlex.quote(str(repo))}"
    if way == "roost":
        serve = f"/usr/bin/python3 {shlex.quote(str(GUARD))} {serve} --append-only"
    env = {**os.environ, "BORG_PASSPHRASE": "bench", "BORG_BASE_DIR": str(root / f"base-{way}"),
           "BORG_RSH": f"sh -c 'shift; exec {serve}' sh"}
    url = f"ssh://bench{repo}"
    _borg(env, "init", "--encryption=repokey", url)
    times = []
    for n in (1, 2):
        start = time.perf_counter()
        _borg(env, "create", f"{url}::run{n}", str(data))
        times.append(time.perf_counter() - start)
    subprocess.run(["rm", "-rf", str(repo), str(root / f"base-{way}")], check=True)
    return times[0], times[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--files", type=int, default=50)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="roost-bench-backup-") as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        size = a.mb * 1_000_000 // a.files
        for i in range(a.files):
            (data / f"f{i:04d}.bin").write_bytes(os.urandom(size))
        results: dict[str, list[tuple[float, float]]] = {"plain": [], "roost": []}
        for _ in range(a.repeat):
            for way in ("plain", "roost"):  # interleaved, so load changes hit both alike
                results[way].append(run_once(data, root, way))
    med = {w: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for w, rs in results.items()}
    print(f"{a.mb} MB in {a.files} files, median of {a.repeat}:")
    for w, (first, second) in med.items():
        print(f"  {w:6s} first {first:6.2f} s   second (unchanged) {second:5.2f} s "
              f"({100 * second / first:.0f}% of the first)")
    print(f"  roost / plain, first run: {med['roost'][0] / med['plain'][0]:.2f}x; "
          f"second run: {med['roost'][1] / med['plain'][1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
