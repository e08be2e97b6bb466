"""Friendica deployed over real SSH to a Debian 13 host with systemd, with REAL Debian MariaDB,
PHP-FPM and nginx, driving the installer's command line the way upstream's release would.

What could not run here: Friendica's own code. Its release file (files.friendi.ca) cannot be
downloaded from this machine (roost checks it against upstream's .sum256 beside it; upstream.toml
pins no hash of its own).
The test builds a stand-in release of the same shape instead: friendica-full-2024.08.tar.gz
with one top folder, whose PHP files do what the recipe relies on, as read in Friendica's
source: `bin/console.php autoinstall -f FILE` (includes FILE, needs view/smarty3 writable, refuses
a database that has a `user` table, copies FILE to config/local.config.php unless it is that
path, creates tables in the real database over MariaDB's socket as www-data with no
password), `bin/console.php user add NAME NICK EMAIL LANG` (asks for an avatar on stdin),
`bin/console.php user password NICK` (reads the password the way seld/cli-prompt's hiddenPrompt
does: `bash -c 'stty -echo; read -r mypassword; stty echo; echo $mypassword'`),
bin/worker.php (writes a row) and index.php (/friendica/json, and a /login that checks the
stored hash), all reading their settings from FRIENDICA_CONFIG_DIR. So not proven here:
that the real autoinstall's checks pass on Debian 13's PHP, Friendica's real schema, pages
and federation, and the real HaveIBeenPwned check in `user password`.

Proven for real: the packages, the database and its socket-only grant, the upload/unpack of
the release, the settings file and its modes, the link and the template-cache ownership,
the installer run as www-data, the worker's timer and service, nginx + PHP-FPM answering for
the domain, the admin's password reaching the database through stdin only (no process's
arguments, no file), a second deploy that changes nothing, uninstall (data kept), purge
(database and folders gone), and an interrupted deploy that resumes and finishes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.dryrun import dry_run_text
from support.programs import standin
from support.releases import release_archive
from support.resume import cut_then_resume, step_index

from roost.catalog import load
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import removal_lines
from roost.deploy.events import Event, StepDone, StepSkipped
from roost.deploy.facts import Facts
from roost.deploy.hosts import Host, HostStore
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.friendica import ADMIN_CREATE, MIN_RAM_MB, build_friendica
from roost.deploy.recipes.upstream import InstallArtifact
from roost.deploy.steps import script
from roost.keys import login

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "friendica.roost.test"
TOP = "friendica-full-2024.08"

CONSOLE = standin("friendica-console.php")

WORKER = standin("friendica-worker.php")

INDEX = standin("friendica-index.php")

# Upstream's bin/console is a bash wrapper around console.php (so `php bin/console` would only
# print it: the recipe must call console.php).
WRAPPER = standin("friendica-console.sh")

# The settings file names Friendica's Register::CLOSED, as upstream's sample does.
REGISTER = standin("friendica-register.php")


def release_tarball(path: Path, version: bytes = b"2024.08") -> str:
    dirs = ("", "/bin", "/config", "/view", "/view/smarty3", "/static", "/src", "/src/Module")
    files = (("bin/console", WRAPPER), ("bin/console.php", CONSOLE), ("bin/worker.php", WORKER),
             ("index.php", INDEX.replace(b"'2024.08'", b"'" + version + b"'")),
             ("VERSION", version + b"\n"), ("src/Module/Register.php", REGISTER),
             ("config/local-sample.config.php", b"<?php return [];\n"))
    return release_archive(path, [(f"{TOP}/{m}", data, 0o644) for m, data in files],
                           dirs=[TOP + d for d in dirs])


def SmallHost(ram_mb: int = 256) -> TargetHost:
    """A host with little memory: an unnamed aarch64 host at 192.0.2.7."""
    return TargetHost("", "192.0.2.7", Facts(
        hostname="small", os_id="debian", os_version="13", os_codename="trixie",
        arch="aarch64", ram_mb=ram_mb, root_free_mb=None, var_free_mb=None, pi_model=None,
        init="systemd", sudo="nopasswd"))


def test_registered_dry_run_options_and_memory(home: Path) -> None:
    assert RECIPES["friendica"] is build_friendica
    svc = next(s for s in load().services if s.id == "friendica")
    assert svc.recipe == "friendica" and svc.requirements.ram_mb == MIN_RAM_MB
    with pytest.raises(RoostError, match="needs the option domain"):
        build_friendica(None, {}, {})
    with pytest.raises(RoostError):
        build_friendica(None, {"domain": "bad domain;rm"}, {})
    with pytest.raises(RoostError, match="not a Friendica nickname"):
        build_friendica(None, {"domain": DOMAIN, "admin": "Robin Hood"}, {})
    with pytest.raises(RoostError, match="without ' or"):
        build_friendica(None, {"domain": DOMAIN, "sitename": "it's"}, {})
    with pytest.raises(RoostError, match="not https or http"):
        build_friendica(None, {"domain": DOMAIN, "scheme": "ftp"}, {})
    # A host with too little memory is refused in one line, before anything is built.
    with pytest.raises(RoostError) as small:
        build_friendica(SmallHost(), {"domain": DOMAIN}, {})
    assert "needs at least 512 megabytes of memory and NAME has 256" in str(small.value)
    assert "\n" not in str(small.value)
    assert build_friendica(SmallHost(ram_mb=1024), {"domain": DOMAIN}, {}).id == "friendica"

    person = login.create("friendica", user="robin", email="robin@example.org")
    recipe = build_friendica(None, {"domain": DOMAIN}, {person.id: person.info()})
    text = dry_run_text(recipe, "vps")
    for line in text.splitlines():
        assert person.secret["password"] not in line
    assert "(stdin: <secret: friendica password>)" in text
    assert "'admin_email' => 'robin@example.org'" in text
    assert "'url' => 'https://friendica.roost.test'" in text
    assert "'socket' => '/run/mysqld/mysqld.sock'" in text and "'password' => ''" in text
    assert "php bin/console.php autoinstall -f config/local.config.php" in text
    assert "php bin/console.php user password" in text
    assert f"server_name {DOMAIN};" in text
    assert "fastcgi_param FRIENDICA_CONFIG_DIR /etc/friendica;" in text
    assert "OnUnitActiveSec=5min" in text
    assert "make the admin account robin (robin@example.org)" in text
    assert "checksums file friendica-full-2024.08.tar.gz.sum256 from https://files.friendi.ca/" \
        "friendica-full-2024.08.tar.gz.sum256" in text
    assert "IDENTIFIED VIA unix_socket" not in text  # stdin is not printed, only its size
    removal = "\n".join(removal_lines(recipe, False))
    assert "systemctl disable --now friendica-worker.timer" in removal
    assert "DROP DATABASE" not in removal
    assert "DROP DATABASE IF EXISTS friendica" in "\n".join(removal_lines(recipe, True))
    # No hash of roost's own: the file is checked against upstream's .sum256 beside it.
    install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
    assert install.sha256 == "" and install.url == \
        "https://files.friendi.ca/friendica-full-2024.08.tar.gz"
    assert install.sums == install.url + ".sum256"


def test_the_admin_script_refuses_passwords_the_prompt_would_change(tmp_path: Path) -> None:
    """The fixed script behind the admin step, run here with /bin/sh: passwords that
    hiddenPrompt's unquoted `echo` would change are refused (exit 6) before any command runs;
    others go on to Friendica's console (absent here, so a later exit code)."""
    argv = script(ADMIN_CREATE, str(tmp_path / "no-app"), "robin", "robin",
                  "robin@example.org", str(tmp_path / "marker"))
    for bad in ("two words", "star*", "what?", "[set]", "-n", "tab\there", ""):
        out = subprocess.run(argv, input=(bad + "\n").encode(), capture_output=True,
                             timeout=30, check=False)
        assert out.returncode == 6, (bad, out.returncode, out.stderr)
        assert b"Friendica's prompt would change" in out.stderr
        assert bad.encode() not in out.stderr or bad == ""
    for good in (login.readable_password(), "Pa$$w0rd:!#%&'()+,./;<=>@\\]^_`{|}~-x"):
        out = subprocess.run(argv, input=(good + "\n").encode(), capture_output=True,
                             timeout=30, check=False)
        assert out.returncode not in (0, 6), (good, out.returncode, out.stderr)
        assert not (tmp_path / "marker").exists()


