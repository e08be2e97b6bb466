"""The stream of events a deploy emits; the CLI prints them and the TUI shows (and speaks)
them as text. Nothing in an event holds a secret value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roost.core.text import count
from roost.deploy.steps import HealthResult


@dataclass(frozen=True)
class StepStarted:
    index: int
    """1-based."""
    total: int
    description: str


@dataclass(frozen=True)
class Output:
    index: int
    line: str


@dataclass(frozen=True)
class StepSkipped:
    index: int
    total: int
    description: str
    reason: str
    """"already done" or "done in the earlier run"."""


@dataclass(frozen=True)
class StepDone:
    index: int
    total: int
    description: str
    changed: bool = True


@dataclass(frozen=True)
class StepFailed:
    index: int
    total: int
    description: str
    message: str
    tail: str
    """The last lines of the step's output."""
    hint: str
    """What to try."""


@dataclass(frozen=True)
class Finished:
    ok: bool
    recipe: str
    applied: int
    skipped: int
    health: HealthResult | None = None
    next_steps: tuple[str, ...] = ()


Event = StepStarted | Output | StepSkipped | StepDone | StepFailed | Finished
EventSink = Callable[[Event], None]


def as_text(e: Event) -> str:
    """One line (or a few) that reads well aloud."""
    if isinstance(e, StepStarted):
        return f"step {e.index} of {e.total}: {e.description}"
    if isinstance(e, Output):
        return f"  {e.line}"
    if isinstance(e, StepSkipped):
        return f"step {e.index} of {e.total}: {e.description}: {e.reason}"
    if isinstance(e, StepDone):
        return f"step {e.index} of {e.total} done"
    if isinstance(e, StepFailed):
        lines = [f"step {e.index} of {e.total} failed: {e.description}: {e.message}"]
        if e.tail:
            lines.append("last lines of its output:")
            lines += [f"  {ln}" for ln in e.tail.splitlines()]
        lines.append(f"what to try: {e.hint}")
        return "\n".join(lines)
    if not e.ok:
        return f"{e.recipe}: stopped"
    out = []
    if e.applied == 0:
        out.append(f"{e.recipe}: already done, nothing changed "
                   f"({count(e.skipped, 'step')} checked)")
    else:
        out.append(f"{e.recipe}: done, {count(e.applied, 'step')} applied, "
                   f"{e.skipped} already done")
    if e.health is not None:
        out.append(("healthy: " if e.health.ok else "not healthy: ") + e.health.detail)
        if e.health.note:
            out.append(f"note: {e.health.note}")
    if e.next_steps:
        out.append("next steps:")
        out += [f"  - {s}" for s in e.next_steps]
    return "\n".join(out)
