"""Run a recipe on a host: check each step, apply what is not done, journal what finished.

    result = run(recipe, transport, journal=Journal.for_host("pi", recipe.id, home),
                 secrets={"xmpp/alice@example.org#password": "..."}, on_event=print_event)

Resumability: every applied step is recorded twice, in the controller's journal and in a
marker file on the host (`<state_dir>/<recipe>.done-steps`, one line per step key, appended
by the same command that applies the step, and only when it succeeded). A resumed run skips a
step when both records agree. When only the host's record has it, the step finished and only
the answer was lost, so it is skipped too (re-checking would re-run a restart or a plain
command). When only the journal has it (the host was reset, its record lost), the step is
re-checked with `check()` and applied again if needed. Files are written atomically (temp +
rename), so a cut-off deploy never leaves a half-written file. That decision, for every step,
is `resume.decide` (a pure function, tested as a table); `_run` is the loop that asks it.

Restarts are the exception: whether a `Restart` is needed depends on the other steps, so it is
checked in every run, never skipped because an earlier run applied it. Its check compares the
watched paths' state with what the host's restart record (`<state_dir>/<recipe>.restarted`)
says they were at the last successful restart, written by the restart's own command: a
changed option restarts the service on a resumed run, on a fresh run after a cut-off one
(`--restart`), and never on a run where nothing changed.
"""

from __future__ import annotations

import contextlib
import secrets as _random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.core import clock as clocks
from roost.core.errors import RoostError
from roost.core.text import printable
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
from roost.deploy.resume import (
    MARKER_HEADER,
    SKIP_REASON,
    Action,
    Marker,
    Records,
    StepFlags,
    continues,
    crash_wait,
    decide,
    parse_marker,
)
from roost.deploy.steps import HealthResult, SecretValues, Step, StepContext, StepError, script
from roost.deploy.transport import Transport

HOST_STATE_DIR = "/var/lib/roost"

MARK_APPEND = (
    'trap "" HUP; m=$1; l=$2; shift 2; printf "start %s %s\\n" "$l" "$$" >> "$m"; "$@"; rc=$?; '
    'if [ "$rc" -eq 0 ]; then printf "%s\\n" "$l" >> "$m" || exit 97; fi; exit "$rc"'
)
"""Runs a step's command, then appends its key to the host marker only if it succeeded.
Hang-ups are ignored, so a dropped connection cannot split the command from its record."""
MARK_EVAL = (
    'trap "" HUP; m=$1; l=$2; s=$3; shift 3; printf "start %s %s\\n" "$l" "$$" >> "$m"; '
    '(eval "$s"); rc=$?; '
    'if [ "$rc" -eq 0 ]; then printf "%s\\n" "$l" >> "$m" || exit 97; fi; exit "$rc"'
)
"""The same for a step whose command is itself `sh -c SCRIPT sh ARG...`: the script runs in a
subshell of the wrapper (a fork, no second shell to start), with the same arguments."""
MARK_TRAP = (
    'trap "" HUP; __roost_m=$1; __roost_l=$2; __roost_s=$3; shift 3; '
    'printf "start %s %s\\n" "$__roost_l" "$$" >> "$__roost_m"; '
    'trap \'__roost_rc=$?; trap - EXIT; if [ "$__roost_rc" -eq 0 ]; then '
    'printf "%s\\n" "$__roost_l" >> "$__roost_m" || exit 97; fi; exit "$__roost_rc"\' EXIT; '
    'eval "$__roost_s"'
)
"""The cheapest form, for scripts that neither `exec` nor set traps: the script runs in the
wrapper shell itself, and the exit trap records it (also when it calls `exit 0`)."""
MARK_ONLY = 'printf "%s\\n" "$2" >> "$1"'
READ_MARKER = '[ -f "$1" ] || exit 3; cat -- "$1"'
WRITE_MARKER = (
    'm=$1; umask 022; mkdir -p -- "${m%/*}" && cat > "$m.roost-tmp" && mv -f -- "$m.roost-tmp" "$m"'
)
RESET_MARKER = (
    'm=$1; umask 022; mkdir -p -- "${m%/*}" || exit 1; t="$m.roost-tmp"; '
    'if [ -f "$m" ]; then cat -- "$m"; '
    'grep -v -e "^start " -e "^$3 " -- "$m" | sort -u > "$t" || exit 1; else : > "$t"; fi; '
    'printf "%s %s\\n" "$3" "$2" >> "$t" && mv -f -- "$t" "$m"'
)
"""Prints the old marker and replaces it, in one command, with a new run's header; the old
run's step keys are kept above it (a plain command runs once, not once per deploy)."""
WAIT_STEPS = (
    'while [ $# -gt 0 ]; do p=$1; k=$2; shift 2; '
    'while [ -r "/proc/$p/cmdline" ] && tr "\\0" " " < "/proc/$p/cmdline" | grep -qF -- "$k"; '
    'do sleep 0.05; done; done'
)
"""Waits until step commands of a cut-off run that are still running on the host finish (a
dropped connection does not stop them), so a resumed run never overlaps them."""


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
    version: str = ""
    """The installed version as the host reports it (or as the recipe pinned it)."""
    ports: tuple[str, ...] = ()
    """The ports the service binds, as the recipe declares them ("8008/tcp")."""
    recipe: str = ""
    """The recipe that ran ("static-blog"): `roost check` builds it again for its health check."""
    options: tuple[tuple[str, str], ...] = ()
    """The options it ran with, as (name, value) pairs (set by roost.app.deploying): `roost
    check` builds the same recipe, so it runs the same health check."""


