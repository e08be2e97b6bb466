"""`roost catalog`: the services roost knows, one line each, or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from roost.catalog import Catalog, Service, load


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("catalog", help="list the services roost knows, one line each")
    p.add_argument("--json", action="store_true", help="print a JSON array instead")
    p.set_defaults(handler=run)


def service_line(s: Service, catalog: Catalog) -> str:
    """One sentence per service that reads well aloud."""
    names = [p.name for pid in s.replaces if (p := catalog.platform(pid)) is not None]
    replaces = f" Replaces {', '.join(names)}." if names else ""
    status = "" if s.upstream.status == "maintained" else f" Upstream is {s.upstream.status}."
    ways = ", ".join({"public": "public instance", "home": "home Pi", "vps": "VPS"}[a.kind]
                     for a in s.adopt)
    return f"{s.name}, {s.category}.{replaces} Ways: {ways}.{status}"


def service_json(s: Service) -> dict[str, Any]:
    d = asdict(s)
    d.pop("file", None)
    return d


def run(args: argparse.Namespace) -> int:
    catalog = load()
    if args.json:
        json.dump([service_json(s) for s in catalog.services], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for s in catalog.services:
            print(service_line(s, catalog))
    for problem in catalog.problems:
        sys.stderr.write(f"roost: left out of the catalog: {problem}\n")
    return 0
