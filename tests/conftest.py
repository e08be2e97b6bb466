"""Shared test setup for the whole suite.

The clock: every test runs at one fixed time, set here, so no test reads the wall clock and
no assertion can hold on one day and fail on the next. roost's code takes "now" from
`roost.core.clock`; `ROOST_NOW` fixes it for this process and every roost it starts. The
plan and progress tests also run a second time under libfaketime two years ahead
(scripts/test.sh), which catches any code that reads the wall clock behind the clock's back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from support.clock import TEST_NOW

from roost.core.clock import NOW_ENV


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[datetime]:
    monkeypatch.setenv(NOW_ENV, TEST_NOW.isoformat())
    yield TEST_NOW
