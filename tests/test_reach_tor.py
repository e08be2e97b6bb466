"""A Tor onion service for a deployed service (`roost reach ID --host NAME --tor`).

There is no Tor network here, so the proof is what can be proven on a booted Debian host:
Debian's `tor` starts with the vault's key, the `hostname` file Tor itself writes equals the
identity's onion address, the configuration passes `tor --verify-config`, the key never
shows in a process's command line and is readable by debian-tor alone; `--remove` and
`roost undeploy` take it away again. The host's /etc/tor/torrc is given `DisableNetwork 1`
before tor is installed (dpkg keeps it), so the test never contacts the real Tor network.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.answers import pi_with_vault

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy.dryrun import plan_lines
from roost.deploy.hosts import HOSTS_FILE
from roost.deploy.onion import build_onion, onion_removal, tcp_ports, torrc_text
from roost.deploy.steps import WriteFile
from roost.keys import tor
from roost.plan.workspace import Workspace

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PASSPHRASE = "a long passphrase for the onion test"


def test_the_drop_in_carries_each_tcp_port_to_the_same_port_on_loopback() -> None:
    assert tcp_ports(("5222/tcp", "5269/tcp", "1900/udp", "5222/tcp")) == (5222, 5269)
    text = torrc_text("prosody", (5222, 5269))
    assert "HiddenServiceDir /var/lib/tor/roost-prosody\n" in text
    assert "HiddenServicePort 5222 127.0.0.1:5222\nHiddenServicePort 5269 127.0.0.1:5269\n" \
        in text


def test_the_dry_run_shows_the_key_as_a_secret_and_never_writes_the_hostname() -> None:
    ident = tor.create("home")
    recipe = build_onion("prosody", "home", ident.public["hostname"],
                         base64.b64decode(ident.public["public_key"]), ("5222/tcp",))
    text = "\n".join(plan_lines(recipe, "pi"))
    assert "<secret: home hs_ed25519_secret_key>" in text
    assert ident.secret["expanded_secret_key"] not in text
    written = [s.path for s in recipe.steps if isinstance(s, WriteFile)]
    assert "/var/lib/tor/roost-prosody/hostname" not in written  # Tor writes it, from the key
    assert [s.describe() for s in onion_removal("prosody").uninstall][:2] == [
        "remove /etc/tor/torrc.d/roost-prosody.conf", "remove /var/lib/tor/roost-prosody"]


def test_a_service_without_a_tcp_port_or_a_bad_address_is_refused() -> None:
    ident = tor.create("home")
    pub = base64.b64decode(ident.public["public_key"])
    with pytest.raises(RoostError, match="no TCP port"):
        build_onion("minidlna", "home", ident.public["hostname"], pub, ("1900/udp",))
    with pytest.raises(RoostError, match="not a Tor v3 onion address"):
        build_onion("prosody", "home", "example.org", pub, ("5222/tcp",))


def test_the_vault_gives_tors_key_file_as_bytes(tmp_path: Path) -> None:
    from roost.deploy.local import LocalTransport
    from roost.deploy.session import vault_secrets
    from roost.deploy.steps import Secret, StepContext
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    ident = tor.create("home")
    Vault.create(tmp_path, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS).add(ident)
    ctx = StepContext(LocalTransport(), secrets=vault_secrets(lambda: PASSPHRASE, tmp_path))
    data = ctx.data(Secret("home", tor.SECRET_FILE_FIELD, binary=True))
    assert data == tor.secret_key_file(ident)


def test_closing_without_a_way_says_which_to_add(home: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reach", "prosody", "--host", "local", "--close"]) == 2
    assert "Add --upnp, --relay VPS or --tor" in capsys.readouterr().err


# --- on a booted Debian host, through roost's own commands -----------------------------------

@pytest.fixture
def onion_key() -> tor.Identity:
    return tor.create("home-onion")


@pytest.fixture
def pi(pi_host: TestHost, onion_key: tor.Identity, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch, home: Path) -> TestHost:
    """The booted host as `pi`, trusted, a vault holding `onion_key`, and tor kept offline
    there: no Tor network here, and none outside may be reached."""
    pi_with_vault(pi_host, home, tmp_path, monkeypatch, PASSPHRASE, onion_key)
    pi_host.ssh("mkdir -p /etc/tor && printf 'DisableNetwork 1\\n' > /etc/tor/torrc")
    return pi_host


@pytest.mark.slow
@pytest.mark.container
def test_tor_starts_with_the_vaults_key_and_writes_its_onion_address(
    pi: TestHost, onion_key: tor.Identity, tmp_path: Path, home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import time

    from test_service_static_blog import make_site
    from testhost import ProcScanner, files_containing, record_time

    ident = onion_key
    onion = ident.public["hostname"]
    secrets = [tor.derived_secret(ident, tor.SECRET_FILE_FIELD) or "",
               ident.secret["expanded_secret_key"],
               tor.secret_key_file(ident)[32:].hex()]
    site = tmp_path / "site"
    make_site(site, "Behind an onion")
    blog = ["--option", f"site={site}", "--option", f"address={pi.address}"]
    assert main(["deploy", "static-blog", "--host", "pi", "--quiet", *blog]) == 0
    capsys.readouterr()

    start = time.monotonic()
    with ProcScanner(secrets) as scan:
        assert main(["reach", "static-blog", "--host", "pi", "--tor", "--quiet"]) == 0
    record_time("reach_tor", time.monotonic() - start)
    out = capsys.readouterr().out
    assert scan.scans > 0 and scan.hits == []
    assert f"reachable over Tor at {onion}" in out

    folder = "/var/lib/tor/roost-static-blog"
    assert pi.ssh(f"cat {folder}/hostname").stdout.strip() == onion
    assert pi.ssh(f"stat -c '%U %a' {folder} {folder}/hs_ed25519_secret_key"
                       ).stdout.split("\n")[:2] == ["debian-tor 2700", "debian-tor 600"]
    assert pi.ssh(f"sha256sum < {folder}/hs_ed25519_secret_key").stdout.split()[0] == \
        __import__("hashlib").sha256(tor.secret_key_file(ident)).hexdigest()
    pi.ssh("systemctl is-active tor@default")
    assert "Configuration was valid" in pi.ssh(
        "tor --defaults-torrc /usr/share/tor/tor-service-defaults-torrc -f /etc/tor/torrc "
        "--verify-config").stdout
    assert "HiddenServicePort 80 127.0.0.1:80" in pi.ssh(
        "cat /etc/tor/torrc.d/roost-static-blog.conf").stdout
    assert files_containing(home, secrets[:2]) == []
    ws = Workspace.open(home, detect=False)
    ways = ws.progress.ways_in("static-blog", "pi")
    assert [(e.detail["way"], e.detail.get("address")) for e in ways] == [("tor", onion)]

    # roost check says how it is reached, from a look at the host: Tor runs, and the onion
    # service's hostname is the address roost noted.
    def check_line() -> str:
        main(["check"])
        return next(x for x in capsys.readouterr().out.splitlines()
                    if x.startswith("blog (static-blog) on pi: "))

    assert check_line().endswith("; reachable from outside over Tor."), check_line()
    pi.ssh("systemctl stop tor@default")
    gone = check_line()
    assert gone.endswith("; not reachable from outside (Tor is not running on pi)."), gone
    pi.ssh("systemctl start tor@default")

    # Again: nothing changes, Tor is not restarted.
    pid = pi.ssh("systemctl show -p MainPID --value tor@default").stdout.strip()
    assert main(["reach", "static-blog", "--host", "pi", "--tor", "--quiet"]) == 0
    assert pi.ssh("systemctl show -p MainPID --value tor@default").stdout.strip() == pid

    assert main(["reach", "static-blog", "--host", "pi", "--tor", "--remove"]) == 0
    assert "Removed the onion service" in capsys.readouterr().out
    assert pi.ssh(f"test -e {folder} || test -e /etc/tor/torrc.d/roost-static-blog.conf",
                       check=False).returncode != 0
    pi.ssh("systemctl is-active tor@default")
    ws.reload()
    assert ws.progress.ways_in("static-blog", "pi") == ()

    # Undeploying the service takes its onion service with it.
    assert main(["reach", "static-blog", "--host", "pi", "--tor", "--quiet"]) == 0
    assert pi.ssh(f"cat {folder}/hostname").stdout.strip() == onion
    assert main(["undeploy", "static-blog", "--host", "pi", *blog]) == 0
    assert "Removed the onion service of static-blog" in capsys.readouterr().out
    assert pi.ssh(f"test -e {folder}", check=False).returncode != 0
    ws.reload()
    assert ws.progress.ways_in("static-blog", "pi") == ()
    assert [e.kind for e in ws.progress.effective()][-2:] == ["reach_removed", "removed"]


@pytest.mark.slow
@pytest.mark.container
def test_the_plain_mode_and_the_app_make_it_too(
    pi: TestHost, onion_key: tor.Identity, home: Path,
) -> None:
    """The step of a service others must reach offers Tor in the plain mode and on the
    app's step screen; both run the same use case over real SSH."""
    import io

    from support.clock import TEST_CLOCK as CLOCK
    from test_plan_reach import ANSWERS, FACTS
    from test_tui import check_cursor, down_to, press, settle, sync
    from textual.widgets import Input

    from roost.cli.plain import Plain
    from roost.tui.a11y import AccessibleList, screen_lines
    from roost.tui.app import RoostApp
    from roost.tui.screens import open_screen

    ident = onion_key
    onion = ident.public["hostname"]
    folder = "/var/lib/tor/roost-prosody"
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("prosody", "pi", "0.12.3", ports=("5222/tcp", "5269/tcp"))

    out = io.StringIO()
    # 4 is "Deploy it", 5 "Check that others can reach it", 6 the onion service
    Plain(ws, out, io.StringIO("6\n0\n"), False).step("prosody")
    text = out.getvalue()
    assert "  6. Reach it over Tor: an onion service for private use" in text
    assert f"reachable over Tor at {onion}" in text, text[-2000:]
    assert pi.ssh(f"cat {folder}/hostname").stdout.strip() == onion
    assert "HiddenServicePort 5269 127.0.0.1:5269" in pi.ssh(
        "cat /etc/tor/torrc.d/roost-prosody.conf").stdout
    assert main(["reach", "prosody", "--host", "pi", "--tor", "--remove"]) == 0
    assert pi.ssh(f"test -e {folder}", check=False).returncode != 0

    @sync
    async def in_the_app() -> None:
        app = RoostApp(screen_reader=True, home=home, facts=FACTS, clock=CLOCK)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            open_screen(app, "detail", "prosody")
            await settle(pilot, app)
            line = await down_to(pilot, app, "action:tor")
            assert "Reach it over Tor, action, Enter" in line, line
            await press(pilot, app, "enter")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "OnionScreen"
            app.screen.query_one("#field-passphrase", Input).value = PASSPHRASE
            app.screen.query_one("#deploy-log").focus()
            await pilot.pause()
            assert "Reach it over Tor on pi" in check_cursor(app)
            await press(pilot, app, "enter")
            await settle(pilot, app)
            shown = " ".join(x.strip() for x in screen_lines(app))
            assert "Finished: prosody is reachable over Tor on pi" in shown, shown
            await pilot.pause()
            assert "What next" in check_cursor(app)
            menu = app.screen.query_one("#deploy-log", AccessibleList)
            assert menu.current is not None and onion in menu.current.extra

    in_the_app()
    assert pi.ssh(f"cat {folder}/hostname").stdout.strip() == onion
    ws.reload()
    assert [e.detail["way"] for e in ws.progress.ways_in("prosody", "pi")] == ["tor"]


