"""After a deploy, the progress store records host, version and time, and the plan moves on;
after an undeploy, the record goes and the step opens again.

The end-to-end test drives roost's real entry point: `roost assess`, `roost deploy static-blog
--host pi` over real SSH to a Debian container booted with systemd, `roost status`, `roost
next`, then `roost undeploy`; the version it records is the one dpkg reports on the host.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.clock import TEST_NOW

from roost.app.deploying import note_deployed, note_removed
from roost.cli.main import main
from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.local import LocalTransport
from roost.deploy.recipe import Recipe
from roost.deploy.recipes.host import debian_version
from roost.deploy.steps import EnsureDir
from roost.plan.answers import Answers
from roost.plan.progress import Event, Progress
from roost.plan.workspace import Workspace

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANSWERS = Answers(("twitter", "hosted-blog"), ("pi",), True, "example.org", "some", "days", 4096,
                  "aarch64", None)


def at(minute: int) -> datetime:
    return AT.replace(minute=minute)


# --- the progress: removed, running --------------------------------------------------------

def test_a_removal_opens_the_step_again_only_when_no_host_runs_it() -> None:
    p = Progress((
        Event("deployed", at(1), "prosody", {"host": "pi", "version": "0.12"}),
        Event("done", at(1), "prosody"),
        Event("deployed", at(2), "prosody", {"host": "vps", "version": "0.12"}),
        Event("removed", at(3), "prosody", {"host": "pi"}),
    ))
    assert p.state_of("prosody") == "done"  # still on the vps
    assert [(e.detail["host"]) for e in p.running()] == ["vps"]
    p = p.with_event(Event("removed", at(4), "prosody", {"host": "vps"}))
    assert p.state_of("prosody") is None and p.running() == ()
    assert "removed prosody from vps" in p.events[-1].describe()


def test_running_keeps_the_latest_deploy_per_host() -> None:
    p = Progress((
        Event("deployed", at(1), "prosody", {"host": "pi", "version": "1"}),
        Event("deployed", at(2), "prosody", {"host": "pi", "version": "2"}),
        Event("deployed", at(3), "static-blog", {"host": "pi", "version": "9"}),
    ))
    assert [(e.service_id, e.detail["version"]) for e in p.running()] == [
        ("prosody", "2"), ("static-blog", "9")]
    assert len(p.deployments()) == 3  # the history keeps every deploy


def test_deployed_records_host_version_time_and_moves_the_plan_on(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False)
    ws.save_answers(ANSWERS)
    first = ws.next_step()
    assert first is not None
    before = len(ws.history())
    nxt = ws.deployed(first.service_id, "pi", "1.2.3")
    assert len(ws.history()) == before + 2  # deployed + done, written once
    again = Workspace.open(tmp_path, detect=False)  # read back from the file
    rec = again.progress.running()[-1]
    assert (rec.service_id, rec.detail["host"], rec.detail["version"]) == (
        first.service_id, "pi", "1.2.3")
    assert rec.at == TEST_NOW  # stamped by roost's clock, not read from the wall
    assert again.progress.state_of(first.service_id) == "done"
    assert nxt is not None and nxt.service_id != first.service_id
    assert again.plan().get(first.service_id).state == "done"  # type: ignore[union-attr]
    assert again.undo().startswith("Undone: marking")


def test_an_unhealthy_deploy_is_recorded_but_not_marked_done(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "", healthy=False)
    assert ws.progress.state_of("prosody") is None
    assert ws.progress.running()[0].detail == {"host": "pi", "version": ""}


def test_note_lines_say_what_was_recorded_and_what_comes_next(tmp_path: Path) -> None:
    Workspace.open(tmp_path, detect=False).save_answers(ANSWERS)
    result = engine.DeployResult(True, "r", 3, 0, None, False, "0.12.3-1")
    lines = note_deployed("prosody", "pi", result, home=tmp_path)
    assert lines[0].startswith("Noted in your progress: Prosody")
    assert lines[0].endswith(" runs on pi, version 0.12.3-1. Its step in your plan is done.")
    # Prosody can be backed up and has no backup yet: that comes before the next step.
    assert lines[1].startswith("Protect what you moved, before the next step: Prosody")
    assert lines[2].startswith("Next in your plan: ") and lines[2].endswith("roost next")
    assert note_deployed("hello", "pi", result, home=tmp_path) == []  # not a catalog service
    assert note_removed("prosody", "pi", home=tmp_path) == [
        "Noted in your progress: prosody no longer runs on pi."]
    assert Workspace.open(tmp_path, detect=False).progress.state_of("prosody") is None


def test_a_broken_progress_file_costs_a_warning_not_the_deploy(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False)
    ws.save_answers(ANSWERS)
    ws.store.path.write_text("this is = not [ toml")
    result = engine.DeployResult(True, "r", 3, 0, None, False, "1")
    lines = note_deployed("prosody", "pi", result, home=tmp_path)
    assert len(lines) == 1 and lines[0].startswith("roost could not note this deploy")
    assert "it was kept as" in lines[0]
    kept = list(tmp_path.glob("progress.toml.corrupt-*"))
    assert [k.read_text() for k in kept] == ["this is = not [ toml"]  # kept, not overwritten


# --- the version a deploy reports ----------------------------------------------------------

def _recipe(tmp_path: Path, **kw: object) -> Recipe:
    return Recipe("version-demo", "x", "x", (EnsureDir(str(tmp_path / "d")),), sudo=False,
                  **kw)  # type: ignore[arg-type]


def test_the_version_is_what_the_host_reports(tmp_path: Path) -> None:
    r = _recipe(tmp_path, version="pinned", version_argv=("sh", "-c", "echo 1.2.3-4; echo x"))
    res = engine.run(r, LocalTransport(), state_dir=str(tmp_path / "s"))
    assert res.version == "1.2.3-4"


def test_a_version_that_cannot_be_read_falls_back_to_the_pinned_one(tmp_path: Path) -> None:
    for argv in (("sh", "-c", "exit 3"), ("sh", "-c", "true"), ("no-such-command-roost",)):
        r = _recipe(tmp_path, version="0.17.4", version_argv=argv)
        assert engine.run(r, LocalTransport(), state_dir=str(tmp_path / "s")).version == "0.17.4"
    assert engine.run(_recipe(tmp_path), LocalTransport(),
                      state_dir=str(tmp_path / "s")).version == ""


def test_debian_version_names_a_package_only() -> None:
    assert debian_version("prosody") == ("dpkg-query", "-W", "-f=${Version}\\n", "prosody")
    with pytest.raises(RoostError, match="not a Debian package name"):
        debian_version("x; rm -rf /")


# --- end to end, through roost's own commands over real SSH --------------------------------

@pytest.mark.slow
@pytest.mark.container
def test_cli_deploy_records_progress_and_the_plan_moves_on(
    pi_host: TestHost, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from support.answers import answers_toml, planned_with_pi
    from test_service_static_blog import make_site

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", "/var/lib/roost-test-state")
    planned_with_pi(home, answers_toml(["hosted-blog"]), pi_host)
    capsys.readouterr()
    site = tmp_path / "site"
    make_site(site, "Moving day")

    assert main(["deploy", "static-blog", "--host", "pi", "--quiet",
                 "--option", f"site={site}", "--option", f"address={pi_host.address}"]) == 0
    out = capsys.readouterr().out
    dpkg = pi_host.ssh("dpkg-query -W -f='${Version}' nginx").stdout.strip()
    assert re.match(r"^[0-9][0-9A-Za-z.+~:-]*$", dpkg)
    assert f"runs on pi, port 80, version {dpkg}. Its step in your plan is done." in out
    assert "Next in your plan: " in out
    assert "Moving day" in httpx.get(f"http://{pi_host.address}/", timeout=5).text

    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert re.search(rf"Running: .*on pi, port 80, version {re.escape(dpkg)}\.", status)
    ws = Workspace.open(home, detect=False)
    assert ws.progress.state_of("static-blog") == "done"
    nxt = ws.next_step()
    assert nxt is not None and nxt.service_id != "static-blog"
    assert main(["next"]) == 0
    # The blog runs and has no backup yet: that offer comes first, then the next step.
    first, second = capsys.readouterr().out.split("\n")[:2]
    assert first.startswith("Protect what you moved, before the next step: Static blog")
    assert nxt.name in second

    assert main(["undeploy", "static-blog", "--host", "pi",
                 "--option", f"site={site}", "--option", f"address={pi_host.address}"]) == 0
    assert "no longer runs on pi" in capsys.readouterr().out
    ws.reload()
    assert ws.progress.state_of("static-blog") is None and ws.progress.running() == ()
