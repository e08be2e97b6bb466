"""`roost import mbox`: a Gmail Takeout archive, built here in Google's layout, imported through
the `roost` command over real SSH into Debian's Dovecot on a booted Debian host; proof: Python's
imaplib logs in over TLS with the vault login's password and reads the messages back with
their subjects, dates, flags and folders. Cut after the first batch, the same import
continues; run again, it stores nothing twice."""

from __future__ import annotations

import email
import imaplib
import re
import ssl
import time
from email.header import decode_header, make_header
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.takeout import SAMPLE, Mail, write_mbox

from roost.keys import Vault
from roost.keys.vault import FAST_LIMITS_FOR_TESTS

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


def imap(host: TestHost, tmp_path: Path, password: str) -> imaplib.IMAP4_SSL:
    """Logged in as robin over TLS, trusting only the certificate Dovecot's package made."""
    cert = tmp_path / "dovecot.pem"
    cert.write_text(host.ssh("cat /etc/dovecot/private/dovecot.pem").stdout)
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False  # Debian's certificate names the machine, not its address
    box = imaplib.IMAP4_SSL(host.address, 993, ssl_context=ctx, timeout=20)
    box.login("robin", password)
    return box


def folder_list(box: imaplib.IMAP4_SSL) -> set[str]:
    typ, data = box.list()
    assert typ == "OK"
    return {re.sub(r'^.*"/" ', "", d.decode()).strip('"') for d in data if isinstance(d, bytes)}


def subjects_in(box: imaplib.IMAP4_SSL, folder: str) -> dict[str, tuple[str, str]]:
    """subject -> (flags, internal date) of every message in `folder`."""
    typ, _ = box.select(f'"{folder}"', readonly=True)
    assert typ == "OK", folder
    typ, data = box.search(None, "ALL")
    out: dict[str, tuple[str, str]] = {}
    for num in data[0].split():
        typ, parts = box.fetch(num, "(FLAGS INTERNALDATE BODY.PEEK[HEADER])")
        meta, header = parts[0]  # type: ignore[misc]
        msg = email.message_from_bytes(header)
        subject = str(make_header(decode_header(msg["Subject"])))
        found = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode()  # type: ignore[union-attr]
        flags = " ".join(sorted(set(found.split()) - {"\\Recent"}))
        date = re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode()  # type: ignore[union-attr]
        out[subject] = (flags, date)
    return out


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.timeout(1200)
def test_gmail_takeout_into_dovecot_read_back_with_imap(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from test_deploy_with_login import PASS, Roost
    from testhost import ProcScanner, files_containing, record_time

    from roost.app import importing
    from roost.app.hosts import find
    from roost.deploy.imports import maildir

    roost = Roost(tmp_path)
    Vault.create(roost.home, PASS, limits=FAST_LIMITS_FOR_TESTS)
    roost("keys", "new", "login", "--name", "mail-archive", "--user", "robin")
    password = roost("keys", "show", "mail-archive", "--secret", "--to-pipe").stdout.strip()
    target = f"root@{pi_host.address}:{pi_host.ssh_port}"
    first = roost("host", "add", "pi", target, "--key", str(pi_host.key_path), expect=2)
    fingerprint = re.search(r"SHA256:[A-Za-z0-9+/]{43}", first.stderr)
    assert fingerprint, first.stderr
    roost("host", "add", "pi", target, "--key", str(pi_host.key_path),
          "--trust", fingerprint.group(0))

    # 1. Cut after the first batch (a batch per message here): the archive is set up and
    # one message stored, the place reached recorded.
    archive = write_mbox(tmp_path / "All mail Including Spam and Trash.mbox", SAMPLE)
    monkeypatch.setattr(maildir, "BATCH_BYTES", 1)
    monkeypatch.setenv("ROOST_HOME", str(roost.home))

    def cut(e: object) -> None:
        if isinstance(e, importing.ImportProgress):
            raise KeyboardInterrupt

    job = importing.MailImport(archive, find(roost.home, "pi"), roost.home, on_event=cut,
                               passphrase=lambda: PASS)
    start = time.monotonic()
    with ProcScanner([password]) as scan, pytest.raises(KeyboardInterrupt):
        job.run()
    record_time("import_mbox_setup", time.monotonic() - start)
    assert scan.hits == []

    # 2. The same command, as a person types it, continues and finishes.
    done = roost("import", "mbox", str(archive), "--into", "mail-archive", "--host", "pi",
                 timeout=600).stdout
    assert "continuing an import that stopped at" in done, done
    assert "Stored 5 new messages; 1 was there already." in done, done
    assert "6 messages" in done and "in 6 folders:" in done

    # 3. A mail app reads it: folders from the labels, subjects, dates, flags.
    box = imap(pi_host, tmp_path, password)
    try:
        folders = folder_list(box)
        assert {"Sent", "Archive", "Work/Projects", "Family, friends"} <= folders, folders
        assert "R&AOk-sum&AOk-s" in folders, folders  # modified UTF-7, as IMAP names it
        inbox = subjects_in(box, "INBOX")
        assert set(inbox) == {"Lunch on Friday?", "Café tomorrow"}
        assert inbox["Lunch on Friday?"][0] == "\\Seen"
        assert inbox["Café tomorrow"][0] == "\\Flagged"  # Starred, Unread
        work = subjects_in(box, "Work/Projects")
        assert work["Quarterly report"][1].startswith("14-Feb-2017 ")
        assert set(subjects_in(box, "Archive")) == {"Old receipt"}
        assert set(subjects_in(box, "R&AOk-sum&AOk-s")) == {"Family photos"}
        box.select("INBOX", readonly=True)
        _, data = box.fetch(b"2", "(BODY.PEEK[TEXT])")
        text = data[0][1]  # type: ignore[index]
        assert b"From the corner table" in text and b">From" not in text
    finally:
        box.logout()

    # 4. Again: nothing stored twice, even with the local record gone.
    again = roost("import", "mbox", str(archive), "--host", "pi", timeout=600).stdout
    assert "Stored 0 new messages; 6 were there already." in again, again
    for record in (roost.home / "imports").rglob("*.json"):
        record.unlink()
    more = write_mbox(tmp_path / "more.mbox", [*SAMPLE, Mail("A new one", "Inbox")])
    third = roost("import", "mbox", str(more), "--host", "pi", timeout=600).stdout
    assert "Stored 1 new message; 6 were there already." in third, third
    count = pi_host.ssh("find /var/lib/roost-mail/robin/Maildir -type f -path '*/cur/*' "
                        "| wc -l").stdout.strip()
    assert count == "8"  # 7 messages, one of them in two folders

    # The password never reached a file on the host in plain text, nor roost's output.
    assert files_containing(pi_host.changes, [password]) == []
    said = "\n".join(roost.said)
    assert said.count(password) == 1  # the one `show --secret --to-pipe`
