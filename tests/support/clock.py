"""The one time the whole suite runs at.

Tests compute every date from `TEST_NOW` (a Wednesday) and never name another; roost reads it
through `ROOST_NOW`, which tests/conftest.py sets for every test.
"""

from __future__ import annotations

from datetime import UTC, datetime

from roost.core.clock import fixed

TEST_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TEST_TODAY = TEST_NOW.date()
TEST_CLOCK = fixed(TEST_NOW)
