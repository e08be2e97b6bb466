"""Shared test setup for the whole suite.

The clock: every test runs at one fixed time, set here, so no test reads the wall clock and
no assertion can hold on one day and fail on the next. roost's code takes "now" from
`roost.core.clock`; `ROOST_NOW` fixes it for this process and every roost it starts. The
plan and progress tests also run a second time under libfaketime two years ahead
(scripts/test.sh), which catches any code that reads the wall clock behind the clock's back.

The data folder: `home` is a fresh roost data folder for one test (`ROOST_HOME` points at it,
not created yet: roost makes it when it first writes). A module that needs it to exist already,
or more set up around it, overrides `home` by asking for this one.

Helpers that test modules import (free ports, stand-in releases, interrupting a deploy, the
fake transport, identities, stand-in programs) live in tests/support/.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest
from support.clock import TEST_NOW

from roost.core.clock import NOW_ENV


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[datetime]:
    monkeypatch.setenv(NOW_ENV, TEST_NOW.isoformat())
    yield TEST_NOW


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh roost data folder for this test: `ROOST_HOME`, not created yet."""
    h = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(h))
    return h


@pytest.fixture
def host_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where roost keeps its step records on a host (`ROOST_HOST_STATE_DIR`), for deploys to
    this machine or a test sshd: a folder of this test, not /var/lib."""
    state = tmp_path / "state"
    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(state))
    return state


DURATIONS = Path(__file__).parent / "durations.json"
"""Seconds each long test took in a whole run (scripts/durations.py writes it from pytest's
--durations=0 report); only the order the workers take the tests in depends on it."""

# The longest an a11y test may wait for the deploy tests already running on other workers.
WAIT_FOR_DEPLOYS = 1200.0


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """How scripts/test.sh spreads the suite over pytest-xdist workers (`--dist loadgroup`).

    A module's tests stay together on one worker (in their order, sharing module-scoped
    set-up), except the deploy tests on a booted test host (`container`): each of those gets a
    freshly reset host anyway, so they are spread one by one, which balances the long ones.
    Each worker has its own hosts (tests/testhost.py: a numbered slot each, booted on first
    use in a couple of seconds). The terminal and screen-reader tests (a11y in the file name)
    read how the app's output is split into writes, which is timing-bound: they share one
    worker, one after the other, and never run beside a deploy test (`_timing_bound_alone`).
    Without xdist the marks change nothing.

    The order the workers take the work in (scripts/test.sh passes --no-loadscope-reorder, so
    this order is kept): the deploy and slow tests first, longest first (the times measured in
    tests/durations.json), so no long test starts near the end; then the a11y batch, which
    waits only for the deploy tests still running while the other workers go on with the fast
    tests, the last in the order."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if "a11y" in module:
            # Its time limit counts the wait for the deploy tests running beside it to end.
            own = item.get_closest_marker("timeout")
            limit = own.args[0] if own and own.args else config.getini("timeout")
            item.add_marker(pytest.mark.timeout(float(limit or 600) + WAIT_FOR_DEPLOYS))
        if item.get_closest_marker("xdist_group"):
            continue
        if "a11y" in module:  # its deploy tests too: they also read the app's writes
            item.add_marker(pytest.mark.xdist_group("a11y"))
        elif not item.get_closest_marker("container"):
            item.add_marker(pytest.mark.xdist_group(module))
    items[:] = _in_working_order(items)


def _in_working_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items with each xdist scope (a group, or a test alone) kept together and in its
    order; the scopes ordered as pytest_collection_modifyitems says."""
    measured: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    scopes: dict[str, list[pytest.Item]] = {}
    for item in items:
        group = item.get_closest_marker("xdist_group")
        name = str(group.args[0]) if group and group.args else item.nodeid
        scopes.setdefault(name, []).append(item)

    def guess(item: pytest.Item) -> float:
        if item.nodeid in measured:
            return measured[item.nodeid]
        # Not measured: under the 5 s of scripts/durations.py, or new since.
        if item.get_closest_marker("container"):
            return 60.0
        return 20.0 if item.get_closest_marker("slow") else 0.5

    def key(name: str) -> tuple[int, float]:
        members = scopes[name]
        kind = (1 if name == "a11y" else
                0 if any(i.get_closest_marker("container") or i.get_closest_marker("slow")
                         for i in members) else 2)
        return kind, -sum(guess(i) for i in members)

    return [item for name in sorted(scopes, key=key) for item in scopes[name]]


_a11y_batch: IO[str] | None = None
"""On the worker running the a11y tests: the run's timing lock, held exclusively from its
first a11y test to its last (`pytest_runtest_teardown`)."""


def _timing_lock(base: Path, *, exclusive: bool) -> IO[str]:
    """The run's timing lock, taken fairly: everyone queues through a gate (an exclusive lock
    held only while waiting), so an a11y batch waiting for the running deploy tests to end
    keeps new ones from starting. With the bare lock, deploy tests on 3 other workers kept it
    shared one after another and an a11y test starved past its 600 s timeout (a CI run)."""
    fh = open(base / "timing-bound.lock", "a")  # noqa: SIM115 (held past this function)
    with open(base / "timing-bound.gate", "a") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
    return fh


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The a11y batch ends with the last a11y test queued on this worker: holding the lock
    while the worker waits for more work would block an a11y deploy test on another worker,
    and with it the whole run."""
    global _a11y_batch
    if _a11y_batch is not None and (
            nextitem is None or "a11y" not in nextitem.nodeid.split("::", 1)[0]):
        _a11y_batch.close()
        _a11y_batch = None


@pytest.fixture(autouse=True)
def _timing_bound_alone(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist: the a11y tests run as one batch while no deploy test runs on
    another worker, and deploy tests wait while it runs (one lock for the run: shared by
    deploy tests, exclusive for the a11y batch). On 2 cores a deploy beside them splits the
    app's writes differently from a person's terminal and fails the a11y checks that read
    them. One batch, not one test at a time: each exclusive turn waits for every running
    deploy test to end, so taking it once per a11y test cost minutes of idle workers."""
    global _a11y_batch
    module = request.node.nodeid.split("::", 1)[0]
    a11y = "a11y" in module
    deploy = request.node.get_closest_marker("container") is not None
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    base = tmp_path_factory.getbasetemp().parent
    if a11y:
        if _a11y_batch is None:
            _a11y_batch = _timing_lock(base, exclusive=True)
        yield
    elif deploy:
        with _timing_lock(base, exclusive=False):
            yield
    else:
        yield
