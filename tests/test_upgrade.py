"""`roost updates` and `roost upgrade`: what is newer, and an upgrade that rolls back by itself.

The end-to-end test drives roost's own entry point over real SSH against a booted Debian host:
Prosody deployed by `roost deploy`; a local apt repository built on the host in the test
(`dpkg-deb --build` of a newer Prosody package, `apt-ftparchive`, a `deb [trusted=yes] file:`
source) offers a broken version (its server program exits at once), then a good one. The broken
upgrade ends with the old version running and a real XMPP client logging in to the account
registered before; the good one upgrades; roost killed (SIGKILL) in the middle of an upgrade
is finished by running it again.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support.identities import vault_for_commands

from roost.app import upgrading
from roost.cli.main import main
from roost.cli.plain import run_plain
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import upgrade as up
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipes.prosody import build_prosody
from roost.deploy.trust import KNOWN_HOSTS, KnownHosts
from roost.keys.model import Identity
from roost.plan.workspace import Workspace

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

HERE = Path(__file__).parent
DOMAIN = "chat.roost.test"
POLICY = """prosody:
  Installed: 0.12.3-1
  Candidate: 0.12.3-1+roost1
  Version table:
     0.12.3-1+roost1 500
        500 file:/srv/roost-repo ./ Packages
 *** 0.12.3-1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
openssl:
  Installed: 3.0.11-1~deb12u2
  Candidate: 3.0.15-1~deb12u1
  Version table:
     3.0.15-1~deb12u1 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
 *** 3.0.11-1~deb12u2 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
lua-unbound:
  Installed: 1.0.0-2
  Candidate: 1.0.0-2
  Version table:
 *** 1.0.0-2 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
certbot:
  Installed: (none)
  Candidate: 2.1.0-4
