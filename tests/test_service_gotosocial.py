"""GoToSocial from an upstream release file, deployed over real SSH to a Debian host with systemd.

What could not run here: the real upstream GoToSocial binary (its release files cannot be
downloaded from this machine, and no sha256 could be checked against upstream, so
upstream.toml pins none), and with it the real `admin account create/promote` and the real
WebFinger, actor and public key answers the health check relies on. The container test
builds a release file of the same shape instead: a tar.gz with an executable `gotosocial` (a
python3 script that requires `--config-path FILE`, reads host/protocol/bind-address/port and
the admin command's username/email/password from that file, records accounts with an RSA key
each, and on `server start` serves /api/v1/instance, WebFinger, /users/NAME and
/users/NAME/main-key the way GoToSocial's source answers them: an unsigned actor GET is a 401,
an unknown account a 404, the key path a minimal actor without a signature) plus a web/
folder, passes its real sha256 with --option sha256, and proves every step around the binary:
the health check through nginx finds the account (WebFinger, the actor's 401, the key
document), and says in one line that WebFinger does not know it once it is gone. Whether the
real binary answers exactly like this was read in its source (see the recipe's docstring),
not run.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from routeserver import RouteServer
from support.dryrun import dry_run_text
from support.identities import fediverse_alice
from support.ports import free_port
from support.programs import standin
from support.releases import release_archive

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepDone, StepSkipped
from roost.deploy.journal import Journal
from roost.deploy.reach import Site
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.activitypub import webfinger_probe
from roost.deploy.recipes.gotosocial import build_gotosocial
from roost.deploy.recipes.upstream import InstallArtifact
from roost.deploy.steps import Restart
from roost.keys import fediverse
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "social.roost.test"
FAKE_GOTOSOCIAL = standin("gotosocial.py")


def release_tarball(path: Path) -> str:
    return release_archive(path, (("gotosocial", FAKE_GOTOSOCIAL, 0o755),
                                  ("web/template/index.tmpl", b"fake\n", 0o644),
                                  ("web/assets/logo.svg", b"<svg/>\n", 0o644)))


@pytest.fixture
def alice(home: Path) -> Identity:
    return fediverse_alice(DOMAIN, "gotosocial")


def test_registered_dry_run_and_options(home: Path, alice: Identity) -> None:
    assert RECIPES["gotosocial"] is build_gotosocial
    with pytest.raises(RoostError, match="needs the option domain"):
        build_gotosocial(None, {}, {})
    with pytest.raises(RoostError):
        build_gotosocial(None, {"domain": "bad domain;rm"}, {})
    recipe = build_gotosocial(None, {"domain": DOMAIN, "address": "10.0.0.5"}, {})
    text = dry_run_text(recipe, "vps")
    assert f'host: "{DOMAIN}"' in text and 'db-type: "sqlite"' in text
    assert 'bind-address: "127.0.0.1"' in text
    assert f"server_name {DOMAIN};" in text and "default_server" not in text
    assert "server start" in text and "--password" not in text
    assert "systemctl disable --now gotosocial" in "\n".join(removal_lines(recipe, False))
    assert any("no account was made" in s for s in recipe.next_steps)
    assert "webfinger" not in text.lower()  # no account: the instance answer only
    with_account = build_gotosocial(None, {"domain": DOMAIN}, {alice.id: alice.info()})
    text = "\n".join(plan_lines(with_account, "vps"))
    assert "create the admin account @alice@social.roost.test" in text
    assert f"finds @alice@{DOMAIN}" in text and f"WebFinger acct:alice@{DOMAIN}" in text
    assert "public key document (actor + /main-key)" in text
    assert f"(stdin: <secret: {alice.id} password>)" in text
    assert alice.secret["password"] not in text
    with pytest.raises(RoostError, match="no fediverse identity 'bob'"):
        build_gotosocial(None, {"domain": DOMAIN, "account": "bob"}, {alice.id: alice.info()})


HARD_PASSWORDS = ['plain', 'qu"ote', 'back\\slash', "it's", "'\\\"'", "#: - [x] {y} &z *w",
                  "tab\tline\nbreak\r\x00\x7f\x85\u2028\ufeff", "é ✓ 𝄞", ""]


@pytest.mark.parametrize("password", HARD_PASSWORDS)
def test_account_yaml_reads_back_with_a_real_yaml_parser(home: Path, alice: Identity,
                                                         password: str) -> None:
    """What the admin command reads: the configuration, the account's lines, the password
    line roost sends on stdin (the recipe's own encoder), parsed by a real YAML parser."""
    import yaml

    from roost.deploy.recipes.gotosocial import account_yaml, yaml_string
    from roost.deploy.steps import CreateAccount, load_template, render

    recipe = build_gotosocial(None, {"domain": DOMAIN}, {alice.id: alice.info()})
    step = next(s for s in recipe.steps if isinstance(s, CreateAccount))
    assert step.encode is not None
    line = step.encode(password)
    assert "\n" not in line and "\r" not in line
    conf = render(load_template("gotosocial-config.yaml"),
                  {"domain": DOMAIN, "port": "8080", "data": "/d", "release": "/r"})
    doc = conf + "\n" + account_yaml("alice", "alice@example.org") + line + "\n"
    got = yaml.safe_load(doc)
    assert got["password"] == password and got["username"] == "alice"
    assert got["email"] == "alice@example.org" and got["host"] == DOMAIN
    assert yaml.safe_load(yaml_string(password)) == password


@given(st.text())
def test_yaml_string_reads_back_any_text(value: str) -> None:
    import yaml

    from roost.deploy.recipes.gotosocial import yaml_string

    assert yaml.safe_load("k: " + yaml_string(value)) == {"k": value}


def test_health_check_finds_the_account_on_the_stand_in(home: Path, alice: Identity,
                                                        tmp_path: Path) -> None:
    """The recipe's health check against the stand-in run on this computer (no nginx): it
    fails in one line while the account does not exist and passes once it does."""
    fake = tmp_path / "gotosocial"
    fake.write_bytes(FAKE_GOTOSOCIAL)
    port = free_port()
    conf = tmp_path / "config.yaml"
    conf.write_text(f'host: "{DOMAIN}"\nprotocol: "https"\nbind-address: "127.0.0.1"\n'
                    f'port: {port}\ndb-address: "{tmp_path}/sqlite.db"\n')
    recipe = build_gotosocial(None, {"domain": DOMAIN, "address": "127.0.0.1",
                                     "listen": str(port)}, {alice.id: alice.info()})
    assert recipe.health is not None and recipe.health.probe is not None
    probe = recipe.health.probe
    server = subprocess.Popen([sys.executable, str(fake), "--config-path", str(conf),
                               "server", "start"])
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/v1/instance", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert probe() == f"WebFinger does not know acct:alice@{DOMAIN} (404)"
        account = tmp_path / "account.yaml"
        account.write_text(conf.read_text() + "username: 'alice'\nemail: 'a@example.org'\n"
                           "password: 'pw'\n")
        subprocess.run([sys.executable, str(fake), "--config-path", str(account), "admin",
                        "account", "create"], check=True)
        assert probe() is True
        ap = {"Host": DOMAIN, "Accept": "application/activity+json"}
        assert httpx.get(f"{base}/users/alice", headers=ap).status_code == 401
        assert httpx.get(f"{base}/users/bob", headers=ap).status_code == 404
        html = httpx.get(f"{base}/users/alice", headers={"Accept": "text/html"})
        assert html.status_code == 303 and html.headers["location"] == "/@alice"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def routes() -> Iterator[RouteServer]:
    with RouteServer() as server:
        yield server


def test_signed_actor_probe_says_each_failure_in_one_line(routes: RouteServer) -> None:
    """The shared probe for servers that answer actors only to signed requests: the actor's
    401 counts as "the account is there", then the public key document must be its own."""
    me = f"https://{DOMAIN}/users/alice"
    ap = "application/activity+json"
    routes.routes[f"/.well-known/webfinger?resource=acct:alice@{DOMAIN}"] = (
        200, "application/jrd+json", {"subject": f"acct:alice@{DOMAIN}", "links": [
            {"rel": "self", "type": ap, "href": me}]})
    site = Site("127.0.0.1", DOMAIN, routes.port)
    probe = webfinger_probe(site, "alice", signed_actor=True,
                            key_suffix="/main-key")

    def says(text: str) -> None:
        out = probe()
        assert isinstance(out, str) and text in out and "\n" not in out, out

    says("the actor document /users/alice answered 404: no such account")
    routes.routes["/users/alice"] = (401, "application/json", {"error": "Unauthorized"})
    says("the public key document /users/alice/main-key answered 404")
    key = {"id": me, "type": "Person", "preferredUsername": "alice",
           "publicKey": {"id": me + "/main-key", "owner": me,
                         "publicKeyPem": "-----BEGIN PUBLIC KEY-----"}}
    routes.routes["/users/alice/main-key"] = (200, "text/html", "<html>")
    says("the public key document came as text/html")
    routes.routes["/users/alice/main-key"] = (200, ap, {**key, "id": me + "x"})
    says(f"the public key document's id is '{me}x', not {me}")
    routes.routes["/users/alice/main-key"] = (200, ap, {**key, "preferredUsername": "bob"})
    says("the public key document's preferredUsername is 'bob', not 'alice'")
    routes.routes["/users/alice/main-key"] = (200, ap, {**key, "publicKey": {"id": "k"}})
    says("the actor has no public key")
    routes.routes["/users/alice/main-key"] = (200, ap, key)
    assert probe() is True
    # Without key_suffix the 401 alone is the answer; a server that does answer the actor
    # unsigned gets the whole actor check.
    assert webfinger_probe(site, "alice", signed_actor=True)() is True
    routes.routes["/users/alice"] = (200, ap, key)
    says("the actor document has no inbox")
    # Without signed_actor, a 401 is still a failure.
    routes.routes["/users/alice"] = (401, "application/json", {"error": "Unauthorized"})
    assert webfinger_probe(site, "alice")() == (
        "the actor document answered 401: the server wants a signed request")
    with pytest.raises(ValueError, match="not a path suffix"):
        webfinger_probe(site, "alice", signed_actor=True, key_suffix="x/../y")


@pytest.mark.slow
@pytest.mark.container
def test_gotosocial_release_deploys_behind_nginx(
    pi_host: TestHost, alice: Identity, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    # A password with each character the old printf refused or broke on: " \ and '.
    made = alice.secret["password"]
    password = f"q\"uo\\te'{made}"
    secrets = {f"{alice.id}#password": password}
    people = {alice.id: alice.info()}

    art = tmp_path / "gotosocial_0.17.4_linux_amd64.tar.gz"
    sha = release_tarball(art)
    recipe = build_gotosocial(None, {"domain": DOMAIN, "artifact": str(art), "sha256": sha,
                                     "address": pi_host.address}, people)
    install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    t = pi_host.transport(tmp_path / "ssh")
    try:
        events: list[Event] = []
        with ProcScanner([made]) as scan:  # in any encoding, `made` is part of it
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets,
                                on_event=events.append)
            record_time("deploy_gotosocial_fake_release", time.monotonic() - start)
        assert scan.hits == [], "the password was visible in a process's arguments"
        assert files_containing(pi_host.changes, [made]) == []
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

        # The health check found the account through nginx the way another server does:
        # WebFinger, the actor (401: GoToSocial wants signed requests), the key document.
        log = sh("cat /var/log/nginx/access.log")
        assert f'"GET /.well-known/webfinger?resource=acct:alice@{DOMAIN} HTTP/1.1" 200' in log
        assert '"GET /users/alice HTTP/1.1" 401' in log
        assert '"GET /users/alice/main-key HTTP/1.1" 200' in log
        key = httpx.get(f"http://{pi_host.address}/users/alice/main-key", timeout=10,
                        headers={"Host": DOMAIN, "Accept": "application/activity+json"}).json()
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        pub = load_pem_public_key(key["publicKey"]["publicKeyPem"].encode())
        assert isinstance(pub, rsa.RSAPublicKey) and key["id"] == f"https://{DOMAIN}/users/alice"
        # With the account gone, the health check says so in one line.
        assert recipe.health is not None and recipe.health.probe is not None
        sh("mv /var/lib/gotosocial/sqlite.db.accounts /var/lib/gotosocial/accounts.away")
        assert recipe.health.probe() == f"WebFinger does not know acct:alice@{DOMAIN} (404)"
        sh("mv /var/lib/gotosocial/accounts.away /var/lib/gotosocial/sqlite.db.accounts")

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

        # A new admin account (--option account=ID) is promoted, and upstream asks for a
        # restart after that. When that restart fails (here: a drop-in that makes every start
        # fail, as a broken config would), the next deploy must still restart the server, and
        # must not try to create the account a second time (GoToSocial refuses that).
        bob = fediverse.create("bob", user="bob", domain=DOMAIN,
                               admin_email="bob@example.org", server="gotosocial")
        people[bob.id] = bob.info()
        secrets[f"{bob.id}#password"] = bob.secret["password"]
        with_bob = build_gotosocial(None, {"domain": DOMAIN, "artifact": str(art2),
                                           "sha256": sha2, "address": pi_host.address,
                                           "account": bob.id}, people)
        dropin = "/etc/systemd/system/gotosocial.service.d"
        sh(f"mkdir -p {dropin} && printf '[Service]\\nExecStartPre=/bin/false\\n' "
           f"> {dropin}/roost-test-fail.conf && systemctl daemon-reload")
        with pytest.raises(RoostError):
            engine.run(with_bob, t, journal=journal, secrets=secrets)
        sh(f"rm -r {dropin} && systemctl daemon-reload")
        events = []
        fixed = engine.run(with_bob, t, journal=journal, secrets=secrets,
                           on_event=events.append)
        assert fixed.ok, fixed
        done = [with_bob.steps[e.index - 1] for e in events
                if isinstance(e, StepDone) and e.changed]
        assert [(s.unit, s.watch) for s in done if isinstance(s, Restart)] == [
            ("gotosocial", ("/var/lib/gotosocial/.roost-admin-bob",))]
        creates = sh("grep -c '^create bob ' /var/lib/gotosocial/sqlite.db.accounts")
        assert creates == "1"
        assert "promote bob" in sh("cat /var/lib/gotosocial/sqlite.db.accounts").splitlines()
        assert sh("systemctl is-active gotosocial") == "active"
    finally:
        t.close()
