"""Backups and restore on BorgBackup (roost.app.backing_up, roost.deploy.backup).

The end-to-end proof runs over real SSH on two booted Debian hosts: Prosody on the "pi" with an
account whose roster holds a contact and a message waiting in its offline store, backed up to
the "vps" (encrypted, append-only), the pi reset (its card died), Prosody restored onto the
vps, and a real XMPP client (slixmpp) logs in there with the same password and finds the
contact and the message.
"""

from __future__ import annotations

import asyncio
import os
import secrets as rnd
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.identities import xmpp_pair

from roost.app.backing_up import Backups, Record, load_records, save_record, status_lines
from roost.core.errors import RoostError
from roost.deploy.backup import (
    BackupSpec,
    Dump,
    Where,
    archive_name,
    key_line,
    source_recipe,
    unit_text,
)
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipes.prosody import BACKUP
from roost.deploy.steps import Secret
from roost.deploy.trust import KNOWN_HOSTS
from roost.keys.model import Identity
from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "chat.roost.test"
PASS = "correct horse battery staple backup"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


# -- declarations and listing (no host) ----------------------------------------------------------

def test_recipes_declare_what_to_back_up() -> None:
    from roost.deploy.recipes.ssb_pub import build_ssb_pub  # noqa: F401 (registers)
    from roost.deploy.recipes.static_blog import build_static_blog  # noqa: F401

    assert BACKUP.paths == ("/var/lib/prosody", "/etc/prosody") and BACKUP.pause == ("prosody",)
    unit = unit_text(Where("prosody", "pi", "10.0.0.9"), BACKUP)
    assert "ExecStartPre=/bin/systemctl stop prosody" in unit
    assert "ExecStopPost=-/bin/systemctl start prosody" in unit  # started again, whatever happened
    assert "LoadCredentialEncrypted=borg:/etc/roost/backup/prosody.cred" in unit
    assert "BORG_PASSPHRASE=" not in unit  # the passphrase comes sealed, never in the unit
    line = key_line(Where("prosody", "pi", "10.0.0.9"), "ssh-ed25519 AAAAC3Nz x")
    assert line.startswith('command="/usr/bin/python3 /usr/local/lib/roost/borg-serve-guard '
                           'borg serve --append-only --restrict-to-path /srv/roost-backups/pi",'
                           'restrict ')
    dump = Dump("sqlite", "/var/lib/navidrome/navidrome.db", "/var/lib/navidrome/roost.db")
    assert ".backup" in " ".join(dump.argv())
    assert "--single-transaction" in " ".join(Dump("mariadb", "wordpress", "/var/x.sql").argv())
    with pytest.raises(RoostError, match="not a backup folder"):
        BackupSpec(paths=("/var/lib/a b",))
    with pytest.raises(RoostError, match="not a database"):
        Dump("oracle", "x", "/x")
    with pytest.raises(RoostError, match="not a backup schedule"):
        source_recipe(Where("prosody", "pi", "h"), BACKUP, Secret("x"), every="1h;rm")


def test_the_passphrase_reaches_the_host_only_on_stdin() -> None:
    from roost.deploy.dryrun import plan_lines

    secret = Secret("backup-prosody-pi", "password")
    recipe = source_recipe(Where("prosody", "pi", "10.0.0.9"), BACKUP, secret)
    text = "\n".join(plan_lines(recipe, "pi"))
    assert "(stdin: <secret: backup-prosody-pi password>)" in text
    assert "borg init --encryption=repokey" in text


def test_archive_names_are_checked() -> None:
    assert archive_name("prosody-2026-12-06T03:00:01") == "prosody-2026-12-06T03:00:01"
    for bad in ("prosody", "../x", "prosody-2026-12-06T03:00:01;rm"):
        with pytest.raises(RoostError, match="not a backup archive name"):
            archive_name(bad)


