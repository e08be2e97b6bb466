"""The static blog (nginx + the person's own site folder) deployed over real SSH to a Debian
host with systemd; proof: the pages are served to a browser-like client from this computer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from roost.deploy import engine
from roost.deploy.journal import Journal
from roost.deploy.recipes import RECIPES

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
def test_static_blog_pages_are_served(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from testhost import record_time

    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
    site = tmp_path / "site"
    make_site(site, "Notes from the roost")
    options = {"site": str(site), "address": pi_host.address}
    recipe = RECIPES["static-blog"](None, options, {})
    journal = Journal.for_host("pi", recipe.id)
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
