"""The resume decision as tables: every combination of what the records say, and the action.

The expected action of each row is written out by hand (not recomputed by the rules under
test); each table's keys are checked to be every combination of its inputs, so a new input
value cannot go untested. The engine's behaviour end to end, over real SSH, is in
test_engine_real.py, test_reliability_deploy.py and the container tests that cut a deploy.
"""

from __future__ import annotations

from itertools import product

import pytest

from roost.deploy.journal import JournalEntry, JournalState
from roost.deploy.resume import (
    CRASH_GRACE,
    SKIP_REASON,
    Action,
    HostRecord,
    JournalRecord,
    Marker,
    Records,
    StepFlags,
    continues,
    crash_wait,
    decide,
)

KEY = "007-0123456789abcdef"

# Inputs, short names for the table.
PROBE_, CHECKED, RESTART, PLAIN, PLAIN_ALWAYS = (
    StepFlags(changes_host=False, has_check=False, always_check=False),
    StepFlags(changes_host=True, has_check=True, always_check=False),
    StepFlags(changes_host=True, has_check=True, always_check=True),
    StepFlags(changes_host=True, has_check=False, always_check=False),
    StepFlags(changes_host=True, has_check=False, always_check=True),
)
J0, J1 = JournalRecord.ABSENT, JournalRecord.APPLIED
H0, HE, HT = HostRecord.ABSENT, HostRecord.EARLIER_RUN, HostRecord.THIS_RUN
# Actions.
PROBE = Action.PROBE
SKIP = Action.SKIP
ADOPT = Action.SKIP_AND_JOURNAL
ONCE = Action.SKIP_RAN_ONCE
CHECK = Action.CHECK_THEN_APPLY

ALL_FLAGS = [StepFlags(c, h, a) for c, h, a in product([False, True], repeat=3)]

DECISIONS: dict[tuple[StepFlags, JournalRecord, HostRecord], Action] = {
    # A probe (health check) changes nothing: always run, whatever the records say; this
    # holds for every flag it could carry.
    **{(f, j, h): PROBE for f in ALL_FLAGS if not f.changes_host
       for j in JournalRecord for h in HostRecord},
    # A step with a check.
    (CHECKED, J0, H0): CHECK,   # fresh
    (CHECKED, J0, HE): CHECK,   # an earlier run applied it: its check says if it still holds
    (CHECKED, J0, HT): ADOPT,   # finished, the answer was lost: journal it, do not redo
    (CHECKED, J1, H0): CHECK,   # the host was reset: check again
    (CHECKED, J1, HE): CHECK,   # the host's record is of another run: check again
    (CHECKED, J1, HT): SKIP,    # both agree
    # A restart (its need depends on the other steps): checked every run.
    (RESTART, J0, H0): CHECK,
    (RESTART, J0, HE): CHECK,
    (RESTART, J0, HT): CHECK,
    (RESTART, J1, H0): CHECK,
    (RESTART, J1, HE): CHECK,
    (RESTART, J1, HT): CHECK,
    # A plain command (no check): runs once, ever.
    (PLAIN, J0, H0): CHECK,     # never ran (its check says "not done", so it runs)
    (PLAIN, J0, HE): ONCE,      # ran in an earlier run
    (PLAIN, J0, HT): ADOPT,
    (PLAIN, J1, H0): CHECK,     # the host was reset: it runs again
    (PLAIN, J1, HE): ONCE,
    (PLAIN, J1, HT): SKIP,
    # No check and checked every run (no such step today): the host's record says it ran.
    (PLAIN_ALWAYS, J0, H0): CHECK,
    (PLAIN_ALWAYS, J0, HE): ONCE,
    (PLAIN_ALWAYS, J0, HT): ONCE,
    (PLAIN_ALWAYS, J1, H0): CHECK,
    (PLAIN_ALWAYS, J1, HE): ONCE,
    (PLAIN_ALWAYS, J1, HT): ONCE,
}


def test_the_decision_table_covers_every_combination() -> None:
    assert set(DECISIONS) == set(product(ALL_FLAGS, JournalRecord, HostRecord))
    assert len(DECISIONS) == 8 * 2 * 3


@pytest.mark.parametrize(("step", "journal", "host"), list(DECISIONS),
                         ids=lambda v: getattr(v, "value", None) or repr(v))
def test_decide(step: StepFlags, journal: JournalRecord, host: HostRecord) -> None:
    assert decide(step, journal, host) is DECISIONS[step, journal, host]


def test_every_skip_is_reported_with_its_words() -> None:
    assert SKIP_REASON == {SKIP: "done in the earlier run", ADOPT: "done in the earlier run",
                           ONCE: "already done"}
    assert set(Action) - set(SKIP_REASON) == {PROBE, CHECK}


class _Flags:
    changes_host = True
    always_check = True

    @property
    def has_check(self) -> bool:  # a property on some steps (Run, CreateUser)
        return False


def test_step_flags_read_class_attributes_and_properties() -> None:
    assert StepFlags.of(_Flags()) == PLAIN_ALWAYS


# -- what the records say, from the journal and the host's marker --------------------------

def _state(status: str, entries: list[JournalEntry] | None = None) -> JournalState:
    """The journal of run r2, last written at 100.0."""
    return JournalState("prosody", "pi", "r2", status, "fp", 90.0, 100.0, 3, entries or [])


