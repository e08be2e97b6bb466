"""X's account archive, built here in X's own layout (tests/support/xarchive.py), read and
rendered as pages: dates, t.co links expanded, images, own replies threaded; hostile zips
(paths out of the folder, links, bombs, broken JSON) refused in one line, exit 2, before
anything is written."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.xarchive import POSTS, js, write_x_archive

from roost.core.errors import RoostError
from roost.deploy.imports import x
from roost.deploy.imports.zipped import SafeZip

pytest_plugins = ["testhost"]


def pages(path: Path) -> dict[str, str]:
    with SafeZip(path) as z:
        return {rel: data.decode() for rel, data in x.site(x.read_archive(z))}


def test_posts_become_monthly_pages_with_links_images_and_threads(tmp_path: Path) -> None:
    path = write_x_archive(tmp_path / "twitter-2023-03-02-abc.zip")
    with SafeZip(path) as z:
        archive = x.read_archive(z)
    assert archive.user == "robin_roost" and len(archive.posts) == 5
    assert archive.media_files == {
        "1630000000000000002-FqRoost01.png": "data/tweets_media/1630000000000000002-FqRoost01.png"}
    got = pages(path)
    assert sorted(got) == ["2022-03.html", "2023-03.html", "index.html"]
    index = got["index.html"]
    assert index.index("March 2023") < index.index("March 2022")  # newest first
    assert '<a href="2023-03.html">March 2023</a>: 3 posts' in index
    march = got["2023-03.html"]
    assert '<a href="https://blog.example.org/moving-home">' in march and "t.co" not in march
    assert '<img src="media/1630000000000000002-FqRoost01.png"' in march
    assert "And a picture of the roost &lt;3" in march  # the text is escaped, never markup
    assert '<time datetime="2023-03-01T10:00:00+00:00">1 March 2023, 10:00 UTC</time>' in march
    # The reply to one's own post sits inside it; a reply to someone else says to whom.
    first = march.index('id="p1630000000000000001"')
    reply = march.index('id="p1630000000000000003"')
    assert first < reply < march.index("</article>", first) + 1000
    assert march.index("</article>", reply) < march.index('id="p1630000000000000002"')
    assert "In reply to @ada" in got["2022-03.html"] and "Café at ten?" in got["2022-03.html"]


def test_a_large_account_s_further_parts_are_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data/tweets.js", js("tweets", POSTS[:1]))
        z.writestr("data/tweets-part10.js",
                   js("tweets", POSTS[3:4]).replace(b"part0", b"part10"))
        z.writestr("data/tweets-part2.js", js("tweets", POSTS[1:3]).replace(b"part0", b"part2"))
    with SafeZip(path) as z:
        ids = [p.id for p in x.read_archive(z).posts]
    assert ids == [p["tweet"]["id_str"] for p in (*POSTS[:3], POSTS[3])]


def test_the_older_layout_tweet_js_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "old.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data/tweet.js", js("tweet", POSTS[:1]))
    with SafeZip(path) as z:
        assert [p.id for p in x.read_archive(z).posts] == ["1630000000000000001"]


def zip_with(path: Path, name: str, data: bytes = b"x", mode: int | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/tweets.js", js("tweets", POSTS))
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    return path


@pytest.mark.parametrize(("name", "data", "mode", "words"), [
    ("../../.bashrc", b"echo owned", None, "outside the import's folder"),
    ("/etc/cron.d/x", b"* * * * * root x", None, "outside the import's folder"),
    ("data\\..\\..\\x", b"x", None, "outside the import's folder"),
    ("data/tweets_media/a\x1b[2Jb.png", b"x", None, "control characters"),
    ("data/tweets_media/link.png", b"/etc/shadow", stat.S_IFLNK | 0o777, "symbolic link"),
    ("data/tweets_media/bomb.png", b"\0" * (50 * 1024 * 1024), None, "zip bomb"),
])
def test_hostile_entries_refuse_the_whole_archive(tmp_path: Path, name: str, data: bytes,
                                                  mode: int | None, words: str) -> None:
    path = zip_with(tmp_path / "evil.zip", name, data, mode)
    with pytest.raises(RoostError, match=words):
        SafeZip(path)


@pytest.mark.parametrize(("body", "words"), [
    (b"window.YTD.tweets.part0 = [ {\"tweet\": {\"id_str\": \"1\",", "is broken at"),
    (b"var x = []", "no window.YTD assignment"),
    (b"window.YTD.tweets.part0 = {}", "does not hold a list"),
])
def test_broken_data_is_one_line(tmp_path: Path, body: bytes, words: str) -> None:
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data/tweets.js", body)
    with SafeZip(path) as z, pytest.raises(RoostError, match=words):
        x.read_archive(z)


def roost(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ROOST_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home.parent)}
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_dry_run_counts_posts_by_month_and_lists_what_is_missing(tmp_path: Path) -> None:
    bad_post = {"tweet": {"id_str": "not a number", "created_at": "yesterday"}}
    path = write_x_archive(tmp_path / "x.zip", [*POSTS, bad_post])
    said = roost(tmp_path / "home", "import", "x", str(path), "--dry-run")
    assert said.returncode == 0, said.stderr
    out = said.stdout
    assert "5 posts (" in out and "would be imported, in 2 months:" in out
    assert "  2022-03: 2\n" in out and "  2023-03: 3\n" in out
    assert "Not imported, and why (2):" in out
    assert "post 6: not a post roost can read" in out
    assert "media 1500000000000000005-FqMissing.jpg: not in the archive" in out


@pytest.mark.parametrize("make", ["traversal", "not-zip", "truncated", "no-tweets"])
def test_hostile_or_wrong_archives_exit_2_in_one_line(tmp_path: Path, make: str) -> None:
    path = tmp_path / "archive.zip"
    if make == "traversal":
        zip_with(path, "../../../../tmp/owned", b"x")
    elif make == "not-zip":
        path.write_text("window.YTD.tweets.part0 = []")
    elif make == "truncated":
        write_x_archive(path)
        path.write_bytes(path.read_bytes()[:-300])
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data/likes.js", js("like", []))
    for extra in (["--dry-run"], ["--host", "local"]):
        said = roost(tmp_path / "home", "import", "x", str(path), *extra)
        assert said.returncode == 2 and said.stderr.count("\n") == 1, said.stderr
        assert said.stderr.startswith("roost: ") and "Traceback" not in said.stderr
    assert not list((tmp_path / "home").rglob("*"))
    assert not Path("/tmp/owned").exists()


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(900)
def test_x_archive_onto_the_static_blog_served_by_nginx(pi_host: object, tmp_path: Path) -> None:
    """Over real SSH onto a booted Debian host: the blog is deployed, the archive imported
    through the `roost` command, and nginx serves the index, the month's page and the image;
    the blog's own front page is left as it was; a second run stores nothing new."""
    import re

    import httpx
    from support.xarchive import PNG
    from test_deploy_with_login import Roost

    host = pi_host
    roost = Roost(tmp_path)
    target = f"root@{host.address}:{host.ssh_port}"  # type: ignore[attr-defined]
    key = str(host.key_path)  # type: ignore[attr-defined]
    first = roost("host", "add", "pi", target, "--key", key, expect=2)
    fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]{43}", first.stderr)
    assert fingerprint, first.stderr
    roost("host", "add", "pi", target, "--key", key, "--trust", fingerprint.group(0))
    archive = write_x_archive(tmp_path / "twitter-2023.zip")
    early = roost("import", "x", str(archive), "--host", "pi", expect=2)
    assert "roost deploy static-blog --host pi" in early.stderr
    roost("deploy", "static-blog", "--host", "pi", timeout=600)

    done = roost("import", "x", str(archive), "--into", "static-blog", "--host", "pi",
                 timeout=600).stdout
    assert "Stored 4 new files" in done, done
    base = f"http://{host.address}"  # type: ignore[attr-defined]
    index = httpx.get(f"{base}/x/", timeout=10)
    assert index.status_code == 200 and "Posts of @robin_roost on X" in index.text
    month = httpx.get(f"{base}/x/2023-03.html", timeout=10).text
    assert "https://blog.example.org/moving-home" in month and "Replying to myself" in month
    image = httpx.get(f"{base}/x/media/1630000000000000002-FqRoost01.png", timeout=10)
    assert image.status_code == 200 and image.content == PNG
    assert "Served by roost." in httpx.get(f"{base}/", timeout=10).text  # the blog's own page
    again = roost("import", "x", str(archive), "--host", "pi", timeout=600).stdout
    assert "Stored 3 new files" in again, again  # the pages again, never the image twice

    # Facebook's export beside it, its double-encoded text served as the characters meant.
    from support.fbarchive import write_fb_archive

    fb = write_fb_archive(tmp_path / "facebook-robin.zip")
    roost("import", "facebook", str(fb), "--host", "pi", timeout=600)
    page = httpx.get(f"{base}/facebook/2023-03.html", timeout=10)
    assert page.status_code == 200 and "Café au lait in Zürich ☕ 🐦" in page.text
    assert "Posts of Robin Rööst on Facebook" in httpx.get(f"{base}/facebook/", timeout=10).text


