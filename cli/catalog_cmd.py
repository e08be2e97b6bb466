"""`roost catalog`: the services roost knows, one line each, or as JSON, or one in full.

Every line is plain text that reads well aloud. Manifests that could not be loaded are named
on stderr, one line each, and the rest of the catalog is still listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from roost.catalog import Catalog, Service, load
from roost.core.errors import RoostError

WAY_NAMES = {"public": "a public instance", "home": "at home", "vps": "a rented server"}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "catalog",
        help="list the services roost knows, one line each",
        description="List the services roost knows, one line each. Give a service id to read "
        "everything about it. Set ROOST_CATALOG_DIR to a folder with manifests/ and "
        "platforms.toml to use another catalog.",
    )
    p.add_argument("service", nargs="?", help="a service id, to show that one in full")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run)


def _ways(s: Service) -> str:
    return ", ".join(WAY_NAMES[a.kind] for a in s.adopt)


def service_line(s: Service, catalog: Catalog) -> str:
    """One line per service that reads well aloud."""
    names = [p.name for pid in s.replaces if (p := catalog.platform(pid)) is not None]
    replaces = f" Replaces {', '.join(names)}." if names else ""
    status = "" if s.upstream.status == "maintained" else f" Upstream is {s.upstream.status}."
    if s.experimental:
        status += " Experimental, never in a plan."
    instead = ""
    if s.upstream.replaced_by and (target := catalog.get(s.upstream.replaced_by)) is not None:
        instead = f" Use {target.name} instead."
    return f"{s.id}: {s.name}, {s.category}.{replaces} Ways: {_ways(s)}.{status}{instead}"


def service_detail(s: Service, catalog: Catalog) -> list[str]:
    """Everything about one service, one fact per line."""
    r = s.requirements
    lines = [f"{s.name} ({s.id}), {s.category}.", s.summary, f"Why: {s.why}",
             f"Protocol: {s.protocol}."]
    names = [p.name for pid in s.replaces if (p := catalog.platform(pid)) is not None]
    if names:
        lines.append(f"Replaces: {', '.join(names)}.")
    lines.append(f"Upstream is {s.upstream.status}: {s.upstream.url}")
    if s.upstream.note:
        lines.append(f"Note: {s.upstream.note}")
    if s.upstream.replaced_by:
        lines.append(f"Use instead: {s.upstream.replaced_by}.")
    for a in s.adopt:
        where = f" Find one at {a.where}" if a.where else ""
        lines.append(f"Way, {WAY_NAMES[a.kind]}: {a.summary}{where}")
    if s.self_hostable:
        ports = ", ".join(r.inbound_ports) or "none"
        lines += [
            f"Needs {r.ram_mb} megabytes of memory and {r.disk_mb} megabytes of disk.",
            f"Runs on: {', '.join(r.arch)}.",
            f"Needs a domain name: {'yes' if r.needs_domain else 'no'}.",
            f"Inbound ports: {ports}{', on the home network only' if r.lan_only else ''}.",
            f"Fine on a home connection: {'yes' if r.residential_ok else 'no'}.",
        ]
        if r.os:
            lines.append(f"Systems: {', '.join(r.os)}.")
    lines.append(f"Difficulty: {s.difficulty}, about {s.time_minutes} minutes.")
    if s.experimental:
        lines.append("Experimental: it is never part of a plan; deploy it yourself if you "
                     "want it.")
    if s.recipe:
        lines.append(f"roost can deploy it: roost deploy {s.recipe} --host NAME")
    elif s.install is not None and not s.install.by_roost:
        lines.append(f"roost does not install it: {s.install.why}")
        names = [t.name for i in s.install.instead if (t := catalog.get(i)) is not None]
        if names:
            lines.append(f"Lighter servers roost installs instead: {', '.join(names)}.")
        if s.install.guide:
            lines.append(f"Upstream's guide, to install it by hand: {s.install.guide}")
    lines += [f"roost will ask for {ask}." for ask in s.asks]
    lines += [f"Then: {step}" for step in s.next_steps]
    lines += [f"Source: {src}" for src in s.sources]
    return lines


def service_json(s: Service) -> dict[str, Any]:
    d = asdict(s)
    d.pop("file", None)
    return d


def run(args: argparse.Namespace) -> int:
    catalog = load()
    for problem in catalog.problems:
        sys.stderr.write(f"roost: left out of the catalog: {problem}\n")
    if args.service is not None:
        s = catalog.get(args.service)
        if s is None:
            raise RoostError(f"no service called {args.service!r} in the catalog",
                             hint="Run 'roost catalog' to list them")
        if args.json:
            json.dump(service_json(s), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print("\n".join(service_detail(s, catalog)))
        return 0
    if args.json:
        json.dump([service_json(s) for s in catalog.services], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for s in catalog.services:
            print(service_line(s, catalog))
    return 0
