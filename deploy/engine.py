"""Run a recipe on a host: check each step, apply what is not done, journal what finished.

    result = run(recipe, transport, journal=Journal.for_host("pi", recipe.id),
                 secrets={"xmpp/alice@example.org#password": "..."}, on_event=print_event)

Resumability: every applied step is recorded twice, in the controller's journal and in a
marker file on the host (`<state_dir>/<recipe>.done-steps`, one line per step key, appended
by the same command that applies the step, and only when it succeeded). A resumed run skips a
step when both records agree; when only one has it, the step is re-checked with `check()`,
and a step that cannot be checked (a plain command) trusts the host's record, which is
written together with the step itself. Files are written atomically (temp + rename), so a
cut-off deploy never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import secrets as _random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.deploy.events import (
    Event,
    EventSink,
    Finished,
    Output,
    StepDone,
    StepFailed,
    StepSkipped,
    StepStarted,
)
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe
from roost.deploy.steps import HealthResult, SecretValues, StepContext, StepError, script
from roost.deploy.transport import Transport

HOST_STATE_DIR = "/var/lib/roost"

MARK_APPEND = (
    'trap "" HUP; m=$1; l=$2; shift 2; "$@"; rc=$?; '
    'if [ "$rc" -eq 0 ]; then printf "%s\\n" "$l" >> "$m" || exit 97; fi; exit "$rc"'
)
"""Runs a step's command, then appends its key to the host marker only if it succeeded.
Hang-ups are ignored, so a dropped connection cannot split the command from its record."""
MARK_ONLY = 'printf "%s\\n" "$2" >> "$1"'
MARKER_HEADER = "roost-run"


class DeployFailed(RoostError):
    """A step failed or the host was lost; the deploy can be resumed."""

    def __init__(self, message: str, *, hint: str | None, event: StepFailed | None) -> None:
        super().__init__(message, hint=hint)
        self.event = event


@dataclass(frozen=True)
class DeployResult:
    ok: bool
    run_id: str
    applied: int
    skipped: int
    health: HealthResult | None
    resumed: bool


def marker_path(recipe_id: str, state_dir: str = HOST_STATE_DIR) -> str:
    return f"{state_dir.rstrip('/')}/{recipe_id}.done-steps"


def parse_marker(data: bytes | None, run_id: str) -> set[str]:
    """The step keys the host marker records for `run_id` (torn or foreign lines ignored)."""
    if not data:
        return set()
    text = data.decode("utf-8", "replace")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # a torn last line is not a record
    lines = text.splitlines()
    if not lines or lines[0].split() != [MARKER_HEADER, run_id]:
        return set()
    return {ln.strip() for ln in lines[1:] if ln.strip()}


def read_marker(t: Transport, path: str, run_id: str) -> set[str]:
    return parse_marker(t.get_file(path), run_id)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + _random.token_hex(4)


def run(
    recipe: Recipe,
    transport: Transport,
    *,
    journal: Journal | None = None,
    secrets: SecretValues | None = None,
    on_event: EventSink | None = None,
    resume: bool = False,
    state_dir: str = HOST_STATE_DIR,
) -> DeployResult:
    """Run `recipe` on `transport`'s host. Emits events to `on_event`; returns the result, or
    raises DeployFailed (after a StepFailed event) when a step fails or the host is lost.
    With `resume=True` and an unfinished journal, the earlier run continues."""
    if journal is None:
        return _run(recipe, transport, None, secrets or {}, on_event, resume, state_dir)
    with journal.locked():
        return _run(recipe, transport, journal, secrets or {}, on_event, resume, state_dir)


def _run(
    recipe: Recipe,
    t: Transport,
    journal: Journal | None,
    secret_values: SecretValues,
    on_event: EventSink | None,
    resume: bool,
    state_dir: str,
) -> DeployResult:
    def emit(e: Event) -> None:
        if on_event is not None:
            on_event(e)

    steps = recipe.steps
    total = len(steps) + (1 if recipe.health is not None else 0)
    keys = recipe.keys()
    mpath = marker_path(recipe.id, state_dir)

    prev = journal.load() if journal is not None else None
    resuming = bool(resume and prev is not None and prev.unfinished)
    if resuming:
        assert prev is not None
        run_id = prev.run_id
        j_done = prev.done_keys()
        m_done = read_marker(t, mpath, run_id)
    else:
        run_id = new_run_id()
        j_done, m_done = set(), set()
        t.put_file(mpath, f"{MARKER_HEADER} {run_id}\n".encode(), mode=0o644)
    if journal is not None:
        journal.begin(run_id, recipe.fingerprint(), total, resume=resuming)

    current = {"index": 0}
    ctx = StepContext(
        transport=t, sudo=recipe.sudo, secrets=secret_values,
        on_output=lambda line: emit(Output(current["index"], line)),
    )
    # Files written in the interrupted run count as changed in this one (for Restart).
    for key, step in zip(keys, steps, strict=True):
        if key in j_done or key in m_done:
            ctx.changed_paths.update(step.touches())

    applied = skipped = 0

    def record(key: str, description: str) -> None:
        if journal is not None:
            journal.record(key, description)

    def fail(n: int, description: str, exc: RoostError) -> DeployFailed:
        lost = not isinstance(exc, StepError)
        tail = exc.tail if isinstance(exc, StepError) else ctx.redact("\n".join(
            ctx.tail_lines[-15:]))
        resume_hint = "finished steps are not redone: run the same deploy again to continue"
        hint = (f"{exc.hint or 'check that the host is on and reachable'}; {resume_hint}"
                if lost else f"{exc.hint or 'read the output above'}; {resume_hint}")
        message = ctx.redact(exc.message)
        ev = StepFailed(n, total, description, message, tail, hint)
        emit(ev)
        if journal is not None:
            with contextlib.suppress(RoostError):
                journal.finish("stopped" if lost else "failed")
        return DeployFailed(f"step {n} of {total} ({description}) failed: {message}",
                            hint=hint, event=ev)

    for i, step in enumerate(steps):
        n = i + 1
        key = keys[i]
        description = step.describe()
        current["index"] = n
        if hasattr(t, "current_step"):
            t.current_step = f"{n} of {total}, {description}"  # named if the link drops
        ctx.tail_lines = []
        ctx.final_marked = False
        ctx.wrap_final = None
        try:
            if not step.changes_host:
                emit(StepStarted(n, total, description))
                step.apply(t, ctx)
                emit(StepDone(n, total, description, changed=False))
                continue
            in_j, in_m = key in j_done, key in m_done
            if in_j and in_m:
                skipped += 1
                emit(StepSkipped(n, total, description, "done in the earlier run"))
                continue
            if in_m and not step.has_check:
                # Applied on the host (its marker is written by the same command) but the
                # journal missed it: the connection dropped before the answer came back.
                record(key, description)
                skipped += 1
                emit(StepSkipped(n, total, description,
                                 "done in the earlier run (the host's record says so)"))
                continue
            if step.check(t, ctx):
                skipped += 1
                emit(StepSkipped(n, total, description, "already done"))
                continue
            emit(StepStarted(n, total, description))
            line = key
            ctx.wrap_final = lambda argv, _l=line: script(MARK_APPEND, mpath, _l, *argv)
            step.apply(t, ctx)
            if not ctx.final_marked:
                res = t.run(script(MARK_ONLY, mpath, line), sudo=recipe.sudo)
                if not res.ok:
                    raise StepError("could not record the step on the host",
                                    hint=f"check that {state_dir} on the host is writable",
                                    tail=res.tail())
            ctx.changed_paths.update(step.touches())
            record(key, description)
            applied += 1
            emit(StepDone(n, total, description))
        except RoostError as exc:
            raise fail(n, description, exc) from None
        except KeyboardInterrupt:
            if journal is not None:
                with contextlib.suppress(RoostError):
                    journal.finish("stopped")
            raise

    health: HealthResult | None = None
    if recipe.health is not None:
        n = total
        current["index"] = n
        ctx.tail_lines = []
        emit(StepStarted(n, n, recipe.health.describe()))
        try:
            health = recipe.health.wait(t, ctx)
        except RoostError as exc:
            raise fail(n, recipe.health.describe(), exc) from None
        if not health.ok:
            ev = StepFailed(n, n, recipe.health.describe(), health.detail, "",
                            recipe.health.hint())
            emit(ev)
            if journal is not None:
                journal.finish("unhealthy")
            emit(Finished(False, recipe.id, applied, skipped, health, ()))
            raise DeployFailed(f"{recipe.title} is installed but not healthy: {health.detail}",
                               hint=recipe.health.hint(), event=ev)
        emit(StepDone(n, n, recipe.health.describe(), changed=False))
    if journal is not None:
        journal.finish("finished")
    emit(Finished(True, recipe.id, applied, skipped, health, recipe.next_steps))
    return DeployResult(True, run_id, applied, skipped, health, resuming)


def undeploy(
    recipe: Recipe,
    transport: Transport,
    *,
    purge_data: bool = False,
    journal: Journal | None = None,
    secrets: SecretValues | None = None,
    on_event: EventSink | None = None,
    state_dir: str = HOST_STATE_DIR,
) -> DeployResult:
    """Run the recipe's uninstall steps (and purge steps), then forget its deploy records."""
    removal = recipe.removal(purge_data)
    rjournal = (Journal(journal.path.with_name(f"{removal.id}.toml"), removal.id, journal.host)
                if journal is not None else None)
    result = run(removal, transport, journal=rjournal, secrets=secrets, on_event=on_event,
                 resume=True, state_dir=state_dir)
    transport.run(["rm", "-f", "--", marker_path(recipe.id, state_dir),
                   marker_path(removal.id, state_dir)], sudo=recipe.sudo)
    if journal is not None:
        journal.forget()
    if rjournal is not None:
        rjournal.forget()
    return result


def resolve_secrets(values: Mapping[str, str]) -> SecretValues:
    """A mapping keyed by `Secret.ref` ("name#field")."""
    return dict(values)