def marker_path(recipe_id: str, state_dir: str = HOST_STATE_DIR) -> str:
    return f"{state_dir.rstrip('/')}/{recipe_id}.done-steps"


def restart_record_path(recipe_id: str, state_dir: str = HOST_STATE_DIR) -> str:
    """The host's record of the state each `Restart` of the recipe last restarted with."""
    return f"{state_dir.rstrip('/')}/{recipe_id}.restarted"


def read_marker(t: Transport, path: str, sudo: bool = True) -> Marker:
    """One command (no SFTP session needed when the recipe writes no files)."""
    res = t.run(script(READ_MARKER, path), sudo=sudo)
    if res.exit_code not in (0, 3):
        raise RoostError(f"could not read roost's record on {t.name}: {res.tail(2)}",
                         hint="check that the login user can use sudo")
    return parse_marker(res.stdout.encode("utf-8"))


def reset_marker(t: Transport, path: str, run_id: str, sudo: bool = True) -> Marker:
    """Start a new run's record on the host; returns what the old record said."""
    res = t.run(script(RESET_MARKER, path, run_id, MARKER_HEADER), sudo=sudo)
    if not res.ok:
        raise RoostError(f"could not write roost's record {path} on {t.name}: {res.tail(2)}",
                         hint="check that the folder can be created and the disk has space")
    return parse_marker(res.stdout.encode("utf-8"))


def write_marker(t: Transport, path: str, text: str, sudo: bool = True) -> None:
    """Replace the marker atomically (temp file, then rename)."""
    res = t.run(script(WRITE_MARKER, path), sudo=sudo, stdin=text.encode("utf-8"))
    if not res.ok:
        raise RoostError(f"could not write roost's record {path} on {t.name}: {res.tail(2)}",
                         hint="check that the folder can be created and the disk has space")


def wrap_step(marker: str, key: str, argv: list[str]) -> list[str]:
    """A step's last command, wrapped so the host marker records it when it succeeds."""
    if len(argv) >= 4 and argv[0] == "sh" and argv[1] == "-c":
        body = argv[2]
        plain = "exec" not in body and "trap" not in body and "__roost_" not in body
        return script(MARK_TRAP if plain else MARK_EVAL, marker, key, body, *argv[4:])
    return script(MARK_APPEND, marker, key, *argv)


