"""The status view and the plan's last-check words, in the full-screen app and plain mode,
against a real service: the static blog's own health check (the recipe's, as the deploy ran
it) fetching from a real HTTP server on this computer (host `local`), then that server
stopped. Keyboard only, the cursor on the focused line, at 80x24 and 40x12."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clock import TEST_CLOCK
from test_deploy_progress import ANSWERS
from test_tui import SIZE, check_cursor, make_app, press, screen_lines, settle, sync

from roost.cli.plain import run_plain
from roost.deploy.recipes.static_blog import PLACEHOLDER
from roost.plan.workspace import Workspace
from roost.tui.a11y import cursor_line
from roost.tui.screens import open_screen


class _Blog(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PLACEHOLDER)))
        self.end_headers()
        self.wfile.write(PLACEHOLDER)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def blog() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Blog)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def deployed_home(home: Path, blog: http.server.ThreadingHTTPServer) -> Path:
    """A plan, and the static blog recorded as deployed on `local` at the server's port."""
    ws = Workspace.open(home, detect=False, clock=TEST_CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("static-blog", "local", "1.22", ports=(f"{blog.server_port}/tcp",),
                recipe="static-blog",
                options={"address": "127.0.0.1", "port": str(blog.server_port)})
    return home


@pytest.mark.parametrize("size", [SIZE, (40, 12)])
@sync
async def test_status_view_checks_again_and_the_plan_says_the_last_state(
    deployed_home: Path, blog: http.server.ThreadingHTTPServer, size: tuple[int, int],
) -> None:
    app = make_app(deployed_home, screen_reader=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if size == SIZE:
            rows = [r.key for r in app.screen.menu.rows]  # type: ignore[attr-defined]
            await press(pilot, app, *["down"] * rows.index("status"))
            assert "Status" in check_cursor(app)
            await press(pilot, app, "enter")
        else:  # the welcome screen's list has no room at 40x12 (its intro and keys fill it)
            open_screen(app, "status")
            await settle(pilot, app)
        assert type(app.screen).__name__ == "StatusScreen"
        assert "not checked yet" in check_cursor(app)
        await press(pilot, app, "enter")  # Enter (or r) checks now
        await settle(pilot, app)
        row = app.screen.menu.current  # type: ignore[attr-defined]
        assert (row.label, row.state) == ("static-blog on local", "working")
        assert row.extra.startswith("blog (static-blog) on local: working")
        assert "static-blog on local, working, 1" in check_cursor(app)
        assert "All good." in " ".join(screen_lines(app))  # the status line says it

        blog.shutdown()
        blog.server_close()
        await press(pilot, app, "r")
        await settle(pilot, app)
        assert "static-blog on local, not working, 1" in cursor_line(app)
        check_cursor(app)
        assert "Something needs attention." in " ".join(screen_lines(app))

        await pilot.press("q")  # (Welcome's cursor at 40x12: see above)
        await settle(pilot, app)
        assert type(app.screen).__name__ == "WelcomeScreen"
        await pilot.press("p")
        await settle(pilot, app)
        rows = [r for r in app.screen.menu.rows  # type: ignore[attr-defined]
                if r.key == "step:static-blog"]
        assert rows and ("Last check on local, 2026-11-25 12:00 UTC: not working."
                         in rows[0].extra)


def test_plain_mode_checks_from_its_menu(deployed_home: Path) -> None:
    out = io.StringIO()
    probe = io.StringIO()
    run_plain(home=deployed_home, clock=TEST_CLOCK, stdin=io.StringIO(""), stdout=probe)
    menu_lines = probe.getvalue().splitlines()
    number = next(line.split(".")[0].strip() for line in menu_lines
                  if "Status: is everything working?" in line)
    run_plain(home=deployed_home, clock=TEST_CLOCK, stdin=io.StringIO(f"{number}\n0\n"),
              stdout=out)
    text = out.getvalue()
    assert "blog (static-blog) on local: working" in text
    assert "All good." in text


@sync
async def test_the_updates_view_looks_and_says_each_service_in_words(
    deployed_home: Path,
) -> None:
    """The Updates screen (the same use case as `roost updates`) from the first screen: Enter
    reads this computer's own apt lists for the blog's packages (host `local`, read only), one
    row a service in words; Enter on a service with nothing newer says so."""
    app = make_app(deployed_home, screen_reader=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rows = [r.key for r in app.screen.menu.rows]  # type: ignore[attr-defined]
        await press(pilot, app, *["down"] * rows.index("updates"))
        assert "Updates" in check_cursor(app)
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "UpdatesScreen"
        assert "Look for updates now" in check_cursor(app)
        await press(pilot, app, "enter")
        for _ in range(100):  # the worker reads apt's lists
            await settle(pilot, app)
            if not app.screen.busy:  # type: ignore[attr-defined]
                break
        svc = [r for r in app.screen.menu.rows  # type: ignore[attr-defined]
               if r.key == "svc:static-blog:local"]
        assert svc, [r.key for r in app.screen.menu.rows]  # type: ignore[attr-defined]
        assert svc[0].extra.startswith("blog (static-blog) on local: ")
        assert svc[0].state == "up to date" or svc[0].state.endswith(" newer")
        if svc[0].state == "up to date":
            await press(pilot, app, "down")
            await press(pilot, app, "enter")
            assert "Nothing to upgrade for static-blog on local." in " ".join(
                screen_lines(app))
