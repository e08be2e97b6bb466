"""Akkoma (and Pleroma, the same builder) from an upstream OTP release zip, deployed over real
SSH to a Debian host with systemd, with REAL PostgreSQL from Debian and real nginx.

What could not run here: the real upstream OTP release (akkoma-updates and git.pleroma.social
cannot be reached from this machine; their URLs move with every release, so upstream.toml pins
no sha256: Akkoma's is checked against the akkoma-<flavour>.zip.sha256 beside it, which the
container test serves from the local release server in that layout), and with it the real Elixir
code: the real `pleroma_ctl migrate`, the real `user new` / `user reset_password`, the real
password-reset endpoint, Ecto's `socket_dir` connection, the real reading of config.exs
(import_config of secrets.exs included) and the real WebFinger and actor answers (the stand-in's
are shaped like Pleroma's).

The container test builds a release zip of the same shape instead: `release/` holding
`bin/pleroma` and `bin/pleroma_ctl` (python3 stand-ins: pleroma_ctl turns its arguments into
`bin/pleroma eval|rpc 'Pleroma.ReleaseTasks.run("...")'` as upstream's does, rpc only reaching a
running server) and `releases/COOKIE`. The stand-in reads the rendered config.exs and the
secrets.exs it imports, refuses a database password, writes into RELEASE_TMP like a release
does, and talks to the real PostgreSQL with psql over the Unix socket in `socket_dir` as the
system user (peer authentication): `migrate` creates tables using citext, pg_trgm and
uuid-ossp; `user new` (refusing --password) stores the account with an RSA key of its own
(users.keys, as Pleroma.User has) and prints a reset URL like upstream's; `start` serves
/api/v1/instance, WebFinger, the actor document (id, preferredUsername, inbox, publicKey) and
the password-reset POST from the database. The test proves the role, database, extensions and
peer-only login in PostgreSQL; that the vault's password reached the database only through
stdin and the reset endpoint (never argv or a file); the health check through nginx (the
shared activitypub.webfinger_probe: WebFinger -> rel=self actor -> its id, preferredUsername,
inbox and public key); a second deploy that changes nothing;
uninstall (data kept), purge (database, role and folders gone), and an interrupted deploy that
resumes and finishes.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.dryrun import dry_run_text
from support.identities import fediverse_alice
from support.programs import standin
from support.releases import ReleaseServer, release_archive
from support.resume import cut_then_resume, step_index

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepDone, StepSkipped
from roost.deploy.facts import Facts
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.akkoma import build_akkoma, build_pleroma
from roost.deploy.recipes.upstream import (
    UPSTREAM_CACHE,
    InstallArtifact,
    choose,
    load_pins,
    pinned,
)
from roost.keys import fediverse
from roost.keys.export import export_identity
from roost.keys.model import Identity

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "social.roost.test"
SHIPPED_COOKIE = b"THE-SAME-COOKIE-IN-EVERY-DOWNLOADED-ZIP"
# What roost's earlier recipe left on a host: secrets.exs made there from openssl output.
HOST_MADE_SECRETS = (b"# Written by roost on this host: secrets made here, never sent anywhere.\n"
                     b"import Config\n\nconfig :pleroma, Pleroma.Web.Endpoint,\n"
                     b'  secret_key_base: "' + b"h" * 64 + b'",\n'
                     b'  signing_salt: "hosthost",\n  live_view: [signing_salt: "hosthost"]\n\n'
                     b'config :joken, default_signer: "' + b"j" * 64 + b'"\n')

FAKE_PLEROMA = standin("pleroma.py")

FAKE_PLEROMA_CTL = standin("pleroma_ctl.py")


def release_zip(path: Path, marker: bytes = b"") -> str:
    """An OTP release zip shaped like upstream's (one top folder release/); its sha256."""
    return release_archive(path, (
        ("release/bin/pleroma", FAKE_PLEROMA + marker, 0o755),
        ("release/bin/pleroma_ctl", FAKE_PLEROMA_CTL, 0o755),
        ("release/releases/COOKIE", SHIPPED_COOKIE, 0o644),
        ("release/releases/start_erl.data", b"14.2 3.16.0\n", 0o644),
        ("release/erts-14.2/bin/beam.smp", b"#!/bin/sh\nexit 0\n", 0o755),
        ("release/installation/akkoma.service", b"[Unit]\n", 0o644),
    ), kind="zip")


