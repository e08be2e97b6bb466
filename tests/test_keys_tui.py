"""The Identities screen, keyboard only, in screen-reader mode: make a login for WordPress
(roost makes the password, or the person types one), then remove identities after the
screen that says what is lost. The cursor rule (the line under the terminal cursor names what
has focus) is checked after every key, as in tests/test_tui.py whose helpers this uses."""

from __future__ import annotations

from pathlib import Path

from test_tui import check_cursor, make_app, press, settle, sync, type_text
from textual.widgets import Input

from roost.keys import Vault
from roost.keys.vault import FAST_LIMITS_FOR_TESTS
from roost.tui.a11y import AccessibleList, cursor_line, screen_lines

PASS = "correct horse battery staple"


async def choose(pilot, app, menu_id: str, key: str) -> None:  # type: ignore[no-untyped-def]
    menu = app.screen.query_one(f"#{menu_id}", AccessibleList)
    target = [r.key for r in menu.rows].index(key)
    while menu.highlighted != target:
        assert menu.highlighted is not None
        await press(pilot, app, "down" if menu.highlighted < target else "up")


def text(app) -> str:  # type: ignore[no-untyped-def]
    return " ".join(" ".join(screen_lines(app)).split())


@sync
async def test_make_a_login_then_remove_it_with_a_confirm(home: Path) -> None:
    Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "i")
        # x where there is no identity says what to do.
        await press(pilot, app, "x")
        assert "Move to an identity first" in text(app)
        await press(pilot, app, "n")
        await choose(pilot, app, "identity-kinds", "kind:login")
        assert "Login with a password, no questions" in check_cursor(app)
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "IdentityFormScreen"
        shown = text(app)
        assert "Name it wordpress" in shown and "Make a new login with a password" in shown
        assert "Name (for you)" in check_cursor(app)
        app.screen.query_one("#field-label", Input).value = "wordpress"
        await press(pilot, app, "enter")
        assert "user name to log in with" in check_cursor(app)
        await press(pilot, app, "enter")
        assert "e-mail" in check_cursor(app)
        await press(pilot, app, "enter")
        assert "Your own password (optional)" in check_cursor(app)
        await press(pilot, app, "enter")  # empty: roost makes one
        assert "Your password again" in check_cursor(app)
        await press(pilot, app, "enter")
        assert "Vault passphrase" in check_cursor(app)
        await type_text(pilot, PASS)
        assert PASS not in text(app)
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        shown = text(app)
        assert "Made wordpress, logging in as admin" in shown
        assert "roost keys show wordpress --secret" in shown
        ident = Vault.open(home, PASS).get("wordpress")
        assert ident.kind == "login" and ident.public["user"] == "admin"
        assert ident.secret["password"] not in shown
        line = check_cursor(app)
        assert "Login with a password, in the vault, named wordpress" in line

        # p on the login: its password, after the passphrase, on its own screen only.
        pw = ident.secret["password"]
        await press(pilot, app, "home", "p")
        assert type(app.screen).__name__ == "ShowPasswordScreen"
        assert "It logs in as admin." in text(app) and pw not in text(app)
        assert "Vault passphrase" in check_cursor(app)
        await type_text(pilot, "not the passphrase")
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert "the passphrase is wrong" in text(app) and pw not in text(app)
        app.screen.query_one("#field-passphrase", Input).value = PASS
        await press(pilot, app, "enter")
        await settle(pilot, app)
        line = check_cursor(app)
        assert f"Password, {pw}, 1 of 2" in line, line
        assert app.screen.query_one("#field-passphrase", Input).value == ""
        await press(pilot, app, "down")
        assert "Back, and hide it" in check_cursor(app)
        await press(pilot, app, "q")
        assert type(app.screen).__name__ == "IdentitiesScreen" and pw not in text(app)

        # x on the identity: the confirm screen says what is lost; Cancel keeps it.
        await press(pilot, app, "home", "x")
        assert type(app.screen).__name__ == "RemoveIdentityScreen"
        shown = text(app)
        assert "Remove the identity wordpress?" in shown
        assert "only a backup made before can bring it back" in " ".join(shown.split()).lower()
        assert "Vault passphrase" in check_cursor(app)
        await press(pilot, app, "tab")
        assert "Remove wordpress for good" in check_cursor(app)
        await press(pilot, app, "down")
        assert "Cancel, keep wordpress" in check_cursor(app)
        await press(pilot, app, "enter")
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "wordpress" in Vault.open(home, PASS)

        # A wrong passphrase removes nothing and says so.
        await press(pilot, app, "home", "x")
        await type_text(pilot, "not the passphrase")
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "RemoveIdentityScreen"
        assert "the passphrase is wrong" in text(app)
        assert "wordpress" in Vault.open(home, PASS)

        app.screen.query_one("#field-passphrase", Input).value = PASS
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "Removed wordpress from the vault." in text(app)
        assert "No identities yet" in cursor_line(app)
    assert "wordpress" not in Vault.open(home, PASS)
    assert Vault.public_index(home) == ()


@sync
async def test_a_typed_login_password_is_asked_twice(home: Path) -> None:
    Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    own = "my own typed password"
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "i", "n")
        await choose(pilot, app, "identity-kinds", "kind:login")
        await press(pilot, app, "enter")
        form = app.screen
        form.query_one("#field-label", Input).value = "mail"
        form.query_one("#field-email", Input).value = "robin@example.org"
        form.query_one("#field-own_password", Input).value = own
        form.query_one("#field-own_again", Input).value = own + "x"
        form.query_one("#field-passphrase", Input).value = PASS
        form.query_one("#field-passphrase", Input).focus()
        await pilot.pause()
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert "the two passwords differ" in text(app) and own not in text(app)
        assert not [i for i in Vault.public_index(home)]
        form.query_one("#field-own_again", Input).value = own
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "Made mail, logging in as robin@example.org" in text(app)
        assert own not in text(app)
    assert Vault.open(home, PASS).get("mail").secret["password"] == own


@sync
async def test_p_on_a_key_says_it_has_no_password(home: Path) -> None:
    from roost.keys import create

    Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS).add(create("ssh"))
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "i")
        assert "p shows" not in text(app)
        await press(pilot, app, "p")
        assert type(app.screen).__name__ == "IdentitiesScreen"
        assert "ssh has no password: its secrets are keys. Enter exports them." in text(app)
        await press(pilot, app, "end", "p")
        assert "Move to a login first" in text(app)


@sync
async def test_p_on_a_matrix_identity_shows_the_admin_password(home: Path) -> None:
    from roost.keys import create

    ident = create("matrix", server_name="example.org")
    Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS).add(ident)
    pw = ident.secret["admin_password"]
    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, app, "i")
        assert "p shows its password" in text(app)
        await press(pilot, app, "home", "p")
        assert type(app.screen).__name__ == "ShowPasswordScreen"
        app.screen.query_one("#field-passphrase", Input).value = PASS
        await press(pilot, app, "enter")
        await settle(pilot, app)
        assert f"Password, {pw}, 1 of 2" in check_cursor(app)
