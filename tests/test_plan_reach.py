"""The plan uses what it learns about ways in: a service others must reach (chat, social,
mail, a blog: `reached_by_others` in its manifest) is offered at home with the way in that is
in place, named; with none, the step says so and offers the three ways. In `plan --json`,
`roost plan` and `roost next`, the plain mode and the TUI (at 80x24 and 40x12)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support.clock import TEST_CLOCK as CLOCK
from support.clock import TEST_TODAY as TODAY

from roost.catalog import load
from roost.cli.main import main
from roost.cli.plain import run_plain
from roost.plan.answers import Answers
from roost.plan.detect import HostFacts
from roost.plan.workspace import Workspace

FACTS = HostFacts("aarch64", 4096, 50_000, "debian", "12", "bookworm",
                  "Raspberry Pi 4 Model B Rev 1.4", "pi")
ANSWERS = Answers(uses=("whatsapp",), hardware=("pi",), has_domain=True,
                  domain="example.org", skill="some", pace="fast", pi_ram_mb=4096,
                  pi_arch="aarch64")
ONION = "a" * 56 + ".onion"


def workspace(home: Path) -> Workspace:
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.save_answers(ANSWERS)
    return ws


def test_the_catalog_marks_the_services_others_must_reach() -> None:
    c = load()
    others = {s.id for s in c.services if s.requirements.reached_by_others}
    assert {"prosody", "matrix-synapse", "gotosocial", "mail-in-a-box", "static-blog"} <= others
    assert not {"minidlna", "navidrome", "ssb-oasis"} & others
    assert not any(s.requirements.lan_only for s in c.services if s.id in others)


def test_at_home_without_a_way_in_the_step_says_what_is_missing(home: Path) -> None:
    step = workspace(home).plan(TODAY).get("prosody")
    assert step is not None and step.way == "home"
    assert step.ways_in == ()
    assert step.reach.startswith("Others must reach Prosody (XMPP chat) from outside, and no "
                                 "way in is in place yet.")
    for way in ("the router forwards its ports", "a relay through your VPS",
                "carrier-grade NAT", "a Tor onion service for private use",
                "roost reach prosody --host NAME"):
        assert way in step.reach
    assert step.reach_short() == "No way in from outside yet."


def test_with_a_way_in_the_step_says_which_and_loses_it_again(home: Path) -> None:
    ws = workspace(home)
    ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp", "5269/tcp"))
    assert ws.plan(TODAY).get("prosody").ways_in == ()  # type: ignore[union-attr]
    ws.record_reach("prosody", "pi", "tor", address=ONION)
    step = ws.plan(TODAY).get("prosody")
    assert step is not None and step.ways_in == ("tor",)
    assert step.reach == f"People outside reach it as a Tor onion service on pi (at {ONION})."
    assert step.reach_short() == "Reached over Tor."
    ws.record_reach("prosody", "pi", "relay", via="vps")
    assert ws.plan(TODAY).get("prosody").reach_short() == (  # type: ignore[union-attr]
        "Reached through a relay and over Tor.")  # the latest first
    ws.record_reach_removed("prosody", "pi", "tor")
    ws.record_reach_removed("prosody", "pi", "relay")
    assert ws.plan(TODAY).get("prosody").reach.startswith("Others must reach")  # type: ignore[union-attr]


def test_nothing_is_said_where_no_way_in_is_needed(home: Path) -> None:
    plan = workspace(home).plan(TODAY)
    for s in plan.steps:
        svc = load().get(s.service_id)
        assert svc is not None
        if s.way != "home" or not svc.requirements.reached_by_others:
            assert s.reach == "" and s.ways_in == () and s.reach_short() == "", s.service_id


def test_plan_json_next_and_plan_lines_say_it(home: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ws = workspace(home)
    assert main(["plan", "--json"]) == 0
    steps = {s["service_id"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["prosody"]["ways_in"] == [] and "no way in" in steps["prosody"]["reach"]
    assert main(["plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Id: prosody." in x)
    assert line.endswith("Id: prosody. No way in from outside yet.")
    assert main(["next"]) == 0
    out = capsys.readouterr().out
    assert "Prosody (XMPP chat), next" in out.splitlines()[0]
    assert "\nFrom outside: Others must reach Prosody (XMPP chat) from outside, and no way " \
           "in is in place yet." in out
    ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp",))
    ws.record_reach("prosody", "pi", "tor", address=ONION)
    assert main(["plan", "--json"]) == 0
    steps = {s["service_id"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["prosody"]["ways_in"] == ["tor"] and ONION in steps["prosody"]["reach"]
    assert main(["plan"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Id: prosody." in x)
    assert line.endswith("Id: prosody. Reached over Tor."), "done, and how it is reached"


def test_plain_mode_says_it_on_the_step(home: Path) -> None:
    ws = workspace(home)
    nxt = ws.next_step(TODAY)
    assert nxt is not None and nxt.service_id == "prosody", "prosody replaces WhatsApp first"
    out = io.StringIO()
    assert run_plain(False, home=home, facts=FACTS, clock=CLOCK,
                     stdin=io.StringIO("1\n0\n0\n"), stdout=out) == 0
    text = out.getvalue()
    assert "From outside: Others must reach Prosody (XMPP chat) from outside, and no way in " \
           "is in place yet." in text


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
def test_the_plan_screen_and_the_step_say_it_under_the_cursor(
        home: Path, size: tuple[int, int]) -> None:
    """The plan's row for the step says there is no way in yet; on the step's screen the
    "From outside" row reads, under the cursor, its state first, and the sentence follows
    (wrapped in a 40x12 terminal)."""
    from test_tui import press, sync

    from roost.tui.a11y import AccessibleList
    from roost.tui.app import RoostApp
    from roost.tui.screens import open_screen

    workspace(home)

    @sync
    async def run() -> None:
        app = RoostApp(screen_reader=True, home=home, facts=FACTS, clock=CLOCK)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            open_screen(app, "plan")
            await pilot.pause()
            await press(pilot, app, "down", "up")
            plan_rows = app.screen.query_one(AccessibleList).rows
            row = next(r for r in plan_rows if r.key == "step:prosody")
            assert "No way in from outside yet." in row.extra
            open_screen(app, "detail", "prosody")
            await pilot.pause()
            menu = app.screen.query_one(AccessibleList)
            keys = [r.key for r in menu.rows]
            assert keys.index("info:reach") == keys.index("info:way") + 1
            line = ""
            while menu.current is None or menu.current.key != "info:reach":
                line = await press(pilot, app, "down")
            assert "From outside" in line and "no way in yet" in line, line
            assert "carrier-grade NAT" in menu.current.extra

    run()