"""


def test_apt_policy_is_read_with_the_security_archive() -> None:
    got = up.parse_policy(POLICY)
    assert got["prosody"] == ("0.12.3-1", "0.12.3-1+roost1", False)
    assert got["openssl"] == ("3.0.11-1~deb12u2", "3.0.15-1~deb12u1", True)
    assert got["lua-unbound"] == ("1.0.0-2", "1.0.0-2", False)
    assert got["certbot"] == ("", "2.1.0-4", False)


def test_the_recipes_packages_are_the_ones_looked_at() -> None:
    from support.identities import public

    from roost.keys import xmpp

    alice = xmpp.create("alice", address=f"alice@{DOMAIN}")
    recipe = build_prosody(None, {"address": "10.0.0.5"}, public(alice))
    assert up.recipe_packages(recipe) == ("prosody", "lua-unbound", "openssl")


def test_a_line_per_service_security_first_in_words() -> None:
    s = upgrading.ServiceUpdates("prosody", "pi", "chat (prosody)", (
        up.Pending("openssl", "3.0.11", "3.0.15", True),
        up.Pending("prosody", "0.12.3-1", "0.12.4-1", False)))
    assert s.words() == (
        "chat (prosody) on pi: 2 newer Debian packages, 1 of them security updates: openssl "
        "3.0.11 to 3.0.15 (security), prosody 0.12.3-1 to 0.12.4-1; upgrade with: roost "
        "upgrade prosody --host pi.")
    nav = upgrading.ServiceUpdates("navidrome", "vps", "music (navidrome)",
                                   release=("0.52.0", "0.53.3"))
    assert nav.words() == ("music (navidrome) on vps: a newer release, 0.53.3 (installed: "
                           "0.52.0); upgrade with: roost upgrade navidrome --host vps.")
    cut = upgrading.ServiceUpdates("prosody", "pi", "chat (prosody)",
                                   unfinished=up.ROLLING_BACK)
    assert cut.words() == ("chat (prosody) on pi: an upgrade was cut off while rolling back; "
                           "finish it with: roost upgrade prosody --host pi.")
    report = upgrading.UpdatesReport((upgrading.HostUpdates("pi", True, services=(s, cut)),))
    assert report.lines()[-1] == ("1 upgrade was cut off and must be finished (see above). "
                                  "2 updates for 1 service.")
    assert report.to_dict()["hosts"][0]["services"][0]["packages"][0]["security"] is True


def test_check_says_an_upgrade_that_was_cut_off() -> None:
    from roost.app import checking, host_state

    st = host_state.parse("@df\n@mem\n@root\nrw\n@uu\nabsent\n@up\nupgrade-prosody\n", [])
    assert st.upgrades_cut_off == ("prosody",)
    s = checking._with_upgrade(checking.ServiceCheck("prosody", "pi", "chat (prosody)",
                                                     checking.WORKING), st)
    assert s.words(datetime(2026, 12, 6, tzinfo=UTC)) == (
        "chat (prosody) on pi: working; an upgrade was cut off; finish it with: roost upgrade "
        "prosody --host pi.")
    assert s.attention
    report = checking.CheckReport(datetime(2026, 12, 6, tzinfo=UTC),
                                  (checking.HostCheck("pi", True, services=(s,)),))
    assert report.exit_code == 1


def test_a_marker_from_the_host_is_checked_before_use() -> None:
    m = up.Marker("prosody", up.UPGRADING, {"prosody": "0.12.3-1"}, {"prosody": "0.12.4-1"},
                  [f"{up.KEEP_DIR}/prosody/prosody_0.12.3-1_all.deb"])
    assert up.Marker.from_json(m.to_json()) == m
    with pytest.raises(RoostError, match="not a Debian package version"):
        up.Marker.from_json(m.to_json().replace("0.12.4-1", "1; rm -rf /"))
    with pytest.raises(RoostError, match="cannot be read"):
        up.Marker.from_json("{")
    with pytest.raises(RoostError, match="not a file roost kept"):
        up.downgrade(None, ["/etc/passwd"])  # type: ignore[arg-type]


def test_nothing_deployed_and_no_backup_are_said_in_one_line(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["updates"]) == 0
    assert capsys.readouterr().out == "Nothing is deployed yet, so nothing needs updating.\n"
    assert main(["updates", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hosts"] == []
    assert main(["upgrade", "--all"]) == 0
    assert capsys.readouterr().out == "Nothing is deployed yet, so nothing needs updating.\n"
    assert main(["upgrade"]) == 2
    assert "roost upgrade needs the service and its host" in capsys.readouterr().err
    assert main(["upgrade", "prosody", "--all"]) == 2
    assert "--all upgrades every service" in capsys.readouterr().err
    assert main(["upgrade", "prosody", "--host", "pi"]) == 2
    assert "prosody is not deployed on pi" in capsys.readouterr().err
    Workspace.open(home, detect=False).deployed("prosody", "pi", "0.12.3-1", recipe="prosody",
                                                options={"domain": DOMAIN})
    assert main(["upgrade", "prosody", "--host", "pi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert "no backup of prosody on pi is set up, so roost does not upgrade it" in err
    assert "roost backup prosody --host pi --to OTHER-HOST" in err and "--no-backup" in err


# --- over real SSH -----------------------------------------------------------------------------

BUILD = r"""set -e
v=$1; kind=$2; old=$3; d=/root/roost-build; r=/srv/roost-repo
rm -rf "$d" && mkdir -p "$d" && cd "$d"
apt-get download -q "prosody=$old" >/dev/null 2>&1
dpkg-deb -R prosody_*.deb pkg
sed -i "s/^Version: .*/Version: $v/" pkg/DEBIAN/control
case $kind in
  broken|eats) rm -f pkg/usr/bin/prosody
          printf '#!/bin/sh\necho "this build is broken" >&2\nexit 1\n' > pkg/usr/bin/prosody
          chmod 755 pkg/usr/bin/prosody ;;
  slow) sed -i '2i sleep 25' pkg/DEBIAN/postinst ;;
