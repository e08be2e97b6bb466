"""Backups to a folder on the service's own host (`roost backup ID --host H --to-path DIR`, a USB
disk), roost.app.backing_up.Backups.back_up_to_path, and restores from it.

The end-to-end proof runs over real SSH on the booted Debian hosts: the static blog on the pi,
a post published there, backed up to /mnt/usb on the pi itself (roost says plainly that this is
not enough on its own), verified, the blog's folder lost, restored from the disk and the post
page loads again; then the disk moved to the vps (mounted elsewhere there) and the blog
restored onto the vps from it, where the post page loads too.
"""

from __future__ import annotations

import os
import secrets as rnd
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from test_backup import PASS, _home, _one_line_exit_2, _roost

from roost.app.backing_up import Record, load_records, save_record, status_lines
from roost.core.errors import RoostError
from roost.deploy.backup import Where, disk_recipe, source_recipe, unit_text
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipes.prosody import BACKUP
from roost.deploy.steps import Secret
from roost.keys.vault import Vault

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_disk_backup_is_its_own_unit_and_repository() -> None:
    disk = Where("prosody", "pi", "", disk="/mnt/usb/")
    host = Where("prosody", "pi", "10.0.0.9")
    assert disk.path == "/mnt/usb/roost-backups/pi/prosody" and disk.url == disk.path
    # Both can be set up for one service: their units, credentials and status differ.
    assert (disk.unit, disk.cred, disk.status) != (host.unit, host.cred, host.status)
    assert disk.unit == "roost-backup-prosody-disk"
    unit = unit_text(disk, BACKUP)
    assert "RequiresMountsFor=/mnt/usb" in unit  # never onto the card with the disk away
    assert "BORG_REPO=/mnt/usb/roost-backups/pi/prosody" in unit and "BORG_RSH" not in unit
    assert "BORG_PASSPHRASE=" not in unit
    assert source_recipe(disk, BACKUP, Secret("x")).id != source_recipe(host, BACKUP,
                                                                       Secret("x")).id
    assert disk_recipe(disk, BACKUP).id == "backup-prosody-disk-key"
    for bad in ("mnt/usb", "/mnt/us b", "/mnt/../etc", "/mnt/usb;rm"):
        with pytest.raises(RoostError):
            Where("prosody", "pi", "", disk=bad)


def test_backups_says_a_disk_alone_is_no_copy_elsewhere(tmp_path: Path) -> None:
    save_record(tmp_path, Record("static-blog", "pi", "pi", "", to_path="/mnt/usb",
                                 last_archive="static-blog-2026-12-06T03:00:00",
                                 last_at="2026-12-06T03:00:10+00:00", size=10, original=20))
    assert load_records(tmp_path) == {}  # apart from the backups to other hosts
    disks = load_records(tmp_path, disk=True)
    lines = status_lines({}, [("static-blog", "pi")], NOW, disks)
    assert lines == [
        "static-blog on pi: NO COPY ELSEWHERE. Set it up with: roost backup static-blog "
        "--host pi --to OTHER-HOST",
        "static-blog on pi: backed up to /mnt/usb on the same machine (daily); last good backup "
        "static-blog-2026-12-06T03:00:00, 8 hours ago, 20 bytes of data, 10 bytes added, "
        "never verified."]
    failed = Record("static-blog", "pi", "pi", "", to_path="/mnt/usb",
                    last_archive="static-blog-2026-12-06T03:00:00",
                    last_at="2026-12-06T03:00:10+00:00", last_verify="2026-11-28T03:00:00+00:00",
                    verify_failed="2026-12-05T03:00:00+00:00")
    line = status_lines({}, [], NOW, {"static-blog": failed})[1]
    assert line.endswith("verified 8 days ago, and its weekly check FAILED 33 hours ago: run "
                         "roost backup static-blog --verify --to-path /mnt/usb."), line
    both = status_lines({"static-blog": Record("static-blog", "pi", "vps", "10.0.0.9")},
                        [("static-blog", "pi")], NOW, disks)
    assert both[0].startswith("static-blog on pi: backed up to vps (daily)")
    assert both[1].startswith("static-blog on pi: backed up to /mnt/usb on the same machine")


