"""The engine with the in-memory fake: idempotence, resume after a lost connection at every
possible point, journal/marker reconciliation, failures that say what to try, no secret in
any event. Real transports: test_engine_real.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from support.counter import counter_recipe
from support.fake import FakeHost, FakeTransport
from support.resume import LAST, Cut, interrupt_at

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.events import (
    Event,
    EventSink,
    Finished,
    StepDone,
    StepFailed,
    StepSkipped,
    as_text,
)
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe
from roost.deploy.steps import (
    CreateAccount,
    EnableService,
    EnsureDir,
    EnsureUser,
    InstallPackages,
    RenderTemplate,
    Restart,
    RunCommand,
    Secret,
    WaitHealth,
    WriteFile,
)

PW = "s3cret-value-never-shown"
SECRET = Secret("xmpp/alice@example.org", "password")
SECRETS = {SECRET.ref: PW}


@pytest.fixture(autouse=True)
def _home(home: Path) -> None:
    """Every test here runs with the shared `home` (tests/conftest.py)."""


def service_recipe(domain: str = "ex.org") -> Recipe:
    """A Prosody-like recipe; `domain` stands for an option that changes the config file."""
    cfg = "/etc/prosody/prosody.cfg.lua"
    return Recipe(
        id="prosody-demo", service_id="prosody", title="Prosody",
        steps=(
            InstallPackages(("prosody", "lua-dbi-sqlite3")),
            EnsureUser("prosody", home="/var/lib/prosody"),
            EnsureDir("/var/lib/prosody", mode=0o750, owner="prosody", group="prosody"),
            RenderTemplate(cfg, text="VirtualHost \"${domain}\"\n", values={"domain": domain},
                           mode=0o640, owner="root", group="prosody"),
            WriteFile("/etc/prosody/admin.pw", SECRET, mode=0o600),
            EnableService("prosody"),
            Restart("prosody", watch=(cfg,)),
            CreateAccount(("prosodyctl", "adduser", "alice@ex.org"), SECRET,
                          exists=("prosodyctl", "exists", "alice@ex.org")),
            RunCommand(("prosodyctl", "reload"), description="reload prosody's modules"),
        ),
        health=WaitHealth("ask prosody whether it is up", argv=("prosodyctl", "status"),
                          timeout=1, interval=0.01),
        next_steps=("Log in as alice@ex.org.",),
    )


def prosody_host() -> FakeTransport:
    t = FakeTransport("pi")
    accounts: set[str] = set()
    t.handlers["prosodyctl"] = lambda a, s: _prosodyctl(a, s, accounts, t)
    return t


def _prosodyctl(a: list[str], stdin: bytes | None, accounts: set[str],
                t: FakeTransport) -> tuple[int, str, str]:
    if a[1] == "exists":
        return (0 if a[2] in accounts else 1), "", ""
    if a[1] == "adduser":
        assert stdin == (PW + "\n").encode()
        accounts.add(a[2])
        return 0, "", ""
    if a[1] == "status":
        return (0, "running\n", "") if "prosody" in t.host.active else (1, "", "down\n")
    return 0, f"{a[1]} ok\n", ""


def run(recipe: Recipe, t: FakeTransport, events: list[Event] | None = None,
        resume: bool = False, on_event: EventSink | None = None) -> engine.DeployResult:
    j = Journal.for_host(t.name, recipe.id, data_dir())
    sink = on_event or (events.append if events is not None else None)
    return engine.run(recipe, t, journal=j, secrets=SECRETS, on_event=sink, resume=resume)


def state(t: FakeTransport) -> FakeHost:
    h = copy.deepcopy(t.host)
    h.files.pop(engine.marker_path("prosody-demo"), None)
    h.files.pop(engine.marker_path("counter"), None)
    h.restarts = sorted(set(h.restarts))
    return h


def applied_commands(t: FakeTransport) -> list[tuple[str, ...]]:
    """Commands that change the host (not checks), as the step sent them."""
    out = []
    for c in t.log:
        inner = engine.unwrap_step(c)
        if inner is not None:
            out.append(inner)
        elif c[:1] == ("put_file",):
            out.append(c)
    return out


def test_running_twice_changes_nothing_the_second_time() -> None:
    t = prosody_host()
    first = run(service_recipe(), t)
    assert first.ok and first.applied == 9 and first.health and first.health.ok
    before = state(t)
    t.log.clear()
    events: list[Event] = []
    second = run(service_recipe(), t, events)
    assert second.applied == 0 and second.skipped == 9
    assert applied_commands(t) == []
    assert state(t) == before
    skipped = [e for e in events if isinstance(e, StepSkipped)]
    assert [e.reason for e in skipped] == ["already done"] * 9
    finished = next(e for e in events if isinstance(e, Finished))
    assert as_text(finished).startswith("prosody-demo: already done, nothing changed")


def test_progress_reads_as_text() -> None:
    events: list[Event] = []
    run(service_recipe(), prosody_host(), events)
    lines = [as_text(e) for e in events]
    assert lines[0] == "step 1 of 10: install packages prosody, lua-dbi-sqlite3"
    assert "step 10 of 10: ask prosody whether it is up" in lines
    assert lines[-1].endswith("next steps:\n  - Log in as alice@ex.org.")


def uninterrupted() -> FakeHost:
    t = prosody_host()
    run(service_recipe(), t)
    return state(t)


@pytest.mark.parametrize("mode", ["before", "after"])
def test_resume_after_connection_lost_at_every_call(mode: str) -> None:
    """Lose the connection at call k (before the host acts, or after it acted and only the
    answer is lost), for every k; resuming completes, applies no step twice, and ends in the
    same state as a run that was never cut off."""
    want = uninterrupted()
    probe = prosody_host()
    run(service_recipe(), probe)
    total_calls = probe.calls
    for k in range(1, total_calls + 1):
        t = prosody_host()
        if mode == "before":
            t.lose_connection_at = k
        else:
            t.lose_reply_at = k
        events: list[Event] = []
        with pytest.raises(RoostError) as err:
            run(service_recipe(), t, events)
        failed = [e for e in events if isinstance(e, StepFailed)]
        if isinstance(err.value, engine.DeployFailed):
            assert failed and "run the same deploy again" in failed[0].hint
        else:  # lost while reading or resetting the host's record, before step 1
            assert k <= 2 and not events
        t.lose_connection_at = t.lose_reply_at = None  # the host is back
        res = run(service_recipe(), t, resume=True)
        assert res.ok and (res.resumed or k <= 2)
        cmds = applied_commands(t)
        assert len(cmds) == len(set(cmds)), f"k={k}: a step was applied twice: {cmds}"
        assert state(t) == want, f"k={k}"


def test_interrupted_config_write_still_restarts_after_resume() -> None:
    """The config was rewritten in the run that was cut off: the resumed run must still
    restart the service, though the write itself is not redone."""
    t = prosody_host()
    r = service_recipe()
    run(r, t)
    t.host.restarts.clear()
    newer = Recipe(r.id, r.service_id, r.title, (
        *r.steps[:3],
        RenderTemplate("/etc/prosody/prosody.cfg.lua", text="VirtualHost \"${domain}\"\n",
                       values={"domain": "new.example"}, mode=0o640, owner="root",
                       group="prosody"),
        *r.steps[4:]))
    # lose the connection right after the new config was written
    cfg_calls = []
    t.calls = 0
    t.log.clear()
    orig = t.put_file

    def put_then_drop(path: str, data: bytes, **kw: object) -> None:
        orig(path, data, **kw)  # type: ignore[arg-type]
        if path.endswith("prosody.cfg.lua"):
            cfg_calls.append(path)
            raise RoostError("the connection to pi was lost")

    t.put_file = put_then_drop  # type: ignore[method-assign]
    with pytest.raises(RoostError):
        run(newer, t)
    t.put_file = orig  # type: ignore[method-assign]
    res = run(newer, t, resume=True)
    assert res.ok and t.host.restarts == ["prosody"]


# Ctrl+C while the deploy waits for the service to answer (after the restart step).
cut_at_health = interrupt_at(LAST)


RESTART_STEP = 7  # 1-based index of the Restart in service_recipe()


def test_changed_option_restarts_on_a_resumed_deploy() -> None:
    """The bug a new user hit: the first deploy stopped after its restart step (Ctrl+C or an
    unhealthy service), so the next deploy with a changed option resumes it. The restart was
    done in that earlier run, but the config it depends on changed in this one: it runs."""
    t = prosody_host()
    with pytest.raises(Cut):
        run(service_recipe(), t, on_event=cut_at_health)
    assert t.host.restarts == ["prosody"]
    t.host.restarts.clear()
    events: list[Event] = []
    res = run(service_recipe("new.example"), t, events, resume=True)
    assert res.ok and res.resumed
    assert t.host.restarts == ["prosody"]
    done = [e.index for e in events if isinstance(e, StepDone) and e.changed]
    assert RESTART_STEP in done
    # and a plain rerun after that restarts nothing
    t.host.restarts.clear()
    again = run(service_recipe("new.example"), t)
    assert again.applied == 0 and t.host.restarts == []


def test_restart_follows_a_change_whose_restart_never_ran() -> None:
    """A run rewrote the config and stopped before the restart; the next run starts over
    (`--restart`), finds the config already written and still restarts: the record of the
    last restart, not this run's writes, is the truth. Once restarted, a rerun does not."""
    t = prosody_host()
    run(service_recipe(), t)
    t.host.restarts.clear()

    with pytest.raises(Cut):
        run(service_recipe("new.example"), t, on_event=interrupt_at(RESTART_STEP))
    assert t.host.restarts == []
    res = run(service_recipe("new.example"), t, resume=False)  # start over
    assert res.ok and t.host.restarts == ["prosody"]
    t.host.restarts.clear()
    res = run(service_recipe("new.example"), t, resume=False)
    assert res.ok and res.applied == 0 and t.host.restarts == []


