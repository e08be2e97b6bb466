"""The Hosts screens against real things: this computer's facts, and a real sshd on
loopback whose host key fingerprint must be confirmed before it is added."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.tui import shown
from test_tui import (
    SIZE,
    check_cursor,
    make_app,
    press,
    running,
    screen_lines,
    settle,
    sync,
    type_text,
)
from textual.widgets import Input, Label, Static

from roost.deploy.hosts import HOSTS_FILE, HostStore
from roost.tui.a11y import AccessibleList, cursor_line

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]


@pytest.fixture
def home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared `home` (tests/conftest.py), made, with no SSH set-up of the user's own."""
    home.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))  # no ~/.ssh/config, no keys
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


@sync
async def test_read_the_facts_of_this_computer(home: Path) -> None:
    async with running(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "h")
        line = check_cursor(app)
        assert "local" in line and "facts not read yet" in line
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "HostScreen"
        await press(pilot, app, "r")
        await settle(pilot, app)
        text = "\n".join(screen_lines(app))
        assert "Read the facts of local." in text
        assert "Memory:" in text and "Ports in use" in text
        check_cursor(app)
        await press(pilot, app, "q")
        assert "facts read" in cursor_line(app)
    host = HostStore(home / HOSTS_FILE).get("local")
    assert host.facts is not None and host.facts_read_at


async def fill(pilot, app, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for key, value in values.items():
        app.screen.query_one(f"#field-{key}", Input).value = value
    await pilot.pause()


@sync
async def test_add_a_host_only_after_its_fingerprint_is_confirmed(home: Path,
                                                                  sshd: Sshd) -> None:
    app = make_app(home, screen_reader=True)
    target = f"{sshd.user}@{sshd.host}:{sshd.port}"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, app, "h", "a")
        assert type(app.screen).__name__ == "AddHostScreen"
        assert "Short name" in check_cursor(app)
        await fill(pilot, app, {"name": "box", "target": target, "key": str(sshd.key)})
        await press(pilot, app, "tab", "tab", "enter")      # Enter on the last field submits
        await settle(pilot, app)
        assert type(app.screen).__name__ == "TrustScreen"
        text = " ".join(x.strip() for x in screen_lines(app))
        assert sshd.fingerprint() in text
        assert "No, do not trust it" in check_cursor(app), "the safe answer comes first"
        await press(pilot, app, "enter")                     # no
        await settle(pilot, app)
        assert type(app.screen).__name__ == "AddHostScreen"
        assert "Not trusted; nothing was added" in "\n".join(screen_lines(app))
        assert [h.name for h in HostStore(home / HOSTS_FILE).all()] == ["local"]

        menu = app.screen.query_one("#add-host-form", AccessibleList)
        menu.focus()
        await press(pilot, app, "enter")                     # submit again
        await settle(pilot, app)
        assert type(app.screen).__name__ == "TrustScreen"
        await press(pilot, app, "down", "enter")             # yes
        await settle(pilot, app)
        assert type(app.screen).__name__ == "HostsScreen"
        text = "\n".join(screen_lines(app))
        assert "Added box." in text
        assert "box" in check_cursor(app)
    host = HostStore(home / HOSTS_FILE).get("box")
    assert host.facts is not None and sshd.port in host.facts["tcp_ports"]


