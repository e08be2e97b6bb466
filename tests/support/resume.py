"""Interrupting a deploy at a chosen step, as a person pressing Ctrl+C would, to test resuming.

    with pytest.raises(Cut):
        engine.run(recipe, t, journal=journal,
                   on_event=interrupt_at(step_index(recipe, "migrate")))
    resumed = engine.run(recipe, t, journal=journal, resume=True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost.deploy.events import Event, StepStarted


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
