"""WordPress (Debian packages, MariaDB, PHP-FPM, nginx) deployed over real SSH to a Debian host
with systemd and installed without a browser. Proof, as its admin sees it: the front page is
served with the site's title, and logging in at wp-login.php with the vault's admin password
opens the dashboard (a wrong password does not).

The domain is under .invalid, so it resolves nowhere, as a domain on its first day: the
health check reaches the host by its address with the domain as Host, the deploy ends
healthy, and its result notes that the domain does not point at the host yet. The browser
here does what one would once the domain points at the host: it sends the domain as Host."""

from __future__ import annotations

import secrets as rnd
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.dryrun import dry_run_text

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.events import Event, Output
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.wordpress import build_wordpress

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

DOMAIN = "blog.roost.invalid"


def test_registered_and_dry_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    assert RECIPES["wordpress"] is build_wordpress
    recipe = build_wordpress(None, {"domain": "blog.example.org", "title": "Roost notes"}, {})
    text = dry_run_text(recipe, "vps")
    assert "IDENTIFIED VIA unix_socket" not in text  # stdin contents are not printed...
    assert "(stdin: " in text  # ...but said to be there
    assert "<secret: wordpress password>" in text
    assert "define('WP_HOME', 'http://blog.example.org');" in text
    assert any("WordPress cannot send e-mail yet" in s for s in recipe.next_steps)
    with pytest.raises(RoostError, match="needs the name or address"):
        build_wordpress(None, {}, {})
    with pytest.raises(RoostError, match="not an e-mail"):
        build_wordpress(None, {"domain": "x.org", "email": "nope"}, {})


def login(base: str, user: str, password: str) -> tuple[httpx.Response, httpx.Client]:
    c = httpx.Client(base_url=base, timeout=20, follow_redirects=False,
                     headers={"Host": DOMAIN})
    c.get("/wp-login.php")  # sets WordPress's test cookie, as a browser would get it
    r = c.post("/wp-login.php", data={"log": user, "pwd": password, "wp-submit": "Log In",
                                      "redirect_to": f"http://{DOMAIN}/wp-admin/",
                                      "testcookie": "1"})
    return r, c


def assert_the_admin_logs_in(base: str, user: str, password: str) -> None:
    """`user` logs in with `password` and reaches the dashboard; a wrong password is refused."""
    r, c = login(base, user, password)
    try:
        assert r.status_code == 302, r.text[:500]
        assert any(k.startswith("wordpress_logged_in") for k in c.cookies)
        dash = c.get("/wp-admin/")
        assert dash.status_code == 200 and "Dashboard" in dash.text
    finally:
        c.close()
    bad, c2 = login(base, user, "wrong-" + password)
    c2.close()
    assert bad.status_code == 200 and "login_error" in bad.text


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1200)
@pytest.mark.usefixtures("home")
def test_wordpress_installs_and_the_admin_logs_in(
    vps_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from testhost import ProcScanner, files_containing, record_time

    password = rnd.token_urlsafe(18)
    secrets = {"wordpress#password": password}
    recipe = build_wordpress(TargetHost("vps", vps_host.address),
                             {"domain": DOMAIN, "title": "Roost & notes", "admin": "robin",
                              "email": "robin@example.org"}, {})
    events: list[Event] = []
    journal = Journal.for_host("vps", recipe.id, data_dir())
    t = vps_host.transport(tmp_path / "ssh")
    try:
        with ProcScanner([password]) as scan:
            start = time.monotonic()
            result = engine.run(recipe, t, journal=journal, secrets=secrets,
                                on_event=events.append)
            record_time("deploy_wordpress", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        assert (result.health.note or "").startswith(
            f"{DOMAIN} does not point at this host yet"), result.health
        # The install no longer tries to mail the admin through a sendmail the host lacks.
        said = [e.line for e in events if isinstance(e, Output)]
        assert [line for line in said if "sendmail: not found" in line] == []
        assert scan.hits == []
        assert files_containing(vps_host.changes, [password]) == []
        salts = vps_host.ssh("stat -c '%a %U %G' /etc/wordpress/roost-salts.php").stdout
        assert salts.split() == ["640", "root", "www-data"]

        base = f"http://{vps_host.address}"
        front = httpx.get(f"{base}/", timeout=20, headers={"Host": DOMAIN})
        assert front.status_code == 200
        assert "<title>Roost &amp; notes" in front.text or "Roost &#038; notes" in front.text

        assert_the_admin_logs_in(base, "robin", password)

        again = engine.run(recipe, t, journal=journal, secrets=secrets)
        assert again.ok and again.applied == 0

        engine.undeploy(recipe, t, journal=journal)
        deadline = time.monotonic() + 15  # nginx's reload is graceful: poll
        while True:
            try:
                gone = httpx.get(f"{base}/", timeout=10).text
            except httpx.ConnectError:
                gone = ""  # nothing listens any more: not serving the blog either
            except httpx.TransportError:
                gone = "Roost &amp; notes"  # an old worker dropped it mid-reload: ask again
            if "Roost &amp; notes" not in gone or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert "Roost &amp; notes" not in gone and "Roost &#038; notes" not in gone
        # The posts stay in the database.
        vps_host.ssh("runuser -u www-data -- mysql wordpress -e 'SELECT 1 FROM wp_posts LIMIT 1'")
    finally:
        t.close()
