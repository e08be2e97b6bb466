"""Write tests/durations.json from the report of a whole run with `--durations=0`: the
seconds each test took (setup, call and teardown added up), for the tests of 5 s or more.
tests/conftest.py orders the work by it (the longest tests first); nothing passes or fails on
it.

    .venv/bin/python scripts/durations.py RUN.log
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LINE = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+)$")
GROUP = re.compile(r"@(a11y|tests/[\w/]+\.py)$")
"""The "@group" xdist adds to a grouped test's id."""
OUT = Path(__file__).resolve().parent.parent / "tests" / "durations.json"


def measured(lines: list[str]) -> dict[str, float]:
    total: dict[str, float] = {}
    for line in lines:
        m = LINE.match(line.strip())
        if m:
            nodeid = GROUP.sub("", m.group(3))
            total[nodeid] = total.get(nodeid, 0.0) + float(m.group(1))
    return {k: round(v, 1) for k, v in sorted(total.items()) if v >= 5.0}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: durations.py RUN.log", file=sys.stderr)
        return 2
    found = measured(Path(argv[0]).read_text(errors="replace").splitlines())
    if not found:
        print(f"{argv[0]}: no --durations=0 report in it", file=sys.stderr)
        return 2
    OUT.write_text(json.dumps(found, indent=1) + "\n")
    print(f"{len(found)} tests written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