def test_a_failed_restart_is_tried_again_by_the_next_run() -> None:
    """The new config made the restart fail: the deploy says so, and the next run (the
    config now unchanged) restarts again instead of calling it done."""
    t = prosody_host()
    run(service_recipe(), t)
    t.host.restarts.clear()
    t.handlers["systemctl"] = lambda a, s: (1, "", "Job for prosody.service failed.\n")
    with pytest.raises(engine.DeployFailed, match="restart prosody"):
        run(service_recipe("new.example"), t)
    del t.handlers["systemctl"]
    res = run(service_recipe("new.example"), t)
    assert res.ok and res.applied == 1 and t.host.restarts == ["prosody"]


def test_marker_and_journal_reconciliation() -> None:
    recipe = counter_recipe("/srv/c", n=6)
    t = FakeTransport("h")
    run(recipe, t)
    log_path = "/srv/c/applied.log"
    assert t.host.files[log_path].data.decode().split() == [f"step{i}" for i in (1, 2, 3, 4)]
    j = Journal.for_host("h", "counter", data_dir())
    st = j.load()
    assert st is not None and st.status == "finished"
    # pretend the run was cut off after its last two steps were applied on the host, with
    # the journal two steps behind and the host's record one step behind
    keys = recipe.keys()
    st.steps = [e for e in st.steps if e.key not in (keys[4], keys[5])]
    j.state = st
    j.begin(st.run_id, recipe.fingerprint(), 6, resume=True)
    j.finish("stopped")
    marker = t.host.files[engine.marker_path("counter")]
    lines = marker.data.decode().splitlines()
    marker.data = "\n".join(ln for ln in lines if ln != keys[5]).encode() + b"\n"
    t.log.clear()
    events: list[Event] = []
    res = run(recipe, t, events, resume=True)
    reasons = {e.index: e.reason for e in events if isinstance(e, StepSkipped)}
    # steps 1-4: in both records; step 5 (a plain command): in the host's record only, so it
    # finished and is not run again; step 6 (a file): in neither, re-checked and found done
    assert reasons == {1: "done in the earlier run", 2: "done in the earlier run",
                       3: "done in the earlier run", 4: "done in the earlier run",
                       5: "done in the earlier run", 6: "already done"}
    assert res.applied == 0 and applied_commands(t) == []
    assert t.host.files[log_path].data.decode().split() == [f"step{i}" for i in (1, 2, 3, 4)]
    assert set(j.applied_counts().values()) == {1}


