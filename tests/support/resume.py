"""Interrupting a deploy at a chosen step, as a person pressing Ctrl+C would, to test resuming.

    with pytest.raises(Cut):
        engine.run(recipe, t, journal=journal,
                   on_event=interrupt_at(step_index(recipe, "migrate")))
    resumed = engine.run(recipe, t, journal=journal, resume=True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roost.deploy import engine
from roost.deploy.events import Event, StepStarted
from roost.deploy.journal import Journal
from roost.deploy.steps import SecretValues
from roost.deploy.transport import Transport


class Cut(Exception):
    """Stands for the person pressing Ctrl+C in the middle of a deploy."""


LAST = 0
"""`interrupt_at(LAST)`: as the last step starts (the health check, in a service recipe)."""


def interrupt_at(index: int) -> Callable[[Event], None]:
    """An `on_event` callback that stops the deploy as step `index` (1-based; LAST: the last
    step) starts."""

    def interrupt(e: Event) -> None:
        if isinstance(e, StepStarted) and e.index == (e.total if index == LAST else index):
            raise Cut

    return interrupt


def step_index(recipe: Any, prefix: str) -> int:
    """The 1-based index of the first step of `recipe` whose description starts with
    `prefix`."""
    return next(i for i, s in enumerate(recipe.steps, 1) if s.describe().startswith(prefix))


def cut_then_resume(recipe: Any, t: Transport, journal: Journal, secrets: SecretValues,
                    cut_at: int, timing: str, cache: Path | None = None
                    ) -> tuple[engine.DeployResult, list[Event]]:
    """Deploy until step `cut_at` starts (Ctrl+C there), then deploy again with resume: the
    journal says the first run is unfinished, the resumed run (its time kept as `timing`)
    ends healthy. Returns the resumed result and its events. `cache`: the download folder
    of upstream releases, as the app gives it."""
    from testhost import record_time

    with pytest.raises(Cut):
        engine.run(recipe, t, journal=journal, secrets=secrets, on_event=interrupt_at(cut_at),
                   cache=cache)
    state = journal.load()
    assert state is not None and state.unfinished
    seen: list[Event] = []
    start = time.monotonic()
    resumed = engine.run(recipe, t, journal=journal, secrets=secrets, resume=True,
                         on_event=seen.append, cache=cache)
    record_time(timing, time.monotonic() - start)
    assert resumed.ok and resumed.resumed and resumed.health is not None \
        and resumed.health.ok
    return resumed, seen
