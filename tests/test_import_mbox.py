"""Gmail Takeout's mbox read as a stream and placed in Maildir folders, on archives built
here in Google's own layout (tests/support/takeout.py); hostile and broken files refused in
one line, exit 2, before anything is written."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from support.takeout import SAMPLE, Mail, write_mbox

from roost.core.errors import RoostError
from roost.deploy.imports import mbox
from roost.deploy.imports.maildir import Batch, clean_folder, file_name, folder_dir


def read_all(data: bytes) -> list[mbox.Message | mbox.Skipped]:
    return list(mbox.messages(io.BytesIO(data)))


def test_takeout_messages_with_labels_subjects_dates(tmp_path: Path) -> None:
    path = write_mbox(tmp_path / "All mail Including Spam and Trash.mbox", SAMPLE)
    got = read_all(path.read_bytes())
    assert all(isinstance(m, mbox.Message) for m in got) and len(got) == len(SAMPLE)
    msgs = [m for m in got if isinstance(m, mbox.Message)]
    assert msgs[1].subject == "Café tomorrow"
    assert msgs[0].labels == ("Inbox", "Important", "Opened", "Category Personal")
    assert msgs[5].labels == ("Family, friends", "Résumés", "Opened")
    assert msgs[2].date == 1487061000.0
    # mboxrd: the escaped body line is the person's own line again; no From_ line kept.
    assert b"\r\nFrom the corner table" in msgs[1].raw
    assert not msgs[1].raw.startswith(b"From ")
    assert msgs[0].raw.endswith(b"Hello from the old mailbox.\r\n")
    # Offsets chain: each message ends where the next starts, the last at the file's end.
    assert [m.offset for m in msgs[1:]] == [m.end for m in msgs[:-1]]
    assert msgs[-1].end == path.stat().st_size
    # Stable ids: the same message gives the same id, another another.
    again = [m for m in read_all(path.read_bytes()) if isinstance(m, mbox.Message)]
    assert [m.id for m in again] == [m.id for m in msgs]
    assert len({m.id for m in msgs}) == len(msgs)


def test_reading_from_an_offset_continues_with_the_next_message(tmp_path: Path) -> None:
    path = write_mbox(tmp_path / "mail.mbox", SAMPLE)
    msgs = [m for m in read_all(path.read_bytes()) if isinstance(m, mbox.Message)]
    with path.open("rb") as f:
        rest = list(mbox.messages(f, start=msgs[3].offset))
    assert [m.id for m in rest if isinstance(m, mbox.Message)] == [m.id for m in msgs[3:]]


@pytest.mark.parametrize(("labels", "folders", "flags"), [
    (("Inbox", "Important", "Opened", "Category Personal"), ("INBOX",), "S"),
    (("Inbox", "Unread", "Starred"), ("INBOX",), "F"),
    (("Work/Projects", "Opened", "Archived"), ("Work/Projects",), "S"),
    (("Sent", "Opened"), ("Sent",), "S"),
    (("Opened",), ("Archive",), "S"),
    (("Drafts",), ("Drafts",), "DS"),
    (("Spam", "Trash", "Chat"), ("Junk", "Trash", "Chats"), "S"),
    (("Inbox", "Family, friends"), ("INBOX", "Family, friends"), "S"),
])
def test_gmail_labels_become_folders_and_flags(labels: tuple[str, ...],
                                               folders: tuple[str, ...], flags: str) -> None:
    assert mbox.folders_and_flags(labels) == (folders, flags)


def test_folder_names_on_disk_are_maildir_plus_plus_in_modified_utf7() -> None:
    assert folder_dir("INBOX") == "."
    assert folder_dir("Work/Projects") == ".Work.Projects"
    assert folder_dir("Résumés") == ".R&AOk-sum&AOk-s"  # RFC 3501's own scheme
    assert folder_dir("日本語") == ".&ZeVnLIqe-"
    assert folder_dir("A & B") == ".A &- B"
    assert clean_folder("v1.2/../x\n") == "v1_2/__/x_"
    assert folder_dir("../../etc") == ".__.__.etc"  # never a path out of the Maildir
    assert file_name("0" * 32, "SF") == "0" * 32 + ".roost:2,FS"
    with pytest.raises(RoostError):
        file_name("../x", "S")


def test_a_batch_is_a_tar_of_dated_files_in_cur() -> None:
    b = Batch()
    b.add("Work/Projects", "a" * 32, "S", b"Subject: x\r\n\r\nbody\r\n", 1487061000.0)
    b.add("INBOX", "b" * 32, "", b"Subject: y\r\n\r\n", None)
    with tarfile.open(fileobj=io.BytesIO(b.data())) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [f".Work.Projects/cur/{'a' * 32}.roost:2,S",
                                         f"./cur/{'b' * 32}.roost:2,"]
    assert members[0].mtime == 1487061000 and members[0].mode == 0o600
    assert b.count == 2 and not b.full


def test_a_broken_message_is_skipped_and_the_rest_are_read(tmp_path: Path) -> None:
    good = write_mbox(tmp_path / "a.mbox", SAMPLE[:2]).read_bytes()
    broken = good + b"From 1@xxx Wed Mar 01 10:00:00 +0000 2023\r\n\r\n\r\n"
    truncated = broken + write_mbox(tmp_path / "b.mbox", SAMPLE[2:3]).read_bytes()[:200]
    got = read_all(truncated)
    assert [type(m).__name__ for m in got] == ["Message", "Message", "Skipped", "Message"]
    assert isinstance(got[2], mbox.Skipped) and got[2].why == "empty"


@pytest.mark.parametrize(("data", "words"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "is not an mbox file"),
    (b'{"tweets": [', "is not an mbox file"),
    (b"From x@xxx" + b"a" * (2 * 1024 * 1024) + b"\n", "is not an mbox file"),
])
def test_what_is_not_an_mbox_is_refused_before_a_message(data: bytes, words: str) -> None:
    with pytest.raises(RoostError, match=words):
        read_all(data)


def test_an_empty_file_has_no_messages() -> None:
    assert read_all(b"") == []


def roost(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ROOST_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home.parent)}
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_dry_run_says_what_would_be_imported(tmp_path: Path) -> None:
    path = write_mbox(tmp_path / "mail.mbox", [*SAMPLE, Mail("x", "Inbox")])
    with path.open("ab") as f:
        f.write(b"From 1@xxx Wed Mar 01 10:00:00 +0000 2023\r\n\r\n\r\n")
    said = roost(tmp_path / "home", "import", "mbox", str(path), "--dry-run")
    assert said.returncode == 0, said.stderr
    out = said.stdout
    assert "7 messages" in out and "would be imported, in 6 folders:" in out
    assert "  INBOX: 3\n" in out and "  Work/Projects: 1\n" in out and "  Archive: 1\n" in out
    assert "Not imported, and why (1):" in out and ": empty" in out
    assert not list((tmp_path / "home").rglob("*"))  # nothing written


@pytest.mark.parametrize("make", ["zip", "folder", "missing", "binary", "fifo", "json"])
def test_hostile_or_wrong_archives_are_one_line_exit_2_nothing_written(
        tmp_path: Path, make: str) -> None:
    import os
    import zipfile

    path = tmp_path / "archive"
    if make == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("Takeout/Mail/All mail.mbox", "From x\n")
    elif make == "folder":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(os.urandom(4096))
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "json":
        path.write_text('window.YTD.tweets.part0 = [{"tweet": ')
    said = roost(tmp_path / "home", "import", "mbox", str(path), "--host", "local")
    assert said.returncode == 2 and said.stderr.count("\n") == 1, said.stderr
    assert said.stderr.startswith("roost: ") and "Traceback" not in said.stderr
    assert not list((tmp_path / "home").rglob("*"))


def test_the_old_progress_commands_say_where_they_went(tmp_path: Path) -> None:
    said = roost(tmp_path / "home", "import", "moved.toml")
    assert said.returncode == 2 and "roost progress import moved.toml" in said.stderr
    said = roost(tmp_path / "home", "export", "moved.toml")
    assert said.returncode == 2 and "roost progress export FILE" in said.stderr
    assert said.stderr.count("\n") == 1
    said = roost(tmp_path / "home", "import", "mbox", "x.mbox", "--into", "wordpress",
                 "--host", "pi")
    assert said.returncode == 2 and "Use --into mail-archive" in said.stderr


def test_plain_mode_offers_the_import_and_says_what_it_would_do(tmp_path: Path) -> None:
    """`roost --plain`: Bring your data, the archive, the host; the dry run's lines are said,
    and answering No changes nothing."""
    from support.clock import TEST_CLOCK
    from test_plain import FACTS

    from roost.cli.plain import run_plain

    home = tmp_path / "home"
    path = write_mbox(tmp_path / "mail.mbox", SAMPLE)
    out = io.StringIO()
    lines = ["6", "1", str(path), "1", "0", "0"]
    code = run_plain(False, home=home, facts=FACTS, clock=TEST_CLOCK,
                     stdin=io.StringIO("".join(x + "\n" for x in lines)), stdout=out)
    said = out.getvalue()
    assert code == 0, said
    assert "6. Bring your data: import an archive from a platform (roost import)" in said
    assert "1. Gmail's mail (the .mbox file from Google Takeout)" in said
    assert "6 messages (2.2 KB) would be imported, in 6 folders:" in said
    assert "  Work/Projects: 1" in said and "1. Yes, import it" in said
    assert not (home / "imports").exists()


def test_the_full_screen_app_offers_the_import_and_its_dry_run(tmp_path: Path) -> None:
    """d on the first screen: the form; "See what it would import" says the dry run on the
    status line; a file that is not an mbox is said in one line."""
    from test_tui import check_cursor, make_app, press, settle, sync
    from textual.widgets import Input

    from roost.tui.a11y import screen_lines

    home = tmp_path / "home"
    home.mkdir()
    path = write_mbox(tmp_path / "mail.mbox", SAMPLE)

    def text(app) -> str:  # type: ignore[no-untyped-def]
        return " ".join("\n".join(screen_lines(app)).split())

    @sync
    async def walk() -> None:
        app = make_app(home, screen_reader=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await press(pilot, app, "d")
            assert type(app.screen).__name__ == "ImportFormScreen"
            assert "Kind of archive" in check_cursor(app)
            app.screen.query_one("#field-archive", Input).value = str(path)
            app.screen.query_one("#field-host", Input).value = "local"
            await press(pilot, app, "tab", "tab", "tab", "tab")
            assert "See what it would import" in check_cursor(app)
            await press(pilot, app, "enter")
            for _ in range(50):
                await settle(pilot, app)
                if "would be imported" in text(app):
                    break
            assert "6 messages (2.2 KB) would be imported, in 6 folders:" in text(app)
            app.screen.query_one("#field-archive", Input).value = str(tmp_path)
            await press(pilot, app, "enter")
            for _ in range(50):
                await settle(pilot, app)
                if "is not a file" in text(app):
                    break
            assert "is not a file. Give the archive file itself." in text(app)

    walk()
    assert not (home / "imports").exists()


@pytest.mark.parametrize("script", ["MOVE_IN", "PUT_TREE", "HASH_LOGIN"])
def test_the_imports_shell_scripts_are_shellcheck_clean(script: str) -> None:
    import shutil

    from roost.deploy.imports import maildir, tree
    from roost.deploy.recipes import mail_archive

    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    text = {"MOVE_IN": maildir.MOVE_IN, "PUT_TREE": tree.PUT_TREE,
            "HASH_LOGIN": mail_archive.HASH_LOGIN}[script]
    said = subprocess.run(["shellcheck", "-s", "sh", "-"], input="#!/bin/sh\n" + text,
                          text=True, capture_output=True, check=False)
    assert said.returncode == 0, said.stdout