esac
if [ "$kind" = eats ]; then
  { head -n 1 pkg/DEBIAN/postinst
    echo 'echo "return {};" > /var/lib/prosody/chat%2eroost%2etest/accounts/alice.dat'
    tail -n +2 pkg/DEBIAN/postinst; } > postinst.new
  mv postinst.new pkg/DEBIAN/postinst && chmod 755 pkg/DEBIAN/postinst
fi
mkdir -p $r
dpkg-deb --build pkg "$r/prosody_${v}_all.deb" >/dev/null
cd $r && apt-ftparchive packages . > Packages
echo "deb [trusted=yes] file:$r ./" > /etc/apt/sources.list.d/roost-test.list
"""
"""(bash) A newer Prosody package $1 in a local apt repository on the host: Debian's $3
unpacked, its version changed, and for `broken` its server program replaced by one that exits,
for `slow` its postinst made to sleep (time to kill roost in the middle), and `eats` is
`broken` with a postinst that also empties alice's account (the data)."""


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    out = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n$ roost {' '.join(args)}  # exit {code}\n{out}")
    return code, out.splitlines()


def _login(address: str, jid: str, password: str, cafile: Path) -> str:
    res = subprocess.run([sys.executable, str(HERE / "support" / "xmpp_login.py"), address,
                          jid, str(cafile)], input=password + "\n", capture_output=True,
                         text=True, timeout=60)
    return res.stdout.strip()