@pytest.fixture
def alice(home: Path) -> Identity:
    return fediverse_alice(DOMAIN, "akkoma")


def _host(arch: str) -> TargetHost:
    return TargetHost("h", "10.0.0.9", facts=Facts(
        hostname="h", os_id="debian", os_version="13", os_codename="trixie", arch=arch,
        ram_mb=None, root_free_mb=None, var_free_mb=None, pi_model=None, init="systemd",
        sudo="nopasswd"))


# ---------------------------------------------------------------------------------------------
# Without a host


def test_pins_flavours_per_architecture(alice: Identity) -> None:
    people = {alice.id: alice.info()}
    pins = load_pins()
    for arch, flavour in (("x86_64", "amd64"), ("aarch64", "arm64")):
        a = pinned("akkoma", arch, pins)
        assert a.file == f"akkoma-{flavour}.zip" and a.binary == "bin/pleroma"
        assert a.url == f"https://akkoma-updates.s3-website.fr-par.scw.cloud/stable/{a.file}"
        p = pinned("pleroma", arch, pins)
        assert p.url.endswith(f"/jobs/artifacts/stable/download?job={flavour}")
        assert a.sha256 == p.sha256 == ""  # moving URLs: nothing pinned, on purpose
    assert pinned("pleroma", "armv7l", pins).url.endswith("?job=arm")
    with pytest.raises(RoostError, match="akkoma has no release for armv7l"):
        build_akkoma(_host("armv7l"), {"domain": DOMAIN}, people)
    art, _ = choose("pleroma", _host("armhf"), {"artifact": "", "sha256": ""})
    assert art.file == "pleroma-arm.zip"
    recipe = build_akkoma(_host("arm64"), {"domain": DOMAIN}, people)
    text = "\n".join(plan_lines(recipe, "pi"))
    assert "akkoma-arm64.zip" in text and "checksums file akkoma-arm64.zip.sha256" in text


def test_release_paths_inside_the_zip_are_checked() -> None:
    art = pinned("akkoma", "x86_64")
    step = InstallArtifact.of(art, "/opt/akkoma")
    assert "check its sha256 on the host (sha256sum), then unzip it into /opt/akkoma/releases/" \
        "<sha256 prefix>, check it holds bin/pleroma" in step.commands()
    for bad in ("../bin/pleroma", "bin/../../etc/x", "/bin/pleroma", "bin//pleroma", "bin/"):
        with pytest.raises(RoostError, match="not usable"):
            InstallArtifact("akkoma", "stable", "akkoma-amd64.zip", art.url, "", bad,
                            "/opt/akkoma")