def test_plain_command_in_host_marker_only_is_not_run_again() -> None:
    recipe = counter_recipe("/srv/c", n=4, files=False)
    t = FakeTransport("h")
    t.lose_reply_at = 5  # marker reset (1), dir check + apply (2, 3), step 1 (4), step 2 (5)
    with pytest.raises(RoostError):
        run(recipe, t)
    t.lose_reply_at = None
    log = t.host.files["/srv/c/applied.log"].data.decode().split()
    res = run(recipe, t, resume=True)
    after = t.host.files["/srv/c/applied.log"].data.decode().split()
    assert res.ok and after == ["step1", "step2", "step3"] and len(log) >= 1


def test_journal_entry_missing_on_host_is_rechecked_and_redone() -> None:
    """The host was reinstalled (marker gone) but the journal says done: steps are
    checked again, and plain commands run again, since the host has no record of them."""
    recipe = counter_recipe("/srv/c", n=4, files=False)
    t = FakeTransport("h")
    run(recipe, t)
    j = Journal.for_host("h", "counter", data_dir())
    st = j.load()
    assert st is not None
    j.state = st
    j.finish("stopped")
    t.host = FakeHost()
    res = run(recipe, t, resume=True)
    assert res.applied == 4
    assert t.host.files["/srv/c/applied.log"].data.decode().split() == ["step1", "step2",
                                                                       "step3"]


