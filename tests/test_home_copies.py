"""Copies of roost's own data off the machine roost runs on (roost.app.home_copies):
`roost backup --vault --to HOST | --to-path DIR` and `roost restore --vault --from HOST |
--from-path DIR`.

Without the vault, the backups of the services cannot be opened (their passphrases live in
it), so losing the laptop or the Pi roost runs on must not lose it. Proven with the real
commands: into a folder (a USB disk) and back into an empty data folder, over real SSH to a
booted Debian host and back; hostile copies are refused with one line and write nothing.
"""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.answers import trusted_host
from support.identities import vault_for_commands

from roost.app.home_copies import HOME_FOLDER, KEEP, PATH_FOLDER, HomeCopies, pack
from roost.cli.main import main
from roost.keys import login
from roost.keys.vault import Vault

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

PASS = "copies of the vault travel sealed"


def _home_with_vault(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A data folder with a vault holding one login and a progress file; the login's
    password (a secret that must never appear in plain text in a copy)."""
    made = login.create("mail", user="me", password="a-secret-that-stays-sealed-42")
    vault_for_commands(home, PASS, tmp_path, monkeypatch, made)
    (home / "progress.toml").write_text('schema = 1\n[[event]]\nkind = "done"\n')
    (home / "progress.toml.lock").write_text("")
    return str(made.secret["password"])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_copy_in_a_folder_brings_the_vault_back_into_an_empty_data_folder(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    secret = _home_with_vault(home, tmp_path, monkeypatch)
    usb = tmp_path / "usb"
    usb.mkdir()
    assert main(["backup", "--vault", "--to-path", str(usb)]) == 0
    said = capsys.readouterr().out
    assert "Copied roost's data to" in said and "the sealed vault" in said, said
    assert "lost with it in a fire" in said  # a disk beside the machine is not enough alone
    copies = list((usb / PATH_FOLDER).iterdir())
    assert len(copies) == 1 and copies[0].stat().st_mode & 0o777 == 0o600
    assert (usb / PATH_FOLDER).stat().st_mode & 0o777 == 0o700
    data = copies[0].read_bytes()
    assert secret.encode() not in data and PASS.encode() not in data
    with tarfile.open(copies[0]) as tar:
        names = tar.getnames()
    assert "keys.vault" in names and "progress.toml" in names
    assert not [n for n in names if n.endswith(".lock")]

    # The machine is lost: a new data folder, the same copy.
    before = _files(home)
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("ROOST_HOME", str(fresh))
    assert main(["restore", "--vault", "--from-path", str(usb)]) == 0
    said = capsys.readouterr().out
    assert "Restored roost's data from" in said and "keys.vault" in said, said
    assert {n: d for n, d in _files(fresh).items()} == {
        n: d for n, d in before.items() if not n.endswith(".lock")}
    vault = Vault.open(fresh, PASS)
    assert vault.get("mail").secret["password"] == secret
    assert (fresh / "keys.vault").stat().st_mode & 0o777 == 0o600

    # The same again changes nothing.
    assert main(["restore", "--vault", "--from-path", str(usb)]) == 0
    assert "every file was already the same" in capsys.readouterr().out


def test_a_restore_over_different_files_asks_and_keeps_them_aside(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _home_with_vault(home, tmp_path, monkeypatch)
    usb = tmp_path / "usb"
    usb.mkdir()
    assert main(["backup", "--vault", "--to-path", str(usb)]) == 0
    (home / "progress.toml").write_text("schema = 1\n# changed since\n")
    capsys.readouterr()
    assert main(["restore", "--vault", "--from-path", str(usb)]) == 2
    err = capsys.readouterr().err
    assert "progress.toml here differ from the copy" in err and "--yes" in err, err
    assert (home / "progress.toml").read_text() == "schema = 1\n# changed since\n"
    assert main(["restore", "--vault", "--from-path", str(usb), "--yes"]) == 0
    said = capsys.readouterr().out
    aside = [p for p in home.iterdir() if p.name.startswith("progress.toml.before-restore-")]
    assert len(aside) == 1 and aside[0].read_text() == "schema = 1\n# changed since\n"
    assert "Kept what it replaced as" in said


def test_only_the_last_copies_are_kept(home: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _home_with_vault(home, tmp_path, monkeypatch)
    usb = tmp_path / "usb"
    usb.mkdir()
    start = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    for day in range(KEEP + 3):
        HomeCopies(home, clock=lambda d=day: start + timedelta(days=d)).copy_to_path(usb)
    names = sorted(p.name for p in (usb / PATH_FOLDER).iterdir())
    assert len(names) == KEEP
    assert names[0] == "roost-home-20260304T040000Z.tar"  # the three oldest went
    assert names[-1] == f"roost-home-202603{KEEP + 3:02d}T040000Z.tar"


def _hostile(kind: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes = b"x", **attrs: object) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in attrs.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)

        if kind == "escape":
            add("../outside")
        elif kind == "absolute":
            add("/etc/roost-was-here")
        elif kind == "link":
            add("keys.vault", b"", type=tarfile.SYMTYPE, linkname="/etc/shadow", size=0)
        elif kind == "folder":
            add("deploys/pi/prosody.toml")
        elif kind == "device":
            add("keys.vault", b"", type=tarfile.CHRTYPE, size=0)
        elif kind == "huge":
            add("progress.toml", b"0" * (9 * 1024 * 1024))
        elif kind == "twice":
            add("progress.toml", b"a")
            add("progress.toml", b"b")
    return buf.getvalue() if kind != "garbage" else b"this is not a tar file at all" * 40


@pytest.mark.parametrize("kind", ["escape", "absolute", "link", "folder", "device", "huge",
                                  "twice", "garbage"])
def test_a_hostile_copy_is_refused_in_one_line_and_writes_nothing(
        kind: str, home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    usb = tmp_path / "usb"
    (usb / PATH_FOLDER).mkdir(parents=True)
    (usb / PATH_FOLDER / "roost-home-20260101T000000Z.tar").write_bytes(_hostile(kind))
    assert main(["restore", "--vault", "--from-path", str(usb)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "is not a copy of roost's data" in err, err
    assert "Traceback" not in err
    assert not home.exists() or list(home.iterdir()) == []
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize(("argv", "says"), [
    (["backup", "--vault"], "needs one place: --to HOST or --to-path DIR"),
    (["backup", "--vault", "--to", "vps", "--to-path", "/x"], "needs one place"),
    (["backup", "prosody", "--vault", "--to", "vps"], "--vault copies roost's own data"),
    (["backup", "--vault", "--to-path", "/no/such/folder"], "there is no folder"),
    (["restore", "--vault"], "needs one place: --from HOST or --from-path DIR"),
    (["restore", "--vault", "--from-path", "/no/such", "--archive", "x.tar"],
     "holds no copy named"),
    (["backup", "--to", "vps"], "which service?"),
    (["restore", "prosody"], "needs the host to restore onto (--to)"),
])
def test_wrong_words_get_one_line(argv: list[str], says: str, home: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _home_with_vault(home, tmp_path, monkeypatch)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") <= 2, err


def test_an_empty_data_folder_has_nothing_to_copy(home: Path, tmp_path: Path) -> None:
    from roost.core.errors import RoostError

    with pytest.raises(RoostError, match="nothing of roost's"):
        pack(home, "20260101T000000Z")


@pytest.mark.container
def test_a_copy_on_another_host_is_root_only_sealed_and_comes_back(
        vps_host: TestHost, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from testhost import files_containing

    secret = _home_with_vault(home, tmp_path, monkeypatch)
    trusted_host(home, "vps", vps_host)
    assert main(["backup", "--vault", "--to", "vps"]) == 0
    said = capsys.readouterr().out
    assert "Copied roost's data to vps" in said, said
    listed = vps_host.ssh(f"stat -c '%a %U %n' {HOME_FOLDER} {HOME_FOLDER}/*").stdout.split("\n")
    assert listed[0].split()[:2] == ["700", "root"], listed
    assert listed[1].split()[:2] == ["600", "root"], listed
    assert files_containing(vps_host.changes, [secret, PASS]) == []

    # The laptop is lost: a new data folder that knows only the VPS.
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("ROOST_HOME", str(fresh))
    trusted_host(fresh, "vps", vps_host)
    assert main(["restore", "--vault", "--from", "vps", "--yes"]) == 0
    said = capsys.readouterr().out
    assert "keys.vault" in said, said
    assert Vault.open(fresh, PASS).get("mail").secret["password"] == secret
    assert (fresh / "progress.toml").read_bytes() == (home / "progress.toml").read_bytes()
