"""A home address that changes: `roost host dyndns NAME ...` installs Debian's ddclient on a
booted Debian host and keeps a name pointed at the host's address, at a local dyndns2
provider (tests/support/dyndns.py on the host's gateway: nothing leaves this machine). The
provider's token comes from the vault and is never in a process's command line or
environment, nor readable on the host by anyone but root."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.answers import pi_with_vault

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import dyndns as dyndns_recipe
from roost.deploy.dryrun import plan_lines
from roost.deploy.dyndns import build_dyndns, check_token
from roost.deploy.hosts import HOSTS_FILE

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PASSPHRASE = "a long passphrase for the dyndns test"
TOKEN = "tok-" + "Q9x" * 8


def test_the_dry_run_names_the_token_never_shows_it() -> None:
    recipe = build_dyndns("home.example.org", "members.dyndns.org", "alice", "dyndns")
    text = "\n".join(plan_lines(recipe, "pi"))
    assert "password='<secret: dyndns password>'" in text
    assert "/etc/ddclient.conf (rendered, mode 0600, owner root:root)" in text
    assert "server=members.dyndns.org" in text and "home.example.org" in text


@pytest.mark.parametrize("bad", ["it's", "a b", "back\\slash", "line\nbreak", ""])
def test_a_token_ddclients_file_cannot_hold_is_refused(bad: str) -> None:
    with pytest.raises(RoostError, match="dynamic-DNS token"):
        check_token(bad)


def test_values_that_would_add_lines_or_options_are_refused() -> None:
    with pytest.raises(RoostError):
        build_dyndns("home.example.org\nlogin=x", "members.dyndns.org", "alice", "dyndns")
    with pytest.raises(RoostError, match="provider's server"):
        build_dyndns("home.example.org", "x,ssl=no", "alice", "dyndns")
    with pytest.raises(RoostError, match="learn the home's address"):
        build_dyndns("home.example.org", "x.org", "alice", "dyndns", check="a b")
    with pytest.raises(RoostError, match="dynamic-DNS login"):
        build_dyndns("home.example.org", "x.org", "al ice", "dyndns")


@pytest.fixture
def pi(pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       home: Path) -> TestHost:
    """The booted host as `pi`, trusted, and a vault holding the provider's login and
    token."""
    from roost.keys import login

    pi_with_vault(pi_host, home, tmp_path, monkeypatch, PASSPHRASE,
                  login.create("dyndns", user="home-user", password=TOKEN))
    return pi_host


@pytest.mark.slow
@pytest.mark.container
def test_ddclient_updates_the_provider_with_the_hosts_address(
    pi: TestHost, monkeypatch: pytest.MonkeyPatch, home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from support.dyndns import DynDnsServer
    from testhost import ProcScanner, files_containing, record_time

    from roost.keys import login
    from roost.keys.vault import Vault

    monkeypatch.setattr(dyndns_recipe, "HEALTH_TIMEOUT", 30.0)

    with DynDnsServer(pi.gateway, login="home-user", token=TOKEN) as provider:
        start = time.monotonic()
        with ProcScanner([TOKEN]) as scan:
            assert main(["host", "dyndns", "pi", "--domain", "home.example.org",
                         "--server", provider.server, "--check", provider.check_url,
                         "--no-tls", "--quiet"]) == 0
        record_time("dyndns", time.monotonic() - start)
        out = capsys.readouterr().out
        assert scan.scans > 0 and scan.hits == []
        assert provider.records == {"home.example.org": pi.address}
        assert provider.refused == []
        assert "ddclient keeps home.example.org pointed at this host's address" in out
        assert pi.ssh("stat -c '%U %G %a' /etc/ddclient.conf").stdout.split() == [
            "root", "root", "600"]
        assert pi.ssh("su -s /bin/sh nobody -c 'cat /etc/ddclient.conf'",
                           check=False).returncode != 0
        pi.ssh("systemctl is-active ddclient")
        assert files_containing(home, [TOKEN]) == []
        assert TOKEN not in out

        # Running it again changes nothing on the host.
        sums = pi.ssh("systemctl show -p MainPID --value ddclient").stdout
        assert main(["host", "dyndns", "pi", "--domain", "home.example.org",
                     "--server", provider.server, "--check", provider.check_url,
                     "--no-tls", "--quiet"]) == 0
        assert pi.ssh("systemctl show -p MainPID --value ddclient").stdout == sums

        # A new token in the vault is tried at once, and a refused one is not called done.
        vault = Vault.open(home, PASSPHRASE)
        vault.remove("dyndns")
        vault.add(login.create("dyndns", user="home-user", password=TOKEN + "-old"))
        capsys.readouterr()
        assert main(["host", "dyndns", "pi", "--domain", "home.example.org",
                     "--server", provider.server, "--check", provider.check_url,
                     "--no-tls", "--quiet"]) == 2
        told = capsys.readouterr().out
        assert provider.refused and "the provider answered" in told, told

        assert main(["host", "dyndns", "pi", "--remove"]) == 0
        assert "file with your token is deleted" in capsys.readouterr().out
        assert pi.ssh("test -e /etc/ddclient.conf", check=False).returncode != 0
        assert pi.ssh("systemctl is-active ddclient", check=False).returncode != 0


@pytest.mark.slow
@pytest.mark.container
def test_a_wrong_token_fails_the_health_check_in_one_line(
    pi: TestHost, monkeypatch: pytest.MonkeyPatch, home: Path,
) -> None:
    """The provider refuses the token: the check says so instead of calling it done."""
    from support.dyndns import DynDnsServer

    from roost.app.dyndns import DynDns
    from roost.deploy import dyndns as recipe_mod
    from roost.deploy.hosts import HostStore

    monkeypatch.setattr(recipe_mod, "HEALTH_TIMEOUT", 20.0)
    with DynDnsServer(pi.gateway, login="home-user", token="another") as provider:
        d = DynDns(HostStore(data_dir() / HOSTS_FILE).get("pi"), home, domain="home.example.org",
                   server=provider.server, check=provider.check_url, ssl=False,
                   passphrase=lambda: PASSPHRASE)
        with pytest.raises(RoostError, match="not healthy"):
            d.run()
        assert provider.refused and provider.records == {}


@pytest.mark.slow
@pytest.mark.container
def test_the_plain_mode_and_the_app_set_it_up_too(pi: TestHost, home: Path) -> None:
    """The plain mode's hosts and the app's host screen run the same use case."""
    import io

    from support.clock import TEST_CLOCK as CLOCK
    from support.dyndns import DynDnsServer
    from test_tui import check_cursor, press, settle, sync
    from textual.widgets import Input

    from roost.cli.plain import Plain
    from roost.plan.workspace import Workspace
    from roost.tui.a11y import AccessibleList, screen_lines
    from roost.tui.app import RoostApp
    from roost.tui.screens.hosts import HostScreen


    with DynDnsServer(pi.gateway, login="home-user", token=TOKEN) as provider:
        out = io.StringIO()
        # Hosts: 2 is the dynamic-DNS action (1 adds a host), then the host, then the form.
        answers = ["2", "1", "home.example.org", provider.server, "", provider.check_url, "2"]
        Plain(Workspace.open(home, detect=False), out,
              io.StringIO("".join(a + "\n" for a in answers)), False).hosts()
        text = out.getvalue()
        assert "  1. pi" in text and "ddclient keeps home.example.org pointed" in text, text
        assert provider.records == {"home.example.org": pi.address}

        @sync
        async def in_the_app() -> None:
            app = RoostApp(screen_reader=True, home=home, clock=CLOCK)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                app.push_screen(HostScreen("pi"))
                await settle(pilot, app)
                menu = app.screen.query_one(AccessibleList)
                line = ""
                while menu.current is None or menu.current.key != "dyndns":
                    line = await press(pilot, app, "down")
                assert "Keep a dynamic-DNS name pointed at it, action, Enter" in line
                await press(pilot, app, "enter")
                await settle(pilot, app)
                assert type(app.screen).__name__ == "DynDnsScreen"
                assert "Name to keep up to date" in check_cursor(app)
                for key, value in {"domain": "other.example.org", "server": provider.server,
                                   "check": provider.check_url, "https": "no",
                                   "passphrase": PASSPHRASE}.items():
                    app.screen.query_one(f"#field-{key}", Input).value = value
                app.screen.query_one("#form-actions").focus()
                await pilot.pause()
                await press(pilot, app, "enter")
                await settle(pilot, app)
                assert type(app.screen).__name__ == "HostScreen"
                shown = " ".join(x.strip() for x in screen_lines(app))
                assert "ddclient keeps other.example.org pointed" in shown, shown

        in_the_app()
        assert provider.records["other.example.org"] == pi.address
        assert provider.refused == []
