"""Navidrome from an upstream release file, deployed over real SSH to a Debian host with systemd.

What could not run here: the real upstream Navidrome binary (github.com cannot be reached from
this machine; upstream.toml pins the digests YunoHost publishes, used only together with
upstream's navidrome_checksums.txt).
The container test builds a small release file of the same shape instead (a tar.gz holding an
executable `navidrome`: a python3 script that reads the rendered navidrome.toml and serves
/ping and / on the configured address and port), passes its real sha256 with --option sha256,
and proves every step the recipe runs around the binary: user, folders and files with their
modes, the systemd unit running as `navidrome`, nginx proxying to it, the health check, and a
second deploy that changes nothing.

The unit tests prove the artifact rules: a wrong sha256 is refused (and a bad download
deleted), and nothing is downloaded while neither a pin nor a checksums file says what to expect.
A second container test serves a tampered release in upstream's layout (navidrome_checksums.txt
beside it) from a local release server and proves the deploy refuses it over real SSH, nothing
installed, and that the rerun downloads the good file and deploys.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from routeserver import RouteServer
from support.dryrun import dry_run_text
from support.programs import standin
from support.releases import ReleaseServer, release_archive

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import removal_lines
from roost.deploy.events import Event, StepSkipped
from roost.deploy.journal import Journal
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.navidrome import build_navidrome
from roost.deploy.recipes.upstream import (
    UPSTREAM_CACHE,
    Artifact,
    InstallArtifact,
    choose,
    download,
    load_pins,
    obtain,
    pinned,
    upstream_arch,
)

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

FAKE_NAVIDROME = standin("navidrome.py")


def release_tarball(path: Path, name: str, program: bytes) -> str:
    """A release file shaped like upstream's (binary at the top, plus docs); its sha256."""
    return release_archive(path, ((name, program, 0o755), ("README.md", b"fake\n", 0o644)))


# ---------------------------------------------------------------------------------------------
# The pinned table and the artifact rules


def test_pins_are_data_and_name_each_architecture() -> None:
    pins = load_pins()
    for service in ("navidrome", "gotosocial"):
        for arch, suffix in (("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7")):
            art = pinned(service, arch, pins)
            nowasm = "_nowasm" if (service, arch) == ("gotosocial", "armv7l") else ""
            assert art.file == f"{service}_{art.version}_linux_{suffix}{nowasm}.tar.gz"
            assert art.url.endswith(f"/v{art.version}/{art.file}")
            assert art.sha256 == "" or len(art.sha256) == 64
    assert upstream_arch("amd64") == upstream_arch("x86_64") == "x86_64"
    assert upstream_arch("arm64") == "aarch64" and upstream_arch("armhf") == "armv7l"
    with pytest.raises(RoostError, match="riscv64"):
        upstream_arch("riscv64")
    host = TargetHost("pi", "10.0.0.2", facts=type("F", (), {"arch": "aarch64"})())
    art, local = choose("navidrome", host, {"artifact": "", "sha256": ""})
    assert art.arch == "aarch64" and art.file.endswith("_linux_arm64.tar.gz") and local == ""