@sync
async def test_deploy_shows_progress_lines_then_health_and_can_run_again(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from roost.tui.screens import open_screen

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "hello"
    async with running(home, screen_reader=True) as (pilot, app):
        open_screen(app, "deploy", "hello")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DeployScreen"
        line = check_cursor(app)
        assert "Deploy to local" in line
        await fill(pilot, app, {"root": str(root)})
        await press(pilot, app, "enter")
        await settle(pilot, app)
        text = "\n".join(x.strip() for x in screen_lines(app))
        assert "step 1 of 4" in text or "step 1 of" in text, text
        assert "Finished. It is healthy." in text
        assert "Health check, healthy" in text
        check_cursor(app)
        assert (root / "greeting.copy").exists()
        await press(pilot, app, "r")                 # again: everything is already done
        await settle(pilot, app)
        text = "\n".join(x.strip() for x in screen_lines(app))
        assert "already done, nothing changed" in text
        check_cursor(app)


def test_cancel_stops_before_the_next_step_and_resume_finishes(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from roost.core.errors import RoostError
    from roost.tui.screens.deploy import deploy_job

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "hello"
    local = HostStore(home / HOSTS_FILE).get("local")
    events: list[object] = []
    cancel = threading.Event()

    def emit(e: object) -> None:
        events.append(e)
        if len(events) == 2:       # after step 1 started and finished: press c
            cancel.set()

    with pytest.raises(RoostError, match="cancelled"):
        deploy_job("hello", local, home, {"root": str(root)}, "", "", True, emit, cancel)
    assert root.is_dir() and not (root / "greeting.txt").exists(), "stopped after step 1"
    cancel.clear()
    events.clear()
    result = deploy_job("hello", local, home, {"root": str(root)}, "", "", True,
                        events.append, cancel)
    assert result.ok and result.resumed
    assert (root / "greeting.copy").exists()


@sync
@pytest.mark.parametrize("size", [SIZE, (40, 12)])
async def test_deploy_form_has_a_checked_field_per_option_and_passes_them_on(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        size: tuple[int, int]) -> None:
    """static-blog's declared options as labelled fields (keyboard only, at 80x24 and in a
    40x12 terminal where the form scrolls): a bad port is refused in one line under the field
    and on the status line before anything starts; a good one reaches the deploy. The deploy
    is its dry run (static-blog would install nginx on this computer)."""
    from roost.app.deploying import Deployment
    from roost.tui.screens import open_screen

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    given: list[tuple[dict[str, str], list[str]]] = []

    def dry(self: Deployment, **_: object) -> None:
        given.append((dict(self.values), self.dry_run()))

    monkeypatch.setattr(Deployment, "run", dry)
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        open_screen(app, "deploy", "static-blog")
        await settle(pilot, app)
        labels = {f.id: str(f.parent.query_one(Label).render()).strip()
                  for f in app.screen.query(Input) if f.id and f.parent}
        assert labels["field-site"] == "Site:" and labels["field-port"] == "Port:", labels
        notes = " ".join(str(n.render()) for n in app.screen.query(".field-note"))
        assert "The folder on this computer with your pages" in notes, notes
        assert "The port nginx serves the pages on. Default: 80." in notes, notes
        if size == SIZE:
            text = " ".join(x.strip() for x in screen_lines(app))
            assert "The port nginx serves the pages on. Default: 80." in text, text
        await press(pilot, app, "tab")                        # from the hosts to the first field
        assert app.focused is app.screen.query_one("#field-site", Input)
        await press(pilot, app, "tab", "tab")                 # domain, then port
        assert app.focused is app.screen.query_one("#field-port", Input)
        await pilot.pause()
        assert "Port:" in check_cursor(app)
        await type_text(pilot, "99999")
        await press(pilot, app, "enter")
        assert app.focused is app.screen.query_one("#field-port", Input), "stays on the field"
        error = str(app.screen.query_one("#error-port", Static).render())
        assert error.startswith("Port: ") and "99999" in error and "\n" not in error, error
        if size == SIZE:
            lines = [x.strip() for x in screen_lines(app)]
            assert error in lines, "the refusal is on screen, under the field"
        status = str(app.screen.query_one("#status", Static).render())
        assert status == error, "and said on the status line, read as changed text"
        await press(pilot, app, *["backspace"] * 5)
        await type_text(pilot, "8080")
        await press(pilot, app, "enter")                      # accepted: on to the next field
        assert app.focused is app.screen.query_one("#field-address", Input)
        assert not app.screen.query_one("#error-port", Static).display
        await press(pilot, app, "enter", "enter")             # address, passphrase: the hosts
        assert "Deploy to local" in check_cursor(app)
        await press(pilot, app, "enter")
        await settle(pilot, app)
    assert len(given) == 1
    values, plan = given[0]
    assert values == {"port": "8080"}, "only what was typed; empty fields keep the default"
    assert any("8080" in line for line in plan), plan


@sync
async def test_deploy_without_a_recipe_says_so_in_one_line(home: Path) -> None:
    from roost.deploy.recipes import RECIPES
    from roost.tui.screens import open_screen

    # A service roost does not install (no recipe, [install] says why), or failing that one
    # whose recipe is still being written.
    services = make_app(home).ws.catalog.services
    missing = next(s.id for s in (*[s for s in services if s.recipe is None], *services)
                   if (s.recipe or s.id) not in RECIPES)
    async with running(home) as (pilot, app):
        open_screen(app, "deploy", missing)
        await pilot.pause()
        await press(pilot, app, "enter")
        await settle(pilot, app)
        text = "\n".join(screen_lines(app))
        assert "roost does not install" in text or "no deploy recipe" in text, text
        assert "Press r to resume" not in text
        check_cursor(app)


@sync
async def test_deploy_asks_the_sudo_password_only_once_connected_and_trusted(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sudo_user: Sshd) -> None:
    """Nothing about sudo before connecting: a host whose key is not trusted yet stops the
    deploy without a password asked; once trusted and connected, the password is asked (only
    because sudo wants one for a step) and the deploy runs."""
    from roost.app.connecting import connect
    from roost.deploy.hosts import Host
    from roost.tui.screens import open_screen

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    assert sudo_user.password is not None
    box = Host("box", address=sudo_user.host, user=sudo_user.user, port=sudo_user.port,
               key_path=str(sudo_user.key))
    HostStore(home / HOSTS_FILE).add(box)
    site = tmp_path / "site"
    async with running(home, screen_reader=True) as (pilot, app):
        open_screen(app, "deploy", "hello")
        await settle(pilot, app)
        assert not app.screen.query("#field-sudo"), "no sudo password asked before connecting"
        text = "\n".join(screen_lines(app))
        assert "sudo" not in text, text
        await fill(pilot, app, {"root": str(site)})
        await press(pilot, app, "down")
        assert "Deploy to box" in check_cursor(app)
        await press(pilot, app, "enter")
        await settle(pilot, app)
        text = "\n".join(x.strip() for x in screen_lines(app))
        assert "roost has not confirmed box's host key yet" in text, text
        assert type(app.screen).__name__ == "DeployScreen" and "sudo" not in text

        connect(box, home, trust=sudo_user.fingerprint()).close()  # confirmed, as Hosts does
        await pilot.press("r")
        for _ in range(300):
            await pilot.pause(0.1)
            if type(app.screen).__name__ != "DeployScreen":
                break
        assert type(app.screen).__name__ == "SudoScreen"
        on_field = await shown(pilot, app,
                               f"sudo on box asks for the password of {sudo_user.user}")
        assert "sudo password" in on_field
        app.screen.query_one("#field-sudo", Input).value = sudo_user.password
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DeployScreen"
        text = "\n".join(x.strip() for x in screen_lines(app))
        assert "Finished. It is healthy." in text, text
        assert sudo_user.password not in text
        check_cursor(app)
    assert (site / "greeting.txt").read_text().startswith("Hello")
    assert (site / "greeting.txt").stat().st_uid == 0  # written through sudo


@pytest.mark.timeout(120)  # before the fix it hung here, in asyncio.run's executor shutdown
@sync
async def test_quitting_at_the_sudo_question_ends_the_deploy_and_roost(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sudo_user: Sshd) -> None:
    """A person who quits roost while sudo's question is open: the deploy's worker stops
    waiting for an answer nobody can give, so roost closes (it hung before, until killed)."""
    from roost.app.connecting import connect
    from roost.deploy.hosts import Host
    from roost.tui.screens import open_screen

    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    box = Host("box", address=sudo_user.host, user=sudo_user.user, port=sudo_user.port,
               key_path=str(sudo_user.key))
    HostStore(home / HOSTS_FILE).add(box)
    connect(box, home, trust=sudo_user.fingerprint()).close()
    async with running(home, screen_reader=True) as (pilot, app):
        open_screen(app, "deploy", "hello")
        await settle(pilot, app)
        await fill(pilot, app, {"root": str(tmp_path / "site")})
        await press(pilot, app, "down")
        await press(pilot, app, "enter")
        for _ in range(300):
            await pilot.pause(0.1)
            if type(app.screen).__name__ == "SudoScreen":
                break
        assert type(app.screen).__name__ == "SudoScreen"
        app.exit()
    # The proof is that this returns: asyncio.run (in @sync) joins the deploy's worker thread,
    # which waited forever for the answer before the fix (the timeout above then fails it).
