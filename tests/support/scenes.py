"""Fixed, repeatable states of the app: one per screen, for the snapshot tests and for
`scripts/screenshots.py`. Same machine facts, same day, same answers, every time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roost.core.clock import fixed
from roost.plan.answers import Answers
from roost.plan.detect import HostFacts
from roost.plan.progress import Event, Progress
from roost.plan.workspace import Workspace

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLOCK = fixed(NOW)
"""Every scene's time: the app, its workspace and the saved state all read this clock."""
FACTS = HostFacts("aarch64", 4096, 50_000, "debian", "12", "bookworm",
                  "Raspberry Pi 4 Model B Rev 1.4", "pi")
ANSWERS = Answers(uses=("facebook", "twitter", "whatsapp"), hardware=("pi",),
                  has_domain=False, domain=None, skill="beginner", pace="weekly",
                  pi_ram_mb=4096, pi_arch="aarch64")
AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    name: str
    state: str
    """fresh (nothing saved) or progress (answers saved, the first step done yesterday)."""
    keys: tuple[str, ...] = ()
    open: str | None = None
    """A screen to push directly (for screens reached only after a long flow)."""
    snapshot: bool = True
    """False: screenshots only (it runs real work whose output is not byte-stable)."""


SCENES = (
    Scene("welcome-new", "fresh"),
    Scene("welcome", "progress"),
    Scene("assessment", "fresh", ("a",)),
    Scene("plan", "progress", ("p",)),
    Scene("service", "progress", ("c",)),
    Scene("skip", "progress", ("c", "s")),
    Scene("identities", "progress", ("i",)),
    Scene("hosts", "progress", ("h",)),
    Scene("deploy", "progress", (), open="deploy"),
    Scene("deploy-finished", "progress", (), open="deploy-hello", snapshot=False),
    Scene("reach", "progress", (), open="reach"),
    Scene("reach-report", "progress", (), open="reach-report"),
    Scene("alerts", "progress", (), open="alerts"),
    Scene("backups", "progress", (), open="backups"),
    Scene("backup-form", "progress", (), open="backup-form"),
    Scene("import-form", "progress", ("d",)),
    Scene("updates", "progress", (), open="updates"),
    Scene("reach-upnp", "progress", (), open="reach-upnp"),
    Scene("reach-upnp-question", "progress", (), open="reach-upnp-question"),
    Scene("settings", "progress", ("s",)),
    Scene("help", "progress", ("question_mark",)),
)


def prepare(home: Path, state: str) -> None:
    """Write the scene's saved state under `home`."""
    home.mkdir(parents=True, exist_ok=True)
    if state == "fresh":
        return
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    first = None
    if ws.answers is None:
        ws.save_answers(ANSWERS)
        nxt = ws.next_step()
        assert nxt is not None
        first = nxt.service_id
    if first is not None:
        done = Event("done", AT, first)

        def change(p: Progress) -> Progress:
            return p.with_event(done)

        ws.store.update(change)


def run_before(scene: Scene) -> Callable[[object], Awaitable[None]]:
    """A Pilot callback that opens the scene's screen."""

    async def go(pilot: object) -> None:
        from textual.pilot import Pilot

        assert isinstance(pilot, Pilot)
        await pilot.pause()
        if scene.open == "deploy":
            from roost.tui.app import RoostApp
            from roost.tui.screens import open_screen

            app = pilot.app
            assert isinstance(app, RoostApp)
            nxt = app.ws.next_step()
            open_screen(app, "deploy", nxt.service_id if nxt else "static-blog")
        if scene.open in ("reach", "reach-report"):
            from roost.tui.screens import open_screen

            open_screen(pilot.app, "reach", "prosody")
            if scene.open == "reach-report":
                await pilot.pause()
                pilot.app.screen.show(REACH_REPORT)  # type: ignore[attr-defined]
        if scene.open in ("backups", "backup-form"):
            from roost.tui.screens import open_screen

            backed_up_blog(pilot.app.ws.home)  # type: ignore[attr-defined]
            pilot.app.ws.reload()  # type: ignore[attr-defined]
            if scene.open == "backups":
                open_screen(pilot.app, "backups")
            else:
                open_screen(pilot.app, "backup", "prosody:pi")
        if scene.open == "alerts":
            from roost.tui.screens import open_screen

            watching_chat(pilot.app.ws.home)  # type: ignore[attr-defined]
            open_screen(pilot.app, "alerts")
        if scene.open == "updates":
            from roost.tui.screens import open_screen

            open_screen(pilot.app, "updates")
            await pilot.pause()
            screen: Any = pilot.app.screen
            screen.report = UPDATES_REPORT
            screen.refresh_content()
            screen.say(UPDATES_REPORT.summary)
        if scene.open in ("reach-upnp", "reach-upnp-question"):
            await reach_upnp(pilot, question=scene.open.endswith("question"))
        if scene.open == "deploy-hello":
            await deploy_hello(pilot)
        for key in scene.keys:
            await pilot.press(key)
        await pilot.pause()

    return go