def test_small_host_is_refused_in_one_line_before_any_connection(tmp_path: Path) -> None:
    """`roost deploy friendica --dry-run` on a host whose cached facts say 256 megabytes: one
    line on stderr, with the public directory and the lighter server, and no SSH (TEST-NET
    address). A real deploy connects first and the builder checks the facts it reads then."""
    home = tmp_path / "roost-home"
    home.mkdir()
    store = HostStore(home / "hosts.toml")
    store.add(Host(name="tinypi", address="192.0.2.20", user="pi"))
    store.save_facts("tinypi", {"ram_mb": 256, "arch": "aarch64"}, "2026-11-25T12:00:00Z")
    env = {**os.environ, "ROOST_HOME": str(home)}
    started = time.monotonic()
    out = subprocess.run([str(Path(sys.executable).with_name("roost")), "deploy", "friendica",
                          "--host", "tinypi", "--option", f"domain={DOMAIN}", "--dry-run"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert time.monotonic() - started < 20, "it must not try to connect"
    assert out.returncode == 2 and out.stdout == "", (out.returncode, out.stdout)
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("roost: Friendica needs at least 512 megabytes of memory "
                                 "and tinypi has 256"), out.stderr
    assert "https://dir.friendica.social/servers" in out.stderr
    assert "roost deploy gotosocial --host tinypi" in out.stderr


def _login(base: str, user: str, password: str) -> int:
    r = httpx.post(f"{base}/login", headers={"Host": DOMAIN}, timeout=20,
                   data={"username": user, "password": password})
    return r.status_code


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1800)
def test_friendica_installs_behind_nginx_and_the_admin_logs_in(
    vps_host: TestHost, home: Path, tmp_path: Path,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    password = login.readable_password()
    secrets = {"friendica#password": password}
    art = tmp_path / f"{TOP}.tar.gz"
    sha = release_tarball(art)
    recipe = build_friendica(None, {"domain": DOMAIN, "scheme": "http", "admin": "robin",
                                    "email": "robin@example.org", "artifact": str(art),
                                    "sha256": sha, "address": vps_host.address}, {})
    journal = Journal.for_host("vps", recipe.id, data_dir())
    t = vps_host.transport(tmp_path / "ssh")
    base = f"http://{vps_host.address}"
    app = f"/opt/friendica/current/{TOP}"

    def sh(cmd: str) -> str:
        return vps_host.ssh(cmd).stdout.strip()

    def db(sql: str) -> str:
        return sh(f"runuser -u www-data -- mysql -N friendica -e {sql!r}")

    try:
        with ProcScanner([password]) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets)
            record_time("deploy_friendica_stand_in_release", time.monotonic() - start)
        assert scan.hits == [], "the password was visible in a process's arguments"
        assert files_containing(vps_host.changes, [password]) == []
        assert result.ok and result.health is not None and result.health.ok

        assert sh("stat -c '%a %U %G' /etc/friendica/local.config.php") == "640 root www-data"
        assert sh("stat -c '%a %U %G' /etc/friendica") == "770 root www-data"
        assert sh(f"readlink {app}/config/local.config.php") == \
            "/etc/friendica/local.config.php"
        assert sh(f"stat -c '%U' {app}/view/smarty3") == "www-data"
        assert sh(f"stat -c '%U' {app}/bin/console") == "root"
        # www-data reaches its database over the socket, and no password exists for it.
        assert vps_host.ssh("mysql -u www-data -h 127.0.0.1 friendica -e 'SELECT 1'",
                            check=False).returncode != 0
        assert db("SELECT nickname, email FROM `user`").split() == ["robin",
                                                                    "robin@example.org"]

        r = httpx.get(f"{base}/friendica/json", headers={"Host": DOMAIN}, timeout=20)
        assert r.status_code == 200 and "nginx" in r.headers.get("server", "")
        assert r.json() == {"version": "2024.08", "url": f"http://{DOMAIN}",
                            "admin": {"name": "robin"}, "site_name": "Friendica",
                            "platform": "friendica"}
        assert _login(base, "robin", password) == 200
        assert _login(base, "robin", "wrong-" + password) == 403
        # The settings and the console are not served.
        for path in ("/config/local.config.php", "/bin/console.php"):
            assert httpx.get(f"{base}{path}", headers={"Host": DOMAIN},
                             timeout=10).status_code == 403

        assert sh("systemctl is-active friendica-worker.timer") == "active"
        # The worker runs as www-data and reaches the database (each run adds a row); the
        # timer may have run it already on a slow machine, so count from here.
        before = int(db("SELECT COUNT(*) FROM workerqueue"))
        vps_host.ssh("systemctl start friendica-worker.service")
        assert int(db("SELECT COUNT(*) FROM workerqueue")) > before

        start = time.monotonic()
        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        record_time("redeploy_friendica_unchanged", time.monotonic() - start)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)

        # A new release file (same version folder, other contents) replaces the code; the
        # settings, the database and the admin stay, and the installer does not run again.
        art2 = tmp_path / "new" / f"{TOP}.tar.gz"
        art2.parent.mkdir()
        sha2 = release_tarball(art2, b"2024.08-1")
        newer = build_friendica(None, {"domain": DOMAIN, "scheme": "http", "admin": "robin",
                                       "email": "robin@example.org", "artifact": str(art2),
                                       "sha256": sha2, "address": vps_host.address}, {})
        events: list[Event] = []
        assert engine.run(newer, t, journal=journal, secrets=secrets,
                          on_event=events.append).ok
        redone = [newer.steps[e.index - 1].describe() for e in events
                  if isinstance(e, StepDone) and e.changed]
        assert redone == ["install friendica 2024.08 from its upstream release",
                          "link the release's config/local.config.php to roost's",
                          "let the web server write Friendica's template cache"], redone
        assert sh("readlink /opt/friendica/current").endswith(sha2[:16])
        r = httpx.get(f"{base}/friendica/json", headers={"Host": DOMAIN}, timeout=20)
        assert r.json()["version"] == "2024.08-1" and r.json()["admin"] == {"name": "robin"}
        assert _login(base, "robin", password) == 200
        recipe = newer

        # Uninstall keeps the data.
        engine.undeploy(recipe, t, journal=journal)
        assert vps_host.ssh("systemctl is-enabled friendica-worker.timer",
                            check=False).returncode != 0
        deadline = time.monotonic() + 15  # nginx's reload is graceful: poll
        while httpx.get(f"{base}/friendica/json", headers={"Host": DOMAIN},
                        timeout=10).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert httpx.get(f"{base}/friendica/json", headers={"Host": DOMAIN},
                         timeout=10).status_code != 200
        assert db("SELECT nickname FROM `user`") == "robin"
        assert sh("test -f /etc/friendica/local.config.php && echo kept") == "kept"

        # Purge removes the database and the folders.
        engine.undeploy(recipe, t, journal=journal, purge_data=True)
        assert vps_host.ssh("mysql -e 'USE friendica'", check=False).returncode != 0
        for gone in ("/etc/friendica", "/opt/friendica",
                     "/etc/nginx/sites-available/roost-friendica.conf"):
            assert vps_host.ssh(f"test -e {gone}", check=False).returncode == 1

        # An interrupted deploy resumes where it stopped and ends healthy.
        cut_at = step_index(recipe, "run Friendica's installer")
        _, seen = cut_then_resume(recipe, t, journal, secrets, cut_at, "resume_friendica")
        skipped = [e.index for e in seen if isinstance(e, StepSkipped)]
        assert skipped[:cut_at - 1] == list(range(1, cut_at))
        assert _login(base, "robin", password) == 200
    finally:
        t.close()


@pytest.mark.parametrize("password", ["with\ttab", "with space", "-leading", "star*", "why?",
                                      "[bracket", ""])
def test_the_admin_script_refuses_what_friendicas_prompt_would_change(password: str) -> None:
    """Run as the recipe runs it (sh -c, the password on stdin): a password Friendica's console
    prompt would mangle stops the script, exit 6, before anything runs."""
    import subprocess

    from roost.deploy.steps import load_script

    res = subprocess.run(["sh", "-c", load_script("friendica-admin.sh"), "sh", "/nonexistent",
                          "admin", "Admin", "a@example.org", "/nonexistent/marker"],
                         input=password + "\n", capture_output=True, text=True, timeout=10)
    assert res.returncode == 6, (res.returncode, res.stderr)
    assert "admin password" in res.stderr