def test_bad_disk_input_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pass").write_text(PASS)
    HostStore(home / HOSTS_FILE).add(Host("vps", "10.0.0.9", user="root"))
    _one_line_exit_2(_roost(home, "backup", "prosody", "--host", "vps", "--to-path", "usb"),
                     "absolute")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--host", "vps", "--to-path",
                            "/mnt/a b"), "not a disk folder roost can back up")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--host", "vps", "--to", "vps",
                            "--to-path", "/mnt/usb"), "without --to")
    _one_line_exit_2(_roost(home, "restore", "prosody", "--to", "vps", "--from-path",
                            "/mnt/usb"), "prosody has no backup roost knows of on a disk")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--verify", "--to-path", "/mnt/usb"),
                     "no backup roost knows of on a disk")


def _served(address: str, path: str) -> httpx.Response:
    return httpx.get(f"http://{address}/{path}", timeout=10)


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1200)
def test_static_blog_backed_up_to_a_disk_on_the_pi_restored_there_and_on_the_vps(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path,
) -> None:
    from testhost import files_containing, record_time

    from roost.app.deploying import Deployment

    home = _home(tmp_path, [pi_host, vps_host], ())
    os.environ["ROOST_HOME"] = str(home)
    try:
        pi = HostStore(home / HOSTS_FILE).get("pi")
        Deployment("static-blog", pi, home, {"address": pi_host.address},
                   passphrase=lambda: PASS).run()
    finally:
        os.environ.pop("ROOST_HOME", None)
    post = f"post-{rnd.token_hex(4)}.html"
    words = "a first post " + rnd.token_hex(6)
    pi_host.ssh(f"printf '%s' '<p>{words}</p>' > /var/www/roost-blog/{post}")
    assert words in _served(pi_host.address, post).text

    # No disk mounted there yet: one line, nothing set up.
    missing = _roost(home, "backup", "static-blog", "--host", "pi", "--to-path", "/mnt/usb")
    _one_line_exit_2(missing, "there is no folder /mnt/usb on pi")
    inside = _roost(home, "backup", "static-blog", "--host", "pi", "--to-path",
                    "/var/www/roost-blog/usb")
    _one_line_exit_2(inside, "is inside /var/www/roost-blog")

    pi_host.ssh("mkdir -p /mnt/usb")
    start = time.monotonic()
    made = _roost(home, "backup", "static-blog", "--host", "pi", "--to-path", "/mnt/usb")
    record_time("backup_disk_static_blog_first", time.monotonic() - start)
    assert made.returncode == 0, made.stderr[-3000:]
    said = made.stdout
    assert "Backed up static-blog on pi to /mnt/usb: archive static-blog-" in said, said
    assert "A copy on the same machine is not enough on its own" in said, said
    assert "roost backup static-blog --host pi --to OTHER-HOST" in said, said
    assert "/mnt/usb is not a disk of its own (not a mount point)" in said, said
    assert pi_host.active("roost-backup-static-blog-disk.timer")
    pi_host.ssh("test -f /mnt/usb/roost-backups/pi/static-blog/config")
    assert pi_host.ssh("stat -c %a /mnt/usb/roost-backups").stdout.strip() == "700"
    rec = load_records(home, disk=True)["static-blog"]
    assert rec.to_path == "/mnt/usb" and rec.last_archive.startswith("static-blog-")
    assert load_records(home) == {}  # no backup to another host was made up

    listing = _roost(home, "backups")
    assert listing.returncode == 0, listing.stderr
    assert "static-blog on pi: NO COPY ELSEWHERE" in listing.stdout, listing.stdout
    assert (f"static-blog on pi: backed up to /mnt/usb on the same machine (daily); last good "
            f"backup {rec.last_archive}") in listing.stdout, listing.stdout

    # The weekly check on the pi (its timer set up with the backup), as if its day had come:
    # `roost backups` reads when it passed.
    assert "never verified" in listing.stdout, listing.stdout
    assert pi_host.ssh("systemctl is-enabled roost-verify-static-blog-disk.timer"
                       ).stdout.strip() == "enabled"
    start = time.monotonic()
    pi_host.ssh("systemctl start roost-verify-static-blog-disk.service")
    record_time("weekly_check_disk_static_blog", time.monotonic() - start)
    listing = _roost(home, "backups")
    assert "on the same machine (daily); last good backup" in listing.stdout, listing.stdout
    assert "verified 0 minutes ago." in listing.stdout, listing.stdout

    start = time.monotonic()
    verified = _roost(home, "backup", "static-blog", "--verify", "--to-path", "/mnt/usb")
    record_time("verify_disk_static_blog", time.monotonic() - start)
    assert verified.returncode == 0, verified.stderr
    assert "The repository of static-blog on /mnt/usb on pi passed borg check" in \
        verified.stdout, verified.stdout

    # The passphrase is nowhere on the pi in the clear, the disk included.
    passphrase = Vault.open(home, PASS).get("backup-static-blog-pi").secret["password"]
    assert files_containing(pi_host.changes, [passphrase]) == []

    # The blog's folder is lost; it comes back from the disk.
    pi_host.ssh("rm -rf /var/www/roost-blog")
    assert _served(pi_host.address, post).status_code == 404
    start = time.monotonic()
    back = _roost(home, "restore", "static-blog", "--to", "pi", "--from-path", "/mnt/usb")
    record_time("restore_disk_static_blog_same_host", time.monotonic() - start)
    assert back.returncode == 0, back.stderr[-3000:]
    assert f"Restored static-blog on pi from {rec.last_archive}" in back.stdout, back.stdout
    assert words in _served(pi_host.address, post).text

    # The pi dies; the disk goes into the vps, mounted at another folder there.
    packed = pi_host.ssh("tar -C /mnt -cf - usb | base64 -w0").stdout
    vps_host.ssh("mkdir -p /media/disk && base64 -d | tar -C /media/disk -xf -",
                 input=packed.encode())
    pi_host.reset()
    pi_host.used = True
    nowhere = _roost(home, "restore", "static-blog", "--to", "vps", "--from-path", "/mnt/usb")
    _one_line_exit_2(nowhere, "there are no backups of static-blog in /mnt/usb on vps")
    # This one from plain mode's Backups, as a person at a screen reader would.
    import io

    from support.clock import TEST_CLOCK
    from test_plan_reach import ANSWERS, FACTS

    from roost.cli.plain import Plain
    from roost.plan.workspace import Workspace

    os.environ["ROOST_HOME"] = str(home)
    os.environ["ROOST_PASSPHRASE_FILE"] = str(home / "pass")
    try:
        ws = Workspace.open(home, facts=FACTS, clock=TEST_CLOCK)
        ws.save_answers(ANSWERS)
        names = [h.name for h in HostStore(home / HOSTS_FILE).all()]
        out = io.StringIO()
        start = time.monotonic()
        # 1: restore from the disk; the vps; its folder there; 1: do not replace.
        Plain(ws, out, io.StringIO(f"1\n{names.index('vps') + 1}\n/media/disk/usb\n1\n"),
              False).backups()
        record_time("restore_disk_static_blog_new_host", time.monotonic() - start)
    finally:
        os.environ.pop("ROOST_HOME", None)
        os.environ.pop("ROOST_PASSPHRASE_FILE", None)
    said = out.getvalue()
    assert "  1. Restore static-blog from its disk (/mnt/usb on pi)" in said, said[:3000]
    assert f"Restored static-blog on vps from {rec.last_archive}" in said, said[-3000:]
    assert words in _served(vps_host.address, post).text
    assert files_containing(vps_host.changes, [passphrase]) == []


