"""The resume decision: what a deploy does with one step, from what its two records say.

    records = Records.of(prev_journal_state, marker, run_id, resuming)
    action = decide(StepFlags.of(step), records.journal(key), records.host(key))

A deploy can be cut off anywhere (network, Ctrl+C, power loss) and run again to finish,
without redoing finished work. Each applied step is recorded twice: in the controller's
journal (journal.py) and in the host's marker file, written by the same command that applied
the step and only when it succeeded (engine.py). This module reads those records and decides;
it runs nothing, so every combination is tested as a table (tests/test_resume.py):

- both records say the run being continued applied it: skip;
- only the host says so: it finished and only the answer was lost: journal it, skip (checking
  again would re-run a restart or a plain command);
- only the journal says so (the host was reset): check again, apply if needed;
- a plain command (no check) the host records from any run ran once: skip, never rerun;
- a step whose need depends on the other steps (`always_check`, a `Restart`) ignores the
  records of the run being continued: checked in every run;
- a probe (changes nothing, a health check): always run, never recorded;
- anything else: check, and apply when the check says it is not done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from roost.deploy.journal import JournalState

MARKER_HEADER = "roost-run"
_KEY = re.compile(r"^[0-9]{3,}-[0-9a-f]{16}$")
CRASH_GRACE = 1.5
"""Seconds a step command started by a run that died without a word may take to show up in
the host's record."""


class JournalRecord(Enum):
    """What the controller's journal says about a step in the run being continued."""

    ABSENT = "absent"
    APPLIED = "applied"


class HostRecord(Enum):
    """What the host's marker says about a step."""

    ABSENT = "absent"
    EARLIER_RUN = "earlier run"
    """Applied by an earlier, finished or abandoned, run (or by a run roost is not continuing)."""
    THIS_RUN = "this run"
    """Applied by the run being continued."""


class Action(Enum):
    PROBE = "probe"
    """Changes nothing (a health check): run it, record nothing."""
    SKIP = "skip"
    """Both records agree it was applied: skip."""
    SKIP_AND_JOURNAL = "skip and journal"
    """Only the host recorded it (the answer was lost): journal it as applied, skip."""
    SKIP_RAN_ONCE = "skip, ran once"
    """A plain command (no check) that ran in an earlier run: skip."""
    CHECK_THEN_APPLY = "check then apply"
    """Ask the step's check; apply it when it is not done."""


SKIP_REASON = {
    Action.SKIP: "done in the earlier run",
    Action.SKIP_AND_JOURNAL: "done in the earlier run",
    Action.SKIP_RAN_ONCE: "already done",
}
"""The words a skipped step is reported with, for each skipping action."""


class _Flagged(Protocol):
    @property
    def changes_host(self) -> bool: ...
    @property
    def has_check(self) -> bool: ...
    @property
    def always_check(self) -> bool: ...


@dataclass(frozen=True)
class StepFlags:
    """What the decision needs to know of a step (see `Step` in steps.py)."""

    changes_host: bool
    has_check: bool
    always_check: bool

    @classmethod
    def of(cls, step: _Flagged) -> StepFlags:
        return cls(bool(step.changes_host), bool(step.has_check), bool(step.always_check))


def decide(step: StepFlags, journal: JournalRecord, host: HostRecord) -> Action:
    """The action for one step; see the module docstring for the rules."""
    if not step.changes_host:
        return Action.PROBE
    # A restart depends on what the other steps changed, not on an earlier run.
    in_journal = journal is JournalRecord.APPLIED and not step.always_check
    on_host = host is HostRecord.THIS_RUN and not step.always_check
    if in_journal and on_host:
        return Action.SKIP
    if on_host:
        # The host's record never claims a step that did not finish.
        return Action.SKIP_AND_JOURNAL
    if not step.has_check and host is not HostRecord.ABSENT:
        return Action.SKIP_RAN_ONCE
    return Action.CHECK_THEN_APPLY


def continues(resume: bool, prev: JournalState | None) -> bool:
    """Whether this run continues the journal's last run (asked to, and it did not finish)."""
    return bool(resume and prev is not None and prev.unfinished)


def crash_wait(prev: JournalState | None, now: float) -> float:
    """Seconds to wait before reading the host's record: a run that died without a word
    (killed, power cut) moments ago may have just started a step command on the host."""
    if prev is None or prev.status != "running":
        return 0.0
    return max(0.0, min(CRASH_GRACE, prev.updated + CRASH_GRACE - now))


@dataclass(frozen=True)
class Marker:
    """The host's record. Lines before the header are plain-command steps applied in earlier
    runs (kept so a command without a check runs once, not once per deploy); the header
    `roost-run RUN_ID` starts this run's records, one step key per line."""

    run_id: str | None
    carried: frozenset[str]
    keys: frozenset[str]
    started: tuple[tuple[str, str], ...] = ()
    """(key, pid) of step commands this run started and did not record as finished."""

    def has(self, key: str) -> bool:
        return key in self.keys or key in self.carried


def parse_marker(data: bytes | None) -> Marker:
    """Read a marker file; a torn last line (cut off mid-write) is not a record."""
    if not data:
        return Marker(None, frozenset(), frozenset())
    text = data.decode("utf-8", "replace")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    carried: set[str] = set()
    keys: set[str] = set()
    started: dict[str, str] = {}
    run_id: str | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == MARKER_HEADER:
            if run_id is not None:
                carried |= keys
            run_id, keys, started = parts[1], set(), {}
        elif len(parts) == 3 and parts[0] == "start" and parts[2].isdigit():
            started[parts[1]] = parts[2]
        elif len(parts) == 1 and _KEY.match(parts[0]):
            (keys if run_id is not None else carried).add(parts[0])
    pending = tuple((k, pid) for k, pid in started.items() if k not in keys)
    return Marker(run_id, frozenset(carried), frozenset(keys), pending)


@dataclass(frozen=True)
class Records:
    """What the journal and the host's marker say at the start of a run."""

    run_id: str
    resuming: bool
    journal_done: frozenset[str]
    """Steps the journal says the run being continued applied (none on a fresh run)."""
    marker: Marker

    @classmethod
    def of(cls, prev: JournalState | None, marker: Marker, run_id: str,
           resuming: bool) -> Records:
        done = frozenset(prev.done_keys()) if resuming and prev is not None else frozenset()
        return cls(run_id, resuming, done, marker)

    def journal(self, key: str) -> JournalRecord:
        return JournalRecord.APPLIED if key in self.journal_done else JournalRecord.ABSENT

    def host(self, key: str) -> HostRecord:
        if self.resuming and self.marker.run_id == self.run_id and key in self.marker.keys:
            return HostRecord.THIS_RUN
        return HostRecord.EARLIER_RUN if self.marker.has(key) else HostRecord.ABSENT
