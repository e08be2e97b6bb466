""""Protect what you moved": once a service roost can back up runs on a host, the plan, `roost
next`, the note after a deploy, the app and the plain mode offer to back it up to another host,
before the next step; a backup set up there (a `backup` event) ends the offer."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.clock import TEST_CLOCK as CLOCK
from test_plan_reach import ANSWERS, FACTS

from roost.app.deploying import note_deployed
from roost.catalog.loader import load as load_catalog
from roost.cli.main import main
from roost.plan.progress import Event, Progress
from roost.plan.protect import offer, unprotected
from roost.plan.workspace import Workspace

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CATALOG = load_catalog()


def ev(minute: int, kind: str, service: str = "prosody", host: str = "pi", **more: str) -> Event:
    return Event(kind, AT.replace(minute=minute), service, {"host": host, **more})


def test_a_running_service_without_a_backup_is_offered_until_one_is_set_up() -> None:
    p = Progress((ev(1, "deployed", version="0.12"),))
    assert unprotected(p, CATALOG) == [("prosody", "pi")]
    said = offer(p, CATALOG)
    assert said is not None and said.startswith(
        "Protect what you moved, before the next step: Prosody (XMPP chat) on pi has no "
        "backup yet.")
    assert "roost backup prosody --host pi --to OTHER-HOST" in said
    p = p.with_event(ev(2, "backup", to="vps", every="daily"))
    assert unprotected(p, CATALOG) == [] and offer(p, CATALOG) is None


def test_a_service_removed_and_deployed_again_needs_its_backup_again() -> None:
    p = Progress((ev(1, "deployed"), ev(2, "backup", to="vps"), ev(3, "removed"),
                  ev(4, "deployed")))
    assert unprotected(p, CATALOG) == [("prosody", "pi")]
    moved = Progress((ev(1, "deployed"), ev(2, "backup", to="vps"),
                      ev(3, "deployed", host="vps"), ev(4, "removed")))
    assert unprotected(moved, CATALOG) == [("prosody", "vps")]  # moved: back it up from there


def test_only_services_roost_can_back_up_are_offered_and_several_are_named() -> None:
    p = Progress((ev(1, "deployed", service="minidlna"), ev(2, "deployed", service="static-blog"),
                  ev(3, "deployed")))
    assert unprotected(p, CATALOG) == [("static-blog", "pi"), ("prosody", "pi")]
    said = offer(p, CATALOG) or ""
    assert "Static blog" in said and " and Prosody (XMPP chat) on pi have no backup" in said
    assert "minidlna" not in said.lower()
    assert offer(Progress(()), CATALOG) is None


def test_the_backup_event_is_described_and_undone_in_words(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False, clock=CLOCK)
    ws.deployed("prosody", "pi", "0.12")
    assert ws.protect_offer() is not None
    ws.record_backup("prosody", "pi", "vps", "daily")
    assert ws.protect_offer() is None
    assert ws.history()[-1].describe().endswith("set up backups of prosody on pi to vps.")
    assert ws.undo() == "Undone: the record of backing up prosody."
    assert ws.protect_offer() is not None


def test_next_plan_and_the_note_after_a_deploy_offer_it(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.save_answers(ANSWERS)
    lines = note_deployed("prosody", "pi", _Result(), home)
    protect = [line for line in lines if line.startswith("Protect what you moved")]
    assert len(protect) == 1, lines
    assert lines.index(protect[0]) == len(lines) - 2  # before "Next in your plan"
    assert main(["next"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Protect what you moved, before the next step: Prosody"), out
    assert main(["plan"]) == 0
    assert capsys.readouterr().out.startswith("Protect what you moved")
    assert main(["next", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["protect"] == [{"service": "prosody",
                                                               "host": "pi"}]
    Workspace.open(home, detect=False).record_backup("prosody", "pi", "vps", "daily")
    assert main(["next"]) == 0
    assert "Protect what you moved" not in capsys.readouterr().out


class _Result:
    version = "0.12.3"
    ports = ("5222/tcp",)
    recipe = "prosody"
    options = ()
    health = None


def test_the_plain_mode_puts_it_first_and_backups_offer_the_set_up(home: Path) -> None:
    from roost.cli.plain import Plain

    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "0.12.3")
    out = io.StringIO()
    Plain(ws, out, io.StringIO("1\n0\n0\n"), False).main_menu()
    text = out.getvalue()
    assert "  1. Protect what you moved: back up Prosody (XMPP chat) on pi" in text, text
    # It asks which host keeps the backups: another one than the service's (here the
    # machine roost runs on, `local`, is the only other one).
    assert "Which host keeps the backups? Another machine" in text and "  1. local\n" in text
    out = io.StringIO()
    Plain(ws, out, io.StringIO("0\n"), False).backups()
    text = out.getvalue()
    assert "  1. Back up Prosody (XMPP chat) on pi to another host" in text
    assert "  2. Back up Prosody (XMPP chat) on pi to a disk there too (a USB disk)" in text
    assert "  3. Copy roost's data, with the sealed vault, to another host" in text


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
def test_the_app_offers_it_first_on_the_plan_and_opens_the_backup_form(
        home: Path, size: tuple[int, int]) -> None:
    from support.tui import check_cursor, shown
    from test_tui import make_app, press, settle, sync
    from textual.widgets import Input

    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.tui.screens import open_screen

    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "0.12.3")
    for name, address in (("pi", "192.0.2.10"), ("vps", "192.0.2.20")):
        HostStore(home / HOSTS_FILE).add(Host(name, address, user="root"))

    @sync
    async def walk() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            open_screen(app, "plan")
            await settle(pilot, app)
            line = await shown(pilot, app)
            assert "Back up Prosody" in line and "no backup yet" in line, line
            row = app.screen.menu.current  # type: ignore[attr-defined]
            assert row.extra.startswith("Protect what you moved, before the next step")
            await press(pilot, app, "enter")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "BackupFormScreen"
            line = await shown(pilot, app)
            assert "Host that keeps the backups" in line, line
            assert app.screen.query_one("#field-to", Input).value == "vps"
            # Enter through the fields (the host, a disk too, how often, the passphrase); an
            # empty passphrase is said in one line, nothing runs.
            await press(pilot, app, "enter", "enter", "enter", "enter")
            await settle(pilot, app)
            said = " ".join(str(x) for x in app.screen.query("#status").results())
            assert type(app.screen).__name__ == "BackupFormScreen"
            check_cursor(app)
            from roost.tui.a11y import screen_lines

            text = " ".join(x.strip() for x in screen_lines(app))
            assert "type the vault passphrase" in text or "keeps its passphrase" in text, (
                said, text)

    walk()


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
def test_the_backups_screen_opens_the_restore_form_and_checks_what_was_typed(
        home: Path, size: tuple[int, int]) -> None:
    from support.tui import shown
    from test_tui import make_app, press, settle, sync
    from textual.widgets import Input

    from roost.app.backing_up import Record, save_record
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
    from roost.tui.a11y import screen_lines
    from roost.tui.screens import open_screen

    HostStore(home / HOSTS_FILE).add(Host("vps", "192.0.2.20", user="root"))
    save_record(home, Record("prosody", "pi", "vps", "192.0.2.20",
                             last_archive="prosody-2026-12-05T03:00:00",
                             last_at="2026-12-05T03:00:05+00:00"))

    @sync
    async def walk() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            open_screen(app, "backups")
            await settle(pilot, app)
            line = await shown(pilot, app)
            assert "prosody" in line, line
            await press(pilot, app, "enter")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "RestoreFormScreen"
            assert app.screen.query_one("#field-to", Input).value == "vps"
            await press(pilot, app, "enter")  # to "replace"
            app.screen.query_one("#field-replace", Input).value = "maybe"
            await press(pilot, app, "enter", "enter")
            await settle(pilot, app)
            text = " ".join(x.strip() for x in screen_lines(app))
            assert "say yes or no for replacing" in text, text
            await shown(pilot, app)  # the cursor still on the field it was on

    walk()