def test_backups_lists_where_age_and_size_and_flags_in_words(tmp_path: Path) -> None:
    fresh = Record("prosody", "pi", "vps", "10.0.0.9", last_archive="prosody-2026-12-06T03:00:00",
                   last_at="2026-12-06T03:00:10+00:00", size=2_500_000, original=9_000_000)
    old = Record("static-blog", "pi", "vps", "10.0.0.9", last_archive="static-blog-2026-12-01"
                 "T03:00:00", last_at="2026-12-01T03:00:10+00:00", size=10, original=20)
    save_record(tmp_path, fresh)
    save_record(tmp_path, old)
    records = load_records(tmp_path)
    lines = status_lines(records, [("prosody", "pi"), ("static-blog", "pi"),
                                   ("ssb-pub", "vps")], NOW)
    assert lines[0] == ("prosody on pi: backed up to vps (daily); last good backup "
                        "prosody-2026-12-06T03:00:00, 8 hours ago, 9.0 MB of data, 2.5 MB "
                        "added, never verified.")
    assert lines[1].startswith("ssb-pub on vps: NOT BACKED UP. Set it up with: roost backup "
                               "ssb-pub --host vps --to OTHER-HOST")
    assert "5 days ago" in lines[2] and "TOO OLD" in lines[2]
    # The same backup a day later is still fine; three days later it is flagged.
    assert "TOO OLD" not in status_lines(records, [], datetime(2026, 12, 7, 12, 0,
                                                                tzinfo=UTC))[0]
    assert "TOO OLD" in status_lines(records, [], datetime(2026, 12, 9, 12, 0, tzinfo=UTC))[0]


# -- the CLI's answers to bad input ---------------------------------------------------------------

def _roost(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROOST_HOME": str(home), "ROOST_PASSPHRASE_FILE": str(home / "pass")}
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                          text=True, env=env, timeout=120, input=stdin)


def _one_line_exit_2(res: subprocess.CompletedProcess[str], text: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.count("\n") == 1 and text in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_bad_input_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pass").write_text(PASS)
    save_record(home, Record("prosody", "pi", "vps", "10.0.0.9"))
    HostStore(home / HOSTS_FILE).add(Host("vps", "10.0.0.9", user="root"))
    # A target that does not answer (nothing listens on this port).
    HostStore(home / HOSTS_FILE).add(Host("gone", "127.0.0.1", user="root", port=9))
    vault = Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    vault.add(xmpp_pair(DOMAIN)[0])
    _one_line_exit_2(_roost(home, "restore", "prosody", "--to", "vps", "--archive", "x;rm"),
                     "is not a backup archive name")
    _one_line_exit_2(_roost(home, "restore", "prosody", "--to", "vps", "--archive",
                            "static-blog-2026-12-06T03:00:00"),
                     "is a backup of another service")
    _one_line_exit_2(_roost(home, "restore", "static-blog", "--to", "vps"),
                     "static-blog has no backup roost knows of")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--host", "vps", "--to", "nowhere"),
                     "nowhere")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--host", "vps", "--to", "vps"),
                     "lost with that host")
    _one_line_exit_2(_roost(home, "backup", "nosuch", "--host", "vps", "--to", "gone"),
                     "knows no service")
    _one_line_exit_2(_roost(home, "backup", "--all"), "--all backs up every running service")
    _one_line_exit_2(_roost(home, "backup", "prosody", "--all", "--to", "vps"),
                     "--all backs up every running service")
    _one_line_exit_2(_roost(home, "backup", "--all", "--to", "vps"),
                     "nothing roost can back up runs yet")
    unreachable = _roost(home, "backup", "prosody", "--host", "vps", "--to", "gone")
    _one_line_exit_2(unreachable, "127.0.0.1")
    assert not (home / "backups.toml").read_text().count("gone")  # nothing recorded


# -- the proof over real SSH --------------------------------------------------------------------

async def _client(address: str, cafile: Path, who: Identity, todo: object) -> object:
    import slixmpp

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[bool] = loop.create_future()
    got: list[str] = []
    c = slixmpp.ClientXMPP(who.public["jid"], who.secret["password"])
    c.ca_certs = cafile
    c.enable_plaintext = False

    def started(_: object) -> None:
        if not ready.done():
            ready.set_result(True)

    def failed(_: object) -> None:
        if not ready.done():
            ready.set_exception(AssertionError(f"{who.id} could not log in"))

    c.add_event_handler("session_start", started)
    c.add_event_handler("failed_auth", failed)
    c.add_event_handler("message", lambda m: got.append(str(m["body"])))
    try:
        c.connect(host=address, port=5222)
        await asyncio.wait_for(ready, 30)
        result = await todo(c, got)  # type: ignore[operator]
        return result
    finally:
        c.disconnect()
        await asyncio.sleep(0.2)


