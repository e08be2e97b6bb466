"""The full-screen app, driven by Textual's Pilot: every flow by keyboard, and the cursor rule
(the terminal cursor sits on the line that says what is focused) after every key."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from support.clock import TEST_CLOCK as CLOCK
from support.clock import TEST_TODAY as TODAY
from support.tui import check_cursor, shown
from textual.widgets import Input

from roost.plan.detect import HostFacts
from roost.plan.workspace import Workspace
from roost.tui.a11y import AccessibleList, Row, cursor_line, screen_lines
from roost.tui.app import RoostApp

"""The time every test here runs at: nothing below reads the wall clock."""
FACTS = HostFacts("x86_64", 4096, 50000, "debian", "12", "bookworm", None, "testbox")
SIZE = (80, 24)


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))
    return wrapper


def make_app(home: Path, screen_reader: bool = False) -> RoostApp:
    return RoostApp(screen_reader=screen_reader, home=home, facts=FACTS, clock=CLOCK)


async def press(pilot, app: RoostApp, *keys: str) -> str:  # type: ignore[no-untyped-def]
    line = ""
    for k in keys:
        await pilot.press(k)
        await pilot.pause()
        line = await shown(pilot, app)
    return line


SCRIPT: dict[str, object] = {
    "uses": ["facebook", "whatsapp"], "this_machine": "", "hardware": ["pi"],
    "pi_ram_mb": "4096", "pi_arch": "aarch64", "vps_ram_mb": "1024", "has_domain": "no",
    "domain": "", "skill": "beginner", "pace": "weekly",
}


async def down_to(pilot, app: RoostApp, key: str) -> str:  # type: ignore[no-untyped-def]
    """Down the screen's list until the row `key` has the cursor; what was said last."""
    menu = app.screen.query_one(AccessibleList)
    line = ""
    while menu.current is None or menu.current.key != key:
        line = await press(pilot, app, "down")
    return line


async def move_to(pilot, app: RoostApp, key: str) -> None:  # type: ignore[no-untyped-def]
    menu = app.screen.query_one("#choices", AccessibleList)
    target = [r.key for r in menu.rows].index(key)
    while menu.highlighted != target:
        assert menu.highlighted is not None
        await press(pilot, app, "j" if menu.highlighted < target else "up")


async def answer_until(pilot, app: RoostApp, script: dict[str, object],  # type: ignore[no-untyped-def]
                       stop: str | None = None) -> None:
    """Answer by question id, with the keys a person would press, until question `stop`."""
    from roost.tui.screens.assessment import AssessmentScreen

    if type(app.screen).__name__ != "AssessmentScreen":
        await press(pilot, app, "a")
    for _ in range(15):  # more than there are questions: a stuck flow stops here
        if not isinstance(app.screen, AssessmentScreen):
            return
        q = app.screen.question
        if q.id == stop:
            return
        value = script[q.id]
        if q.kind == "many":
            assert isinstance(value, list)
            menu = app.screen.query_one("#choices", AccessibleList)
            for v, _label in q.choices:
                row = next(r for r in menu.rows if r.key == f"choice:{v}")
                if (v in value) != row.state.startswith("[x]"):
                    await move_to(pilot, app, f"choice:{v}")
                    line = await press(pilot, app, "enter")
                    assert ("[x] chosen" if v in value else "[ ] not chosen") in line
            await press(pilot, app, "n")
        elif q.kind in ("one", "yesno"):
            await move_to(pilot, app, f"choice:{value}")
            await press(pilot, app, "enter")
        else:
            assert isinstance(app.focused, Input)
            app.focused.value = ""
            for ch in str(value):
                await pilot.press(ch)
            await press(pilot, app, "enter")


async def answer_all(pilot, app: RoostApp) -> None:  # type: ignore[no-untyped-def]
    await answer_until(pilot, app, SCRIPT)