def _version(h: TestHost) -> str:
    return h.ssh("dpkg-query -W -f '${Version}' prosody").stdout.strip()


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str,
           *hosts: TestHost) -> Path:
    """A data folder with the hosts (pi first) and alice's XMPP identity; Prosody deployed
    to pi by `roost deploy`."""
    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("ROOST_HOST_STATE_DIR", "/var/lib/roost-test-state")
    known = KnownHosts(data_dir() / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text("".join(h.known_hosts_lines() for h in hosts))
    known.path.chmod(0o600)
    vault_for_commands(home, "a long passphrase", tmp_path, monkeypatch,
                       Identity("alice", "xmpp", {"jid": f"alice@{DOMAIN}"},
                                {"password": password}))
    for name, h in zip(("pi", "vps"), hosts, strict=False):
        HostStore(data_dir() / HOSTS_FILE).add(Host(name, address=h.address, user="root",
                                                    port=h.ssh_port, key_path=str(h.key_path)))
    pi = hosts[0]
    assert main(["deploy", "prosody", "--host", "pi", "--quiet",
                 "--option", f"domain={DOMAIN}", "--option", f"address={pi.address}"]) == 0
    return home


async def _tui_upgrade(home: Path) -> tuple[str, list[str]]:
    """In the app: open Updates, look (r), Enter on prosody twice; (what the status line said
    after the first Enter, the rows at the end)."""
    from test_tui import make_app, press, screen_lines, settle

    from roost.tui.screens import open_screen

    app = make_app(home, screen_reader=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        open_screen(app, "updates")
        await settle(pilot, app)
        await press(pilot, app, "r")
        await settle(pilot, app)
        screen: Any = app.screen
        keys = [r.key for r in screen.menu.rows]
        assert "svc:prosody:pi" in keys, keys
        await press(pilot, app, *["down"] * keys.index("svc:prosody:pi"))
        await press(pilot, app, "enter")
        said = " ".join(screen_lines(app))
        await press(pilot, app, "enter")
        await settle(pilot, app)
        return said, [r.label for r in screen.menu.rows]


@pytest.mark.slow
@pytest.mark.container
def test_a_broken_upgrade_rolls_back_a_good_one_upgrades_a_killed_one_finishes(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "pw-" + "u7" * 12
    home = _setup(tmp_path, monkeypatch, password, pi_host)
    capsys.readouterr()
    cafile = tmp_path / "server.crt"
    cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
    jid = f"alice@{DOMAIN}"
    assert _login(pi_host.address, jid, password, cafile) == "logged in"
    old = _version(pi_host)

    # Nothing newer: said, offline too.
    code, lines = _run(capsys, "updates", "--host", "pi", "--offline")
    assert code == 0
    assert any(line.startswith("chat (prosody) on pi: ") for line in lines), lines
    assert f"prosody {old} to" not in "\n".join(lines)

    # A broken newer Prosody in a local apt repository on the host.
    pi_host.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q apt-utils >/dev/null")
    broken = f"{old}+roost1"
    pi_host.ssh(f"bash -s {broken} broken {old}", input=BUILD.encode())
    code, lines = _run(capsys, "updates", "--host", "pi")  # runs apt-get update itself
    assert code == 0
    assert f"prosody {old} to {broken}" in "\n".join(lines)
    assert "upgrade with: roost upgrade prosody --host pi." in "\n".join(lines)

    # Upgraded, it fails its health check: rolled back by itself, said, the old one works.
    start = time.monotonic()
    code, lines = _run(capsys, "upgrade", "prosody", "--host", "pi", "--no-backup")
    took = time.monotonic() - start
    text = "\n".join(lines)
    assert code == 1, text
    assert "The upgrade of prosody on pi failed: the health check failed" in text
    assert "Rolled back to " in text and f"prosody {old}; " in text
    assert "it works again" in text
    assert _version(pi_host) == old
    assert pi_host.ssh("systemctl is-active prosody").stdout.strip() == "active"
    assert _login(pi_host.address, jid, password, cafile) == "logged in"  # the account kept
    assert pi_host.ssh("ls /var/lib/roost-test-state/upgrade-prosody.json",
                       check=False).returncode != 0
    ws = Workspace.open(home, detect=False)
    last = ws.progress.effective()[-1]
    assert (last.kind, last.detail["outcome"], last.detail["version"]) == (
        "upgraded", "rolled back", old)
    assert "failed (the health check failed" in last.describe()

    # A good newer one: upgraded, checked, noted.
    good = f"{old}+roost2"
    pi_host.ssh(f"bash -s {good} good {old}", input=BUILD.encode())
    code, lines = _run(capsys, "upgrade", "prosody", "--host", "pi", "--no-backup")
    assert code == 0, lines
    assert "Upgraded prosody on pi: " in lines[-2] and f"prosody {old} to {good}" in lines[-2]
    assert _version(pi_host) == good
    assert _login(pi_host.address, jid, password, cafile) == "logged in"
    code, lines = _run(capsys, "updates", "--host", "pi", "--offline")
    assert f"prosody {good} to" not in "\n".join(lines)

    # roost killed (SIGKILL) while dpkg configures the next one: running it again finishes.
    slow = f"{old}+roost3"
    pi_host.ssh(f"bash -s {slow} slow {old}", input=BUILD.encode())
    proc = subprocess.Popen([sys.executable, "-m", "roost", "upgrade", "prosody", "--host",
                             "pi", "--no-backup"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=dict(os.environ))
    deadline = time.monotonic() + 180
    while pi_host.ssh("pgrep -fx 'sleep 25'", check=False).returncode != 0:
        assert time.monotonic() < deadline and proc.poll() is None, "dpkg never got there"
        time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert pi_host.ssh("test -f /var/lib/roost-test-state/upgrade-prosody.json",
                       check=False).returncode == 0  # the host knows an upgrade is under way
    code, lines = _run(capsys, "check")
    assert code == 1
    assert ("chat (prosody) on pi: working; an upgrade was cut off; finish it with: roost "
            "upgrade prosody --host pi." in lines) or any(
        "an upgrade was cut off; finish it with: roost upgrade prosody --host pi" in line
        for line in lines), lines
    code, lines = _run(capsys, "updates", "--host", "pi", "--offline")
    assert ("chat (prosody) on pi: an upgrade was cut off while upgrading; finish it with: "
            "roost upgrade prosody --host pi") in "\n".join(lines)
    assert lines[-1].startswith("1 upgrade was cut off and must be finished (see above).")
    start_again = time.monotonic()
    code, lines = _run(capsys, "upgrade", "prosody", "--host", "pi", "--no-backup")
    text = "\n".join(lines)
    assert code == 0, text
    assert "was cut off while upgrading; finishing it" in text
    assert "Upgraded prosody on pi: " in text and f"prosody {good} to {slow}" in text
    assert _version(pi_host) == slow
    assert pi_host.ssh("dpkg --audit").stdout.strip() == ""  # nothing half-configured
    assert _login(pi_host.address, jid, password, cafile) == "logged in"
    again = time.monotonic() - start_again

    # Plain mode: Updates in its menu lists it, and upgrades it without a backup, when asked.
    latest = f"{old}+roost4"
    pi_host.ssh(f"bash -s {latest} good {old}", input=BUILD.encode())
    probe = io.StringIO()
    run_plain(home=home, stdin=io.StringIO(""), stdout=probe)
    number = next(line.split(".")[0].strip() for line in probe.getvalue().splitlines()
                  if "Updates: what is newer, and upgrade" in line)
    out = io.StringIO()
    run_plain(home=home, stdin=io.StringIO(f"{number}\n1\n1\n0\n"), stdout=out)
    text = out.getvalue()
    with capsys.disabled():
        print(f"\n$ roost --plain\n{text}")
    assert f"prosody {slow} to {latest}" in text
    assert "No backup of prosody on pi is set up." in text
    assert "Upgraded prosody on pi: " in text and "Traceback" not in text
    assert _version(pi_host) == latest

    # The full-screen app: Updates, r looks with fresh lists, Enter on prosody (twice: there
    # is no backup) upgrades it, each step listed.
    pi_host.ssh(f"bash -s {old}+roost6 good {old}", input=BUILD.encode())
    said, rows = asyncio.run(_tui_upgrade(home))
    with capsys.disabled():
        print("\n(full-screen app, Updates)\n" + "\n".join(rows))
    assert "No backup of prosody on pi is set up" in said
    assert any(r.startswith("Upgraded prosody on pi: ") for r in rows), rows
    assert _version(pi_host) == f"{old}+roost6"

    # --all: every service with something newer, one after the other.
    pi_host.ssh(f"bash -s {old}+roost7 good {old}", input=BUILD.encode())
    code, lines = _run(capsys, "upgrade", "--all", "--no-backup")
    assert code == 0, lines
    assert any(line.startswith("Upgraded prosody on pi: ") and f"to {old}+roost7" in line
               for line in lines), lines
    with capsys.disabled():
        print(f"\nbroken upgrade and rollback: {took:.1f} s; the rerun after the kill: "
              f"{again:.1f} s")


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1800)
def test_an_upgrade_backs_up_first_and_a_rollback_puts_the_data_back(
    pi_host: TestHost, vps_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from roost.app.backing_up import load_records

    password = "pw-" + "b4" * 12
    home = _setup(tmp_path, monkeypatch, password, pi_host, vps_host)
    code, lines = _run(capsys, "backup", "prosody", "--host", "pi", "--to", "vps")
    assert code == 0, lines
    first = load_records(home)["prosody"].last_archive
    old = _version(pi_host)
    pi_host.ssh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q apt-utils >/dev/null")
    pi_host.ssh(f"bash -s {old}+roost1 eats {old}", input=BUILD.encode())
    time.sleep(1.1)  # archives are named by the second
    code, lines = _run(capsys, "upgrade", "prosody", "--host", "pi")
    text = "\n".join(lines)
    assert code == 1, text
    second = load_records(home)["prosody"].last_archive
    assert second != first
    assert "backing prosody up to vps before upgrading" in text
    assert text.index("Backed up prosody from pi to vps") < text.index("upgrading prosody to")
    assert ("the upgrade changed prosody's data too: putting back the backup "
            f"{second} taken just before it") in text
    assert f"Its data is back as it was before the upgrade (the backup {second})." in text
    assert _version(pi_host) == old
    cafile = tmp_path / "server.crt"
    cafile.write_text(pi_host.ssh(f"cat /etc/prosody/certs/{DOMAIN}.crt").stdout)
    assert _login(pi_host.address, f"alice@{DOMAIN}", password, cafile) == "logged in"


@pytest.mark.slow
@pytest.mark.container
def test_an_upstream_release_that_fails_its_health_check_is_switched_back(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Navidrome from a stand-in release (tests/test_service_navidrome.py); a newer stand-in
    whose program exits at once: the link goes back to the release before, which answers
    again; then a good newer one is switched to."""
    import httpx
    from support.programs import standin
    from support.releases import release_archive

    home = tmp_path / "home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("ROOST_HOST_STATE_DIR", "/var/lib/roost-test-state")
    known = KnownHosts(data_dir() / KNOWN_HOSTS)
    known.path.parent.mkdir(parents=True, exist_ok=True)
    known.path.write_text(pi_host.known_hosts_lines())
    known.path.chmod(0o600)
    HostStore(data_dir() / HOSTS_FILE).add(Host("pi", address=pi_host.address, user="root",
                                                port=pi_host.ssh_port,
                                                key_path=str(pi_host.key_path)))
    program = standin("navidrome.py")

    def release(name: str, prog: bytes, note: bytes) -> tuple[str, str]:
        path = tmp_path / name
        sha = release_archive(path, (("navidrome", prog, 0o755), ("README.md", note, 0o644)))
        return str(path), sha

    first, sha1 = release("first.tar.gz", program, b"first\n")
    broken, sha2 = release("broken.tar.gz", b"#!/bin/sh\necho broken >&2\nexit 1\n", b"2\n")
    good, sha3 = release("good.tar.gz", program, b"third\n")
    assert main(["deploy", "navidrome", "--host", "pi", "--quiet",
                 "--option", f"artifact={first}", "--option", f"sha256={sha1}",
                 "--option", f"address={pi_host.address}", "--option", "music=/srv/music"]) == 0
    capsys.readouterr()

    def page() -> str:
        return httpx.get(f"http://{pi_host.address}/", timeout=10).text

    def in_use() -> str:
        return pi_host.ssh("readlink /opt/navidrome/current").stdout.strip()

    assert page() == "fake navidrome for /srv/music"
    assert in_use().endswith(sha1[:16])

    code, lines = _run(capsys, "upgrade", "navidrome", "--host", "pi", "--no-backup",
                       "--option", f"artifact={broken}", "--option", f"sha256={sha2}")
    text = "\n".join(lines)
    assert code == 1, text
    assert "The upgrade of navidrome on pi failed: " in text
    assert f"Rolled back to release /opt/navidrome/releases/{sha1[:16]}; " in text
    assert "it works again" in text
    assert in_use().endswith(sha1[:16])
    assert page() == "fake navidrome for /srv/music"
    assert pi_host.ssh("test -d /opt/navidrome/releases/" + sha2[:16]).returncode == 0

    code, lines = _run(capsys, "upgrade", "navidrome", "--host", "pi", "--no-backup",
                       "--option", f"artifact={good}", "--option", f"sha256={sha3}")
    text = "\n".join(lines)
    assert code == 0, text
    assert (f"Upgraded navidrome on pi to the release in /opt/navidrome/releases/{sha3[:16]}"
            in text)
    assert in_use().endswith(sha3[:16])
    assert page() == "fake navidrome for /srv/music"
    ws = Workspace.open(home, detect=False)
    outcomes = [e.detail["outcome"] for e in ws.progress.effective() if e.kind == "upgraded"]
    assert outcomes == ["rolled back", "upgraded"]
    # The deploy recorded the new release's options: a check builds the new recipe.
    running = [e for e in ws.progress.running() if e.service_id == "navidrome"]
    assert running[-1].detail["options"]["sha256"] == sha3