class _Served(RouteServer):
    """A loopback HTTP server handing out one file (counts its requests)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.routes["/x.tar.gz"] = (200, "application/octet-stream", data)
        self.url = f"{self.base}/x.tar.gz"

    @property
    def requests(self) -> int:
        return len(self.seen)


@pytest.fixture
def served() -> Iterator[_Served]:
    s = _Served(b"release bytes\n")
    yield s
    s.close()


def test_download_verifies_and_deletes_a_wrong_file(home: Path, served: _Served) -> None:
    good = hashlib.sha256(b"release bytes\n").hexdigest()
    cache = home / "cache"
    wrong = Artifact("navidrome", "1", "x86_64", "x.tar.gz", served.url, "0" * 64, "navidrome")
    with pytest.raises(RoostError, match=f"x.tar.gz has sha256 {good}, but the pinned sha256 "
                                         f"says {'0' * 64}; it was deleted"):
        download(wrong, cache)
    assert served.requests == 1 and list(cache.iterdir()) == []
    right = Artifact("navidrome", "1", "x86_64", "x.tar.gz", served.url, good, "navidrome")
    path = download(right, cache)
    assert path.read_bytes() == b"release bytes\n" and served.requests == 2
    assert download(right, cache) == path and served.requests == 2  # the cache is reused


def test_no_download_without_a_pin_and_wrong_user_hash_refused(
    home: Path, served: _Served, tmp_path: Path,
) -> None:
    unpinned = Artifact("navidrome", "1", "x86_64", "x.tar.gz", served.url, "", "navidrome")
    with pytest.raises(RoostError, match="no pinned sha256, so roost will not download"):
        download(unpinned, home / "cache")
    with pytest.raises(RoostError, match="no pinned sha256"):
        obtain(unpinned, "", home / "cache")
    assert served.requests == 0 and not (home / "cache").exists()
    # A file the user supplies is checked against the hash they give.
    mine = tmp_path / "navidrome_0.64.2_linux_amd64.tar.gz"
    sha = release_tarball(mine, "navidrome", FAKE_NAVIDROME)
    art, local = choose("navidrome", None, {"artifact": str(mine), "sha256": "ab" * 32})
    with pytest.raises(RoostError, match=f"has sha256 {sha}, not the expected sha256 "
                                         f"{'ab' * 32}"):
        obtain(art, local)
    assert mine.exists()  # the user's own file is never deleted
    art, local = choose("navidrome", None, {"artifact": str(mine), "sha256": sha.upper()})
    assert obtain(art, local) == mine.resolve()
    with pytest.raises(RoostError, match="not a sha256"):
        choose("navidrome", None, {"artifact": "", "sha256": "abc"})
    with pytest.raises(RoostError, match="not a file"):
        choose("navidrome", None, {"artifact": str(tmp_path / "nope"), "sha256": sha})


def test_registered_and_dry_run(home: Path) -> None:
    assert RECIPES["navidrome"] is build_navidrome
    recipe = build_navidrome(None, {"music": "/srv/my music", "address": "10.0.0.5"}, {})
    text = dry_run_text(recipe, "pi")
    assert 'MusicFolder = "/srv/my music"' in text
    assert "navidrome_checksums.txt" in text
    assert "proxy_pass http://127.0.0.1:4533;" in text
    assert "http://10.0.0.5/ping" in text
    assert "systemctl disable --now navidrome" in "\n".join(removal_lines(recipe, False))
    for bad in ('/srv/"x', "relative", "/", "/srv/../etc"):
        with pytest.raises(RoostError):
            build_navidrome(None, {"music": bad}, {})
    with pytest.raises(RoostError):
        build_navidrome(None, {"port": "99999"}, {})


# ---------------------------------------------------------------------------------------------
# On a real host


@pytest.mark.slow
@pytest.mark.container
def test_navidrome_release_deploys_behind_nginx(
    pi_host: TestHost, home: Path, tmp_path: Path,
) -> None:
    from testhost import record_time

    art = tmp_path / "navidrome_0.64.2_linux_amd64.tar.gz"
    sha = release_tarball(art, "navidrome", FAKE_NAVIDROME)
    options = {"artifact": str(art), "sha256": sha, "address": pi_host.address,
               "music": "/srv/music"}
    recipe = build_navidrome(None, options, {})
    install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
    journal = Journal.for_host("pi", recipe.id, data_dir())
    t = pi_host.transport(tmp_path / "ssh")
    try:
        start = time.monotonic()
        events: list[Event] = []
        result = engine.run(recipe, t, journal=journal, on_event=events.append)
        record_time("deploy_navidrome_fake_release", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        skipped = [e.index for e in events if isinstance(e, StepSkipped)]
        assert result.applied == len(recipe.steps) - len(skipped), skipped
        # Only nginx's start is already done: Debian's package starts it when installed.
        assert [recipe.steps[i - 1].describe() for i in skipped] == ["enable and start nginx"]

        def sh(cmd: str) -> str:
            return pi_host.ssh(cmd).stdout.strip()

        assert sh("id -nG navidrome") == "navidrome"
        assert sh("getent passwd navidrome | cut -d: -f6,7") == \
            "/var/lib/navidrome:/usr/sbin/nologin"
        assert sh("stat -c '%a %U %G' /var/lib/navidrome") == "750 navidrome navidrome"
        assert sh("stat -c '%a %U %G' /etc/navidrome/navidrome.toml") == "640 root navidrome"
        assert sh("readlink /opt/navidrome/current") == install.release
        assert install.release.endswith(sha[:16])
        assert sh("stat -c '%a %U' /opt/navidrome/current/navidrome") == "755 root"
        assert sh("sha256sum < /opt/navidrome/current/navidrome | cut -d' ' -f1") == \
            hashlib.sha256(FAKE_NAVIDROME).hexdigest()
        assert sh("ls /opt/navidrome/releases") == sha[:16]  # the tarball was removed
        assert sh("test -d /srv/music && echo yes") == "yes"
        assert sh("systemctl is-active navidrome") == "active"
        assert sh("systemctl is-enabled navidrome") == "enabled"
        pid = sh("systemctl show -p MainPID --value navidrome")
        assert sh(f"ps -o user= -p {pid}") == "navidrome"
        # Navidrome listens on loopback only; nginx on port 80 is what answers outside.
        assert sh("ss -Htln 'sport = :4533' | awk '{print $4}'") == "127.0.0.1:4533"
        r = httpx.get(f"http://{pi_host.address}/", timeout=10)
        assert r.status_code == 200 and r.text == "fake navidrome for /srv/music"
        assert "nginx" in r.headers.get("server", "")

        # Deploying again changes nothing.
        again = engine.run(recipe, t, journal=journal)
        assert again.ok and again.applied == 0 and again.skipped == len(recipe.steps)
        assert sh("systemctl show -p MainPID --value navidrome") == pid

        # Uninstall stops it and removes the nginx site; the library data stays.
        engine.undeploy(recipe, t, journal=journal)
        assert not pi_host.active("navidrome")
        assert pi_host.gone("/etc/nginx/sites-enabled/roost-navidrome.conf")
        assert sh("test -d /var/lib/navidrome && echo kept") == "kept"
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.container
def test_a_tampered_release_is_refused_on_a_real_host(
    pi_host: TestHost, home: Path, tmp_path: Path,
) -> None:
    """The release comes from a local server in upstream's layout (--option mirror), with
    navidrome_checksums.txt beside it, as a person's deploy would fetch it: a tampered file is
    refused in one line naming it and both digests, before anything reaches the host; the
    rerun, once the server hands out the real file, downloads it again and deploys."""
    good = tmp_path / "good.tar.gz"
    sha = release_tarball(good, "navidrome", FAKE_NAVIDROME)
    releases = ReleaseServer()
    t = pi_host.transport(tmp_path / "ssh")
    try:
        options = {"mirror": releases.base, "sha256": sha, "address": pi_host.address,
                   "music": "/srv/music"}
        recipe = build_navidrome(None, options, {})
        install = next(s for s in recipe.steps if isinstance(s, InstallArtifact))
        art, _ = choose("navidrome", None, options)
        releases.publish(art, good.read_bytes())
        tampered = good.read_bytes() + b"\0"
        releases.tamper(art, tampered)
        cache = home / UPSTREAM_CACHE
        journal = Journal.for_host("pi", recipe.id, data_dir())
        with pytest.raises(engine.DeployFailed) as err:
            engine.run(recipe, t, journal=journal, cache=cache)
        line = err.value.line()
        assert "\n" not in line and art.file in line and sha in line
        assert hashlib.sha256(tampered).hexdigest() in line
        assert "navidrome_checksums.txt says" in line and "nothing was installed" in line
        assert not (cache / art.file).exists()
        assert pi_host.ssh("ls -A /opt/navidrome/releases").stdout.strip() == ""
        assert pi_host.gone("/opt/navidrome/current")
        assert not pi_host.active("navidrome")

        releases.publish(art, good.read_bytes())
        before = len(releases.seen)
        result = engine.run(recipe, t, journal=journal, cache=cache, resume=True)
        assert result.ok and result.health is not None and result.health.ok
        assert releases.seen[before:] == [releases._path(art.sums), releases._path(art.url)]
        assert pi_host.ssh("readlink /opt/navidrome/current").stdout.strip() == install.release
        r = httpx.get(f"http://{pi_host.address}/", timeout=10)
        assert r.status_code == 200 and r.text == "fake navidrome for /srv/music"
        engine.undeploy(recipe, t, journal=journal)
    finally:
        t.close()
        releases.close()