@contextlib.asynccontextmanager
async def running(home: Path, screen_reader: bool = False) -> AsyncIterator[tuple[Any, RoostApp]]:
    """The app running on a SIZE screen, its first frame drawn. (pilot, app)."""
    app = make_app(home, screen_reader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        yield pilot, app


@contextlib.asynccontextmanager
async def planned(home: Path, screen_reader: bool = False) -> AsyncIterator[tuple[Any, RoostApp]]:
    """The app running, every question answered (SCRIPT): on the plan. (pilot, app)."""
    async with running(home, screen_reader) as (pilot, app):
        await answer_all(pilot, app)
        yield pilot, app


@pytest.mark.parametrize("screen_reader", [False, True])
@sync
async def test_assess_plan_open_done_restart(home: Path, screen_reader: bool) -> None:
    async with running(home, screen_reader) as (pilot, app):
        assert "Answer a few questions" in await shown(pilot, app)
        await answer_all(pilot, app)
        assert type(app.screen).__name__ == "PlanScreen"
        line = check_cursor(app)
        assert "next" in line, "the suggested next step is first and focused"
        first = app.screen.query_one("#steps", AccessibleList).current
        assert first is not None
        service_id = first.key.split(":", 1)[1]
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "ServiceScreen"
        assert "State" in cursor_line(app) and "next" in cursor_line(app)
        await press(pilot, app, "m")
        status = "\n".join(screen_lines(app))
        assert "done" in status and "Next:" in status
        await press(pilot, app, "q")
        assert type(app.screen).__name__ == "PlanScreen"
        await press(pilot, app, "q")
        assert type(app.screen).__name__ == "WelcomeScreen"
        await press(pilot, app, "q")
    assert app.return_value == 0

    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    assert ws.plan(TODAY).get(service_id).state == "done"  # type: ignore[union-attr]
    nxt = ws.next_step(TODAY)
    assert nxt is not None and nxt.service_id != service_id

    again = make_app(home, screen_reader)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = await shown(pilot, again)
        assert "Continue where you left off" in line and nxt.name[:30] in line
        text = "\n".join(screen_lines(again))
        assert f"1 of {len(ws.plan(TODAY).steps)} done" in text
        await press(pilot, again, "enter")
        assert type(again.screen).__name__ == "ServiceScreen"
        assert again.screen.service_id == nxt.service_id  # type: ignore[attr-defined]
        await press(pilot, again, "q", "p")
        plan_text = "\n".join(screen_lines(again))
        assert "done" in plan_text
        # weekly pace: the next step waits a week after the last one done
        assert "waiting until" in check_cursor(again)


@sync
async def test_skip_with_reason_then_undo(home: Path) -> None:
    async with planned(home) as (pilot, app):
        first = app.screen.query_one("#steps", AccessibleList).current
        assert first is not None
        await press(pilot, app, "s")
        assert type(app.screen).__name__ == "SkipScreen"
        await press(pilot, app, "down", "enter")
        assert type(app.screen).__name__ == "PlanScreen"
        text = "\n".join(screen_lines(app))
        assert "skipped: I do not need it" in text
        await press(pilot, app, "u")
        assert "Undone: skipping" in "\n".join(screen_lines(app))
        assert "skipped" not in "\n".join(screen_lines(app))


@sync
async def test_every_screen_keeps_cursor_on_focused_row(home: Path) -> None:
    async with planned(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "q")
        for key, name in (("i", "IdentitiesScreen"), ("h", "HostsScreen"),
                          ("s", "SettingsScreen"), ("question_mark", "HelpScreen"),
                          ("p", "PlanScreen")):
            await press(pilot, app, "down")
            if key in ("i", "h"):
                target = "identities" if key == "i" else "hosts"
                menu = app.screen.query_one("#welcome-menu", AccessibleList)
                assert menu.highlight_key(target)
                await pilot.pause()
                await press(pilot, app, "enter")
            else:
                await press(pilot, app, key)
            assert type(app.screen).__name__ == name
            ys = []
            for _ in range(3):
                await press(pilot, app, "j")
                ys.append(app.cursor_position.y)
            await press(pilot, app, "k", "down", "up")
            if name == "PlanScreen":
                await press(pilot, app, "enter")
                for _ in range(12):
                    await press(pilot, app, "down")
                await press(pilot, app, "escape")
            await press(pilot, app, "backspace")
            assert type(app.screen).__name__ == "WelcomeScreen"


@sync
async def test_q_on_welcome_quits_and_escape_alone_does_not(home: Path) -> None:
    async with running(home) as (pilot, app):
        await press(pilot, app, "s", "escape")
        assert type(app.screen).__name__ == "WelcomeScreen"
        await press(pilot, app, "escape", "backspace")
        assert type(app.screen).__name__ == "WelcomeScreen", "only q quits from the first screen"
        assert "press q to quit" in "\n".join(screen_lines(app))
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


@sync
async def test_help_lists_every_key_of_every_screen(home: Path) -> None:
    from roost.tui.screens.settings import all_screens

    async with running(home) as (pilot, app):
        await press(pilot, app, "question_mark")
        rows = app.screen.query_one("#help", AccessibleList).rows
        labels = {r.label for r in rows}
        for cls in all_screens():
            assert f"{cls.NAME} screen" in labels
            for key, what in cls.key_help():
                assert f"{key}: {what}" in labels
        assert any(r.label.startswith("m: mark done") for r in rows)


@sync
async def test_settings_toggle_screen_reader_is_saved(home: Path) -> None:
    async with running(home) as (pilot, app):
        await press(pilot, app, "s")
        line = await press(pilot, app, "enter")
        assert "Screen-reader mode" in line and "on" in line
        assert app.has_class("screen-reader")
        assert ", 1 of 3" in line, "screen-reader rows read as one sentence with position"
        await press(pilot, app, "down", "down", "enter")
        assert "Colours" in cursor_line(app) and "off" in cursor_line(app)
    again = make_app(home)
    assert again.screen_reader and not again.settings.colours


@sync
async def test_text_question_uses_an_input_on_a_labelled_line(home: Path) -> None:
    async with running(home) as (pilot, app):
        await answer_until(pilot, app, {**SCRIPT, "has_domain": "yes"}, stop="domain")
        assert isinstance(app.focused, Input)
        check_cursor(app)
        for ch in "example.org":
            await pilot.press(ch)
        await press(pilot, app, "enter")
        assert "comfortable" in screen_lines(app)[0]
        await press(pilot, app, "backspace")                            # previous question
        assert isinstance(app.focused, Input) and app.focused.value == "example.org"
        await press(pilot, app, "enter")
        await answer_all(pilot, app)
        assert type(app.screen).__name__ == "PlanScreen"
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    assert ws.answers is not None and ws.answers.domain == "example.org"


@sync
async def test_space_ticks_a_box_like_enter(home: Path) -> None:
    async with running(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "a")
        assert "not chosen" in check_cursor(app)
        line = await press(pilot, app, "space")
        assert "[x] chosen" in check_cursor(app), line
        await press(pilot, app, "space")
        assert "not chosen" in check_cursor(app)


@sync
async def test_bad_domain_is_one_line_not_a_crash(home: Path) -> None:
    async with planned(home) as (pilot, app):
        await press(pilot, app, "a")
        await answer_until(pilot, app, {**SCRIPT, "has_domain": "yes",
                                        "domain": "not a domain"})
        assert type(app.screen).__name__ == "AssessmentScreen", "the bad answer is not saved"
        status = screen_lines(app)
        assert any("domain" in line.lower() for line in status[-5:]), status


@sync
async def test_answer_checked_when_given_and_kept_for_the_next_run(home: Path) -> None:
    """Issue 20, 13/14 (as in plain mode): a bad domain is refused on Enter and the question
    stays; the answers given so far survive the app being closed, and the next run resumes
    at the first question not answered."""
    async with running(home, screen_reader=True) as (pilot, app):
        await answer_until(pilot, app, {**SCRIPT, "has_domain": "yes"}, stop="domain")
        assert isinstance(app.focused, Input) and app.focused.placeholder.strip() == "empty"
        for ch in "not a domain":
            await pilot.press("space" if ch == " " else ch)
        await press(pilot, app, "enter")
        assert app.screen.question.id == "domain"  # type: ignore[attr-defined]
        assert any("is not a valid domain name" in line for line in screen_lines(app))
    async with running(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "a")
        assert app.screen.question.id == "domain"  # type: ignore[attr-defined]
        lines = screen_lines(app)
        assert any("Welcome back" in line for line in lines), "\n".join(lines)
        await answer_all(pilot, app)
        assert type(app.screen).__name__ == "PlanScreen"
    assert not (home / "answers-so-far.toml").exists()


@sync
async def test_service_screen_says_where_it_will_run(home: Path) -> None:
    """Issue 20, 11: roost runs on an x86_64 laptop (FACTS), the person said services run on
    a 64-bit Pi: the step says the Pi, not this computer."""
    async with planned(home, screen_reader=True) as (pilot, app):
        home_step = next(s for s in app.ws.plan().steps if s.way == "home")
        steps = app.screen.query_one("#steps", AccessibleList)
        for _ in range(len(steps.rows)):
            row = steps.current
            assert row is not None
            if row.key == f"step:{home_step.service_id}":
                break
            await press(pilot, app, "down")
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "ServiceScreen"
        menu = app.screen.query_one("#detail", AccessibleList)
        where = next(r for r in menu.rows if r.key == "info:hardware")
        assert where.label == "Where it will run", where
        assert "your Pi" in where.extra and "aarch64" in where.extra, where
        assert "x86_64 computer" not in "\n".join(screen_lines(app))


@sync
async def test_help_opens_at_the_screen_it_was_asked_from(home: Path) -> None:
    """Issue 20, 7: ? on Hosts opens Help on the Hosts screen's keys, read at the cursor."""
    async with running(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "h")
        await press(pilot, app, "question_mark")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "HelpScreen"
        line = check_cursor(app)
        assert line.strip().startswith("Hosts screen, "), line
        line = await press(pilot, app, "down")
        assert "Hosts" in line and "Up/Down or j/k: move" in line, line


@sync
async def test_tab_is_offered_only_where_it_moves(home: Path) -> None:
    """Issue 20, 6: a screen with one list does not offer Tab (it was silent there); a form
    offers it, and Tab there reaches the next field, whose line is under the cursor."""
    from roost.tui.screens.settings import all_screens

    for cls in all_screens():
        offered = any(k == "Tab" for k, _ in cls.key_help())
        assert offered == cls.FIELDS, cls.NAME
    async with running(home, screen_reader=True) as (pilot, app):
        await press(pilot, app, "h")
        assert "Tab" not in "\n".join(screen_lines(app)[-3:])
        await press(pilot, app, "a")
        assert "Tab next field" in "\n".join(screen_lines(app)[-3:])
        assert cursor_line(app).strip().startswith("Short name:")
        await press(pilot, app, "tab")
        assert cursor_line(app).strip().startswith("Address:"), cursor_line(app)


@sync
async def test_no_command_palette_and_no_loading_indicator(home: Path) -> None:
    from textual.widgets import LoadingIndicator

    app = make_app(home, screen_reader=True)
    assert app.ENABLE_COMMAND_PALETTE is False
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert type(app.screen).__name__ == "WelcomeScreen"
        assert not app.screen.query(LoadingIndicator)
        text = "\n".join(screen_lines(app))
        assert text.isascii(), "screen-reader mode draws no border glyphs or emoji"


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def settle(pilot, app: RoostApp) -> None:  # type: ignore[no-untyped-def]
    """Every worker done (one that failed is the screen's to report: its error is not raised
    here, whether it finished before or during this wait), then the screen drawn."""
    from textual.worker import WorkerCancelled, WorkerFailed

    for worker in list(app.workers):
        with contextlib.suppress(WorkerFailed, WorkerCancelled):
            await worker.wait()
    await pilot.pause()
    await pilot.pause()
    await shown(pilot, app, cursor=False)


@sync
async def test_make_an_identity_then_export_a_backup(home: Path) -> None:
    from roost.keys import Vault
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS

    secret = "correct horse battery staple"
    app = make_app(home, screen_reader=True)
    app.kdf_limits = FAST_LIMITS_FOR_TESTS
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, app, "i")
        assert "No identities yet" in cursor_line(app)
        await press(pilot, app, "n")
        assert type(app.screen).__name__ == "KindScreen"
        menu = app.screen.query_one("#identity-kinds", AccessibleList)
        while menu.current is not None and menu.current.key != "kind:ssh":
            await press(pilot, app, "down")
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "IdentityFormScreen"
        assert "Name (for you)" in check_cursor(app)
        await press(pilot, app, "enter", "enter")          # name ssh, no comment
        assert "Vault passphrase" in check_cursor(app)
        await type_text(pilot, secret)
        shown = "\n".join(screen_lines(app))
        assert "*" * len(secret) in shown and secret not in shown
        assert shown.isascii(), "a password field reads as stars, not 'bullet'"
        await press(pilot, app, "enter")
        assert "again" in check_cursor(app)
        await type_text(pilot, secret[:-1] + "X")
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert "the two passphrases differ" in "\n".join(screen_lines(app))
        assert not Vault.exists(home)
        app.screen.query_one("#field-again", Input).value = secret
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        infos = Vault.public_index(home)
        assert [i.kind for i in infos] == ["ssh"]
        text = "\n".join(screen_lines(app))
        assert "Made ssh" in text and secret not in text
        line = check_cursor(app)
        assert "SSH key" in line and "in the vault" in line

        await press(pilot, app, "e")
        assert type(app.screen).__name__ == "BackupScreen"
        await press(pilot, app, "tab")
        assert "Vault passphrase" in check_cursor(app)
        await type_text(pilot, "wrong passphrase here")
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "BackupScreen"
        app.screen.query_one("#field-passphrase", Input).value = secret
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "The backup is written to" in "\n".join(screen_lines(app))

        await press(pilot, app, "home", "enter")  # Enter on the identity: export its files
        assert type(app.screen).__name__ == "ExportIdentityScreen"
        assert "OpenSSH private key" in "\n".join(screen_lines(app))
        await press(pilot, app, "tab")
        assert "Vault passphrase" in check_cursor(app)
        app.screen.query_one("#field-passphrase", Input).value = secret
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "Wrote" in "\n".join(screen_lines(app))
    exported = home / "export" / "ssh"
    assert oct(exported.stat().st_mode & 0o777) == oct(0o600)
    fp = subprocess.run(["ssh-keygen", "-lf", str(exported)], capture_output=True, text=True,
                        check=True).stdout.split()[1]
    assert fp == Vault.public_index(home)[0].public["fingerprint"]
    backups = list(home.glob("roost-keys-*.backup"))
    assert len(backups) == 1 and secret.encode() not in backups[0].read_bytes()
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    assert any(e.kind == "identity" for e in ws.history())