def test_registered_dry_run_options_and_no_secrets(home: Path, alice: Identity) -> None:
    assert RECIPES["akkoma"] is build_akkoma and RECIPES["pleroma"] is build_pleroma
    with pytest.raises(RoostError, match="needs the option domain"):
        build_akkoma(None, {}, {})
    for bad in ({"domain": "bad domain;rm"}, {"domain": DOMAIN, "port": "0"},
                {"domain": DOMAIN, "listen": "x"}, {"domain": DOMAIN, "nope": "1"},
                {"domain": DOMAIN, "sha256": "abc"}):
        with pytest.raises(RoostError):
            build_akkoma(None, bad, {alice.id: alice.info()})
    with pytest.raises(RoostError, match="no fediverse identity 'bob'"):
        build_akkoma(None, {"domain": DOMAIN, "account": "bob"}, {alice.id: alice.info()})

    recipe = build_akkoma(None, {"domain": DOMAIN, "address": "10.0.0.5"},
                          {alice.id: alice.info()})
    text = dry_run_text(recipe, "vps")
    assert 'url: [host: "social.roost.test", scheme: "https", port: 443]' in text
    assert "http: [ip: {127, 0, 0, 1}, port: 4000]" in text
    assert 'socket_dir: "/var/run/postgresql"' in text and "password:" not in text
    assert 'import_config "/etc/akkoma/secrets.exs"' in text
    assert "SELECT 'CREATE ROLE akkoma LOGIN' WHERE NOT EXISTS" in text
    assert 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";' in text
    assert "ExecStart=/opt/akkoma/current/bin/pleroma start" in text
    assert "Environment=RELEASE_TMP=/var/lib/akkoma/tmp" in text
    assert "server_name social.roost.test;" in text
    assert "create the admin account @alice@social.roost.test" in text
    assert f"(stdin: <secret: {alice.id} password>)" in text
    assert "acct:alice@social.roost.test" in text  # the health check names WebFinger
    # No secret of the identity appears anywhere in what roost would run or write.
    for value in alice.secret.values():
        assert value not in text
    assert "--password" not in text  # `user new` is never given the password
    removal = "\n".join(removal_lines(recipe, True))
    assert "systemctl disable --now akkoma" in removal and "rm -rf -- /var/lib/akkoma" in removal
    assert "drop the PostgreSQL database and role akkoma" in removal

    # The secrets come from the vault's identity: written to the host as a secret file, 0640
    # root:akkoma, its values shown by name only; none is made on the host.
    assert "write file /etc/akkoma/secrets.exs (rendered, mode 0640, owner root:akkoma)" in text
    assert f'secret_key_base: "<secret: {alice.id} akkoma_secret_key_base>"' in text
    assert f'public_key: "{alice.public["vapid_public_key"].rstrip("=")}"' in text
    assert "openssl" not in text and "/dev/urandom" in text  # only the Erlang cookie

    # Without an identity there are no secrets to give the server: one line says what to do.
    with pytest.raises(RoostError, match="secrets come from a fediverse identity on "
                       f"{DOMAIN}") as err:
        build_pleroma(None, {"domain": DOMAIN}, {})
    assert err.value.hint is not None and "roost keys new fediverse" in err.value.hint
    pleroma = build_pleroma(None, {"domain": DOMAIN}, {alice.id: alice.info()})
    text = "\n".join(plan_lines(pleroma, "vps"))
    assert "/opt/pleroma/current/bin/pleroma_ctl" in text
    assert "write file /etc/pleroma/secrets.exs (rendered, mode 0640, owner root:pleroma)" in text


def test_secrets_exs_on_the_host_is_the_exported_file(home: Path, alice: Identity,
                                                      tmp_path: Path) -> None:
    """What the recipe uploads, secrets resolved as the engine resolves them, is byte for byte
    what `roost keys export` writes: one source, the vault."""
    from roost.deploy.steps import RenderTemplate, StepContext
    from roost.keys.export import export_identity

    for build, name in ((build_akkoma, "akkoma"), (build_pleroma, "pleroma")):
        recipe = build(None, {"domain": DOMAIN}, {alice.id: alice.info()})
        step = next(s for s in recipe.steps
                    if isinstance(s, RenderTemplate) and s.path == f"/etc/{name}/secrets.exs")
        assert (step.mode, step.owner, step.group) == (0o640, "root", name)
        ctx = StepContext(transport=None,  # type: ignore[arg-type]
                          secrets={f"{alice.id}#{k}": v for k, v in alice.secret.items()})
        out = export_identity(alice, tmp_path / f"{name}.exs")
        assert step._data(ctx) == out[0].read_bytes()


@pytest.mark.parametrize("password", ['plain', 'qu"ote', 'back\\slash', "it's", '\\"}\'{',
                                      "tab\tand é ✓ 𝄞"])
def test_reset_body_is_json_for_any_password(home: Path, alice: Identity,
                                             password: str) -> None:
    """The password goes on stdin as json.dumps made it; the host's fixed printf puts it into
    the body: the JSON the server reads holds the password exactly (run here with sh)."""
    import json
    import subprocess

    from roost.deploy.recipes.akkoma import RESET_BODY
    from roost.deploy.steps import CreateAccount

    recipe = build_akkoma(None, {"domain": DOMAIN}, {alice.id: alice.info()})
    step = next(s for s in recipe.steps if isinstance(s, CreateAccount))
    assert step.encode is not None
    line = step.encode(password)
    assert "\n" not in line and line.isascii()
    out = subprocess.run(["sh", "-c", "IFS= read -r pw; tok=$1; " + RESET_BODY, "sh",
                          "Tok-1_x"], input=line + "\n", capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"data": {"token": "Tok-1_x", "password": password,
                                        "password_confirmation": password}}


