"""Run a recipe on a host: check each step, apply what is not done, journal what finished.

    result = run(recipe, transport, journal=Journal.for_host("pi", recipe.id),
                 secrets={"xmpp/alice@example.org#password": "..."}, on_event=print_event)

Resumability: every applied step is recorded twice, in the controller's journal and in a
marker file on the host (`<state_dir>/<recipe>.done-steps`, one line per step key, appended
by the same command that applies the step, and only when it succeeded). A resumed run skips a
step when both records agree. When only the host's record has it, the step finished and only
the answer was lost, so it is skipped too (re-checking would re-run a restart or a plain
command). When only the journal has it (the host was reset, its record lost), the step is
re-checked with `check()` and applied again if needed. Files are written atomically (temp +
rename), so a cut-off deploy never leaves a half-written file.

Restarts are the exception: whether a `Restart` is needed depends on the other steps, so it is
checked in every run, never skipped because an earlier run applied it. Its check compares the
watched paths' state with what the host's restart record (`<state_dir>/<recipe>.restarted`)
says they were at the last successful restart, written by the restart's own command: a
changed option restarts the service on a resumed run, on a fresh run after a cut-off one
(`--restart`), and never on a run where nothing changed.
"""

from __future__ import annotations

import contextlib
import re
import secrets as _random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
from roost.deploy.steps import HealthResult, SecretValues, StepContext, StepError, script
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
MARKER_HEADER = "roost-run"
_KEY = re.compile(r"^[0-9]{3,}-[0-9a-f]{16}$")
CRASH_GRACE = 1.5


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


def marker_path(recipe_id: str, state_dir: str = HOST_STATE_DIR) -> str:
    return f"{state_dir.rstrip('/')}/{recipe_id}.done-steps"


def restart_record_path(recipe_id: str, state_dir: str = HOST_STATE_DIR) -> str:
    """The host's record of the state each `Restart` of the recipe last restarted with."""
    return f"{state_dir.rstrip('/')}/{recipe_id}.restarted"


@dataclass(frozen=True)
class Marker:
    """The host's record. Lines before the header are plain-command steps applied in earlier
    runs (kept so a command without a check runs once, not once per deploy); the header
    `roost-run RUN_ID` starts this run's records, one step key per line."""

    run_id: str | None
    carried: frozenset[str]
    keys: frozenset[str]
    started: tuple[tuple[str, str], ...] = ()
    """(key, pid) of step commands this run started and did not record as finished."""

    def has(self, key: str) -> bool:
        return key in self.keys or key in self.carried


def parse_marker(data: bytes | None) -> Marker:
    """Read a marker file; a torn last line (cut off mid-write) is not a record."""
    if not data:
        return Marker(None, frozenset(), frozenset())
    text = data.decode("utf-8", "replace")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    carried: set[str] = set()
    keys: set[str] = set()
    started: dict[str, str] = {}
    run_id: str | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == MARKER_HEADER:
            if run_id is not None:
                carried |= keys
            run_id, keys, started = parts[1], set(), {}
        elif len(parts) == 3 and parts[0] == "start" and parts[2].isdigit():
            started[parts[1]] = parts[2]
        elif len(parts) == 1 and _KEY.match(parts[0]):
            (keys if run_id is not None else carried).add(parts[0])
    pending = tuple((k, pid) for k, pid in started.items() if k not in keys)
    return Marker(run_id, frozenset(carried), frozenset(keys), pending)


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
    total = recipe.total
    keys = recipe.keys()
    mpath = marker_path(recipe.id, state_dir)

    prev = journal.load() if journal is not None else None
    if prev is not None and prev.status == "running":
        # The last run died without a word (killed, power cut) moments ago: give a step
        # command it had just started on the host time to show up in the host's record.
        time.sleep(max(0.0, min(CRASH_GRACE, prev.updated + CRASH_GRACE - time.time())))
    resuming = bool(resume and prev is not None and prev.unfinished)
    run_id = prev.run_id if resuming and prev is not None else new_run_id()
    if resuming:
        marker = read_marker(t, mpath, recipe.sudo)
    else:
        marker = reset_marker(t, mpath, run_id, recipe.sudo)
    if marker.started:
        # A step of a cut-off run may still be running on the host: wait for it, then
        # read its record again (or start the new record again, after it).
        args = [x for pair in marker.started for x in (pair[1], pair[0])]
        t.run(script(WAIT_STEPS, *args), sudo=recipe.sudo, timeout=3600)
        marker = (read_marker(t, mpath, recipe.sudo) if resuming
                  else reset_marker(t, mpath, run_id, recipe.sudo))
    if resuming:
        assert prev is not None
        run_id = prev.run_id
        j_done = prev.done_keys()
        m_done = set(marker.keys) if marker.run_id == run_id else set()
    else:
        j_done, m_done = set(), set()
    # Plain commands the host says were applied in an earlier run: they run once.
    once = {k for k, s in zip(keys, steps, strict=True)
            if s.changes_host and not s.has_check and marker.has(k)}
    if journal is not None:
        journal.begin(run_id, recipe.fingerprint(), total, resume=resuming)

    current = {"index": 0}
    ctx = StepContext(
        transport=t, sudo=recipe.sudo, secrets=secret_values,
        on_output=lambda line: emit(Output(current["index"], line)),
        restart_record=restart_record_path(recipe.id, state_dir),
    )

    applied = skipped = 0

    def record(key: str, description: str, applied: bool = True) -> None:
        if journal is not None:
            journal.record(key, description, applied)

    def fail(n: int, description: str, exc: RoostError) -> DeployFailed:
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
            # A restart depends on what the other steps changed, not on an earlier run.
            in_j = key in j_done and not step.always_check
            in_m = key in m_done and not step.always_check
            if in_j and in_m:
                skipped += 1
                emit(StepSkipped(n, total, description, "done in the earlier run"))
                continue
            if in_m or (not step.has_check and key in once):
                # The host's record is written by the same command that applied the step,
                # only when it succeeded, so it never claims a step that did not finish: the
                # journal missed it because the answer was lost on the way back. A plain
                # command found in an earlier run's record ran once and is not run again.
                if in_m:
                    record(key, description)
                skipped += 1
                emit(StepSkipped(n, total, description,
                                 "done in the earlier run" if in_m else "already done"))
                continue
            if step.check(t, ctx):
                skipped += 1
                record(key, description, applied=False)
                emit(StepSkipped(n, total, description, "already done"))
                continue
            emit(StepStarted(n, total, description))
            line = key
            ctx.wrap_final = lambda argv, _l=line: wrap_step(mpath, _l, argv)
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
        except OSError as exc:  # a local file or pipe problem the transport did not wrap
            raise fail(n, description, RoostError(
                f"{exc.strerror or type(exc).__name__}",
                hint="check the disk and permissions on this computer")) from None
        except BaseException:  # Ctrl+C, or a bug: the journal still says where it stopped
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
    return DeployResult(True, run_id, applied, skipped, health, resuming,
                        installed_version(recipe, t), tuple(str(p) for p in recipe.ports))


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