def test_facebook_double_encoded_utf8_is_fixed_and_posts_become_pages(tmp_path: Path) -> None:
    from support.fbarchive import POSTS as FB_POSTS
    from support.fbarchive import write_fb_archive

    from roost.deploy.imports import facebook

    raw = write_fb_archive(tmp_path / "facebook-robin.zip")
    with zipfile.ZipFile(raw) as z:
        stored = z.read("posts/your_posts_1.json").decode()
    assert "\\u00c3\\u00a9" in stored  # Meta's escapes: Café's é as two Latin-1 characters
    assert facebook.fix_text("CafÃ©") == "Café" and facebook.fix_text("Café") == "Café"
    with SafeZip(raw) as z:
        archive = facebook.read_archive(z)
        got = {rel: data.decode() for rel, data in x.site(archive)}
    assert archive.user == "Robin Rööst" and len(archive.posts) == len(FB_POSTS) - 1
    assert archive.skipped == ["your_posts_1.json, post 4: not a post roost can read"]
    march = got["2023-03.html"]
    assert "Café au lait in Zürich ☕ 🐦" in march and "Ã" not in march
    photo = facebook.media_name("posts/media/Mobileuploads_1234/101_10150_n_10150.jpg")
    assert f'<img src="media/{photo}"' in march and archive.media_files[photo].endswith(".jpg")
    assert '<a href="https://blog.example.org/leaving">' in got["2022-03.html"]
    assert "Posts of Robin Rööst on Facebook" in got["index.html"]


def test_facebook_hostile_or_wrong_exports_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "fb.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("posts/your_posts_1.json", '[{"timestamp": 1, "data": [')
    said = roost(tmp_path / "home", "import", "facebook", str(path), "--dry-run")
    assert said.returncode == 2 and "your_posts_1.json is broken at character" in said.stderr
    zip_with(path, "posts/../../../x", b"x")
    said = roost(tmp_path / "home", "import", "facebook", str(path), "--dry-run")
    assert said.returncode == 2 and "outside the import's folder" in said.stderr
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("messages/inbox/x/message_1.json", "{}")
    said = roost(tmp_path / "home", "import", "facebook", str(path), "--dry-run")
    assert said.returncode == 2 and "not a Facebook export in JSON" in said.stderr
    assert said.stderr.count("\n") == 1