def test_probe_needs_webfinger_and_the_actor(home: Path, alice: Identity) -> None:
    """The recipe's health check with an account is the shared WebFinger probe; each broken
    link of the chain is named in one line."""
    from routeserver import Answer, RouteServer

    answers: dict[str, tuple[str, object]] = {}

    def answer(path: str, _: dict[str, str]) -> Answer:
        found = answers.get(path.split("?")[0])
        return (200, *found) if found is not None else (404, "application/json", None)

    server = RouteServer(answer)
    try:
        recipe = build_akkoma(None, {"domain": DOMAIN, "address": "127.0.0.1",
                                     "listen": str(server.port)},
                              {alice.id: alice.info()})
        assert recipe.health is not None and recipe.health.probe is not None
        probe = recipe.health.probe
        assert f"acct:alice@{DOMAIN}" in probe.__qualname__

        def says(text: str) -> None:
            out = probe()
            assert isinstance(out, str) and text in out and "\n" not in out, out

        says(f"WebFinger does not know acct:alice@{DOMAIN} (404)")
        href = f"https://{DOMAIN}/users/alice"
        jrd = "application/jrd+json"
        answers["/.well-known/webfinger"] = (jrd, {"subject": f"acct:alice@{DOMAIN}", "links": [
            {"rel": "self", "type": "text/html", "href": href}]})
        says("WebFinger gave no link rel=self of type application/activity+json")
        answers["/.well-known/webfinger"] = (jrd, {"subject": f"acct:alice@{DOMAIN}", "links": [
            {"rel": "self", "type": "application/activity+json",
             "href": "https://elsewhere.example/users/alice"}]})
        says(f"is not on {DOMAIN}")
        answers["/.well-known/webfinger"] = (jrd, {"subject": f"acct:alice@{DOMAIN}", "links": [
            {"rel": "self", "type": 'application/ld+json; profile="https://www.w3.org/ns/'
             'activitystreams"', "href": href}]})
        says("the actor document /users/alice answered 404")
        ap = "application/activity+json"
        actor = {"id": href, "preferredUsername": "alice", "inbox": href + "/inbox",
                 "publicKey": {"id": href + "#main-key", "owner": href,
                               "publicKeyPem": "-----BEGIN PUBLIC KEY-----"}}
        answers["/users/alice"] = (ap, {**actor, "preferredUsername": "mallory"})
        says("the actor's preferredUsername is 'mallory', not 'alice'")
        answers["/users/alice"] = (ap, {**actor, "id": f"https://{DOMAIN}/users/mallory"})
        says("the actor document's id is")
        answers["/users/alice"] = (ap, {**actor, "publicKey": None})
        says("the actor has no public key")
        answers["/users/alice"] = (ap, actor)
        assert probe() is True
    finally:
        server.close()


# ---------------------------------------------------------------------------------------------
# On a real host


