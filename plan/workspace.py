"""The one facade the CLI and the TUI both use for the assessment, the plan and progress.

Every change reloads the progress file under the writers' lock, applies one event and saves
atomically, so two roost processes never lose each other's changes; a second process that
tries to write while the first holds the lock gets a LockedError line.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.core import clock as clocks
from roost.core.errors import NewerFormatError, RoostError
from roost.core.text import printable
from roost.core.versioned import read_versioned, write_versioned
from roost.plan.answers import Answers
from roost.plan.progress import (
    PORT,
    SCHEMA,
    SECRET_WORDS,
    WAYS_IN,
    Event,
    Progress,
    ProgressStore,
)

if TYPE_CHECKING:
    from roost.catalog import Catalog
    from roost.plan.detect import HostFacts
    from roost.plan.planner import Plan, Step

PROGRESS_FILE = "progress.toml"
DRAFT_FILE = "answers-so-far.toml"
"""The answers of an assessment not finished yet (plain mode saves each as it is given)."""
DRAFT_SCHEMA = 1


def shown(path: Path | str, limit: int = 120) -> str:
    """A path (or any text a person typed) safe inside a one-line message: control
    characters escaped, long values cut."""
    return printable(path, limit)
EXPORT_KIND = "roost-progress"


class Workspace:
    """Answers, plan and progress of one person, stored under `home`."""

    def __init__(self, home: Path, catalog: Catalog | None, facts: HostFacts | None,
                 store: ProgressStore, clock: clocks.Clock | None = None) -> None:
        self.home = home
        self.clock: clocks.Clock = clock or clocks.from_environment()
        """Where every time this workspace stamps or compares comes from (UTC)."""
        self._catalog = catalog
        self.facts = facts
        self.store = store
        self._stamp: tuple[int, int, int] | None = None
        self._progress = Progress()
        self.reload()

    @classmethod
    def open(cls, home: Path, *, catalog: Catalog | None = None,
             facts: HostFacts | None = None, detect: bool = True,
             clock: clocks.Clock | None = None) -> Workspace:
        """Open the workspace in the data folder `home` (the front ends resolve it, with
        roost.core.paths). `facts` overrides detection; `clock` the time (default:
        `ROOST_NOW` when set, else the system clock)."""
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        if facts is None and detect:
            from roost.plan.detect import detect_local

            with contextlib.suppress(OSError):
                facts = detect_local()
        return cls(home, catalog, facts, ProgressStore(home / PROGRESS_FILE), clock)

    @property
    def catalog(self) -> Catalog:
        """The services roost knows: read on first use, so a first screen that needs no plan
        does not parse the manifests."""
        if self._catalog is None:
            from roost.catalog import load

            self._catalog = load()
        return self._catalog

    # --- reading -------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.store.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @property
    def progress(self) -> Progress:
        """The progress, re-read when another roost (say the CLI beside the TUI) changed it."""
        if self._file_stamp() != self._stamp:
            self.reload()
        return self._progress

    @property
    def answers(self) -> Answers | None:
        return self.progress.answers

    def reload(self) -> None:
        """Re-read the progress file (another roost may have changed it)."""
        stamp = self._file_stamp()
        self._progress = self.store.load()
        self._stamp = stamp

    def _answers_or_fail(self) -> Answers:
        a = self.answers
        if a is None:
            raise RoostError("roost does not know your situation yet",
                             hint="run roost assess first")
        return a

    def today(self) -> date:
        """Today's date by the workspace's clock (UTC)."""
        return self.clock().date()

    def plan(self, today: date | None = None) -> Plan:
        from roost.plan.planner import build_plan

        return build_plan(self.catalog, self._answers_or_fail(), self.progress,
                          today or self.today())

    def next_step(self, today: date | None = None) -> Step | None:
        return self.plan(today).next

    def step(self, service_id: str, today: date | None = None) -> Step:
        self._service(service_id)
        found = self.plan(today).get(service_id)
        if found is None:
            raise RoostError(f"{service_id} is not in your plan",
                             hint="its replacement is offered instead; run roost plan")
        return found

    def protect_offer(self) -> str | None:
        """"Protect what you moved": services running with no backup yet (roost.plan.protect),
        as one paragraph; None when there is nothing to offer."""
        from roost.plan.protect import offer

        return offer(self.progress, self.catalog)

    def history(self) -> tuple[Event, ...]:
        return self.progress.events

    # --- changing --------------------------------------------------------------------------

    def _append(self, event: Event) -> Progress:
        def change(p: Progress) -> Progress:
            return p.with_event(event)

        return self._update(change)

    def _update(self, change: Callable[[Progress], Progress]) -> Progress:
        self._progress = self.store.update(change)
        self._stamp = self._file_stamp()
        return self._progress

    def _service(self, service_id: str) -> str:
        if not isinstance(service_id, str) or self.catalog.get(service_id) is None:
            shown = str(service_id)[:40]
            raise RoostError(f"no service called {shown!r}", hint="run roost plan to see the ids")
        return service_id

    # --- answers given so far (the assessment, interrupted) -------------------------------

    @property
    def draft_path(self) -> Path:
        return self.home / DRAFT_FILE

    def draft(self) -> dict[str, object]:
        """The answers given so far in an assessment not yet finished ({} when none)."""
        try:
            data = read_versioned(self.draft_path, "answers so far", DRAFT_SCHEMA) or {}
        except RoostError:
            return {}  # damaged (kept aside) or newer: ask again
        got = data.get("responses", {})
        if not isinstance(got, dict):
            return {}
        return {str(k): v for k, v in got.items()
                if isinstance(v, str) or (isinstance(v, list)
                                          and all(isinstance(x, str) for x in v))}

    def save_draft(self, responses: Mapping[str, object]) -> None:
        """Keep each answer as it is given, so an interrupted assessment resumes."""
        keep = {k: (list(v) if isinstance(v, tuple | list) else v)
                for k, v in responses.items() if isinstance(v, str | list | tuple)}
        write_versioned(self.draft_path, {"responses": keep}, DRAFT_SCHEMA)

    def drop_draft(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.draft_path.unlink()

    def save_answers(self, answers: Answers) -> None:
        pids = {p.id for p in self.catalog.platforms}
        bad = [u for u in answers.uses if u not in pids]
        if bad:
            raise RoostError(f"{bad[0]!r} is not a platform roost knows",
                             hint=f"use any of {', '.join(sorted(pids))}")
        at = self.clock()

        from roost.plan.planner import build_plan

        def change(p: Progress) -> Progress:
            p = p.with_event(Event("assessed", at, None, {"answers": answers.to_dict()}))
            order = [s.service_id for s in build_plan(self.catalog, answers, p, at.date()).steps]
            return p.with_event(Event("planned", at, None, {"order": order}))

        self._update(change)
        self.drop_draft()

    def start(self, service_id: str) -> None:
        self._append(Event("started", self.clock(), self._service(service_id)))

    def done(self, service_id: str) -> None:
        self._append(Event("done", self.clock(), self._service(service_id)))

    def skip(self, service_id: str, reason: str) -> None:
        self._append(Event("skipped", self.clock(), self._service(service_id),
                           {"reason": _reason(reason)}))

    def fail(self, service_id: str, reason: str) -> None:
        self._append(Event("failed", self.clock(), self._service(service_id),
                           {"reason": _reason(reason)}))

    def record_deployed(self, service_id: str, host: str, version: str,
                        ports: tuple[str, ...] = ()) -> None:
        """Note a deploy (host, version, ports, time) without touching the plan step."""
        self._append(_deployed_event(self._service(service_id), host, version, self.clock(), ports))

    def deployed(self, service_id: str, host: str, version: str, healthy: bool = True,
                 ports: tuple[str, ...] = (), recipe: str = "",
                 options: Mapping[str, str] | None = None) -> Step | None:
        """Note a finished deploy (host, version, the ports it binds like "8008/tcp", time)
        and, when it passed its health check, mark its plan step done, in one write. `recipe`
        and `options` are what ran (public words the person typed, never a secret), so `roost
        check` can run the same health check. Returns the plan's next step (None when there
        is no plan yet or nothing is left)."""
        at = self.clock()
        events = [_deployed_event(self._service(service_id), host, version, at, ports,
                                  recipe, options)]
        if healthy:
            events.append(Event("done", at, service_id))

        def change(p: Progress) -> Progress:
            for e in events:
                p = p.with_event(e)
            return p

        self._update(change)
        if self.answers is None:
            return None
        return self.next_step()

    def record_removed(self, service_id: str, host: str) -> None:
        """Note that a service was taken off a host; its plan step opens again when no host
        runs it any more."""
        self._append(Event("removed", self.clock(), self._service(service_id),
                           {"host": str(host)[:200]}))

    def record_upgraded(self, service_id: str, host: str, version: str, outcome: str,
                        packages: Mapping[str, str] | None = None, reason: str = "") -> None:
        """Note an upgrade's outcome ("upgraded" or "rolled back"), the version running after
        it, the Debian packages' versions, and what failed when it was rolled back."""
        detail: dict[str, Any] = {"host": str(host)[:200], "version": str(version)[:100],
                                  "outcome": str(outcome)[:20]}
        if packages:
            detail["packages"] = {str(k)[:100]: str(v)[:100]
                                  for k, v in list(packages.items())[:50]}
        if reason:
            detail["reason"] = str(reason)[:400]
        self._append(Event("upgraded", self.clock(), self._service(service_id), detail))

    def record_reach(self, service_id: str, host: str, way: str, via: str | None = None,
                     address: str | None = None, router: str | None = None) -> None:
        """Note a way in now in place for a service on a host (`way` one of WAYS_IN; `via`
        the relay host; `address` what people outside use: the router's or VPS's address,
        or the onion address; `router` where the home router describes itself, for UPnP,
        so `roost check` can ask it). Public facts only, never a key."""
        detail = _reach_detail(host, way, via, address)
        if router:
            detail["router"] = str(router)[:300]
        self._append(Event("reach", self.clock(), self._service(service_id), detail))

    def record_reach_removed(self, service_id: str, host: str, way: str) -> None:
        """Note that a way in was taken away (an undeploy, or the person's choice)."""
        self._append(Event("reach_removed", self.clock(), self._service(service_id),
                           _reach_detail(host, way, None, None)))

    def record_backup(self, service_id: str, host: str, to: str, every: str) -> None:
        """Note that backups of a service on a host are set up, kept on host `to`."""
        self._append(Event("backup", self.clock(), self._service(service_id),
                           {"host": str(host)[:200], "to": str(to)[:200],
                            "every": str(every)[:20]}))

    def record_identity(self, kind: str, public_id: str) -> None:
        """Remember that an identity exists: its kind and PUBLIC id only, never a secret."""
        self._append(Event("identity", self.clock(), None,
                           {"kind": str(kind)[:40], "public_id": str(public_id)[:400]}))

    def record_identity_removed(self, kind: str, public_id: str) -> None:
        """Remember that an identity was removed from the vault (kind and public id only)."""
        self._append(Event("identity_removed", self.clock(), None,
                           {"kind": str(kind)[:40], "public_id": str(public_id)[:400]}))

    def undo(self) -> str:
        """Cancel the latest change; return one sentence saying what was undone."""
        said: list[str] = []

        def change(p: Progress) -> Progress:
            idx = p.last_undoable()
            if idx is None:
                raise RoostError("there is nothing to undo")
            target = p.events[idx]
            what = _undo_words(target)
            said.append(what)
            return p.with_event(Event("undone", self.clock(), target.service_id,
                                      {"index": idx, "what": what}))

        self._update(change)
        return f"Undone: {said[0]}."

    def reset(self) -> None:
        """Forget answers and progress (the old file is kept next to it)."""
        with self.store.locked():
            if self.store.path.exists():
                stamp = clocks.stamp(self.clock)
                self.store.path.replace(self.store.path.with_name(
                    f"{self.store.path.name}.reset-{stamp}"))
            self.store.save(Progress())
        self._progress = Progress()
        self._stamp = self._file_stamp()

    # --- moving between machines ---------------------------------------------------------

    def export_to(self, path: Path) -> None:
        """Write progress (answers and history, never secrets) to `path`."""
        data = {"kind": EXPORT_KIND, "event": [_public(e.to_dict())
                                               for e in self.progress.events]}
        try:
            write_versioned(Path(path), data, SCHEMA)
        except RoostError as exc:  # core names the full path: keep the message one safe line
            raise RoostError(exc.message.replace(str(path), shown(path)),
                             hint=exc.hint) from None
        except OSError as exc:
            raise RoostError(f"cannot write {shown(path)}: {exc.strerror or 'error'}",
                             hint="choose another file name or folder") from None

    def import_from(self, path: Path) -> None:
        """Replace progress with an export; the current file is kept as a backup."""
        path = Path(path)
        name = shown(path)
        not_export = RoostError(f"{name} is not a roost progress export",
                                hint="make one with roost progress export FILE")
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise RoostError(f"there is no file {name}", hint="check the path") from None
        except OSError as exc:
            raise RoostError(f"cannot read {name}: {exc.strerror or 'error'}",
                             hint="check the path") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            raise not_export from None
        schema = data.get("schema")
        if data.get("kind") != EXPORT_KIND or not isinstance(schema, int):
            raise not_export
        if schema > SCHEMA:
            raise NewerFormatError(
                f"{name} was exported by a newer roost (format {schema}, this roost reads up "
                f"to {SCHEMA})", hint="update roost, then import it again")
        try:
            incoming = Progress.from_dict({"event": data.get("event", [])})
        except RoostError as exc:
            raise RoostError(f"{name} cannot be imported: {exc.message}",
                             hint="nothing was changed") from None
        with self.store.locked():
            if self.store.path.exists():
                backup = self.store.path.with_name(f"{self.store.path.name}.before-import")
                backup.write_bytes(self.store.path.read_bytes())
                backup.chmod(0o600)
            self.store.save(incoming)
        self._progress = incoming
        self._stamp = self._file_stamp()


