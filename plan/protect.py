""""Protect what you moved": after a service is deployed, before the next step, the plan
offers to back it up to another host. A pure function of the progress (roost.plan.progress)
and of the catalog (`backed_up`: the services whose recipe says what to back up)."""

from __future__ import annotations

from roost.catalog.model import Catalog
from roost.plan.progress import Progress


def unprotected(progress: Progress, catalog: Catalog) -> list[tuple[str, str]]:
    """(service id, host) of each running service with no backup set up, oldest first."""
    can = {s.id for s in catalog.services if s.backed_up}
    return [(str(e.service_id), str(e.detail.get("host", "")))
            for e in progress.unprotected(can)]


def running_backed_up(progress: Progress, catalog: Catalog) -> list[tuple[str, str]]:
    """(service id, host) of every running service roost can back up, backed up or not."""
    return [(str(e.service_id), str(e.detail.get("host", "")))
            for e in progress.running()
            if (svc := catalog.get(str(e.service_id))) is not None and svc.backed_up]


def offer(progress: Progress, catalog: Catalog) -> str | None:
    """One paragraph for the plan, `roost next` and the plain mode; None when everything
    running is backed up (or nothing runs)."""
    found = unprotected(progress, catalog)
    if not found:
        return None

    def name_of(sid: str) -> str:
        svc = catalog.get(sid)
        return svc.name if svc else sid

    named = [f"{name_of(sid)} on {host}" for sid, host in found]
    what = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    sid, host = found[0]
    has = "has" if len(found) == 1 else "have"
    return (f"Protect what you moved, before the next step: {what} {has} no backup yet. "
            f"A backup on another host (your VPS, a friend's Pi) brings it back if this "
            f"card or disk dies: roost backup {sid} --host {host} --to OTHER-HOST.")