def _seed(address: str, cafile: Path, alice: Identity, bob: Identity, text: str) -> None:
    async def add_and_send(c: object, _: list[str]) -> None:
        await c.get_roster()  # type: ignore[attr-defined]
        await c.update_roster(bob.public["jid"], name="Bob")  # type: ignore[attr-defined]
        c.send_message(mto=bob.public["jid"], mbody=text, mtype="chat")  # type: ignore[attr-defined]
        await asyncio.sleep(1.0)

    asyncio.run(_client(address, cafile, alice, add_and_send))


def _roster_names(address: str, cafile: Path, who: Identity) -> list[str]:
    async def roster(c: object, _: list[str]) -> list[str]:
        await c.get_roster()  # type: ignore[attr-defined]
        return sorted(str(j) for j in c.client_roster)  # type: ignore[attr-defined]

    return asyncio.run(_client(address, cafile, who, roster))  # type: ignore[return-value]


def _waiting(address: str, cafile: Path, who: Identity) -> list[str]:
    async def messages(c: object, got: list[str]) -> list[str]:
        c.send_presence()  # type: ignore[attr-defined]  # offline messages come after it
        for _ in range(50):
            if got:
                break
            await asyncio.sleep(0.2)
        return got

    return asyncio.run(_client(address, cafile, who, messages))  # type: ignore[return-value]