def unwrap_step(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The step's own command inside a wrapped one (None when `argv` is not wrapped)."""
    a = tuple(argv)
    if len(a) > 6 and a[:2] == ("sh", "-c") and a[2] == MARK_APPEND:
        return a[6:]
    if len(a) > 6 and a[:2] == ("sh", "-c") and a[2] in (MARK_EVAL, MARK_TRAP):
        return ("sh", "-c", a[6], "sh", *a[7:])
    return None


def new_run_id() -> str:
    """The UTC time by roost's clock (never local time) and a random tail: 20261125T120000-…"""
    return clocks.stamp(sep="T") + "-" + _random.token_hex(4)


def run(
    recipe: Recipe,
    transport: Transport,
    *,
    journal: Journal | None = None,
    secrets: SecretValues | None = None,
    on_event: EventSink | None = None,
    resume: bool = False,
    state_dir: str = HOST_STATE_DIR,
    cache: Path | None = None,
) -> DeployResult:
    """Run `recipe` on `transport`'s host. Emits events to `on_event`; returns the result, or
    raises DeployFailed (after a StepFailed event) when a step fails or the host is lost.
    With `resume=True` and an unfinished journal, the earlier run continues. `cache`: the
    folder upstream downloads are kept in (the caller's `home / UPSTREAM_CACHE`)."""
    if journal is None:
        return _run(recipe, transport, None, secrets or {}, on_event, resume, state_dir, cache)
    with journal.locked():
        return _run(recipe, transport, journal, secrets or {}, on_event, resume, state_dir,
                    cache)


def _run(
    recipe: Recipe,
    t: Transport,
    journal: Journal | None,
    secret_values: SecretValues,
    on_event: EventSink | None,
    resume: bool,
    state_dir: str,
    cache: Path | None = None,
) -> DeployResult:
    """The loop: what the records say decides each step (resume.decide); `_Deploy` does it."""
    d = _Deploy(recipe, t, journal, secret_values, on_event, state_dir, cache)
    keys = recipe.keys()
    records = d.open(resume)
    for n, (key, step) in enumerate(zip(keys, recipe.steps, strict=True), start=1):
        action = decide(StepFlags.of(step), records.journal(key), records.host(key))
        d.step(n, key, step, action)
    health = d.health()
    d.finish(health)
    return DeployResult(True, records.run_id, d.applied, d.skipped, health, records.resuming,
                        installed_version(recipe, t), tuple(str(p) for p in recipe.ports),
                        recipe.id)


class _Deploy:
    """One run of `_run`: its events, journal records, counts and failures."""

    def __init__(self, recipe: Recipe, t: Transport, journal: Journal | None,
                 secret_values: SecretValues, on_event: EventSink | None,
                 state_dir: str, cache: Path | None = None) -> None:
        self.recipe, self.t, self.journal, self.on_event = recipe, t, journal, on_event
        self.state_dir = state_dir
        self.total = recipe.total
        self.mpath = marker_path(recipe.id, state_dir)
        self.index = 0
        self.applied = self.skipped = 0
        self.ctx = StepContext(
            transport=t, sudo=recipe.sudo, secrets=secret_values,
            on_output=lambda line: self.emit(Output(self.index, line)),
            restart_record=restart_record_path(recipe.id, state_dir), cache=cache,
        )

    def emit(self, e: Event) -> None:
        if self.on_event is not None:
            self.on_event(e)

    def record(self, key: str, description: str, applied: bool = True) -> None:
        if self.journal is not None:
            self.journal.record(key, description, applied)

    def open(self, resume: bool) -> Records:
        """Read both records (waiting out a run cut off moments ago) and begin the journal."""
        t, sudo, mpath = self.t, self.recipe.sudo, self.mpath
        prev = self.journal.load() if self.journal is not None else None
        wait = crash_wait(prev, time.time())
        if wait > 0:
            time.sleep(wait)
        resuming = continues(resume, prev)
        run_id = prev.run_id if resuming and prev is not None else new_run_id()
        marker = read_marker(t, mpath, sudo) if resuming else reset_marker(t, mpath, run_id, sudo)
        if marker.started:
            # A step of a cut-off run may still be running on the host: wait for it, then
            # read its record again (or start the new record again, after it).
            args = [x for pair in marker.started for x in (pair[1], pair[0])]
            t.run(script(WAIT_STEPS, *args), sudo=sudo, timeout=3600)
            marker = (read_marker(t, mpath, sudo) if resuming
                      else reset_marker(t, mpath, run_id, sudo))
        records = Records.of(prev, marker, run_id, resuming)  # before begin() changes prev
        if self.journal is not None:
            self.journal.begin(run_id, self.recipe.fingerprint(), self.total, resume=resuming)
        return records

    def step(self, n: int, key: str, step: Step, action: Action) -> None:
        """Do what `action` says with step `n`; a failure stops the run (DeployFailed)."""
        description = step.describe()
        self.index = n
        if hasattr(self.t, "current_step"):
            self.t.current_step = f"{n} of {self.total}, {description}"  # named if the link drops
        self.ctx.tail_lines = []
        self.ctx.final_marked = False
        self.ctx.wrap_final = None
        try:
            self._do(n, key, step, description, action)
        except RoostError as exc:
            raise self.fail(n, description, exc) from None
        except OSError as exc:  # a local file or pipe problem the transport did not wrap
            raise self.fail(n, description, RoostError(
                f"{exc.strerror or type(exc).__name__}",
                hint="check the disk and permissions on this computer")) from None
        except BaseException:  # Ctrl+C, or a bug: the journal still says where it stopped
            if self.journal is not None:
                with contextlib.suppress(RoostError):
                    self.journal.finish("stopped")
            raise

    def _do(self, n: int, key: str, step: Step, description: str, action: Action) -> None:
        t, ctx, total = self.t, self.ctx, self.total
        if action is Action.PROBE:
            self.emit(StepStarted(n, total, description))
            step.apply(t, ctx)
            self.emit(StepDone(n, total, description, changed=False))
            return
        if action is not Action.CHECK_THEN_APPLY:
            if action is Action.SKIP_AND_JOURNAL:
                self.record(key, description)
            self.skipped += 1
            self.emit(StepSkipped(n, total, description, SKIP_REASON[action]))
            return
        if step.check(t, ctx):
            self.skipped += 1
            self.record(key, description, applied=False)
            self.emit(StepSkipped(n, total, description, "already done"))
            return
        self.emit(StepStarted(n, total, description))
        ctx.wrap_final = lambda argv: wrap_step(self.mpath, key, argv)
        step.apply(t, ctx)
        if not ctx.final_marked:
            res = t.run(script(MARK_ONLY, self.mpath, key), sudo=self.recipe.sudo)
            if not res.ok:
                raise StepError("could not record the step on the host",
                                hint=f"check that {self.state_dir} on the host is writable",
                                tail=res.tail())
        ctx.changed_paths.update(step.touches())
        self.record(key, description)
        self.applied += 1
        self.emit(StepDone(n, total, description))

    def fail(self, n: int, description: str, exc: RoostError) -> DeployFailed:
        """Report a failed step (or a lost host), mark the journal, return the error to raise."""
        ctx, total = self.ctx, self.total
        lost = not isinstance(exc, StepError)
        tail = exc.tail if isinstance(exc, StepError) else ctx.redact("\n".join(
            ctx.tail_lines[-15:]))
        said = exc.hint or ("check that the host is on and reachable" if lost
                            else "read the output above")
        # Said once: a step's own hint may already say to deploy again.
        resume_hint = ("finished steps are not redone" if "again" in said
                       else "finished steps are not redone: run the same deploy again to continue")
        hint = f"{said}; {resume_hint}"
        message = ctx.redact(exc.message)
        ev = StepFailed(n, total, description, message, tail, hint)
        self.emit(ev)
        if self.journal is not None:
            with contextlib.suppress(RoostError):
                self.journal.finish("stopped" if lost else "failed")
        return DeployFailed(f"step {n} of {total} ({description}) failed: {message}",
                            hint=hint, event=ev)

    def health(self) -> HealthResult | None:
        """Wait for the recipe's health check, if it has one; unhealthy stops the run."""
        check = self.recipe.health
        if check is None:
            return None
        n = self.index = self.total
        self.ctx.tail_lines = []
        self.emit(StepStarted(n, n, check.describe()))
        try:
            health = check.wait(self.t, self.ctx)
        except RoostError as exc:
            raise self.fail(n, check.describe(), exc) from None
        if not health.ok:
            ev = StepFailed(n, n, check.describe(), health.detail, "", check.hint())
            self.emit(ev)
            if self.journal is not None:
                self.journal.finish("unhealthy")
            self.emit(Finished(False, self.recipe.id, self.applied, self.skipped, health, ()))
            raise DeployFailed(f"{self.recipe.title} is installed but not healthy: "
                               f"{health.detail}", hint=check.hint(), event=ev)
        self.emit(StepDone(n, n, check.describe(), changed=False))
        return health

    def finish(self, health: HealthResult | None) -> None:
        if self.journal is not None:
            self.journal.finish("finished")
        self.emit(Finished(True, self.recipe.id, self.applied, self.skipped, health,
                           self.recipe.next_steps))


def installed_version(recipe: Recipe, t: Transport) -> str:
    """The version the host reports (`recipe.version_argv`), else the recipe's own; never
    fails a finished deploy: a version that cannot be read is reported as the pinned one."""
    if recipe.version_argv:
        try:
            res = t.run(list(recipe.version_argv), sudo=recipe.sudo, timeout=30)
        except RoostError:
            res = None
        if res is not None and res.ok:
            first = printable(res.stdout.strip().splitlines()[0] if res.stdout.strip() else "",
                              100)
            if first:
                return first
    return recipe.version


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
                   marker_path(removal.id, state_dir), restart_record_path(recipe.id, state_dir),
                   restart_record_path(removal.id, state_dir)], sudo=recipe.sudo)
    if journal is not None:
        journal.forget()
    if rjournal is not None:
        rjournal.forget()
    return result


def resolve_secrets(values: Mapping[str, str]) -> SecretValues:
    """A mapping keyed by `Secret.ref` ("name#field")."""
    return dict(values)
