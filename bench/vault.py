"""The vault's key derivation on a small Pi: peak memory and time, side by side in one run.

  before   libsodium's "moderate" Argon2id (256 MiB, 3 passes): roost's default until 2026-12
  now      roost's DEFAULT_LIMITS (roost.keys.vault), which a 512 MB Pi Zero 2 W can derive

Each row is the whole command as a person runs it, `roost keys new ssh` into a fresh data
folder (the vault is made, then sealed), in its own process; its peak resident memory comes
from the kernel (ru_maxrss of the finished child, interpreter included). The derivation alone
is timed in-process too. Medians of --repeat runs; ratios are now / before.

    .venv/bin/python bench/vault.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
from pathlib import Path
from roost.cli.main import main
from roost.keys import vault
ops, mem = int(sys.argv[1]), int(sys.argv[2])
vault.DEFAULT_LIMITS = vault.KdfLimits(ops, mem)
sys.exit(main(["keys", "new", "ssh"]))
"""


def run_command(ops: int, mem: int) -> tuple[float, float]:
    """(seconds, peak MiB) of `roost keys new ssh` with these limits, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        pf = Path(tmp) / "pass"
        pf.write_text("a long enough passphrase for the bench\n")
        pf.chmod(0o600)
        env = {**os.environ, "ROOST_HOME": str(Path(tmp) / "home"),
               "ROOST_PASSPHRASE_FILE": str(pf), "ROOST_NEW_PASSPHRASE_FILE": str(pf)}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", CHILD, str(ops), str(mem)], env=env, check=True,
                       capture_output=True)
        took = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: the lighter row runs first.
    return took, peak / 1024


def derive(ops: int, mem: int) -> float:
    import nacl.pwhash.argon2id as argon

    start = time.perf_counter()
    argon.kdf(32, b"a long enough passphrase", b"s" * argon.SALTBYTES, opslimit=ops,
              memlimit=mem)
    return time.perf_counter() - start


def main() -> int:
    from roost.keys.vault import DEFAULT_LIMITS, MAX_MEMLIMIT

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = {"now": (DEFAULT_LIMITS.opslimit, DEFAULT_LIMITS.memlimit),
            "before": (3, 256 * 1024**2)}
    results: dict[str, tuple[float, float, float]] = {}
    for name, (ops, mem) in rows.items():  # lighter first: ru_maxrss only grows
        times, peaks, kdfs = [], [], []
        for _ in range(args.repeat):
            t, p = run_command(ops, mem)
            times.append(t)
            peaks.append(p)
            kdfs.append(derive(ops, mem))
        results[name] = (statistics.median(times), max(peaks), statistics.median(kdfs))
        print(f"{name:7} {ops} passes x {mem >> 20} MiB: keys new ssh "
              f"{results[name][0]:.2f} s, peak {results[name][1]:.0f} MiB; "
              f"derivation {results[name][2]:.2f} s")
    (t1, p1, k1), (t0, p0, k0) = results["now"], results["before"]
    print(f"ratio now/before: command time {t1 / t0:.2f}x, peak memory {p1 / p0:.2f}x, "
          f"derivation {k1 / k0:.2f}x (work kept: {rows['now'][0] * rows['now'][1]} vs "
          f"{rows['before'][0] * rows['before'][1]} pass-bytes)")
    print(f"limit: derivation <= {MAX_MEMLIMIT >> 20} MiB, the whole command <= 160 MB: "
          + ("met" if p1 <= 160 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
