"""Services roost does not install: every catalog service has a recipe or says why not, and
`roost deploy` tells the reason and what to do instead in one line, aware of the host, before
it connects to anything.

Nothing here needs a container: the refusal happens before any SSH. The small hosts are
hosts.toml entries at TEST-NET addresses (192.0.2.0/24) with cached facts; a connection
attempt to them would hang, so the time limit proves none is made.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from roost.catalog import load
from roost.catalog.loader import ENV_CATALOG_DIR
from roost.deploy.hosts import Host, HostStore
from roost.deploy.not_installed import explain, memory_words, no_recipe_error
from roost.deploy.recipes import RECIPES, builder

ROOST = Path(sys.executable).with_name("roost")

def test_every_catalog_service_has_a_recipe_or_says_why_not() -> None:
    catalog = load()
    assert catalog.problems == ()
    missing = []
    for s in catalog.services:
        if s.recipe is not None:
            if s.recipe not in RECIPES:
                missing.append(f"{s.id}: recipe {s.recipe!r} is not registered")
        elif s.install is None or s.install.by_roost:
            missing.append(f"{s.id}: no recipe and no [install] table saying why")
    assert missing == []


def _roost(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROOST_HOME": str(home)}
    env.pop(ENV_CATALOG_DIR, None)
    return subprocess.run([str(ROOST), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def _one_line_refusal(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("roost: "), out.stderr
    return out.stderr.strip()


def _add_host(home: Path, name: str, address: str, facts: dict[str, Any]) -> None:
    store = HostStore(home / "hosts.toml")
    store.add(Host(name=name, address=address, user="pi"))
    store.save_facts(name, facts, "2026-11-25T12:00:00Z")


@pytest.fixture
def home(home: Path) -> Path:
    """The shared `home` (tests/conftest.py), made before the test starts."""
    home.mkdir()
    return home


def test_deploy_mastodon_locally_says_why_and_what_instead(home: Path) -> None:
    line = _one_line_refusal(_roost(home, "deploy", "mastodon", "--host", "local"))
    assert line.startswith("roost: roost does not install Mastodon: Mastodon needs about "
                           "2 gigabytes of memory"), line
    assert "Join a public server listed at https://joinmastodon.org/servers" in line
    assert "let roost set up" in line
    assert "roost deploy gotosocial --host local" in line
    assert "https://docs.joinmastodon.org/admin/install/" in line
    # The same with --dry-run: nothing is pretended.
    dry = _one_line_refusal(_roost(home, "deploy", "mastodon", "--host", "local", "--dry-run"))
    assert dry == line


def test_small_pi_hears_its_memory_against_the_need_before_any_connection(home: Path) -> None:
    _add_host(home, "pi", "192.0.2.10", {"ram_mb": 1024, "arch": "aarch64", "sudo": "nopasswd"})
    started = time.monotonic()
    line = _one_line_refusal(_roost(home, "deploy", "mastodon", "--host", "pi"))
    assert time.monotonic() - started < 20, "it must not try to connect"
    assert "pi has 1 gigabyte of memory, Mastodon needs 2 gigabytes" in line, line
    assert "roost deploy gotosocial --host pi" in line
    assert ("with 2 gigabytes or more, follow upstream's guide by hand: "
            "https://docs.joinmastodon.org/admin/install/.") in line


def test_lighter_servers_that_do_not_fit_the_host_are_not_offered(home: Path) -> None:
    # GoToSocial is built for 64 bit only: a 32 bit Pi with 512 megabytes is not offered it.
    _add_host(home, "oldpi", "192.0.2.11", {"ram_mb": 512, "arch": "armv7l"})
    line = _one_line_refusal(_roost(home, "deploy", "mastodon", "--host", "oldpi"))
    assert "oldpi has 512 megabytes of memory, Mastodon needs 2 gigabytes" in line
    assert "gotosocial" not in line
    assert "https://joinmastodon.org/servers" in line


def test_big_server_is_pointed_to_upstreams_guide(home: Path) -> None:
    _add_host(home, "vps", "192.0.2.12", {"ram_mb": 4096, "arch": "x86_64"})
    line = _one_line_refusal(_roost(home, "deploy", "peertube", "--host", "vps"))
    assert "roost does not install PeerTube" in line
    assert "vps has 4 gigabytes of memory, PeerTube needs 2 gigabytes" in line
    assert "or follow upstream's guide by hand: https://docs.joinpeertube.org/install-any-os."\
        in line
    assert "https://joinpeertube.org/instances" in line


def test_unmaintained_services_offer_the_replacement_never_the_old_guide(home: Path) -> None:
    gnu = _one_line_refusal(_roost(home, "deploy", "gnu-social", "--host", "local"))
    assert "almost no maintenance" in gnu and "guide" not in gnu
    # Pleroma first once its recipe is registered; GoToSocial is registered today.
    assert re.search(r"roost deploy (pleroma|akkoma|gotosocial) --host local", gnu), gnu
    assert "gotosocial" in gnu
    air = _one_line_refusal(_roost(home, "deploy", "airsonic", "--host", "local"))
    assert "Let roost set up Navidrome instead: roost deploy navidrome --host local." in air


def test_unknown_service_still_lists_the_recipes(home: Path) -> None:
    line = _one_line_refusal(_roost(home, "deploy", "myspace", "--host", "local"))
    assert "roost has no deploy recipe for 'myspace'" in line
    assert "gotosocial" in line and "prosody" in line


def test_builder_without_a_host_says_name_and_every_reason_is_one_line() -> None:
    catalog = load()
    for s in catalog.services:
        if s.id in RECIPES:
            continue
        with pytest.raises(Exception) as err:
            builder(s.id)
        text = str(err.value)
        assert "\n" not in text and len(text) < 700, s.id
        assert text.endswith("."), s.id
        if s.install is not None:
            assert s.install.why.rstrip(".") in text, s.id
        if s.way("public") is not None:
            assert s.way("public").where in text, s.id  # type: ignore[union-attr]
    assert "--host NAME" in str(no_recipe_error("mastodon", RECIPES))


def test_every_reason_fits_one_printed_line_on_any_host() -> None:
    """The CLI cuts a line at 600 characters: no reason may come near it, with the longest
    host name and every lighter server registered."""
    catalog = load()
    everything = set(RECIPES) | {s.id for s in catalog.services}
    name = "a" * 41
    for facts in (None, {"ram_mb": 256, "arch": "armv7l"}, {"ram_mb": 65536, "arch": "x86_64"}):
        host = Host(name=name, address="192.0.2.1", facts=facts)
        for s in catalog.services:
            if s.install is None:
                continue
            line = explain(s, catalog, everything, host).line()
            assert len("roost: " + line) < 600, (s.id, len(line), line)


def test_memory_reads_aloud() -> None:
    assert [memory_words(m) for m in (256, 1024, 1536, 2048)] == [
        "256 megabytes", "1 gigabyte", "1.5 gigabytes", "2 gigabytes"]


# ---------------------------------------------------------------- the app says the same


@pytest.fixture
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "app-home"
    h.mkdir()
    monkeypatch.setenv("ROOST_HOME", str(h))
    monkeypatch.delenv(ENV_CATALOG_DIR, raising=False)
    return h


def _status(app: Any) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#status", Static).render())


def test_app_service_screen_and_deploy_screen_say_why_not(app_home: Path) -> None:
    from test_tui import check_cursor, press, running, settle, sync

    from roost.tui.screens import open_screen

    _add_host(app_home, "pi", "192.0.2.10", {"ram_mb": 1024, "arch": "aarch64"})

    @sync
    async def run() -> None:
        async with running(app_home, screen_reader=True) as (pilot, app):
            open_screen(app, "detail", "mastodon")
            await settle(pilot, app)
            await press(pilot, app, "d")
            said = _status(app)
            assert said.startswith("roost does not install Mastodon: Mastodon needs about 2 "
                                   "gigabytes"), said
            assert "https://joinmastodon.org/servers" in said
            assert "let roost set up" in said and "GoToSocial" in said
            assert "in your plan and press d" in said and "--host" not in said
            assert type(app.screen).__name__ == "ServiceScreen"  # no deploy screen opened

            open_screen(app, "deploy", "mastodon")
            await settle(pilot, app)
            intro = str(app.screen.query_one("#intro").render())
            assert "roost does not install Mastodon" in " ".join(intro.split())
            line = await press(pilot, app, "down")
            assert "Deploy to pi" in line
            await press(pilot, app, "enter")
            await settle(pilot, app)
            said = _status(app)
            assert "pi has 1 gigabyte of memory, Mastodon needs 2 gigabytes" in said, said
            assert "GoToSocial" in said
            screen = app.screen
            assert getattr(screen, "phase", "") == "choose" and not getattr(screen, "lines", [])
            check_cursor(app)

    run()


def test_the_catalog_entry_says_how_to_deploy_or_why_roost_does_not(
        capsys: pytest.CaptureFixture[str]) -> None:
    from roost.cli.main import main

    assert main(["catalog", "mastodon"]) == 0
    out = capsys.readouterr().out.splitlines()
    why = [line for line in out if line.startswith("roost does not install it: ")]
    assert len(why) == 1 and "2 gigabytes" in why[0]
    assert any(line.startswith("Lighter servers roost installs instead: GoToSocial")
               for line in out)
    assert "Upstream's guide, to install it by hand: https://docs.joinmastodon.org/" in "\n".join(
        out)
    assert main(["catalog", "prosody"]) == 0
    assert "roost can deploy it: roost deploy prosody --host NAME" in capsys.readouterr().out