# Where the key is in the host's marker: nowhere, carried from an earlier run, or in the
# records after its header.
IN_NONE, IN_CARRIED, IN_KEYS = "none", "carried", "keys"
HOST_RECORDS: dict[tuple[bool, bool, str], HostRecord] = {
    # (resuming, the marker's header is the run being continued, where the key is)
    (False, False, IN_NONE): H0,
    (False, False, IN_CARRIED): HE,
    (False, False, IN_KEYS): HE,
    (False, True, IN_NONE): H0,
    (False, True, IN_CARRIED): HE,
    (False, True, IN_KEYS): HE,     # a fresh run continues nothing
    (True, False, IN_NONE): H0,
    (True, False, IN_CARRIED): HE,
    (True, False, IN_KEYS): HE,     # the host's record is of another run
    (True, True, IN_NONE): H0,
    (True, True, IN_CARRIED): HE,
    (True, True, IN_KEYS): HT,
}


def test_the_host_record_table_covers_every_combination() -> None:
    assert set(HOST_RECORDS) == set(product([False, True], [False, True],
                                            [IN_NONE, IN_CARRIED, IN_KEYS]))


@pytest.mark.parametrize(("resuming", "same_run", "where"), list(HOST_RECORDS))
def test_host_record(resuming: bool, same_run: bool, where: str) -> None:
    marker = Marker("r2" if same_run else "r1",
                    frozenset([KEY] if where == IN_CARRIED else []),
                    frozenset([KEY] if where == IN_KEYS else []))
    records = Records.of(_state("stopped"), marker, "r2", resuming)
    assert records.host(KEY) is HOST_RECORDS[resuming, same_run, where]


# What the journal holds for the key: nothing, applied in its current run, found already done
# (checked, not applied) in its current run, or applied in an older run.
E_NONE, E_APPLIED, E_CHECKED, E_OLDER = "none", "applied", "checked", "older run"
JOURNAL_RECORDS: dict[tuple[bool, str], JournalRecord] = {
    (False, E_NONE): J0,
    (False, E_APPLIED): J0,     # a fresh run continues nothing
    (False, E_CHECKED): J0,
    (False, E_OLDER): J0,
    (True, E_NONE): J0,
    (True, E_APPLIED): J1,
    (True, E_CHECKED): J0,
    (True, E_OLDER): J0,
}


def test_the_journal_record_table_covers_every_combination() -> None:
    assert set(JOURNAL_RECORDS) == set(product([False, True],
                                               [E_NONE, E_APPLIED, E_CHECKED, E_OLDER]))


@pytest.mark.parametrize(("resuming", "entry"), list(JOURNAL_RECORDS))
def test_journal_record(resuming: bool, entry: str) -> None:
    entries = {E_NONE: [], E_APPLIED: [JournalEntry(KEY, "", 95.0, "r2")],
               E_CHECKED: [JournalEntry(KEY, "", 95.0, "r2", applied=False)],
               E_OLDER: [JournalEntry(KEY, "", 95.0, "r1")]}[entry]
    prev = _state("stopped", entries)
    records = Records.of(prev, Marker("r2", frozenset(), frozenset()), "r2", resuming)
    assert records.journal(KEY) is JOURNAL_RECORDS[resuming, entry]


def test_a_run_without_a_journal_has_no_journal_records() -> None:
    records = Records.of(None, Marker(None, frozenset(), frozenset()), "r3", False)
    assert records.journal(KEY) is J0 and records.host(KEY) is H0


# Whether a run continues the journal's last run: asked to, and that run did not finish.
STATUSES = [None, "running", "finished", "failed", "stopped", "unhealthy"]
CONTINUES: dict[tuple[bool, str | None], bool] = {
    (False, None): False,
    (False, "running"): False,
    (False, "finished"): False,
    (False, "failed"): False,
    (False, "stopped"): False,
    (False, "unhealthy"): False,
    (True, None): False,        # nothing to continue
    (True, "running"): True,    # died without a word
    (True, "finished"): False,  # nothing left to do: a fresh run
    (True, "failed"): True,
    (True, "stopped"): True,
    (True, "unhealthy"): True,
}


def test_the_continues_table_covers_every_combination() -> None:
    assert set(CONTINUES) == set(product([False, True], STATUSES))


@pytest.mark.parametrize(("resume", "status"), list(CONTINUES))
def test_continues(resume: bool, status: str | None) -> None:
    prev = None if status is None else _state(status)
    assert continues(resume, prev) is CONTINUES[resume, status]


# The grace given to a run that died moments ago (its journal still says "running"), from
# the time its journal was last written (100.0) and now; clocks are passed in, not read.
CRASH_WAITS: dict[tuple[str | None, float], float] = {
    (None, 100.0): 0.0,
    ("running", 100.0): 1.5,    # died just now: the whole grace
    ("running", 100.5): 1.0,
    ("running", 101.5): 0.0,    # the grace is over
    ("running", 200.0): 0.0,
    ("running", 50.0): 1.5,     # the clock went back: never more than the grace
    ("stopped", 100.0): 0.0,    # it said it stopped: nothing is left running
    ("failed", 100.0): 0.0,
    ("finished", 100.0): 0.0,
    ("unhealthy", 100.0): 0.0,
}


@pytest.mark.parametrize(("status", "now"), list(CRASH_WAITS))
def test_crash_wait(status: str | None, now: float) -> None:
    prev = None if status is None else _state(status)
    assert CRASH_GRACE == 1.5
    assert crash_wait(prev, now) == pytest.approx(CRASH_WAITS[status, now])
