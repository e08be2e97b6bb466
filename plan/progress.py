"""The person's progress: their answers and an append-only history of events.

Everything else (each service's state, the current answers) is derived from the events, so
`undo` is just another event and nothing is ever lost. The store is a versioned TOML file
written atomically under a process lock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from roost.core.errors import RoostError
from roost.core.lock import FileLock
from roost.core.text import printable
from roost.core.versioned import read_versioned, write_versioned
from roost.plan.answers import Answers

SCHEMA = 1
EVENT_KINDS = ("assessed", "planned", "started", "done", "skipped", "failed", "deployed",
               "removed", "identity", "identity_removed", "reach", "reach_removed", "backup",
               "undone", "upgraded")
STEP_EVENTS = ("started", "done", "skipped", "failed")
"""Events that change a service's state."""
UNDOABLE = ("assessed", "started", "done", "skipped", "failed", "deployed", "removed",
            "identity", "reach", "reach_removed", "backup")
WAYS_IN = ("router", "upnp", "relay", "tor")
"""How people outside reach a service on a host: the router forwards its ports (by hand, or
`upnp` when roost asked the router), a WireGuard `relay` through the person's VPS, or a Tor
onion service. A `reach` event records one way in place; `reach_removed` takes it away."""
SECRET_WORDS = ("secret", "password", "passphrase", "private", "token", "seed")
"""Detail keys never exported (progress should hold none; this is a second wall)."""
PORT = re.compile(r"^[0-9]{1,5}/(tcp|udp)$")
"""A port as a `deployed` event records it: "8008/tcp". Events an older roost wrote have no
ports (schema 1 all along: the detail table takes new keys without a format change)."""


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    """Aware, UTC."""
    service_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "at": self.at}
        if self.service_id is not None:
            d["service"] = self.service_id
        if self.detail:
            d["detail"] = dict(self.detail)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], n: int) -> Event:
        def bad(why: str) -> RoostError:
            return RoostError(f"event {n + 1} in the progress file {why}")

        if not isinstance(d, Mapping):
            raise bad("is not a table")
        kind = d.get("kind")
        if kind not in EVENT_KINDS:
            raise bad(f"has an unknown kind {str(kind)[:30]!r}")
        at = d.get("at")
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at)
            except ValueError:
                raise bad("has a time that cannot be read") from None
        if not isinstance(at, datetime):
            raise bad("has no time")
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        sid = d.get("service")
        if sid is not None and not isinstance(sid, str):
            raise bad("has a service that is not text")
        detail = d.get("detail", {})
        if not isinstance(detail, Mapping):
            raise bad("has a detail that is not a table")
        return cls(str(kind), at.astimezone(UTC), sid, dict(detail))

    def ports(self) -> tuple[str, ...]:
        """The ports a `deployed` event says the service binds ("8008/tcp"); () when an older
        roost recorded it, or the service binds none. Malformed entries are left out."""
        raw = self.detail.get("ports", ())
        if not isinstance(raw, list | tuple):
            return ()
        return tuple(p for p in raw if isinstance(p, str) and PORT.match(p)
                     and 1 <= int(p.partition("/")[0]) <= 65535)

    def describe(self) -> str:
        """One sentence for the history, read aloud."""
        when = self.at.strftime("%Y-%m-%d %H:%M")
        sid = printable(self.service_id, 60)
        host = printable(self.detail.get("host", "a host"), 120)
        kind = printable(self.detail.get("kind", ""), 40)
        what = {
            "assessed": "answered the questions",
            "planned": "made a plan",
            "started": f"started {sid}",
            "done": f"finished {sid}",
            "skipped": f"skipped {sid}",
            "failed": f"{sid} failed",
            "deployed": f"deployed {sid} to {host}{ports_words(self.ports(), ' on ')}",
            "removed": f"removed {sid} from {host}",
            "identity": f"created a {kind} identity".replace("  ", " "),
            "identity_removed": f"removed a {kind} identity".replace("  ", " "),
            "reach": f"made {sid} on {host} reachable {way_words(self.detail)}",
            "reach_removed": f"took away {way_words(self.detail)} to {sid} on {host}",
            "backup": f"set up backups of {sid} on {host} to "
                      f"{printable(self.detail.get('to', 'another host'), 120)}",
            "undone": f"undid: {printable(self.detail.get('what', 'a step'), 200)}",
            "upgraded": upgrade_words(sid, host, self.detail),
        }[self.kind]
        reason = self.detail.get("reason")
        tail = (f" ({printable(reason, 300)})"
                if reason and self.kind in ("skipped", "failed") else "")
        return f"{when}: {what}{tail}."