async def reach_upnp(pilot: object, question: bool) -> None:
    """The router forwarding (UPnP) for Prosody on pi; with `question`, the question asked
    once the router has answered, before it is changed."""
    from textual.pilot import Pilot

    from roost.app.opening import consent_question
    from roost.deploy.recipe import Port
    from roost.tui.app import RoostApp
    from roost.tui.screens import open_screen
    from roost.tui.screens.forms import YesNoScreen

    assert isinstance(pilot, Pilot)
    app = pilot.app
    assert isinstance(app, RoostApp)
    app.ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp", "5269/tcp"))
    open_screen(app, "reach-upnp", "prosody")
    if question:
        await pilot.pause()
        app.push_screen(YesNoScreen(
            consent_question((Port(5222), Port(5269)), "pi", "192.168.1.20"),
            yes="Yes, ask the router", no="No, change nothing", title="Ask the router?"))


def _reach_report() -> object:
    from roost.deploy.reachability.model import Check, Report

    return Report("prosody", "pi", "chat.example.org", "192.0.2.7", "vps", (
        Check("dns", "A/AAAA chat.example.org", "ok", "chat.example.org points at 192.0.2.7."),
        Check("dns", "SRV _xmpp-client._tcp.chat.example.org", "missing",
              "there is no SRV record _xmpp-client._tcp.chat.example.org.",
              "Add an SRV record _xmpp-client._tcp.chat.example.org pointing at "
              "chat.example.org port 5222 (so XMPP apps find your server)."),
        Check("port", "port 5222/tcp from vps", "ok", "192.0.2.7:5222 answers from vps."),
        Check("port", "port 5269/tcp from vps", "closed",
              "192.0.2.7:5269 refused the connection from vps.",
              "Forward port 5269 on your router to this host."),
        Check("tls", "certificate days left for chat.example.org", "ok",
              "80 days left (until 2027-02-13).")))


REACH_REPORT = _reach_report()
"""A fixed report for the reach screen's snapshot (its checks are proven elsewhere)."""

def backed_up_blog(home: Path) -> None:
    """The blog backed up from the pi to the vps last night; chat deployed on the pi and not
    backed up yet (what "protect what you moved" offers)."""
    from roost.app.backing_up import Record, save_record
    from roost.deploy.hosts import HOSTS_FILE, Host, HostStore

    store = HostStore(home / HOSTS_FILE)
    known = {h.name for h in store.all()}
    for name, address in (("pi", "192.0.2.8"), ("vps", "192.0.2.20")):
        if name not in known:
            store.add(Host(name, address, user="root"))
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.deployed("static-blog", "pi", "1.22")
    ws.record_backup("static-blog", "pi", "vps", "daily")
    ws.deployed("prosody", "pi", "0.12.3")
    save_record(home, Record("static-blog", "pi", "vps", "192.0.2.20",
                             last_archive="static-blog-2026-11-25T03:00:00",
                             last_at="2026-11-25T03:00:41+00:00", size=48_000,
                             original=2_300_000))


def watching_chat(home: Path) -> None:
    """A watch kept in the data folder: chat on the pi, watched from the vps."""
    from roost.app.watching import Watching
    from roost.deploy.watch import Probe, Watch

    Watching(home).record(Watch(
        "prosody", "pi", "vps", "chat (prosody)",
        Probe("xmpp", "192.0.2.8", 5222, name="chat.example.org"), "you@example.net",
        "alerts", "roost-alerts@example.net"))


HELLO_ROOT = "/tmp/roost-screenshot-hello"


async def deploy_hello(pilot: object) -> None:
    """Run the demo recipe into a scratch folder on this machine, as a person would."""
    import os
    import shutil

    from textual.pilot import Pilot
    from textual.widgets import Input

    from roost.tui.screens import open_screen

    assert isinstance(pilot, Pilot)
    for path in (HELLO_ROOT, HELLO_ROOT + "-state"):
        shutil.rmtree(path, ignore_errors=True)
    os.environ["ROOST_HOST_STATE_DIR"] = HELLO_ROOT + "-state"
    open_screen(pilot.app, "deploy", "hello")
    await pilot.pause()
    pilot.app.screen.query_one("#field-root", Input).value = str(HELLO_ROOT)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def _updates_report() -> Any:
    from roost.app.upgrading import HostUpdates, ServiceUpdates, UpdatesReport
    from roost.deploy.upgrade import Pending

    return UpdatesReport((HostUpdates("pi", True, services=(
        ServiceUpdates("prosody", "pi", "chat (prosody)", (
            Pending("openssl", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1", True),
            Pending("prosody", "0.12.3-1", "0.12.4-1", False))),
        ServiceUpdates("static-blog", "pi", "blog (static-blog)"))),))


UPDATES_REPORT = _updates_report()
"""A fixed report for the updates screen's snapshot (looking and upgrading are proven over
SSH in tests/test_upgrade.py)."""