@pytest.mark.parametrize("size", [(80, 24), (40, 12)])
def test_the_app_backs_up_to_a_disk_and_restores_from_it(home: Path,
                                                        size: tuple[int, int]) -> None:
    """The Backups screen: a disk's own line opens the restore form with its folder filled in;
    the backup form has the disk's field, and asks for a place when both are left empty."""
    from support.clock import TEST_CLOCK
    from support.tui import shown
    from test_plan_reach import ANSWERS, FACTS
    from test_tui import make_app, press, settle, sync
    from textual.widgets import Input

    from roost.plan.workspace import Workspace
    from roost.tui.a11y import screen_lines
    from roost.tui.screens import open_screen

    ws = Workspace.open(home, facts=FACTS, clock=TEST_CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("static-blog", "pi", "1")
    HostStore(home / HOSTS_FILE).add(Host("pi", "192.0.2.10", user="root"))
    save_record(home, Record("static-blog", "pi", "pi", "", to_path="/mnt/usb",
                             last_archive="static-blog-2026-12-05T03:00:00",
                             last_at="2026-12-05T03:00:05+00:00"))

    @sync
    async def walk() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            open_screen(app, "backups")
            await settle(pilot, app)
            line = await shown(pilot, app)
            assert "static-blog" in line and "NO COPY ELSEWHERE" in line, line
            await press(pilot, app, "down")
            line = await shown(pilot, app)
            assert "on disk /mnt/usb" in line, line
            await press(pilot, app, "enter")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "RestoreFormScreen"
            assert app.screen.query_one("#field-to", Input).value == "pi"
            assert app.screen.query_one("#field-from_path", Input).value == "/mnt/usb"
            text = " ".join(x.strip() for x in screen_lines(app))
            assert "Restore static-blog from its disk" in " ".join(text.split()), text
            await press(pilot, app, "escape")
            await settle(pilot, app)
            open_screen(app, "backup", "static-blog:pi")
            await settle(pilot, app)
            assert type(app.screen).__name__ == "BackupFormScreen"
            assert app.screen.query_one("#field-to", Input).value == ""  # no other host
            app.screen.query_one("#field-passphrase", Input).value = PASS
            await press(pilot, app, "enter", "enter", "enter", "enter")
            await settle(pilot, app)
            text = " ".join(" ".join(x.strip() for x in screen_lines(app)).split())
            assert "the backups need a place" in text, text

    walk()


def test_plain_mode_backs_up_to_a_disk_and_restores_from_it_offline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain mode's Backups: the disk's actions are there and ask the folder; a host that
    cannot be reached ends in one line (the end-to-end run is the container test)."""
    import io

    from support.clock import TEST_CLOCK
    from test_plan_reach import ANSWERS, FACTS

    from roost.cli.plain import Plain
    from roost.plan.workspace import Workspace

    home = tmp_path / "home"
    home.mkdir()
    (home / "pass").write_text(PASS)
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(home / "pass"))
    ws = Workspace.open(home, facts=FACTS, clock=TEST_CLOCK)
    ws.save_answers(ANSWERS)
    ws.deployed("static-blog", "pi", "1")
    HostStore(home / HOSTS_FILE).add(Host("pi", "127.0.0.1", user="root", port=9))
    save_record(home, Record("static-blog", "pi", "pi", "", to_path="/mnt/usb"))
    out = io.StringIO()
    # 1 back up to another host, 2 restore from the disk, 3 back up to a disk, 4 copy.
    Plain(ws, out, io.StringIO("3\n/media/usb\n1\n"), False).backups()
    said = out.getvalue()
    assert "  2. Restore static-blog from its disk (/mnt/usb on pi)" in said, said
    assert "on pi to a disk there too (a USB disk)" in said.split("  3. ")[1], said
    assert "keep a copy on another host too" in said
    assert "127.0.0.1" in said.splitlines()[-1], said[-500:]  # the pi cannot be reached
