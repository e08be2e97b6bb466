"""An upstream release archive is checked on this computer before it is uploaded: nothing in
it may unpack outside its release folder (absolute or `..` names, links pointing out, files
written through a link), fill the disk (an archive bomb, judged by the sizes the archive states),
or make the binary a link (the unpack script chmods the binary 0755: through a link that would
change a file outside the release, as root).

Before this check, InstallArtifact uploaded any archive whose sha256 matched and unzipped it as
root; unzip drops `..` parts itself but keeps symbolic links, so a release whose bin/pleroma was
a link to /etc/shadow had /etc/shadow chmodded 0755. The hash only says the file is the one
named, not that the file is harmless.
"""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from support.fake import FakeTransport

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.recipe import Recipe
from roost.deploy.recipes import upstream
from roost.deploy.recipes.upstream import InstallArtifact, check_archive
from roost.deploy.steps import StepContext


def _zip(entries: list[tuple[str, bytes | str]]) -> bytes:
    """entries: (name, data) for files, (name, "->target") for symbolic links."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            if isinstance(data, str):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, data.removeprefix("->"))
            else:
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    return buf.getvalue()


def _tgz(entries: list[tuple[str, bytes | str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type = tarfile.SYMTYPE
                info.linkname = data.removeprefix("->")
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


OTP = [("release/bin/pleroma", b"#!/bin/sh\n"), ("release/bin/pleroma_ctl", b"#!/bin/sh\n"),
       ("release/releases/COOKIE", b"cookie"),
       # OTP releases do hold relative links inside themselves; those are fine.
       ("release/lib/current", "->../releases"), ("release/erts/bin/erl", "->../../bin/pleroma")]


def test_an_otp_shaped_zip_and_a_plain_tarball_pass() -> None:
    check_archive(_zip(OTP), "bin/pleroma")
    check_archive(_tgz([("gotosocial", b"\x7fELF"), ("web/assets/a.css", b"x"),
                        ("web/latest", "->assets")]), "gotosocial")


@pytest.mark.parametrize("entries, words", [
    ([("release/bin/pleroma", "->/etc/shadow")], "link"),
    ([("release/bin/pleroma", "->pleroma_ctl"), ("release/bin/pleroma_ctl", b"x")],
     "is a link, not a program"),
    ([("release/bin/pleroma", b"x"), ("release/bin/sh", "->/bin/sh")], "link pointing outside"),
    # release/ is unwrapped: this link ends up one level higher, pointing out of the release.
    ([("release/bin/pleroma", b"x"), ("release/up", "->../x")], "link pointing outside"),
    ([("release/bin/pleroma", b"x"), ("release/lib/a", "->lib2/../../../etc")], "outside"),
    ([("release/bin/pleroma", b"x"), ("release/etc", "->bin"), ("release/etc/f", b"x")],
     "inside a link"),
    ([("release/bin/pleroma", b"x"), ("../../etc/cron.d/x", b"x")], "outside its folder"),
    ([("bin/pleroma", b"x"), ("/etc/cron.d/x", b"x")], "outside its folder"),
    ([("bin/pleroma", b"x"), ("bin\\..\\..\\x", b"x")], "outside its folder"),
])
def test_a_zip_that_reaches_out_of_its_release_is_refused(
        entries: list[tuple[str, bytes | str]], words: str) -> None:
    with pytest.raises(RoostError) as err:
        check_archive(_zip(entries), "bin/pleroma", "akkoma.zip")
    assert words in str(err.value) and "\n" not in err.value.line()


@pytest.mark.parametrize("entries", [
    [("gotosocial", b"x"), ("../x", b"x")],
    [("gotosocial", "->/usr/bin/env")],
    [("gotosocial", b"x"), ("web", "->/etc"), ("web/x", b"x")],
])
def test_a_tarball_that_reaches_out_is_refused(entries: list[tuple[str, bytes | str]]) -> None:
    with pytest.raises(RoostError):
        check_archive(_tgz(entries), "gotosocial", "gotosocial.tar.gz")


def test_an_archive_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream, "MAX_UNPACKED", 1 << 20)
    data = _zip([("release/bin/pleroma", b"x"), ("release/big", bytes(2 << 20))])
    assert len(data) < 20_000
    with pytest.raises(RoostError, match="unpacks to more than"):
        check_archive(data, "bin/pleroma")


def test_install_refuses_before_anything_is_uploaded(tmp_path: Path) -> None:
    bad = tmp_path / "akkoma.zip"
    bad.write_bytes(_zip([("release/bin/pleroma", "->/etc/shadow"),
                          ("release/bin/pleroma_ctl", b"x")]))
    step = InstallArtifact(service="akkoma", version="3", file="akkoma.zip", url="",
                           sha256=hashlib.sha256(bad.read_bytes()).hexdigest(),
                           binary="bin/pleroma", root="/opt/akkoma", local=str(bad))
    t = FakeTransport()
    with pytest.raises(RoostError, match="link pointing outside"):
        step.apply(t, StepContext(transport=t))
    assert t.log == []


def _otp_step() -> tuple[InstallArtifact, bytes]:
    data = _zip(OTP)
    step = InstallArtifact(service="akkoma", version="3", file="akkoma.zip",
                           url="http://127.0.0.1:9/akkoma.zip",  # nothing listens: no request
                           sha256=hashlib.sha256(data).hexdigest(), binary="bin/pleroma",
                           root="/opt/akkoma")
    return step, data


def test_the_release_comes_from_the_download_folder_its_caller_gives(tmp_path: Path) -> None:
    """The engine's caller (app/, with its `home`) names the download folder; a verified copy
    there is used without a request, and no other folder is looked in."""
    step, data = _otp_step()
    cache = tmp_path / "home" / upstream.UPSTREAM_CACHE
    cache.mkdir(parents=True)
    (cache / "akkoma.zip").write_bytes(data)
    t = FakeTransport()
    # The fake host cannot run the unpack script (exit 127); the upload before it is read here.
    with pytest.raises(engine.DeployFailed, match="exit code 127"):
        engine.run(Recipe("akkoma", "akkoma", "Akkoma", (step,)), t, cache=cache,
                   state_dir="/var/lib/roost-test")
    assert t.host.files["/opt/akkoma/releases/akkoma.zip"].data == data
    t = FakeTransport()
    with pytest.raises(RoostError, match=r"no folder to download akkoma\.zip into") as told:
        step.apply(t, StepContext(transport=t))
    assert "--option artifact=PATH" in (told.value.hint or "") and t.log == []