def _home(tmp_path: Path, hosts: list[TestHost], people: tuple[Identity, ...]) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "pass").write_text(PASS)
    vault = Vault.create(home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    for p in people:
        vault.add(p)
    store = HostStore(home / HOSTS_FILE)
    known = ""
    for h in hosts:
        store.add(Host(h.role, h.address, user="root", port=h.ssh_port, key_path=str(h.key_path)))
        known += h.known_hosts_lines()
    (home / KNOWN_HOSTS).write_text(known)
    return home


def _borg_from_pi(pi: TestHost, where: Where, passphrase: str, *args: str
                  ) -> subprocess.CompletedProcess[str]:
    env = " ".join(shlex.quote(e) for e in where.env())
    return pi.ssh(f"IFS= read -r BORG_PASSPHRASE; export BORG_PASSPHRASE; env {env} borg "
                  + " ".join(args), input=(passphrase + "\n").encode(), check=False)


def _append_only(pi: TestHost, vps: TestHost, where: Where, passphrase: str,
                 archive: str) -> None:
    """From the source, `borg delete` and `borg prune` fail with roost's one line, and the
    archive is still there, seen from the target's own side too."""
    for args in (("delete", f"::{archive}"), ("prune", "--keep-last", "1")):
        if args[0] == "prune":  # a second archive, so prune has one to drop
            pi.ssh("systemctl start roost-backup-prosody.service")
        res = _borg_from_pi(pi, where, passphrase, *args)
        assert res.returncode != 0, (args, res.stdout, res.stderr)
        assert "may only add backups here" in res.stderr, res.stderr
    seen = _borg_from_pi(pi, where, passphrase, "list", "--short").stdout.split()
    assert seen[0] == archive and len(seen) == 2, seen
    on_vps = vps.ssh(
        f"cd / && IFS= read -r BORG_PASSPHRASE; export BORG_PASSPHRASE "
        f"BORG_RELOCATED_REPO_ACCESS_IS_OK=yes; runuser -u roost-backup -- env "
        f"BORG_BASE_DIR=/srv/roost-backups/.borg borg list --short {where.path}",
        input=(passphrase + "\n").encode(), check=False)
    assert on_vps.stdout.split() == seen, (on_vps.stdout, on_vps.stderr)


def _kill_while_running(env: dict[str, str], argv: list[str], said: str, host: TestHost,
                        unit: str, state: str) -> None:
    """Run `roost ARGV`; once it has said `said` and `unit` on `host` is in `state`, SIGKILL
    roost (as Ctrl+C or a closed laptop would cut it)."""
    proc = subprocess.Popen([sys.executable, "-m", "roost", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if said in line:
            break
    seen = ""
    for _ in range(200):
        seen = host.ssh(f"systemctl is-active {unit}", check=False).stdout.strip()
        if seen == state:
            break
        time.sleep(0.05)
    assert seen == state, seen
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(2400)
def test_prosody_backed_up_pi_lost_restored_on_the_vps_and_a_client_finds_everything(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    from roost.app.deploying import Deployment

    alice, bob = xmpp_pair(DOMAIN)
    home = _home(tmp_path, [pi_host, vps_host], (alice, bob))
    os.environ["ROOST_HOME"] = str(home)
    try:
        pi = HostStore(home / HOSTS_FILE).get("pi")
        vps = HostStore(home / HOSTS_FILE).get("vps")
        Deployment("prosody", pi, home, {}, passphrase=lambda: PASS).run()
        cafile = tmp_path / "pi.crt"
        cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
        text = "remember the milk " + rnd.token_hex(4)
        _seed(pi_host.address, cafile, alice, bob, text)
        assert f"bob@{DOMAIN}" in _roster_names(pi_host.address, cafile, alice)

        # The backup, as the person runs it; then once more with roost killed mid-run.
        b = Backups(home, passphrase=lambda: PASS)
        canary = "roost-canary-" + rnd.token_hex(6)
        with ProcScanner([PASS, alice.secret["password"]], canary=canary) as scan:
            pi_host.ssh(f"sh -c 'sleep 0.3' {canary}")
            start = time.monotonic()
            lines = b.back_up("prosody", pi, vps)
            record_time("backup_prosody_first", time.monotonic() - start)
        assert scan.canary_seen and scan.hits == []
        assert lines[0].startswith("Backed up prosody from pi to vps: archive prosody-"), lines
        passphrase = Vault.open(home, PASS).get("backup-prosody-pi").secret["password"]
        with ProcScanner([passphrase]) as scan:
            time.sleep(0.5)  # a scan while nothing runs sees nothing: this one must see borg
            rec = load_records(home)["prosody"]
            where = rec.where
            listed = _borg_from_pi(pi_host, where, passphrase, "list", "--short")
        # The passphrase reaches borg by its environment (readable by root only), never argv.
        assert not [h for h in scan.hits if " cmdline " in h], scan.hits
        assert any(" environ " in h for h in scan.hits), "the scan did not see borg's env"
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.split() == [rec.last_archive]
        # Nothing on either host holds the passphrase in the clear.
        for h in (pi_host, vps_host):
            assert files_containing(h.changes, [passphrase]) == []

        _append_only(pi_host, vps_host, where, passphrase, rec.last_archive)

        # roost killed in the middle of a backup: the backup (a systemd job on the pi) is
        # not cut, the rerun finishes, and borg check finds the repository whole.
        pi_host.ssh("head -c 30000000 /dev/urandom > /var/lib/prosody/roost-big.bin")
        env = {**os.environ, "ROOST_HOME": str(home),
               "ROOST_PASSPHRASE_FILE": str(home / "pass")}
        # Killed once the pi is in the middle of it (the 30 MB file takes seconds to encrypt).
        _kill_while_running(env, ["backup", "prosody", "--host", "pi", "--to", "vps"],
                            "running the backup", pi_host, "roost-backup-prosody.service",
                            "activating")
        rerun = subprocess.run([sys.executable, "-m", "roost", "backup", "prosody", "--host",
                                "pi", "--to", "vps"], env=env, capture_output=True, text=True,
                               timeout=900)
        assert rerun.returncode == 0, rerun.stderr
        checked = _borg_from_pi(pi_host, where, passphrase, "check")
        assert checked.returncode == 0, checked.stderr
        rec = load_records(home)["prosody"]
        files = _borg_from_pi(pi_host, where, passphrase, "list", "--short",
                              f"::{rec.last_archive}").stdout.split()
        assert "var/lib/prosody/roost-big.bin" in files
        assert "var/lib/prosody/chat%2eroost%2etest/accounts/alice.dat" in files

        # Pruning runs from roost's side, on the vps: of three archives of today, borg's rules
        # (7 daily, 4 weekly, 6 monthly) keep the last and, while a rule is not full, the
        # oldest; one goes, and what the source sees agrees.
        before = _borg_from_pi(pi_host, where, passphrase, "list", "--short").stdout.split()
        assert len(before) == 3 and before[-1] == rec.last_archive, before
        pruned = subprocess.run([sys.executable, "-m", "roost", "backup", "prosody",
                                 "--prune"], env=env, capture_output=True, text=True,
                                timeout=600)
        assert pruned.returncode == 0, pruned.stderr
        assert "1 removed, 2 kept, the last " + rec.last_archive in pruned.stdout, pruned.stdout
        after = _borg_from_pi(pi_host, where, passphrase, "list", "--short").stdout.split()
        assert len(after) == 2 and after[-1] == rec.last_archive and set(after) < set(before)

        verified = subprocess.run([sys.executable, "-m", "roost", "backup", "prosody",
                                   "--verify"], env=env, capture_output=True, text=True,
                                  timeout=600)
        assert verified.returncode == 0, verified.stderr
        assert "passed borg check, and all" in verified.stdout, verified.stdout
        came = int(verified.stdout.split("and all ")[1].split()[0])
        assert came == len(files)

        listing = subprocess.run([sys.executable, "-m", "roost", "backups"], env=env,
                                 capture_output=True, text=True, timeout=300)
        assert listing.returncode == 0, listing.stderr
        assert "prosody on pi: backed up to vps (daily); last good backup prosody-" in \
            listing.stdout

        # The pi's card dies.
        pi_host.reset()
        pi_host.used = True  # what this test puts on it next is not for the next test

        # Restore onto the vps: bad archive names are refused first, in one line.
        with pytest.raises(RoostError, match="no archive prosody-2000-01-01T00:00:00"):
            b.restore("prosody", vps, "prosody-2000-01-01T00:00:00")
        # roost killed in the middle of a restore: the extraction (a transient unit on the
        # vps) is stopped by the rerun before it keeps anything aside, which then starts over
        # and finishes (the checks below are on what the rerun left).
        _kill_while_running(env, ["restore", "prosody", "--to", "vps"], "putting prosody-",
                            vps_host, "roost-restore-prosody.service", "active")
        start = time.monotonic()
        with ProcScanner([passphrase]) as scan:
            done = b.restore("prosody", vps)
        record_time("restore_prosody", time.monotonic() - start)
        assert not [h for h in scan.hits if " cmdline " in h], scan.hits
        assert done[0].startswith("Restored prosody on vps from prosody-"), done
        # A second restore over the running service needs the person's yes.
        with pytest.raises(RoostError, match="running on vps with its own data"):
            b.restore("prosody", vps)

        cafile2 = tmp_path / "vps.crt"
        cafile2.write_text(vps_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
        assert f"bob@{DOMAIN}" in _roster_names(vps_host.address, cafile2, alice)
        assert text in _waiting(vps_host.address, cafile2, bob)
        assert files_containing(vps_host.changes, [passphrase]) == []

        # And onto the new pi (its card replaced): it gets a new key, let in append-only.
        with ProcScanner([passphrase]) as scan:
            again = b.restore("prosody", pi)
        assert not [h for h in scan.hits if " cmdline " in h], scan.hits
        assert again[0].startswith("Restored prosody on pi from prosody-"), again
        cafile3 = tmp_path / "pi2.crt"
        cafile3.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
        assert f"bob@{DOMAIN}" in _roster_names(pi_host.address, cafile3, alice)
        assert files_containing(pi_host.changes, [passphrase]) == []

        # A damaged repository fails the verify, in one line.
        vps_host.ssh("f=$(ls -S /srv/roost-backups/pi/prosody/data/0/* | head -1); "
                     "printf 'XXXXXXXXXXXXXXXX' | dd of=$f bs=1 seek=2000000 conv=notrunc")
        bad = subprocess.run([sys.executable, "-m", "roost", "backup", "prosody", "--verify"],
                             env=env, capture_output=True, text=True, timeout=600)
        assert bad.returncode == 2 and "failed their check" in bad.stderr, bad.stderr
        assert bad.stderr.count("\n") == 1
    finally:
        os.environ.pop("ROOST_HOME", None)


def test_the_app_lists_the_backups_on_its_own_screen(home: Path) -> None:
    from test_tui import SIZE, make_app, press, screen_lines, sync

    home.mkdir(exist_ok=True)
    save_record(home, Record("prosody", "pi", "vps", "10.0.0.9"))

    @sync
    async def walk() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, app, "b")
            assert type(app.screen).__name__ == "BackupsScreen"
            text = " ".join("\n".join(screen_lines(app)).split())
            assert "prosody on pi" in text and "NO GOOD BACKUP YET" in text, text
            await press(pilot, app, "enter")  # a backed-up service: its restore form
            assert type(app.screen).__name__ == "RestoreFormScreen"
            said = " ".join("\n".join(screen_lines(app)).split())
            assert "Restore prosody from its backups" in said, said

    walk()


def test_plain_mode_lists_the_backups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from roost.cli.plain import run_plain
    from roost.plan.detect import HostFacts

    home = tmp_path / "home"
    home.mkdir()
    save_record(home, Record("prosody", "pi", "vps", "10.0.0.9", last_archive="prosody-2026-"
                             "12-01T03:00:00", last_at="2026-12-01T03:00:10+00:00"))
    monkeypatch.setenv("ROOST_NOW", NOW.isoformat())
    out = io.StringIO()
    facts = HostFacts("x86_64", 4096, 50000, "debian", "12", "bookworm", None, "testbox")
    # No answers yet: 1 questions, 2 identities, 3 hosts, 4 backups.
    run_plain(False, home=home, facts=facts, stdin=io.StringIO("4\n0\n"), stdout=out)
    text = out.getvalue()
    assert "4. Backups: where each service is kept safe" in text
    assert "prosody on pi: backed up to vps (daily); last good backup prosody-2026-12-01T03:00:00"\
        ", 5 days ago" in text and "TOO OLD" in text


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1800)
def test_move_prosody_from_the_pi_to_the_vps(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path,
) -> None:
    """`roost move`: the roster and the waiting message are there on the vps, the pi no longer
    runs Prosody (nor backs it up) but keeps its data."""
    from roost.app.deploying import Deployment

    alice, bob = xmpp_pair(DOMAIN)
    home = _home(tmp_path, [pi_host, vps_host], (alice, bob))
    os.environ["ROOST_HOME"] = str(home)
    try:
        pi = HostStore(home / HOSTS_FILE).get("pi")
        Deployment("prosody", pi, home, {}, passphrase=lambda: PASS).run()
    finally:
        os.environ.pop("ROOST_HOME", None)
    cafile = tmp_path / "pi.crt"
    cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
    text = "moved with me " + rnd.token_hex(4)
    _seed(pi_host.address, cafile, alice, bob, text)

    moved = _roost(home, "move", "prosody", "--from", "pi", "--to", "vps")
    assert moved.returncode == 0, moved.stderr[-3000:]
    out = moved.stdout
    assert "Restored prosody on vps from prosody-" in out, out
    assert f"point it at vps ({vps_host.address})" in out, out
    assert pi_host.ssh("systemctl is-active prosody", check=False).stdout.strip() != "active"
    pi_host.ssh("test -e /var/lib/prosody/chat%2eroost%2etest/accounts/alice.dat")  # kept
    assert pi_host.ssh("systemctl is-enabled roost-backup-prosody.timer",
                       check=False).stdout.strip() != "enabled"
    assert f"bob@{DOMAIN}" in _roster_names(vps_host.address, cafile, alice)
    assert text in _waiting(vps_host.address, cafile, bob)


def test_the_options_of_a_deploy_are_kept_for_a_restore(tmp_path: Path) -> None:
    from roost.app.deploy_options import deployed_options, record_options

    assert deployed_options(tmp_path, "prosody", "pi") == {}
    record_options(tmp_path, "prosody", "pi", {"registration": "open", "domain": "x.test"})
    record_options(tmp_path, "static-blog", "pi", {"port": "8080"})
    assert deployed_options(tmp_path, "prosody", "pi") == {"registration": "open",
                                                           "domain": "x.test"}
    assert deployed_options(tmp_path, "prosody", "vps") == {}


@pytest.mark.slow
@pytest.mark.container
def test_the_plain_mode_offers_the_backup_after_a_deploy_and_sets_it_up(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """"Protect what you moved", as the person meets it: the static blog runs on the pi, the
    plain mode's first choice is to back it up; picking the vps sets the backup up over real
    SSH, the first archive lands there, and the offer is gone."""
    import io

    from support.clock import TEST_CLOCK
    from test_plan_reach import ANSWERS, FACTS

    from roost.app.deploying import Deployment, note_deployed
    from roost.cli.plain import Plain
    from roost.plan.workspace import Workspace

    home = _home(tmp_path, [pi_host, vps_host], ())
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(home / "pass"))
    (home / "pass").chmod(0o600)
    ws = Workspace.open(home, facts=FACTS, clock=TEST_CLOCK)
    ws.save_answers(ANSWERS)
    pi = HostStore(home / HOSTS_FILE).get("pi")
    result = Deployment("static-blog", pi, home, {"address": pi_host.address},
                        passphrase=lambda: PASS).run()
    lines = note_deployed("static-blog", "pi", result, home)
    assert any(line.startswith("Protect what you moved") for line in lines), lines
    ws.reload()
    others = [h.name for h in HostStore(home / HOSTS_FILE).all() if h.name != "pi"]
    out = io.StringIO()
    # 1: protect it; then the vps among the other hosts; 1: every day; 0: quit.
    Plain(ws, out, io.StringIO(f"1\n{others.index('vps') + 1}\n1\n0\n"), False).main_menu()
    text = out.getvalue()
    assert "  1. Protect what you moved: back up Static blog" in text, text[:2000]
    assert "Backed up static-blog from pi to vps: archive static-blog-" in text, text[-3000:]
    listed = vps_host.ssh("ls /srv/roost-backups/pi").stdout.split()
    assert listed == ["static-blog"], listed
    ws.reload()
    assert ws.protect_offer() is None
    assert ws.history()[-1].describe().endswith("set up backups of static-blog on pi to vps.")

    # Every running service at once: here the blog again, a second archive.
    from roost.cli.main import main

    assert main(["backup", "--all", "--to", "vps"]) == 0
    archives = [r.last_archive for r in load_records(home).values()]
    assert len(archives) == 1 and archives[0] != text.split("archive ")[1].split(" ")[0]

    # The pi is lost: from the plain mode's Backups, the blog restored onto the vps (the host
    # that keeps its backups); the page loads there.
    import httpx

    out = io.StringIO()
    # Backups menu: 1 back up the blog, 2 restore it, 3 copy roost's data; onto 2 (the vps).
    Plain(ws, out, io.StringIO("2\n2\n1\n"), False).backups()
    said = out.getvalue()
    assert "  2. Restore static-blog from its backups on vps" in said, said[:3000]
    assert "Restored static-blog on vps from static-blog-" in said, said[-3000:]
    page = httpx.get(f"http://{vps_host.address}/", timeout=10)
    assert page.status_code == 200 and b"Served by roost." in page.content

    # Moved for good: the pi's copy goes only with --forget-old, and only once the vps works.
    assert pi_host.ssh("test -d /var/www/roost-blog", check=False).returncode == 0
    assert main(["move", "static-blog", "--from", "pi", "--to", "vps", "--yes",
                 "--forget-old"]) == 0
    assert pi_host.ssh("test -e /var/www/roost-blog", check=False).returncode != 0
    page = httpx.get(f"http://{vps_host.address}/", timeout=10)
    assert page.status_code == 200 and b"Served by roost." in page.content
    ws.reload()
    assert [str(e.detail["host"]) for e in ws.progress.running()] == ["vps"]