def test_the_dry_runs_name_every_step_and_change_nothing(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    from roost.deploy.hosts import Host, HostStore
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    ident = tor.create("home-onion")
    Vault.create(home, PASSPHRASE, limits=FAST_LIMITS_FOR_TESTS).add(ident)
    HostStore(data_dir() / HOSTS_FILE).add(Host("pi", address="192.0.2.7", user="pi"))
    assert main(["reach", "prosody", "--host", "pi", "--tor", "--dry-run"]) == 2
    assert "prosody is not deployed on pi" in capsys.readouterr().err
    Workspace.open(home, detect=False).deployed("prosody", "pi", "1", ports=("5222/tcp",))
    assert main(["reach", "prosody", "--host", "pi", "--tor", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "HiddenServicePort 5222 127.0.0.1:5222" in out and "<secret: home-onion" in out
    assert main(["reach", "prosody", "--host", "pi", "--tor", "--remove", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "rm -rf -- /var/lib/tor/roost-prosody" in out and "HiddenServicePort" not in out
    assert Workspace.open(home, detect=False).progress.ways_in("prosody", "pi") == ()


@pytest.mark.slow
@pytest.mark.container
def test_an_onion_service_that_cannot_be_removed_does_not_stop_the_undeploy(
    pi: TestHost, tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Tor refuses to restart (a broken torrc): the service is still removed and noted, and
    one line says how to remove the onion service once Tor is fixed."""
    from test_service_static_blog import make_site

    site = tmp_path / "site"
    make_site(site, "Behind an onion")
    blog = ["--option", f"site={site}", "--option", f"address={pi.address}"]
    assert main(["deploy", "static-blog", "--host", "pi", "--quiet", *blog]) == 0
    assert main(["reach", "static-blog", "--host", "pi", "--tor", "--quiet"]) == 0
    capsys.readouterr()
    pi.ssh("printf 'NoSuchTorOption 1\\n' >> /etc/tor/torrc")
    assert main(["undeploy", "static-blog", "--host", "pi", *blog]) == 0
    out = capsys.readouterr().out
    assert "Its onion service is still there: " in out, out
    assert "roost reach static-blog --host pi --tor --remove" in out
    assert "Noted in your progress: static-blog no longer runs on pi." in out
    ws = Workspace.open(home, detect=False)
    assert ws.progress.running() == ()