def test_a_failed_step_says_which_what_happened_and_what_to_try() -> None:
    t = prosody_host()
    t.host.available = {"prosody"}
    events: list[Event] = []
    with pytest.raises(engine.DeployFailed) as err:
        run(service_recipe(), t, events)
    failed = [e for e in events if isinstance(e, StepFailed)]
    assert len(failed) == 1
    f = failed[0]
    assert (f.index, f.total, f.description) == (1, 10,
                                                 "install packages prosody, lua-dbi-sqlite3")
    assert "Unable to locate package" in f.tail
    assert "internet connection" in f.hint
    text = as_text(f)
    assert text.startswith("step 1 of 10 failed: install packages prosody, lua-dbi-sqlite3")
    assert "what to try:" in text
    assert str(err.value).startswith("step 1 of 10 (install packages")
    st = Journal.for_host("pi", "prosody-demo", data_dir()).load()
    assert st is not None and st.status == "failed"


def test_no_secret_in_events_errors_journal_or_argv(tmp_path: Path) -> None:
    t = prosody_host()
    # a tool that prints the password back and then fails
    t.handlers["prosodyctl"] = lambda a, s: (1, "", f"bad password {PW}\n") if a[1] == \
        "adduser" else (1, "", "")
    events: list[Event] = []
    with pytest.raises(engine.DeployFailed) as err:
        run(service_recipe(), t, events)
    everything = "\n".join(as_text(e) for e in events) + str(err.value) + repr(events)
    assert PW not in everything
    assert "<secret: xmpp/alice@example.org password>" in everything
    assert all(PW not in " ".join(c) for c in t.log)
    journal_text = (Path(str(tmp_path / "home")) / "deploys" / "pi" /
                    "prosody-demo.toml").read_text()
    assert PW not in journal_text
    # the secret did reach the host, but only as data
    assert PW.encode() in t.host.files["/etc/prosody/admin.pw"].data


def test_unhealthy_service_is_reported_with_what_to_try() -> None:
    t = prosody_host()
    t.handlers["prosodyctl"] = lambda a, s: (1, "", "") if a[1] in ("exists", "status") \
        else (0, "", "")
    events: list[Event] = []
    with pytest.raises(engine.DeployFailed, match="not healthy"):
        run(service_recipe(), t, events)
    assert isinstance(events[-1], Finished) and not events[-1].ok
    st = Journal.for_host("pi", "prosody-demo", data_dir()).load()
    assert st is not None and st.status == "unhealthy"


def test_two_deploys_of_the_same_recipe_cannot_overlap() -> None:
    j = Journal.for_host("pi", "prosody-demo", data_dir())
    with j.locked(), pytest.raises(RoostError, match="another roost"):
        run(service_recipe(), prosody_host())


def test_journal_records_each_applied_step_once_with_stable_keys() -> None:
    recipe = counter_recipe("/srv/c", n=12)
    t = FakeTransport("h")
    run(recipe, t)
    j = Journal.for_host("h", "counter", data_dir())
    st = j.load()
    assert st is not None
    assert [e.key for e in st.steps] == recipe.keys()
    assert set(j.applied_counts().values()) == {1}
    run(recipe, t)  # a fresh run: nothing applied, nothing journaled
    st2 = j.load()
    assert st2 is not None and st2.status == "finished" and not st2.done_keys()
