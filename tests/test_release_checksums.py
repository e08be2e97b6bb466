"""Releases roost downloads are verified against upstream's own checksums files, in upstream's
layout, served here by a local release server (support.releases.ReleaseServer, reached with
`--option mirror`): goreleaser's checksums.txt (Navidrome's navidrome_checksums.txt,
GoToSocial's checksums.txt), Friendica's .sum256, Akkoma's .sha256. Where roost also pins a
sha256 the two must agree. Pleroma publishes nothing: trust on first use, per version the
release reports. A tampered file or checksums file is refused in one line naming the file and
both digests, the bad file is deleted and the rerun downloads again. The deploy over real SSH
is in test_service_navidrome.py (test_a_tampered_release_is_refused_on_a_real_host).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support.dryrun import dry_run_text
from support.releases import ReleaseServer, release_archive

from roost.core.errors import RoostError
from roost.deploy.recipes import checksums
from roost.deploy.recipes.friendica import build_friendica
from roost.deploy.recipes.navidrome import build_navidrome
from roost.deploy.recipes.upstream import (
    FIRST_USE,
    Artifact,
    choose,
    download,
    load_pins,
    pinned,
)

A = "a" * 64
B = "b" * 64


@pytest.mark.parametrize("text, file, want", [
    (f"{B}  other.tar.gz\n{A}  x.tar.gz\n", "x.tar.gz", A),          # goreleaser
    (f"{A} *x.tar.gz\n", "x.tar.gz", A),                              # sha256sum -b
    (f"{A}  ./dist/x.tar.gz\n", "x.tar.gz", A),                       # a path
    (f"{A.upper()}\n", "x.tar.gz", A),                                # a bare digest
    (f"SHA256 (x.tar.gz) = {A}\n", "x.tar.gz", A),                    # BSD
    (f"# made by the releaser\n{A}  x.tar.gz\n{A}  x.tar.gz\n", "x.tar.gz", A),
])
def test_checksums_files_are_read_in_upstreams_layouts(text: str, file: str, want: str) -> None:
    assert checksums.published(text, file, "sums.txt") == want


@pytest.mark.parametrize("text, words", [
    (f"{A}  other.tar.gz\n", "sums.txt lists no sha256 for x.tar.gz"),
    (f"{A}\n{B}\n", "lists no sha256"),  # bare digests name no file when there are two
    ("<html>not found</html>\n", "lists no sha256"),
    (f"{A}  x.tar.gz\n{B}  x.tar.gz\n", "two different sha256"),
])
def test_a_checksums_file_that_does_not_say_is_refused(text: str, words: str) -> None:
    with pytest.raises(RoostError) as err:
        checksums.published(text, "x.tar.gz", "sums.txt")
    assert words in str(err.value) and "\n" not in err.value.line()


def test_every_pinned_release_says_how_it_is_verified() -> None:
    pins = load_pins()
    for service in ("navidrome", "gotosocial", "friendica", "akkoma"):
        for arch in pins[service]["arch"]:
            art = pinned(service, arch, pins)
            assert art.sums.startswith("https://") and art.trust == "", service
    assert pinned("navidrome", "x86_64").sums.endswith(
        "/v0.64.2/navidrome_checksums.txt")
    assert pinned("gotosocial", "aarch64").sums == ("https://codeberg.org/superseriousbusiness/"
                                                    "gotosocial/releases/download/v0.22.0/"
                                                    "checksums.txt")
    assert pinned("gotosocial", "armv7l").file == "gotosocial_0.22.0_linux_armv7_nowasm.tar.gz"
    assert pinned("friendica", "x86_64").sums_name == "friendica-full-2024.08.tar.gz.sum256"
    assert pinned("akkoma", "aarch64").sums.endswith("/stable/akkoma-arm64.zip.sha256")
    assert all(pinned("pleroma", a).trust == FIRST_USE and not pinned("pleroma", a).sums
               for a in pins["pleroma"]["arch"])
    # The pins roost keeps beside the checksums files (cross-checks, never used alone).
    assert pinned("navidrome", "aarch64").sha256 == \
        "6d1683428cb6d99cdabc3da815b94cc161de5904820130c5b9e2e42c34dcdb15"


@pytest.fixture
def releases() -> Iterator[ReleaseServer]:
    s = ReleaseServer()
    yield s
    s.close()


def _navidrome(tmp_path: Path, releases: ReleaseServer, pin: str | None = None,
               content: bytes = b"#!/bin/sh\n") -> tuple[Artifact, bytes]:
    """The pinned Navidrome release moved to the local server, its pin replaced by `pin`
    (the stand-in's own sha256 when None, "" for none), and the stand-in file's bytes."""
    path = tmp_path / "standin.tar.gz"
    sha = release_archive(path, (("navidrome", content, 0o755),))
    art, _ = choose("navidrome", None, {"mirror": releases.base, "sha256": ""})
    return replace(art, sha256=sha if pin is None else pin), path.read_bytes()


def test_a_good_release_is_verified_against_its_checksums_file(
        tmp_path: Path, releases: ReleaseServer) -> None:
    art, data = _navidrome(tmp_path, releases, pin="")
    other = replace(art, file="navidrome_0.64.2_linux_arm64.tar.gz", url=art.url + "-arm64")
    releases.publish(other, b"another asset")
    sha = releases.publish(art, data)
    cache = tmp_path / "cache"
    got = download(art, cache)
    assert got.read_bytes() == data
    assert releases.seen == ["/navidrome/navidrome/releases/download/v0.64.2/"
                             "navidrome_checksums.txt",
                             "/navidrome/navidrome/releases/download/v0.64.2/"
                             "navidrome_0.64.2_linux_amd64.tar.gz"]
    assert checksums.Remembered(cache).verified(art.file) == sha
    # Again: the checksums file is read again, the verified copy reused.
    assert download(art, cache) == got and len(releases.seen) == 3
    # With the pin too: agreed, and a verified copy is reused without a request.
    assert download(replace(art, sha256=sha), cache) == got and len(releases.seen) == 3


def test_a_tampered_release_is_refused_deleted_and_downloaded_again(
        tmp_path: Path, releases: ReleaseServer) -> None:
    art, data = _navidrome(tmp_path, releases)
    sha = releases.publish(art, data)
    bad = data + b"\0"
    releases.tamper(art, bad)
    cache = tmp_path / "cache"
    with pytest.raises(RoostError) as err:
        download(art, cache)
    line = err.value.line()
    assert "\n" not in line and art.file in line
    assert hashlib.sha256(bad).hexdigest() in line and sha in line
    assert "navidrome_checksums.txt says" in line and "nothing was installed" in line
    assert list(cache.iterdir()) == []  # nothing kept, nothing remembered
    releases.publish(art, data)
    assert download(art, cache).read_bytes() == data  # the rerun downloads it again


def test_a_checksums_file_that_disagrees_with_the_pin_is_refused_before_downloading(
        tmp_path: Path, releases: ReleaseServer) -> None:
    art, data = _navidrome(tmp_path, releases)
    releases.publish(art, data + b"x")  # replaced upstream, checksums file and all
    with pytest.raises(RoostError) as err:
        download(art, tmp_path / "cache")
    line = err.value.line()
    assert line.startswith(f"navidrome_checksums.txt says {art.file} has sha256 "
                           f"{hashlib.sha256(data + b'x').hexdigest()}, but roost's pin is "
                           f"{art.sha256}; nothing was downloaded")
    assert not any(p.endswith(".tar.gz") for p in releases.seen)
    # A checksums file that does not list the file stops it the same way.
    releases.listed.clear()
    releases.relist(replace(art, file="something-else.tar.gz"), art.sha256)
    with pytest.raises(RoostError, match=r"lists no sha256 for navidrome_0\.64\.2"):
        download(art, tmp_path / "cache")
    releases.server.routes.pop("/navidrome/navidrome/releases/download/v0.64.2/"
                               "navidrome_checksums.txt")
    with pytest.raises(RoostError, match=r"navidrome_checksums\.txt failed: the server "
                                         r"answered 404"):
        download(art, tmp_path / "cache")


def test_friendica_and_akkoma_single_file_layouts(tmp_path: Path,
                                                  releases: ReleaseServer) -> None:
    for service, body in (("friendica", b"php"), ("akkoma", b"PK\x03\x04zip")):
        art, _ = choose(service, None, {"mirror": releases.base})
        releases.publish(art, body)
        assert download(art, tmp_path / service).read_bytes() == body
        listed = releases.server.routes[releases._path(art.sums)][2]
        assert listed == f"{hashlib.sha256(body).hexdigest()}  {art.file}\n"
    assert "/friendica-full-2024.08.tar.gz.sum256" in releases.seen
    assert "/stable/akkoma-amd64.zip.sha256" in releases.seen


def _otp(path: Path, version: str, extra: bytes = b"") -> bytes:
    release_archive(path, (("release/bin/pleroma", b"#!/bin/sh\n" + extra, 0o755),
                           ("release/releases/start_erl.data",
                            f"14.2 {version}\n".encode(), 0o644)), kind="zip")
    return path.read_bytes()


def test_pleroma_is_trusted_on_first_use_per_version(tmp_path: Path,
                                                    releases: ReleaseServer) -> None:
    art, _ = choose("pleroma", None, {"mirror": releases.base})
    assert art.url == f"{releases.base}/api/v4/projects/2/jobs/artifacts/stable/download" \
        "?job=amd64"
    first = _otp(tmp_path / "a.zip", "2.9.1")
    releases.publish(art, first)
    said: list[str] = []
    cache = tmp_path / "cache"
    assert download(art, cache, say=said.append).read_bytes() == first
    assert said == ["Pleroma publishes no checksums; roost will remember this file's hash "
                    "and refuse it if it ever changes for the same version"]
    memory = checksums.Remembered(cache)
    assert memory.first_use == {"pleroma pleroma-amd64.zip 2.9.1":
                                hashlib.sha256(first).hexdigest()}
    assert oct((cache / "verified.json").stat().st_mode & 0o777) == "0o600"
    # A different file claiming the same version is refused; the copy first seen stays out.
    (cache / art.file).unlink()
    changed = _otp(tmp_path / "b.zip", "2.9.1", b"# evil\n")
    releases.tamper(art, changed)
    with pytest.raises(RoostError) as err:
        download(art, cache)
    line = err.value.line()
    assert line.startswith(f"pleroma-amd64.zip (pleroma 2.9.1) has sha256 "
                           f"{hashlib.sha256(changed).hexdigest()}, but roost first saw "
                           f"{hashlib.sha256(first).hexdigest()} for that version")
    assert not (cache / art.file).exists()
    # A new version upstream is a new first use.
    newer = _otp(tmp_path / "c.zip", "2.10.0")
    releases.tamper(art, newer)
    assert download(art, cache).read_bytes() == newer


def test_dry_runs_say_which_checksum_is_verified() -> None:
    text = dry_run_text(build_navidrome(None, {}, {}), "pi")
    assert "download upstream's checksums file navidrome_checksums.txt from https://github.com/" \
        "navidrome/navidrome/releases/download/v0.64.2/navidrome_checksums.txt, which must " \
        "agree with roost's pinned sha256 fdd87fd107818667" in text
    assert "check its sha256 on the host (sha256sum), then unpack it" in text
    text = dry_run_text(build_friendica(None, {"domain": "social.example.org"}, {}), "pi")
    assert "friendica-full-2024.08.tar.gz.sum256" in text
    assert "/opt/friendica/releases/<sha256 prefix>" in text


@pytest.mark.parametrize("bad", ["ftp://x.org", "http://", "http://a b", "http://u@x.org",
                                 "http://x.org/?q=1", "https://x.org/a/../b", "x.org"])
def test_a_mirror_must_be_an_http_address(bad: str) -> None:
    with pytest.raises(RoostError, match="is not a valid mirror address"):
        choose("navidrome", None, {"mirror": bad})
