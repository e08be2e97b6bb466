"""GoToSocial from an upstream release file, deployed over real SSH to a Debian host with systemd.

What could not run here: the real upstream GoToSocial binary (its release files cannot be
downloaded from this machine, and no sha256 could be checked against upstream, so
upstream.toml pins none), and so the first account, which roost does not create (see the
recipe's docstring: upstream's CLI takes the password as an argument). The container test
builds a release file of the same shape instead: a tar.gz with an executable `gotosocial` (a
python3 script that requires `--config-path FILE server start`, reads host/bind-address/port
from the rendered config.yaml and serves /api/v1/instance) plus a web/ folder, passes its real
sha256 with --option sha256, and proves every step around the binary.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepSkipped
from roost.deploy.journal import Journal
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.gotosocial import build_gotosocial
from roost.deploy.recipes.upstream import InstallArtifact
from roost.keys import fediverse
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "social.roost.test"
FAKE_GOTOSOCIAL = b'''#!/usr/bin/python3
# A stand-in for the gotosocial binary (tests only). Like the real one it reads every setting,
# the admin command's username/email/password included, from the --config-path file.
import hashlib, http.server, json, sys
args = sys.argv[1:]
assert args[0] == "--config-path", args
cfg = {}
for line in open(args[1]):
    if ":" in line and not line.startswith((" ", "#")):
        k, _, v = line.partition(":")
        cfg[k.strip()] = v.strip().strip(chr(34) + chr(39))
if args[2:5] == ["admin", "account", "create"]:
    with open(cfg["db-address"] + ".accounts", "a") as f:
        f.write("create %s %s %s\\n" % (cfg["username"], cfg["email"],
                hashlib.sha256(cfg["password"].encode()).hexdigest()))
    sys.exit(0)
if args[2:5] == ["admin", "account", "promote"]:
    with open(cfg["db-address"] + ".accounts", "a") as f:
        f.write("promote %s\\n" % args[args.index("--username") + 1])
    sys.exit(0)
assert args[2:] == ["server", "start"], args

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/api/v1/instance":
            self.send_error(404)
            return
        body = json.dumps({"uri": cfg["host"], "title": "fake gotosocial",
                           "db": cfg["db-address"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer((cfg["bind-address"], int(cfg["port"])), H).serve_forever()
'''


def release_tarball(path: Path) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, data, mode in (("gotosocial", FAKE_GOTOSOCIAL, 0o755),
                                   ("web/template/index.tmpl", b"fake\n", 0o644),
                                   ("web/assets/logo.svg", b"<svg/>\n", 0o644)):
            info = tarfile.TarInfo(member)
            info.size, info.mode, info.mtime = len(data), mode, 1700000000
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def alice(home: Path) -> Identity:
    return fediverse.create("social", user="alice", domain=DOMAIN,
                            admin_email="alice@example.org", server="gotosocial")


def test_registered_dry_run_and_options(home: Path, alice: Identity) -> None:
    assert RECIPES["gotosocial"] is build_gotosocial
    with pytest.raises(RoostError, match="needs the option domain"):
        build_gotosocial(None, {}, {})
    with pytest.raises(RoostError):
        build_gotosocial(None, {"domain": "bad domain;rm"}, {})
    recipe = build_gotosocial(None, {"domain": DOMAIN, "address": "10.0.0.5"}, {})
    text = "\n".join(plan_lines(recipe, "vps"))
    for step in recipe.steps:
        assert step.describe() in text
    assert f'host: "{DOMAIN}"' in text and 'db-type: "sqlite"' in text
    assert 'bind-address: "127.0.0.1"' in text
    assert f"server_name {DOMAIN};" in text and "default_server" not in text
    assert "server start" in text and "--password" not in text
    assert "systemctl disable --now gotosocial" in "\n".join(removal_lines(recipe, False))
    assert any("no account was made" in s for s in recipe.next_steps)
    with_account = build_gotosocial(None, {"domain": DOMAIN}, {alice.id: alice.info()})
    text = "\n".join(plan_lines(with_account, "vps"))
    assert "create the admin account @alice@social.roost.test" in text
    assert f"(stdin: <secret: {alice.id} password>)" in text
    assert alice.secret["password"] not in text
    with pytest.raises(RoostError, match="no fediverse identity 'bob'"):
        build_gotosocial(None, {"domain": DOMAIN, "account": "bob"}, {alice.id: alice.info()})


@pytest.mark.slow
@pytest.mark.container
def test_gotosocial_release_deploys_behind_nginx(
    pi_host: TestHost, alice: Identity, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    password = alice.secret["password"]
    secrets = {f"{alice.id}#password": password}
    people = {alice.id: alice.info()}

    art = tmp_path / "gotosocial_0.17.4_linux_amd64.tar.gz"
    sha = release_tarball(art)
    recipe = build_gotosocial(None, {"domain": DOMAIN, "artifact": str(art), "sha256": sha,
                                     "address": pi_host.address}, people)
    install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
    journal = Journal.for_host("pi", recipe.id)
    t = pi_host.transport(tmp_path / "ssh")
    try:
        events: list[Event] = []
        with ProcScanner([password]) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets,
                                on_event=events.append)
            record_time("deploy_gotosocial_fake_release", time.monotonic() - start)
        assert scan.hits == [], "the password was visible in a process's arguments"
        assert files_containing(pi_host.changes, [password]) == []
        assert result.ok and result.health is not None and result.health.ok
        skipped = [recipe.steps[e.index - 1].describe() for e in events
                   if isinstance(e, StepSkipped)]
        assert skipped == ["enable and start nginx"]  # Debian's package starts nginx itself

        def sh(cmd: str) -> str:
            return pi_host.ssh(cmd).stdout.strip()

        assert sh("id -nG gotosocial") == "gotosocial"
        assert sh("stat -c '%a %U %G' /var/lib/gotosocial/storage") == \
            "750 gotosocial gotosocial"
        assert sh("stat -c '%a %U %G' /etc/gotosocial/config.yaml") == "640 root gotosocial"
        assert sh("readlink /opt/gotosocial/current") == install.release
        assert sh("cat /opt/gotosocial/current/web/assets/logo.svg") == "<svg/>"
        assert sh("systemctl is-active gotosocial") == "active"
        pid = sh("systemctl show -p MainPID --value gotosocial")
        assert sh(f"ps -o user= -p {pid}") == "gotosocial"
        assert sh("ss -Htln 'sport = :8080' | awk '{print $4}'") == "127.0.0.1:8080"
        r = httpx.get(f"http://{pi_host.address}/api/v1/instance",
                      headers={"Host": DOMAIN}, timeout=10)
        assert r.status_code == 200 and "nginx" in r.headers.get("server", "")
        assert r.json() == {"uri": DOMAIN, "title": "fake gotosocial",
                            "db": "/var/lib/gotosocial/sqlite.db"}

        # The admin command got the account, password included, through its config "file".
        digest = hashlib.sha256(password.encode()).hexdigest()
        assert sh("cat /var/lib/gotosocial/sqlite.db.accounts").splitlines() == [
            f"create alice alice@example.org {digest}", "promote alice"]
        assert pi_host.ssh("test -e /run/roost-gotosocial-admin.yaml",
                           check=False).returncode == 1
        # Started by `enable --now`, restarted for the new configuration, then once more
        # after the promotion (as upstream asks).
        starts = sh("journalctl -u gotosocial --no-pager -o cat | grep -c '^Started'")
        assert starts == "3"

        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
        assert sh("systemctl show -p MainPID --value gotosocial") == pid

        # A different release file replaces the binary and restarts the service.
        art2 = tmp_path / "gotosocial_0.17.4_linux_amd64.tar.gz"
        FAKE = FAKE_GOTOSOCIAL.replace(b"fake gotosocial", b"fake gotosocial 2")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("gotosocial")
            info.size, info.mode = len(FAKE), 0o755
            tar.addfile(info, io.BytesIO(FAKE))
        art2.write_bytes(buf.getvalue())
        sha2 = hashlib.sha256(buf.getvalue()).hexdigest()
        newer = build_gotosocial(None, {"domain": DOMAIN, "artifact": str(art2),
                                        "sha256": sha2, "address": pi_host.address}, people)
        assert engine.run(newer, t, journal=journal, secrets=secrets).ok
        r = httpx.get(f"http://{pi_host.address}/api/v1/instance",
                      headers={"Host": DOMAIN}, timeout=10)
        assert r.json()["title"] == "fake gotosocial 2"
        assert sh("readlink /opt/gotosocial/current").endswith(sha2[:16])
    finally:
        t.close()