@pytest.mark.slow
@pytest.mark.container
def test_akkoma_release_with_postgresql_behind_nginx(
    vps_host: TestHost, alice: Identity, tmp_path: Path, home: Path,
) -> None:
    """The release comes from the local release server in Akkoma's layout (--option mirror):
    akkoma-amd64.zip with akkoma-amd64.zip.sha256 beside it, and no hash given or pinned; the
    release folder is named after the digest verified, and a second deploy knows it."""
    from testhost import ProcScanner, files_containing, record_time

    password = alice.secret["password"]
    secrets = {f"{alice.id}#{k}": v for k, v in alice.secret.items()}
    server_secrets = [alice.secret[k] for k in fediverse.AKKOMA_SECRETS]
    people = {alice.id: alice.info()}
    art = tmp_path / "akkoma-amd64.zip"
    release_zip(art)
    releases = ReleaseServer()
    options = {"domain": DOMAIN, "mirror": releases.base, "address": vps_host.address}
    sha = releases.publish(choose("akkoma", None, options)[0], art.read_bytes())
    cache = home / UPSTREAM_CACHE
    recipe = build_akkoma(None, options, people)
    install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
    journal = Journal.for_host("vps", recipe.id, data_dir())

    def sh(cmd: str) -> str:
        return vps_host.ssh(cmd).stdout.strip()

    def psql(sql: str, db: str = "postgres") -> str:
        return sh(f"runuser -u postgres -- psql -XtAq -d {db} -c \"{sql}\"")

    t = vps_host.transport(tmp_path / "ssh")
    try:
        events: list[Event] = []
        with ProcScanner([password, *server_secrets]) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets, cache=cache,
                                on_event=events.append)
            record_time("deploy_akkoma_fake_release", time.monotonic() - start)
        assert scan.hits == [], "a secret was visible in a process's arguments"
        assert result.ok and result.health is not None and result.health.ok, result
        skipped = [recipe.steps[e.index - 1].describe() for e in events
                   if isinstance(e, StepSkipped)]
        assert skipped == ["enable and start nginx"]  # Debian's package starts nginx itself
        assert files_containing(vps_host.changes, [password]) == []

        # PostgreSQL: a role with no password, its UTF-8 database, the extensions.
        assert psql("SELECT rolcanlogin, rolsuper, rolpassword IS NULL FROM pg_authid "
                    "WHERE rolname = 'akkoma'") == "t|f|t"
        assert psql("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) "
                    "FROM pg_database WHERE datname = 'akkoma'") == "akkoma|UTF8"
        assert psql("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
                    "akkoma") == "citext,pg_trgm,plpgsql,uuid-ossp"
        # Peer login over the socket works for the system user akkoma, and only for it.
        assert sh("runuser -u akkoma -- psql -XtAq -d akkoma -c 'SELECT current_user'") \
            == "akkoma"
        assert vps_host.ssh("runuser -u nobody -- psql -XtAq -U akkoma -d akkoma -c 'SELECT 1'",
                            check=False).returncode != 0
        assert vps_host.ssh("psql -w -h 127.0.0.1 -U akkoma -d akkoma -c 'SELECT 1'",
                            check=False).returncode != 0
        # migrate ran as akkoma and used the extensions; the account is alice, an admin, and
        # the password set through the reset endpoint is the vault's.
        assert sh("runuser -u akkoma -- psql -XtAq -d akkoma -c "
                  "\"SELECT nickname, email, is_admin, password_hash FROM users\"") == \
            f"alice|alice@example.org|t|{hashlib.sha256(password.encode()).hexdigest()}"
        assert sh("runuser -u akkoma -- psql -XtAq -d akkoma -c "
                  "\"SELECT count(*) FILTER (WHERE used) FROM password_reset_tokens\"") == "1"
        calls = sh("cat /var/lib/akkoma/calls.log").splitlines()
        assert calls[0] == 'eval Pleroma.ReleaseTasks.run("migrate")'
        assert 'rpc Pleroma.ReleaseTasks.run("user new alice alice@example.org --admin -y")' \
            in calls
        assert not any(password in c or "--password" in c for c in calls)

        # Files, owners, modes. The server's secrets are the vault's: the host's secrets.exs,
        # read as root, is byte for byte what `roost keys export` writes on this computer.
        assert sh("stat -c '%a %U %G' /etc/akkoma /etc/akkoma/config.exs "
                  "/etc/akkoma/secrets.exs /etc/akkoma/erlang.cookie").splitlines() == [
            "750 root akkoma", "640 root akkoma", "640 root akkoma", "640 root akkoma"]
        exported = export_identity(alice, tmp_path / "export")[0].read_bytes()
        assert _host_file(vps_host, "/etc/akkoma/secrets.exs") == exported
        secrets_text = exported.decode()
        pub = secrets_text.split('public_key: "')[1].split('"')[0]
        priv = secrets_text.split('private_key: "')[1].split('"')[0]
        _check_p256(priv, pub)
        assert password not in secrets_text and alice.secret["db_password"] not in secrets_text
        assert install.sha256 == "" and releases.seen == ["/stable/akkoma-amd64.zip.sha256",
                                                          "/stable/akkoma-amd64.zip"]
        assert sh("readlink /opt/akkoma/current") == install.release_of(sha)
        # The migrations ran once for this release, marked by its folder's name.
        assert sh("ls -A /var/lib/akkoma | grep roost-migrated") == f".roost-migrated-{sha[:16]}"
        assert sh("stat -c '%a %U' /opt/akkoma/current/bin/pleroma "
                  "/opt/akkoma/current/erts-14.2/bin/beam.smp").splitlines() == \
            ["755 root", "755 root"]
        assert sh("ls /opt/akkoma/releases") == sha[:16]  # the zip was removed
        cookie = sh("cat /opt/akkoma/current/releases/COOKIE")
        assert cookie == sh("cat /etc/akkoma/erlang.cookie") and len(cookie) >= 40
        assert cookie.encode() != SHIPPED_COOKIE
        assert sh("test -s /var/lib/akkoma/tmp/sys.config && echo written") == "written"
        pid = sh("systemctl show -p MainPID --value akkoma")
        assert sh(f"ps -o user= -p {pid}") == "akkoma"
        assert sh("ss -Htln 'sport = :4000' | awk '{print $4}'") == "127.0.0.1:4000"

        # What a remote server does: WebFinger, then the actor, through nginx.
        r = httpx.get(f"http://{vps_host.address}/.well-known/webfinger",
                      params={"resource": f"acct:alice@{DOMAIN}"},
                      headers={"Host": DOMAIN}, timeout=10)
        assert r.status_code == 200 and "nginx" in r.headers.get("server", "")
        self_link = next(x for x in r.json()["links"] if x["rel"] == "self")
        assert self_link["href"] == f"https://{DOMAIN}/users/alice"
        r = httpx.get(f"http://{vps_host.address}/users/alice", timeout=10,
                      headers={"Host": DOMAIN, "Accept": "application/activity+json"})
        assert r.json()["preferredUsername"] == "alice"
        assert r.json()["inbox"] == f"https://{DOMAIN}/users/alice/inbox"
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        key = load_pem_public_key(r.json()["publicKey"]["publicKeyPem"].encode())
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048

        # Deploying again changes nothing.
        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets, cache=cache)
        record_time("redeploy_akkoma", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
        assert sh("systemctl show -p MainPID --value akkoma") == pid

        # A host deployed before the vault was the source has a secrets.exs made on the host:
        # the next deploy replaces it with the vault's and restarts the server (the recipe's
        # documented choice), so the host and the export agree again.
        cookie_before = sh("cat /etc/akkoma/erlang.cookie")
        vps_host.ssh("cat > /etc/akkoma/secrets.exs", input=HOST_MADE_SECRETS)
        replaced = engine.run(recipe, t, journal=journal, secrets=secrets, cache=cache)
        assert replaced.ok and replaced.applied == 2, replaced  # the file, then the restart
        assert _host_file(vps_host, "/etc/akkoma/secrets.exs") == exported
        assert sh("stat -c '%a %U %G' /etc/akkoma/secrets.exs") == "640 root akkoma"
        assert sh("systemctl show -p MainPID --value akkoma") != pid
        assert sh("cat /etc/akkoma/erlang.cookie") == cookie_before

        # Uninstall: stopped, site gone, data and database kept.
        engine.undeploy(recipe, t, journal=journal)
        assert not vps_host.active("akkoma")
        assert vps_host.gone("/etc/nginx/sites-enabled/roost-akkoma.conf")
        assert psql("SELECT count(*) FROM pg_database WHERE datname = 'akkoma'") == "1"
        assert sh("test -d /var/lib/akkoma && echo kept") == "kept"

        # Purge: the database, the role and the folders are gone.
        engine.undeploy(recipe, t, journal=journal, purge_data=True)
        assert psql("SELECT count(*) FROM pg_database WHERE datname = 'akkoma'") == "0"
        assert psql("SELECT count(*) FROM pg_roles WHERE rolname = 'akkoma'") == "0"
        for gone in ("/var/lib/akkoma", "/opt/akkoma", "/etc/akkoma"):
            assert vps_host.gone(gone)

        # An interrupted deploy resumes where it stopped and ends healthy.
        cut_at = step_index(recipe, "migrate")
        resumed, seen = cut_then_resume(recipe, t, journal, secrets, cut_at, "resume_akkoma",
                                        cache)
        earlier = [e.index for e in seen
                   if isinstance(e, StepSkipped) and "earlier run" in e.reason]
        # Steps finished before the cut are not redone: the packages and the user (which
        # purge keeps) are found done on the host, the rest are known from the journal.
        skipped = [e.index for e in seen if isinstance(e, StepSkipped)]
        assert skipped[:cut_at - 1] == list(range(1, cut_at))
        assert earlier == list(range(3, cut_at))
        done = [e.index for e in seen if isinstance(e, StepDone) and e.changed]
        assert cut_at in done and len(recipe.steps) in done  # migrate, then the account
        assert sorted(done + skipped) == list(range(1, len(recipe.steps) + 1))
        assert resumed.applied + resumed.skipped == len(recipe.steps)

        # A cut after `user new` made the account but before the host's marks were written:
        # the account step runs again and sets the password of the existing account (before,
        # `user new` failed on the taken name and the deploy could never finish).
        sh("rm -f /var/lib/akkoma/.roost-admin-alice /var/lib/akkoma/.roost-admin-alice.created")
        again = engine.run(recipe, t, journal=journal, secrets=secrets, cache=cache)
        assert again.ok and again.applied == 1 and again.health is not None and again.health.ok
        assert sh("runuser -u akkoma -- psql -XtAq -d akkoma -c "
                  "\"SELECT nickname, password_hash FROM users\"") == \
            f"alice|{hashlib.sha256(password.encode()).hexdigest()}"
        assert sh("test -e /var/lib/akkoma/.roost-admin-alice && echo marked") == "marked"
    finally:
        t.close()
        releases.close()


@pytest.mark.slow
@pytest.mark.container
def test_pleroma_with_a_password_json_and_shell_would_break(pi_host: TestHost, home: Path,
                                                           tmp_path: Path) -> None:
    """The same builder for Pleroma, its own user, role, database and folders, and an account
    whose password holds `"`, `\\` and `'` (the old printf refused it): the server gets it
    whole through the reset endpoint's JSON. The host's secrets.exs is the vault's export.
    A second run changes nothing."""
    from testhost import ProcScanner, record_time

    bob = fediverse.create("pleroma-social", user="bob", domain=DOMAIN,
                           admin_email="bob@example.org", server="akkoma")
    made = bob.secret["password"]
    password = f"q\"uo\\te'{made}" + '\\"}'
    secrets = {f"{bob.id}#{k}": v for k, v in bob.secret.items()}
    secrets[f"{bob.id}#password"] = password
    art = tmp_path / "pleroma-amd64.zip"
    sha = release_zip(art)
    recipe = build_pleroma(None, {"domain": DOMAIN, "artifact": str(art), "sha256": sha,
                                  "address": pi_host.address}, {bob.id: bob.info()})
    journal = Journal.for_host("pi", recipe.id, data_dir())

    def sh(cmd: str) -> str:
        return pi_host.ssh(cmd).stdout.strip()

    t = pi_host.transport(tmp_path / "ssh")
    try:
        start = time.monotonic()
        with ProcScanner([made]) as scan:  # in any encoding, `made` is part of it
            result = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("deploy_pleroma_fake_release", time.monotonic() - start)
        assert scan.hits == [], "the password was visible in a process's arguments"
        assert result.ok and result.health is not None and result.health.ok, result
        assert sh("runuser -u pleroma -- psql -XtAq -d pleroma -c "
                  "\"SELECT current_user, nickname, password_hash FROM users\"") == \
            f"pleroma|bob|{hashlib.sha256(password.encode()).hexdigest()}"
        assert sh("stat -c '%a %U %G' /etc/pleroma/config.exs /etc/pleroma/secrets.exs"
                  ).splitlines() == ["640 root pleroma", "640 root pleroma"]
        exported = export_identity(bob, tmp_path / "bob-secrets.exs")[0].read_bytes()
        assert _host_file(pi_host, "/etc/pleroma/secrets.exs") == exported
        assert sh("grep -c akkoma /etc/pleroma/config.exs /etc/systemd/system/pleroma.service"
                  " | cut -d: -f2 | sort -u") == "0"
        assert sh("systemctl is-active pleroma") == "active"
        r = httpx.get(f"http://{pi_host.address}/api/v1/instance", headers={"Host": DOMAIN},
                      timeout=10)
        assert r.json()["uri"] == f"https://{DOMAIN}"
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
    finally:
        t.close()


def _host_file(host: TestHost, path: str) -> bytes:
    """A file on the test host, read as root over SSH, byte for byte."""
    out = host.ssh(f"base64 -w0 {path}").stdout.strip()
    assert out, f"{path} is empty or missing on the host"
    return base64.b64decode(out)


def _check_p256(priv_b64: str, pub_b64: str) -> None:
    """The web push pair made on the host: a P-256 private scalar and its public point."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def dec(s: str) -> bytes:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    scalar, point = dec(priv_b64), dec(pub_b64)
    assert len(scalar) == 32 and len(point) == 65 and point[0] == 4
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    assert key.public_key().public_bytes(Encoding.X962,
                                         PublicFormat.UncompressedPoint) == point