def upgrade_words(sid: str, host: str, detail: Mapping[str, Any]) -> str:
    """An `upgraded` event in words: upgraded, or rolled back and why."""
    version = printable(detail.get("version", ""), 100)
    if detail.get("outcome") == "rolled back":
        reason = printable(detail.get("reason", ""), 300)
        return (f"an upgrade of {sid} on {host} failed"
                + (f" ({reason})" if reason else "")
                + f" and was rolled back to {version or 'the version before'}")
    return f"upgraded {sid} on {host}" + (f" to {version}" if version else "")


def way_words(detail: Mapping[str, Any]) -> str:
    """A way in, in words: "through the router", "through a relay on vps", "as a Tor onion
    service"."""
    way = detail.get("way", "")
    via = printable(detail.get("via", ""), 120)
    return {
        "router": "through the router's port forwarding",
        "upnp": "through ports the router opened by UPnP",
        "relay": f"through a relay on {via or 'the VPS'}",
        "tor": "as a Tor onion service",
    }.get(str(way), "in a way this roost does not know")


@dataclass(frozen=True)
class Progress:
    """Answers plus the event history; per-service state is derived."""

    events: tuple[Event, ...] = ()

    def effective(self) -> tuple[Event, ...]:
        """The events minus those undone (and the undo events themselves)."""
        return self._effective

    @cached_property
    def _effective(self) -> tuple[Event, ...]:
        # Computed once per Progress (it is immutable): the planner asks for the state and
        # reason of every service, which was O(services x events) before.
        undone: set[int] = set()
        for e in self.events:
            if e.kind == "undone":
                idx = e.detail.get("index")
                if isinstance(idx, int):
                    undone.add(idx)
        return tuple(e for i, e in enumerate(self.events)
                     if e.kind != "undone" and i not in undone)

    @property
    def answers(self) -> Answers | None:
        for e in reversed(self.effective()):
            if e.kind == "assessed":
                return Answers.from_dict(e.detail.get("answers", {}), "saved answers")
        return None

    def states(self) -> dict[str, str]:
        """service id -> started, done, skipped or failed (absent: never touched)."""
        return dict(self._states)

    @cached_property
    def _states(self) -> dict[str, str]:
        out: dict[str, str] = {}
        hosts: dict[str, set[str]] = {}  # service id -> the hosts it runs on, so far
        for e in self.effective():
            sid = e.service_id
            if sid is None:
                continue
            if e.kind in STEP_EVENTS:
                out[sid] = e.kind
            elif e.kind == "deployed":
                hosts.setdefault(sid, set()).add(str(e.detail.get("host", "")))
            elif e.kind == "removed":
                on = hosts.setdefault(sid, set())
                on.discard(str(e.detail.get("host", "")))
                if not on:
                    out.pop(sid, None)  # off its last host: the step is open again
        return out

    def state_of(self, service_id: str) -> str | None:
        return self._states.get(service_id)

    def reason_of(self, service_id: str) -> str | None:
        """The reason given for the latest skip or failure of this service."""
        return self._reasons.get(service_id)

    @cached_property
    def _reasons(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for e in self.effective():
            if e.kind in STEP_EVENTS and e.service_id is not None:
                r = e.detail.get("reason")
                out[e.service_id] = r if isinstance(r, str) else None
        return out

    def last_done(self) -> date | None:
        """The day (UTC) the latest step was finished, for the pace."""
        for e in reversed(self.effective()):
            if e.kind == "done":
                return e.at.date()
        return None

    def deployments(self) -> tuple[Event, ...]:
        return tuple(e for e in self.effective() if e.kind == "deployed")

    def running(self) -> tuple[Event, ...]:
        """The latest deploy of each service on each host, minus those removed since."""
        latest: dict[tuple[str, str], Event] = {}
        for e in self.effective():
            if e.service_id is None or e.kind not in ("deployed", "removed"):
                continue
            key = (e.service_id, str(e.detail.get("host", "")))
            if e.kind == "deployed":
                latest.pop(key, None)
                latest[key] = e
            else:
                latest.pop(key, None)
        return tuple(latest.values())

    def unprotected(self, can_back_up: Collection[str]) -> tuple[Event, ...]:
        """The deploys now running (as `running`) of services roost can back up
        (`can_back_up`) that have no backup set up on that host since they were deployed
        there: what "protect what you moved" offers, oldest first."""
        backed: set[tuple[str, str]] = set()
        for e in self.effective():
            key = (e.service_id or "", str(e.detail.get("host", "")))
            if e.kind == "backup":
                backed.add(key)
            elif e.kind == "removed":
                backed.discard(key)
        return tuple(e for e in self.running() if e.service_id in can_back_up
                     and (e.service_id, str(e.detail.get("host", ""))) not in backed)

    def ports_on(self, host: str) -> dict[str, str]:
        """What roost runs on `host`, by port: {"8008/tcp": "ssb-pub"} (latest deploys)."""
        out: dict[str, str] = {}
        for e in self.running():
            if str(e.detail.get("host", "")) == host and e.service_id is not None:
                for p in e.ports():
                    out[p] = e.service_id
        return out

    def ways_in(self, service_id: str, host: str) -> tuple[Event, ...]:
        """The ways in (`reach` events) now in place for a service on a host, one per way,
        latest first; () when others cannot reach it yet (or it is not deployed there)."""
        on = {(e.service_id, str(e.detail.get("host", ""))) for e in self.running()}
        if (service_id, host) not in on:
            return ()
        kept: dict[str, Event] = {}
        for e in self.effective():
            if e.service_id != service_id or str(e.detail.get("host", "")) != host:
                continue
            way = str(e.detail.get("way", ""))
            if e.kind == "reach":
                kept.pop(way, None)
                kept[way] = e
            elif e.kind == "reach_removed":
                kept.pop(way, None)
            elif e.kind == "removed":
                kept.clear()  # off the host: its ways in went with it
        return tuple(reversed(kept.values()))

    def identities(self) -> tuple[Event, ...]:
        """The identities roost made, minus those removed from the vault since."""
        kept: dict[tuple[str, str], Event] = {}
        for e in self.effective():
            key = (str(e.detail.get("kind", "")), str(e.detail.get("public_id", "")))
            if e.kind == "identity":
                kept[key] = e
            elif e.kind == "identity_removed":
                kept.pop(key, None)
        return tuple(kept.values())

    def with_event(self, event: Event) -> Progress:
        if event.kind not in EVENT_KINDS:
            raise ValueError(event.kind)
        return Progress((*self.events, event))

    def last_undoable(self) -> int | None:
        """Index of the event `undo` would cancel, or None."""
        undone = {e.detail.get("index") for e in self.events if e.kind == "undone"}
        for i in range(len(self.events) - 1, -1, -1):
            e = self.events[i]
            if e.kind in UNDOABLE and i not in undone:
                return i
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"event": [e.to_dict() for e in self.events]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Progress:
        events = data.get("event", [])
        if not isinstance(events, list):
            raise RoostError("the progress file's events are not a list")
        out = cls(tuple(Event.from_dict(d, n) for n, d in enumerate(events)))
        for n, e in enumerate(out.events):
            if e.kind == "assessed":
                try:
                    Answers.from_dict(e.detail.get("answers", {}), "saved answers")
                except RoostError as exc:
                    raise RoostError(f"event {n + 1} in the progress file: {exc.message}") \
                        from None
        return out


def ports_words(ports: tuple[str, ...], lead: str = "") -> str:
    """("80/tcp", "1900/udp") -> "port 80 and UDP port 1900", after `lead`; "" for none."""
    words = [f"port {n}" if proto == "tcp" else f"{proto.upper()} port {n}"
             for n, _, proto in (p.partition("/") for p in ports)]
    if not words:
        return ""
    return lead + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])


