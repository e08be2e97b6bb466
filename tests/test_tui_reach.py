"""The "Can others reach it?" screen, driven by keys through Pilot: opened from the plan, a
host and the deploy result; a real check (a port on loopback) at 80x24 and at 40x12, with the
terminal cursor on the focused line and its state after every key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from test_reach_checks import catalog_with_port  # noqa: F401 (a fixture)
from test_tui import check_cursor, down_to, make_app, press, screen_lines, settle, sync

from roost.deploy.reachability.model import Check, Report
from roost.tui.a11y import cursor_line
from roost.tui.screens import open_screen
from roost.tui.screens.reach import ReachScreen


@pytest.fixture
def home(home: Path, monkeypatch: pytest.MonkeyPatch,
         catalog_with_port: tuple[Path, socket.socket]) -> Path:  # noqa: F811
    home.mkdir()
    monkeypatch.setenv("ROOST_CATALOG_DIR", str(catalog_with_port[0]))
    return home


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
@sync
async def test_check_a_port_by_keyboard_and_read_each_line(
        home: Path, catalog_with_port: tuple[Path, socket.socket],  # noqa: F811
        size: tuple[int, int]) -> None:
    port = catalog_with_port[1].getsockname()[1]
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        open_screen(app, "reach", "ssb-pub:local")
        await settle(pilot, app)
        assert isinstance(app.screen, ReachScreen)
        line = check_cursor(app)
        assert "From here, own network only" in line
        await press(pilot, app, "enter")
        await settle(pilot, app)
        line = check_cursor(app)
        assert "Result, all fine" in line
        await press(pilot, app, "down")
        line = check_cursor(app)
        assert line.strip().startswith(f"ok, port {port}/tcp from this"), line
        text = " ".join(screen_lines(app))
        assert "Others can reach ssb-pub on local" in text
        # Closed now: r checks again and says so, in words.
        catalog_with_port[1].close()
        await press(pilot, app, "r")
        await settle(pilot, app)
        line = check_cursor(app)
        assert "Result, needs your attention" in line
        await press(pilot, app, "down")
        assert check_cursor(app).strip().startswith("closed, port"), cursor_line(app)
        await pilot.press("q")  # back (the welcome screen is not made for 40x12)
        await pilot.pause()
        assert not isinstance(app.screen, ReachScreen)


@sync
async def test_opened_from_the_plan_and_a_host_by_key_o(home: Path) -> None:
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "h")
        await press(pilot, app, "enter")  # the host "local"
        await press(pilot, app, "o")
        assert isinstance(app.screen, ReachScreen)
        assert "Nothing to check here" in check_cursor(app)
        await press(pilot, app, "q")
        await press(pilot, app, "q")
        assert "Check" not in cursor_line(app)


@sync
async def test_a_report_reads_state_first_and_what_to_do(home: Path) -> None:
    report = Report("prosody", "pi", "chat.example.org", "192.0.2.7", "vps", (
        Check("dns", "SRV _xmpp-client._tcp.chat.example.org", "missing",
              "there is no SRV record _xmpp-client._tcp.chat.example.org.",
              "Add an SRV record _xmpp-client._tcp.chat.example.org pointing at "
              "chat.example.org port 5222."),
        Check("port", "port 5222/tcp from vps", "ok", "192.0.2.7:5222 answers from vps.")))
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        screen = ReachScreen("prosody", "pi")
        await app.push_screen(screen)
        await settle(pilot, app)
        screen.show(report)
        await settle(pilot, app)
        assert "Result, needs your attention" in check_cursor(app)
        await press(pilot, app, "down")
        assert check_cursor(app).strip().startswith("missing, SRV _xmpp-client")
        await press(pilot, app, "down")
        assert check_cursor(app).strip().startswith("ok, port 5222/tcp from vps")


@sync
async def test_opened_from_a_step_of_the_plan_by_key_o(home: Path) -> None:
    from support.scenes import FACTS, prepare

    from roost.tui.app import RoostApp

    prepare(home, "progress")
    app = RoostApp(screen_reader=True, home=home, facts=FACTS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "p")
        step = app.screen.menu.current  # type: ignore[attr-defined]
        assert step is not None and step.key.startswith("step:")
        await press(pilot, app, "o")
        assert isinstance(app.screen, ReachScreen)
        assert app.screen.service_id == step.key.split(":", 1)[1]
        assert "From here, own network only" in check_cursor(app)


@sync
async def test_the_deploy_result_runs_the_checks_and_key_o_opens_them(
        home: Path, catalog_with_port: tuple[Path, socket.socket]) -> None:  # noqa: F811
    from types import SimpleNamespace

    from roost.tui.screens.deploy import DeployScreen

    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        deploy = DeployScreen("ssb-pub")
        await app.push_screen(deploy)
        await settle(pilot, app)
        await press(pilot, app, "o")
        assert "once the deploy has finished" in " ".join(screen_lines(app))
        deploy.host_name = "local"
        deploy.finished(SimpleNamespace(health=None, next_steps=(), version="", ports=()))
        await settle(pilot, app)
        assert any(r.key == "reach" for r in deploy.finish_rows)
        port = catalog_with_port[1].getsockname()[1]
        reached = [r.extra for r in deploy.finish_rows if r.key.startswith("reached:")]
        assert reached[0].startswith(f"ok: port {port}/tcp from this computer"), reached
        assert reached[1] == "Others can reach ssb-pub on local: all 1 checks are fine."
        assert reached[2].startswith("To check from outside your network: roost host add")
        await press(pilot, app, "o")
        assert isinstance(app.screen, ReachScreen)
        assert (app.screen.service_id, app.screen.host_name) == ("ssb-pub", "local")
        assert "From here, own network only, ssb-pub on local" in check_cursor(app)


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
@sync
async def test_the_router_forwarding_from_a_step_and_its_question_read_line_by_line(
        home: Path, size: tuple[int, int]) -> None:
    """The step of a service others reach offers the router forwarding (UPnP); its screen
    lists the hosts that run it with the ports, and the question asked before the router is
    changed reads "no" first. The real router is in tests/test_reach_upnp.py."""
    from test_plan_reach import ANSWERS, FACTS

    from roost.plan.workspace import Workspace
    from roost.tui.a11y import AccessibleList
    from roost.tui.app import RoostApp
    from roost.tui.screens.forms import YesNoScreen
    from roost.tui.screens.ways_in import UpnpScreen

    ws = Workspace.open(home, facts=FACTS, detect=False)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp", "5269/tcp"))
    app = RoostApp(screen_reader=True, home=home, facts=FACTS)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        wide = size[0] >= 80  # the step's longer lines are cut at 40 columns
        if wide:
            open_screen(app, "detail", "prosody")
            await settle(pilot, app)
            line = await down_to(pilot, app, "action:upnp")
            assert "Have your router forward the ports (UPnP), action, Enter" in line, line
            await press(pilot, app, "enter")
        else:
            open_screen(app, "reach-upnp", "prosody")
        await settle(pilot, app)
        assert isinstance(app.screen, UpnpScreen)
        line = check_cursor(app)
        assert "Forward the ports to pi, action" in line, line
        assert "5222/tcp, 5269/tcp" in " ".join(x.strip() for x in screen_lines(app))
        await pilot.press("q")  # back (the welcome screen is not made for 40x12)
        await pilot.pause()
        # Once the router forwards them, the step and the screen offer to stop it.
        ws.record_reach("prosody", "pi", "upnp", address="192.0.2.1")
        if wide:
            app.screen.refresh_content()  # type: ignore[attr-defined]
            await settle(pilot, app)
            menu = app.screen.query_one(AccessibleList)
            assert menu.current is not None and menu.current.key == "action:upnp"
            assert "Stop the router forwarding, action, Enter" in check_cursor(app)
            await press(pilot, app, "enter")
        else:
            open_screen(app, "reach-upnp", "prosody")
        await settle(pilot, app)
        assert "Stop forwarding to pi, action" in check_cursor(app)
        answers: list[bool] = []
        app.push_screen(YesNoScreen("roost will ask your router to forward ports 5222/tcp, "
                                    "5269/tcp to pi (10.0.0.2), so people outside reach it; "
                                    "yes or no?", yes="Yes, ask the router",
                                    no="No, change nothing", title="Ask the router?"),
                        answers.append)
        await settle(pilot, app)
        assert "No, change nothing, answer" in check_cursor(app)
        assert "forward ports 5222/tcp" in " ".join(x.strip() for x in screen_lines(app))
        await press(pilot, app, "down")
        assert "Yes, ask the router, answer" in check_cursor(app)
        await press(pilot, app, "enter")
        assert answers == [True]
        assert isinstance(app.screen, UpnpScreen)