def _reason(reason: str) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(reason)).split())
    if not text:
        raise RoostError("a reason is needed", hint="say in a few words why")
    return text[:300]


def _public(d: dict[str, Any]) -> dict[str, Any]:
    detail = d.get("detail")
    if isinstance(detail, dict):
        d["detail"] = {k: v for k, v in detail.items()
                       if not any(w in k.lower() for w in SECRET_WORDS)}
        if not d["detail"]:
            del d["detail"]
    return d


def _deployed_event(service_id: str, host: str, version: str, at: datetime,
                    ports: tuple[str, ...] = (), recipe: str = "",
                    options: Mapping[str, str] | None = None) -> Event:
    detail: dict[str, Any] = {"host": str(host)[:200], "version": str(version)[:100]}
    if recipe:
        detail["recipe"] = str(recipe)[:63]
    kept = {str(k)[:40]: str(v)[:400] for k, v in (options or {}).items()
            if not any(w in str(k).lower() for w in SECRET_WORDS)}
    if kept:
        detail["options"] = dict(list(kept.items())[:50])
    for p in ports:
        if not isinstance(p, str) or not PORT.match(p):
            raise RoostError(f"{str(p)[:20]!r} is not a port to record", hint='like "8008/tcp"')
    if ports:
        detail["ports"] = list(dict.fromkeys(ports))[:50]
    return Event("deployed", at, service_id, detail)


def _reach_detail(host: str, way: str, via: str | None, address: str | None) -> dict[str, Any]:
    if way not in WAYS_IN:
        raise RoostError(f"{str(way)[:20]!r} is not a way in roost knows",
                         hint=f"use one of {', '.join(WAYS_IN)}")
    detail: dict[str, Any] = {"host": str(host)[:200], "way": way}
    if via:
        detail["via"] = str(via)[:200]
    if address:
        detail["address"] = str(address)[:200]
    return detail


def _undo_words(e: Event) -> str:
    sid = e.service_id or ""
    return {
        "assessed": "your latest answers",
        "started": f"starting {sid}",
        "done": f"marking {sid} done",
        "skipped": f"skipping {sid}",
        "failed": f"the failure of {sid}",
        "deployed": f"the record of deploying {sid}",
        "removed": f"the record of removing {sid}",
        "identity": f"the record of the {e.detail.get('kind', '')} identity",
        "reach": f"the record of a way in to {sid}",
        "reach_removed": f"the record of taking a way in to {sid} away",
        "backup": f"the record of backing up {sid}",
    }.get(e.kind, e.kind)