class ProgressStore:
    """The progress file: versioned TOML (schema 1), atomic writes, a lock for writers."""

    def __init__(self, path: Path, wait_s: float = 2.0) -> None:
        self.path = path
        self.wait_s = wait_s
        """How long a writer waits for another one's save (milliseconds) before giving up."""
        # Polled often: another writer's gap between saves is brief.
        self._lock = FileLock(path, "your progress", wait_s, poll_s=0.001)
        self._held = 0

    def load(self) -> Progress:
        """The saved progress (empty when there is none).

        A corrupt file is moved aside and CorruptFileError raised; a newer one raises
        NewerFormatError and stays untouched.
        """
        data = read_versioned(self.path, "progress", SCHEMA)
        if data is None:
            return Progress()
        try:
            return Progress.from_dict(data)
        except RoostError as exc:
            from roost.core.errors import CorruptFileError
            from roost.core.versioned import keep_aside

            aside = keep_aside(self.path)
            raise CorruptFileError(
                f"the progress file {self.path} could not be read ({exc.message}); "
                f"it was kept as {aside}",
                hint="roost starts fresh; restore a backup or import an export to get it back",
            ) from None

    def save(self, progress: Progress) -> None:
        """Write atomically; takes the lock unless this process already holds it."""
        with self.locked():
            self._clean_stale_temps()
            write_versioned(self.path, progress.to_dict(), SCHEMA)

    def _clean_stale_temps(self) -> None:
        """Remove temp files a killed writer left (only a lock holder writes, so any is stale)."""
        for tmp in self.path.parent.glob(f".{self.path.name}.tmp-*"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the writers' lock (re-entrant within this store object)."""
        if self._held:
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
            return
        self._lock.wait_s = self.wait_s
        self._lock.acquire()
        self._held = 1
        try:
            yield
        finally:
            self._held = 0
            self._lock.release()

    def update(self, change: Any) -> Progress:
        """Load, apply `change(progress) -> progress`, save: all under the lock."""
        with self.locked():
            new: Progress = change(self.load())
            self.save(new)
            return new