@sync
async def test_ctrl_c_quits_from_any_screen_and_stops_long_work(home: Path) -> None:
    import threading

    app = make_app(home)
    running = threading.Event()
    app.cancel_events.append(running)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, app, "s")
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_value == 0 and running.is_set()


def test_first_screens_do_not_import_ssh_http_or_crypto() -> None:
    """paramiko, httpx and nacl load only when a screen that needs them opens."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import roost.tui.app, roost.tui.screens.welcome, roost.tui.screens.plan\n"
            "import roost.tui.screens.assessment, roost.tui.screens.settings\n"
            "import roost.tui.screens.identities, roost.tui.screens.hosts\n"
            "import roost.tui.screens.deploy\n"
            "print(' '.join(m for m in ('paramiko', 'httpx', 'nacl') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == ""


FIRST_SCREEN_LAZY = ("paramiko", "httpx", "nacl", "cryptography", "roost.catalog",
                     "roost.catalog.loader", "roost.plan.planner", "roost.keys", "roost.deploy")
"""What the welcome screen of a new person (no answers yet, so no plan) never loads: the SSH,
HTTP and crypto libraries, the catalog's manifests (parsed on first use) and the planner."""


def test_the_first_screen_shows_without_loading_the_catalog_or_the_plan(
        tmp_path: Path) -> None:
    import sys

    code = ("import asyncio, sys\n"
            "from pathlib import Path\n"
            "from roost.tui.app import RoostApp\n"
            "async def main():\n"
            "    app = RoostApp(home=Path(sys.argv[1]))\n"
            "    async with app.run_test(size=(80, 24)) as pilot:\n"
            "        await pilot.pause()\n"
            "        title = str(app.screen.query_one('#title').render())\n"
            "        loaded = [m for m in sys.argv[2:] if m in sys.modules]\n"
            "    print(title.startswith('roost: leave the big platforms'), *loaded)\n"
            "asyncio.run(main())\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), *FIRST_SCREEN_LAZY],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.split() == ["True"]


async def on_the_second_row(rows: list[Row], screen_reader: bool,
                            size: tuple[int, int]) -> tuple[list[str], int]:
    """An app with one AccessibleList of `rows`, moved down once: the screen's lines and the
    cursor's line."""
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield AccessibleList(rows, screen_reader=screen_reader, id="l")

    app = One()
    async with app.run_test(size=size) as pilot:
        menu = app.query_one("#l", AccessibleList)
        menu.focus()
        await pilot.press("down")
        await pilot.pause()
        offset = menu.cursor_offset()
        assert offset is not None
        return screen_lines(app), offset.y


@pytest.mark.parametrize("screen_reader", [True, False])
@sync
async def test_cursor_sits_on_the_first_line_of_a_wrapped_row(screen_reader: bool) -> None:
    """A row longer than the screen wraps; the cursor goes on its first line, which starts
    with the label and (in screen-reader mode) says the state before anything long."""
    long = Row("log:1", "Read the admin guide", state="failed",
               extra="https://example.org/docs/a/very/long/path/to/the/admin/guide/for/"
                     "this/service.html and then the rest of a long sentence")
    lines, y = await on_the_second_row([Row("a", "short"), long, Row("c", "after")],
                                       screen_reader, (60, 12))
    first, second = lines[y], lines[y + 1]
    assert "Read the admin guide" in first and "failed" in first, lines
    if screen_reader:
        assert "2 of 3" in first, "the position is on the first line too"
    assert "short" in lines[y - 1] and "after" not in second, lines


@sync
async def test_a_long_word_does_not_leave_the_cursor_line_almost_empty() -> None:
    """A deploy log line with a long address: in screen-reader mode the first line is
    filled (the address is split), so the cursor line is not just '- Read'."""
    from roost.tui.a11y import fill_lines

    url = "https://example.org/docs/a/very/long/path/to/the/admin/guide/for/this/service.html"
    line = Row("log:1", f"  - Read {url} first", numbered=False)
    lines, y = await on_the_second_row([Row("a", "short"), line], True, (80, 12))
    assert "- Read https://example.org/docs" in lines[y], lines
    joined = lines[y].strip(" \u258a\u258e") + lines[y + 1].strip(" \u258a\u258e")
    assert url in joined, "nothing is lost: the address continues on the next line"
    assert fill_lines("short words stay whole", 10) == ["short", "words stay", "whole"]
    assert fill_lines("x " + "a" * 30, 10) == ["x aaaaaaaa", "aaaaaaaaaa", "aaaaaaaaaa", "aa"]
