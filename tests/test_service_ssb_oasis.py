"""Oasis (the Scuttlebutt app in the browser) for the vault's SSB identity, deployed over real SSH
to a Debian host with systemd, on 127.0.0.1:3000 only.

What could not run here, and why: the real Oasis source (github.com/fraction/oasis cannot be
downloaded on the test machines, so the `git clone` path only shows in the dry run), and so
real SSB replication and a real pub invite redemption. The container test builds a stand-in
Oasis archive of the same shape instead: the repository's files at the top, a package.json with
upstream's name, version and `bin` (src/index.js), whose src/index.js accepts only Oasis's own
flags, loads `~/.ssb/secret` with the REAL ssb-keys library (an npm dependency the recipe's
`npm install --omit=dev` fetches from the npm registry on the host), reads the ports of
`~/.ssb/config` and listens on them as Oasis's SSB server would, and serves
/.well-known/oasis, /profile, /profile/edit (multipart, Host and Referer checked as Oasis's
http.js does), /author/ID and /settings/invite/accept (after which it exits, as Oasis does).
Every recipe step around the source runs for real: packages, the conflict check, the user, the
secret file, the upload and unpack of the archive, npm, systemd, the health checks, the name
and invite steps through roost's helper, re-run, interrupt and resume, uninstall and purge. A
browser's path is followed too: an `ssh -L` tunnel to the host, then HTTP to localhost.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.dryrun import dry_run_text
from support.ports import free_port
from support.programs import standin
from support.releases import release_archive
from support.resume import Cut, interrupt_at

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepSkipped
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.ssb_oasis import (
    PINNED_COMMIT,
    InstallSource,
    build_ssb_oasis,
    invite_pub_id,
)
from roost.keys import ssb
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PACKAGE_JSON = standin("oasis-package.json")

STAND_IN = standin("oasis-index.js")


def oasis_archive(path: Path, marker: bytes = b"") -> str:
    """A tar.gz like `git archive --format=tar.gz HEAD` of the repository; returns its sha256."""
    return release_archive(path, (("package.json", PACKAGE_JSON, 0o644),
                                  ("src/index.js", STAND_IN + marker, 0o755),
                                  ("README.md", b"# Oasis (stand-in)\n", 0o644)))


@pytest.fixture
def feeds(home: Path) -> tuple[Identity, Identity]:
    return (ssb.create("me", profile="Robin at home"), ssb.create("pub", profile="A pub"))


def invite_for(pub: Identity, address: str) -> str:
    seed = base64.b64encode(os.urandom(32)).decode()
    return f"{address}:8008:{pub.public['ssb_id']}~{seed}"


def test_registered_dry_run_and_options(feeds: tuple[Identity, Identity], tmp_path: Path) -> None:
    me, pub = feeds
    assert RECIPES["ssb-oasis"] is build_ssb_oasis
    people = {me.id: me.info()}
    invite = invite_for(pub, "10.0.0.9")
    art = tmp_path / "oasis.tar.gz"
    sha = oasis_archive(art)
    recipe = build_ssb_oasis(None, {"artifact": str(art), "sha256": sha, "invite": invite},
                             people)
    text = dry_run_text(recipe, "pi")
    assert recipe.health is not None and recipe.health.describe() in text
    # The private key and the invite never show: the key by reference, the invite as a size.
    assert me.secret["private"] not in text and invite not in text
    assert invite.rsplit("~", 1)[1] not in text
    assert f'"private": "<secret: {me.id} private>"' in text
    assert f"(stdin: {len(invite) + 1} bytes)" in text
    assert f"redeem the invite of the pub {pub.public['ssb_id'][:12]}" in text
    assert "--host 127.0.0.1 --port 3000 --allow-host localhost --no-open" in text
    assert "Restart=always" in text and "User=oasis" in text
    assert f"sha256 {sha}" in text and "git clone" not in text
    assert "npm install --omit=dev" in text
    assert "publish the profile name 'Robin at home'" in text
    assert '"port": 8008' in text and '"host": "127.0.0.1"' in text
    assert any("ssh -L 3000:localhost:3000 YOUR-USER@HOST" in s for s in recipe.next_steps)
    there = build_ssb_oasis(TargetHost("pi", "192.168.1.9"), {}, people).next_steps
    assert any("ssh -L 3000:localhost:3000 YOUR-USER@192.168.1.9" in s for s in there)
    here = build_ssb_oasis(TargetHost("local", "127.0.0.1"), {}, people).next_steps
    assert "Open http://localhost:3000 in your web browser." in here
    assert not any("ssh -L" in s for s in here)
    removal = "\n".join(removal_lines(recipe, False))
    assert "systemctl disable --now oasis" in removal and "/var/lib/oasis" not in removal
    assert "rm -rf -- /var/lib/oasis" in "\n".join(removal_lines(recipe, True))

    # Without an archive: a git clone pinned to the commit read from upstream's repository.
    git = "\n".join(plan_lines(build_ssb_oasis(None, {}, people), "pi"))
    assert "https://github.com/fraction/oasis.git" in git and PINNED_COMMIT in git
    assert "install packages nodejs, npm, git" in git
    other = build_ssb_oasis(None, {"ssb_port": "8010", "ws_port": "8990", "port": "3001",
                                   "name": "Robin"}, people)
    text = "\n".join(plan_lines(other, "pi"))
    assert '"port": 8010' in text and '"port": 8990' in text and "--port 3001" in text
    assert "publish the profile name 'Robin'" in text

    assert invite_pub_id(invite) == pub.public["ssb_id"]
    key = pub.public["ssb_id"][1:-8]
    assert invite_pub_id(f"net:pub.example.org:8008~shs:{key}:{key}") == pub.public["ssb_id"]
    bad = [
        ({}, {}, "needs a Secure Scuttlebutt identity"),
        ({}, {me.id: me.info(), pub.id: pub.info()}, "several SSB identities"),
        ({"identity": "nobody"}, people, "no SSB identity 'nobody'"),
        ({"invite": "not an invite"}, people, "not a Scuttlebutt pub invite"),
        ({"invite": invite_for(me, "10.0.0.9")}, people, "your own identity"),
        ({"port": "8008"}, people, "must differ"),
        ({"ssb_port": "99999"}, people, "port"),
        ({"artifact": str(art)}, people, "needs its sha256"),
        ({"artifact": str(tmp_path / "missing.tgz"), "sha256": sha}, people, "is not a file"),
        ({"artifact": str(art), "sha256": "abc"}, people, "not a sha256"),
        ({"sha256": sha}, people, "goes with --option artifact"),
        ({"commit": "main; rm -rf /"}, people, "not a git commit"),
        ({"name": ""}, {me.id: me.info()}, None),
        ({"name": "x" * 500}, people, "not a usable profile name"),
        ({"colour": "red"}, people, "no option 'colour'"),
    ]
    for options, idents, match in bad:
        if match is None:
            build_ssb_oasis(None, options, idents)
            continue
        with pytest.raises(RoostError, match=match):
            build_ssb_oasis(None, options, idents)
    # The archive's entry point is a path inside it, checked like upstream's binaries are.
    with pytest.raises(RoostError, match="not usable"):
        InstallSource("oasis", "archive", "oasis.tar.gz", "", sha, "../x.js", "/opt/oasis")


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1800)
def test_oasis_archive_deploys_as_the_vault_id_on_localhost(
    pi_host: TestHost, feeds: tuple[Identity, Identity], tmp_path: Path,
) -> None:
    from testhost import SSH_OPTS, ProcScanner, files_containing, record_time

    me, pub = feeds
    ssb_id = me.public["ssb_id"]
    private = me.secret["private"]
    secrets = {f"{me.id}#private": private}
    invite = invite_for(pub, "10.0.0.9")
    seed = invite.rsplit("~", 1)[1]
    art = tmp_path / "oasis.tar.gz"
    sha = oasis_archive(art)
    options = {"artifact": str(art), "sha256": sha, "invite": invite}
    recipe = build_ssb_oasis(None, options, {me.id: me.info()})
    journal = Journal.for_host("pi", recipe.id, data_dir())
    release = next(s for s in recipe.steps if isinstance(s, InstallSource)).release

    def sh(cmd: str) -> str:
        return pi_host.ssh(cmd).stdout.strip()

    t = pi_host.transport(tmp_path / "ssh")
    try:
        # One identity, one place: a pub on this host as the same identity is refused, and so
        # is a taken port; nothing is changed before that check.
        pi_host.ssh("mkdir -p /var/lib/ssb/.ssb && printf '%s\\n' "
                    f"'# {ssb_id}' > /var/lib/ssb/.ssb/secret && printf '[Service]\\n"
                    "ExecStart=/bin/true\\n' > /etc/systemd/system/ssb-server.service "
                    "&& systemctl daemon-reload")
        with pytest.raises(engine.DeployFailed) as failed:
            engine.run(recipe, t, journal=journal, secrets=secrets)
        assert failed.value.event is not None
        assert "another SSB identity" in (failed.value.hint or "")
        assert "the ssb-pub on this host runs as the same identity" in failed.value.event.tail
        pi_host.ssh("rm -rf /var/lib/ssb /etc/systemd/system/ssb-server.service && "
                    "systemctl daemon-reload && systemd-run --unit=squat "
                    "python3 -m http.server 8989 --bind 127.0.0.1 && sleep 1")
        with pytest.raises(engine.DeployFailed) as failed:
            engine.run(recipe, t, journal=journal, secrets=secrets, resume=True)
        assert failed.value.event is not None
        assert "port 8989 is already in use" in failed.value.event.tail
        pi_host.ssh("systemctl stop squat")
        assert pi_host.ssh("id oasis", check=False).returncode != 0

        # Interrupted just before npm runs, then resumed: the finished steps are not redone.
        cut_at = next(i for i, s in enumerate(recipe.steps, 1)
                      if s.describe() == "install Oasis's npm dependencies")

        interrupt = interrupt_at(cut_at)

        with ProcScanner([private, seed]) as scan:
            start = time.monotonic()
            with pytest.raises(Cut):
                engine.run(recipe, t, journal=journal, secrets=secrets, on_event=interrupt,
                           resume=True)
            state = journal.load()
            assert state is not None and state.unfinished
            seen: list[Event] = []
            result = engine.run(recipe, t, journal=journal, secrets=secrets, resume=True,
                                on_event=seen.append)
            record_time("deploy_ssb_oasis_stand_in", time.monotonic() - start)
        assert scan.hits == [], f"a secret was visible in a process: {scan.hits}"
        assert result.ok and result.resumed and result.health is not None and result.health.ok
        earlier = [e.index for e in seen if isinstance(e, StepSkipped) and
                   "earlier run" in e.reason]
        assert earlier and max(earlier) == cut_at - 1
        changing = sum(1 for s in recipe.steps if s.changes_host)  # the probe is not counted
        assert result.applied + result.skipped == changing

        # The key is on the host only in ~/.ssb/secret (0400, user oasis); the invite nowhere.
        holders = files_containing(pi_host.changes, [private.split(".")[0]])
        assert holders and all(h.endswith("/var/lib/oasis/.ssb/secret") for h in holders), \
            holders
        assert files_containing(pi_host.changes, [seed]) == []
        assert sh("stat -c '%a %U %G' /var/lib/oasis/.ssb/secret") == "400 oasis oasis"
        assert sh("stat -c '%a %U' /var/lib/oasis/.ssb") == "700 oasis"
        # The real ssb-keys, installed by npm from the registry, reads the vault's id from it.
        assert sh("cd /opt/oasis/current && runuser -u oasis -- node -p "
                  "\"require('ssb-keys').loadSync('/var/lib/oasis/.ssb/secret').id\"") == ssb_id
        # The install script failed as ssb-validate2-rsjs-node's does here: installed without.
        pi_host.ssh(f"test -f {release}/.roost-npm-partial && test -f {release}/.roost-npm-done")
        assert sh("systemctl is-active oasis") == "active"
        assert sh("systemctl is-enabled oasis") == "enabled"
        pid = sh("systemctl show -p MainPID --value oasis")
        assert sh(f"ps -o user= -p {pid}") == "oasis"
        listening = sh("ss -Htln | awk '{print $4}' | sort")
        assert "127.0.0.1:3000" in listening.split() and "0.0.0.0:3000" not in listening
        assert "0.0.0.0:8008" in listening.split() and "127.0.0.1:8989" in listening.split()
        with pytest.raises(httpx.HTTPError):  # not reachable from outside the host
            httpx.get(f"http://{pi_host.address}:3000/.well-known/oasis", timeout=5)
        # Oasis exited after the invite and systemd started it again (two starts in all).
        assert sh("grep -c '^start' /var/lib/oasis/.ssb/standin-starts.log") == "2"
        assert sh(f"grep -c 'start {ssb_id}' /var/lib/oasis/.ssb/standin-starts.log") == "2"

        # As the person would: an SSH tunnel, then a browser's requests to localhost.
        local = free_port()
        tunnel = subprocess.Popen(
            ["ssh", *SSH_OPTS, "-i", str(pi_host.key_path), "-p", str(pi_host.ssh_port), "-N",
             "-L", f"{local}:localhost:3000", f"root@{pi_host.address}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://localhost:{local}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    r = httpx.get(f"{base}/.well-known/oasis", timeout=5)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            assert r.status_code == 200 and r.text == "oasis"
            page = httpx.get(f"{base}/profile", timeout=5).text
            assert ssb_id in page and "<h1>Robin at home</h1>" in page
            enc = httpx.get(f"{base}/author/{pub.public['ssb_id']}", timeout=5).text
            assert "/unfollow/" in enc
            # A POST without a same-host Referer is refused, as Oasis refuses it.
            assert httpx.post(f"{base}/profile/edit", timeout=5).status_code == 400
        finally:
            tunnel.terminate()
            tunnel.wait(timeout=10)

        # Deploying again changes nothing.
        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("redeploy_ssb_oasis", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == changing
        assert sh("systemctl show -p MainPID --value oasis") == pid

        # A new name is published through the form; the rest stays.
        renamed = build_ssb_oasis(None, {**options, "name": "Robin & co"}, {me.id: me.info()})
        assert engine.run(renamed, t, journal=journal, secrets=secrets).ok
        assert sh("runuser -u oasis -- cat /var/lib/oasis/.ssb/standin-db.json").startswith(
            '{"name":"Robin & co"')

        # Uninstall stops it and keeps the identity and the database.
        engine.undeploy(renamed, t, journal=journal)
        assert pi_host.ssh("systemctl is-active oasis", check=False).stdout.strip() != "active"
        assert pi_host.ssh("test -e /etc/systemd/system/oasis.service",
                           check=False).returncode == 1
        pi_host.ssh("test -f /var/lib/oasis/.ssb/secret && "
                    "test -f /var/lib/oasis/.ssb/standin-db.json")

        # Deployed again it comes back with its name; purge then removes everything.
        back = engine.run(renamed, t, journal=journal, secrets=secrets)
        assert back.ok and back.health is not None and back.health.ok
        engine.undeploy(renamed, t, journal=journal, purge_data=True)
        for gone in ("/opt/oasis", "/var/lib/oasis", "/etc/systemd/system/oasis.service"):
            assert pi_host.ssh(f"test -e {gone}", check=False).returncode == 1, gone
    finally:
        t.close()


def test_the_invite_can_come_from_a_file_off_the_command_line(
        feeds: tuple[Identity, Identity], tmp_path: Path) -> None:
    """`--option invite=CODE` puts a pub's invite (a bearer secret) on roost's command line,
    which every user of the computer can read in the process list for the whole deploy;
    `invite_file` reads it from a file instead. It reaches the host only on stdin and never
    shows: not in the dry run, not in an error."""
    from roost.deploy.steps import RunCommand

    me, pub = feeds
    people = {me.id: me.info()}
    invite = invite_for(pub, "10.0.0.9")
    f = tmp_path / "invite.txt"
    f.write_text(invite + "\n")
    recipe = build_ssb_oasis(None, {"invite_file": str(f)}, people)
    step = next(s for s in recipe.steps
                if isinstance(s, RunCommand) and "accept-invite" in s.argv)
    assert step.stdin == invite + "\n" and invite not in " ".join(step.argv)
    text = "\n".join(plan_lines(recipe, "pi"))
    assert invite not in text and f"(stdin: {len(invite) + 1} bytes)" in text
    assert not any("invite=CODE" in s for s in recipe.next_steps)
    f.write_text("not an invite but a secret-looking line\n")
    with pytest.raises(RoostError) as err:
        build_ssb_oasis(None, {"invite_file": str(f)}, people)
    assert "secret-looking" not in str(err.value)
    with pytest.raises(RoostError, match="not both"):
        build_ssb_oasis(None, {"invite_file": str(f), "invite": invite}, people)
    with pytest.raises(RoostError, match="is not a file"):
        build_ssb_oasis(None, {"invite_file": str(tmp_path / "none")}, people)
