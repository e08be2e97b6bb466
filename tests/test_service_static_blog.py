"""The static blog (nginx + the person's own site folder) deployed over real SSH to a Debian
host with systemd; proof: the pages are served to a browser-like client from this computer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from support.resume import Cut, interrupt_at

from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.journal import Journal
from roost.deploy.recipe import Recipe
from roost.deploy.recipes import RECIPES
from roost.deploy.steps import Restart

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


def make_site(folder: Path, title: str) -> None:
    (folder / "posts").mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(
        f"<!doctype html><html lang=en><title>{title}</title><h1>{title}</h1>"
        '<a href="posts/first.html">first post</a></html>\n')
    (folder / "posts" / "first.html").write_text("<p>My first post, self-hosted.</p>\n")
    (folder / ".git-secret").write_text("never uploaded\n")


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.usefixtures("home")
def test_static_blog_pages_are_served(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from testhost import record_time

    site = tmp_path / "site"
    make_site(site, "Notes from the roost")
    options = {"site": str(site), "address": pi_host.address}
    recipe = RECIPES["static-blog"](None, options, {})
    journal = Journal.for_host("pi", recipe.id, data_dir())
    t = pi_host.transport(tmp_path / "ssh")
    try:
        start = time.monotonic()
        result = engine.run(recipe, t, journal=journal)
        record_time("deploy_static_blog", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        base = f"http://{pi_host.address}/"
        front = httpx.get(base, timeout=5)
        assert front.status_code == 200 and "<h1>Notes from the roost</h1>" in front.text
        post = httpx.get(base + "posts/first.html", timeout=5)
        assert "My first post, self-hosted." in post.text
        assert httpx.get(base + ".git-secret", timeout=5).status_code == 404

        again = engine.run(recipe, t, journal=journal)
        assert again.ok and again.applied == 0

        # A rebuilt site: only the changed page is written again, and it is served.
        make_site(site, "Notes, second edition")
        recipe2 = RECIPES["static-blog"](None, options, {})
        third = engine.run(recipe2, t, journal=journal)
        assert third.ok and third.applied == 1
        assert "Notes, second edition" in httpx.get(base, timeout=5).text

        engine.undeploy(recipe2, t, journal=journal)
        # `systemctl reload nginx` returns before the old workers have finished: poll.
        deadline = time.monotonic() + 15
        while True:
            try:
                gone = httpx.get(base + "posts/first.html", timeout=5).text
            except httpx.ConnectError:
                gone = ""  # nginx has no site left to serve: also not serving the blog
            except httpx.TransportError:
                gone = "My first post"  # an old worker dropped it mid-reload: ask again
            if "My first post" not in gone or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert "My first post" not in gone
        pi_host.ssh("test -f /var/www/roost-blog/posts/first.html")  # the pages are kept
    finally:
        t.close()


def _nginx_processes(host: TestHost) -> str:
    """nginx's master PID and its workers' PIDs: a reload replaces the workers."""
    return host.ssh("m=$(systemctl show -p MainPID --value nginx); "
                    "echo \"$m $(cat /proc/$m/task/*/children)\"").stdout.strip()


def _page(url: str) -> str:
    """The page at `url`, or "" when nothing answers there."""
    try:
        return httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return ""


def _settled(url: str, served: bool, text: str = "Notes from the roost") -> bool:
    """Whether `url` comes to serve the blog (or to stop serving it) within 10 s:
    `systemctl reload nginx` returns before the new workers take over."""
    deadline = time.monotonic() + 10
    while (text in _page(url)) != served:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.usefixtures("home")
def test_a_changed_port_reaches_nginx_and_a_rerun_reloads_nothing(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The path a new user took: the first deploy stopped while it waited for the page (after
    nginx's reload), the person changed the port and deployed again (roost continues the
    stopped deploy), then once more after a deploy cut off between the config write and the
    reload (started over, as with --restart). Each time a browser finds the blog on the new
    port; a deploy with nothing changed reloads nothing."""
    site = tmp_path / "site"
    make_site(site, "Notes from the roost")
    base = {"site": str(site), "address": pi_host.address}

    def recipe(port: str) -> Recipe:
        return RECIPES["static-blog"](None, {**base, "port": port}, {})

    first = recipe("80")
    journal = Journal.for_host("pi", first.id, data_dir())
    health = len(first.steps) + 1
    restart = 1 + next(i for i, s in enumerate(first.steps) if isinstance(s, Restart))
    t = pi_host.transport(tmp_path / "ssh")
    try:
        with pytest.raises(Cut):
            engine.run(first, t, journal=journal, on_event=interrupt_at(health))
        assert _settled(f"http://{pi_host.address}/", True)

        # 1. Continued with port 8080: the reload was done in the stopped run, yet it follows.
        moved = engine.run(recipe("8080"), t, journal=journal, resume=True)
        assert moved.ok and moved.resumed and moved.health is not None and moved.health.ok
        assert _settled(f"http://{pi_host.address}:8080/", True)
        assert _settled(f"http://{pi_host.address}/", False)

        # 2. Port 8081, cut off right before the reload; the next deploy starts over and
        # finds the config already written: the reload is still due, and done.
        with pytest.raises(Cut):
            engine.run(recipe("8081"), t, journal=journal, on_event=interrupt_at(restart))
        assert _settled(f"http://{pi_host.address}:8081/", False)
        again = engine.run(recipe("8081"), t, journal=journal, resume=False)
        assert again.ok and again.applied == 1  # the reload, nothing else
        assert _settled(f"http://{pi_host.address}:8081/", True)

        # 3. Nothing changed: no step applied, nginx neither restarted nor reloaded.
        before = _nginx_processes(pi_host)
        for resume in (False, True):
            same = engine.run(recipe("8081"), t, journal=journal, resume=resume)
            assert same.ok and same.applied == 0
        assert _nginx_processes(pi_host) == before
    finally:
        t.close()
