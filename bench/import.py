"""Does `roost import mbox` stream? Peak memory and time of its local path as the archive
grows 10x, beside only reading the file and parsing each message's headers.

  parse   read the mbox line by line, parse each message's headers (the least any importer
          does)
  roost   what the import does on this computer: roost.deploy.imports.mbox.messages, the
          labels to folders and flags, each batch packed as the tar stream sent to the host
          (then dropped, as the upload does)

Each runs in a fresh process (peak RSS from getrusage); the archive is Takeout-shaped mail
of 4 to 40 KB messages with a few labels each. The host's side (SSH, tar, rename) is not
included: see tests/test_import_mail_archive.py for the real path.

    .venv/bin/python bench/import.py [--mb 20] [--factor 10]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

LABELS = ["Inbox", "Opened", "Important", "Sent", "Work/Projects", "Family", "Unread",
          "Starred", "Category Updates"]

CHILD = r"""
import resource, sys, time
from email.parser import BytesHeaderParser
from email.policy import compat32
path, way = sys.argv[1], sys.argv[2]
start = time.perf_counter()
n = 0
if way == "parse":
    parser = BytesHeaderParser(policy=compat32)
    with open(path, "rb") as f:
        head, in_head = [], False
        for line in f:
            if line.startswith(b"From "):
                in_head, head = True, []
                n += 1
            elif in_head:
                if line in (b"\r\n", b"\n"):
                    parser.parsebytes(b"".join(head))
                    in_head = False
                else:
                    head.append(line)
else:
    from roost.deploy.imports import mbox
    from roost.deploy.imports.maildir import Batch
    batch = Batch()
    with open(path, "rb") as f:
        for m in mbox.messages(f):
            if isinstance(m, mbox.Skipped):
                continue
            n += 1
            folders, flags = mbox.folders_and_flags(m.labels)
            for folder in folders:
                batch.add(folder, m.id, flags, m.raw, m.date)
            if batch.full:
                batch.data()
                batch = Batch()
    batch.data()
took = time.perf_counter() - start
print(n, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_mbox(path: Path, mb: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("wb") as f:
        written, n = 0, 0
        while written < mb * 1024 * 1024:
            labels = ",".join(rnd.sample(LABELS, 3))
            body = "".join(rnd.choice("abcdefghij klmnop\r\n") for _ in range(
                rnd.randint(4000, 40000)))
            msg = (f"From 17{n:017d}@xxx Wed Mar 01 10:00:00 +0000 2023\r\n"
                   f"X-Gmail-Labels: {labels}\r\nDate: Wed, 01 Mar 2023 10:00:00 +0000\r\n"
                   f"From: a@example.org\r\nSubject: message {n}\r\n"
                   f"Message-ID: <{n}@example.org>\r\n\r\n{body}\r\n\r\n").encode()
            f.write(msg)
            written += len(msg)
            n += 1


def measure(path: Path, way: str) -> tuple[int, float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), way], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--factor", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'archive':>8} {'messages':>9} {'way':>6} {'seconds':>8} {'peak RSS MB':>12}")
        for mb in (args.mb, args.mb * args.factor):
            path = Path(tmp) / f"{mb}.mbox"
            make_mbox(path, mb)
            for way in ("parse", "roost"):
                n, took, rss = measure(path, way)
                print(f"{mb:>5} MB {n:>9} {way:>6} {took:>8.2f} {rss / 1024:>12.1f}")
            path.unlink()


if __name__ == "__main__":
    main()
