"""The last `roost check`, as kept in the data folder (`last-check.json`): what the plan and
the status view show without connecting to any host. Light on purpose (no SSH, no recipes):
the plan screen reads it on every draw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from roost.core import clock as clocks
from roost.core.errors import RoostError
from roost.core.text import printable

LAST_CHECK = "last-check.json"
WORKING, NOT_WORKING, UNKNOWN = "working", "not working", "could not check"


@dataclass(frozen=True)
class LastState:
    """A service's state at the last check, in words, and when."""

    at: datetime
    state: str
    """working, "working, needs attention", not working, or could not check."""
    words: str
    """Its whole line from that check."""

    def spoken(self, host: str) -> str:
        return f"Last check on {host}, {self.at.strftime('%Y-%m-%d %H:%M')} UTC: {self.state}."


@dataclass(frozen=True)
class Entry:
    """One line of the report, for a list: what (service on host, or a host), its state in
    a word or two, and the whole line."""

    what: str
    state: str
    line: str


@dataclass(frozen=True)
class LastReport:
    at: datetime
    entries: tuple[Entry, ...]
    exit_code: int

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(e.line for e in self.entries)


def last_report(home: Path) -> LastReport | None:
    """The last check's lines, or None when there was none (or it cannot be read: the next
    check writes it again)."""
    try:
        data = json.loads((home / LAST_CHECK).read_text("utf-8"))
        at = clocks.parse(str(data["at"]), "the last check's time")
        out: list[Entry] = []
        for h in data["hosts"]:
            host = printable(str(h["host"]), 60)
            if h.get("reached"):
                out += [Entry(f"{printable(str(s['service_id']), 60)} on {host}",
                              _state(s), printable(str(s["line"]), 600))
                        for s in h["services"]]
                out += [Entry(f"the watcher for {printable(str(w['service_id']), 60)} on "
                              f"{printable(str(w['host']), 60)}",
                              "needs attention" if w.get("attention") else "watching",
                              printable(str(w["line"]), 600))
                        for w in h.get("watchers", [])]
            out.append(Entry(host, "reached" if h.get("reached") else "could not be reached",
                             printable(str(h["line"]), 600)))
        summary = printable(str(data["summary"]), 100)
        out.append(Entry(summary, "", summary))
        return LastReport(at, tuple(out), int(data["exit_code"]))
    except (OSError, ValueError, KeyError, TypeError, RoostError):
        return None


def last_states(home: Path) -> dict[tuple[str, str], LastState]:
    """(service id, host) -> its state at the last check; {} when never checked."""
    try:
        data = json.loads((home / LAST_CHECK).read_text("utf-8"))
        at = clocks.parse(str(data["at"]), "the last check's time")
        out: dict[tuple[str, str], LastState] = {}
        for h in data["hosts"]:
            for s in h["services"]:
                out[(str(s["service_id"]), str(h["host"]))] = LastState(
                    at, _state(s), printable(str(s.get("line", "")), 600))
        return out
    except (OSError, ValueError, KeyError, TypeError, RoostError):
        return {}


def _state(s: dict[str, object]) -> str:
    state = str(s["state"])
    if s.get("attention") and state == WORKING:
        state = "working, needs attention"
    return printable(state, 60)
