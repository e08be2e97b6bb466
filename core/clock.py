"""The one clock roost reads "now" from: UTC, whole seconds, injectable.

Everything that stamps or compares times for the person (progress events, the plan's pace,
identities' creation time, names of kept-aside files) asks a `Clock` rather than the wall
clock, so a test (or a reproducible screenshot) can fix the time:

- in code, pass `fixed(datetime(...))` where a `clock` is taken (Workspace, the full-screen
  app, plain mode);
- for a whole process, set `ROOST_NOW` to an ISO 8601 time (`2026-11-25T12:00:00Z`): every
  clock made by `from_environment()` then answers that time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from roost.core.errors import RoostError

Clock = Callable[[], datetime]
"""A function answering the current time: timezone-aware, UTC, no microseconds."""

NOW_ENV = "ROOST_NOW"


def system() -> datetime:
    """The machine's clock, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def fixed(at: datetime) -> Clock:
    """A clock that always answers `at` (a naive time is taken as UTC)."""
    when = _utc(at)
    return lambda: when


def parse(text: str, what: str = NOW_ENV) -> datetime:
    """An ISO 8601 time (a trailing Z or an offset; none means UTC), or a one-line error."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RoostError(f"{what} is not a time roost can read: {text[:40]!r}",
                         hint="write it as 2026-11-25T12:00:00Z, or unset it") from None
    return _utc(at)


def from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """`fixed(ROOST_NOW)` when it is set, else the system clock."""
    env = os.environ if environ is None else environ
    value = env.get(NOW_ENV, "")
    if not value.strip():
        return system
    return fixed(parse(value))


def stamp(clock: Clock | None = None, sep: str = "-") -> str:
    """A compact UTC time for file names and run ids: 20261125-120000 (`sep` between the
    date and the time)."""
    return (clock or from_environment())().strftime(f"%Y%m%d{sep}%H%M%S")


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(microsecond=0)
