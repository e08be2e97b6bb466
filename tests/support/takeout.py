"""A Gmail Takeout mail archive as Google writes it (docs/import-formats.md): an mbox file,
each message after a `From <thread id>@xxx <date>` line, Gmail's labels in X-Gmail-Labels,
body lines starting with `From ` written `>From `, CRLF line ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mail:
    subject: str
    labels: str
    body: str = "Hello from the old mailbox."
    date: str = "Wed, 01 Mar 2023 10:00:00 +0000"
    sender: str = "Ada Lovelace <ada@example.org>"


def message(m: Mail, n: int) -> bytes:
    lines = [
        f"From 17{n:017d}@xxx Wed Mar 01 10:00:00 +0000 2023",
        f"X-GM-THRID: 17{n:017d}",
        f"X-Gmail-Labels: {m.labels}",
        "Delivered-To: robin@gmail.com",
        "MIME-Version: 1.0",
        f"Date: {m.date}",
        f"From: {m.sender}",
        "To: Robin <robin@gmail.com>",
        f"Subject: {m.subject}",
        f"Message-ID: <takeout-{n}@mail.gmail.com>",
        'Content-Type: text/plain; charset="UTF-8"',
        "",
        *m.body.split("\n"),
        "",
    ]
    return "\r\n".join(lines).encode("utf-8") + b"\r\n"


def write_mbox(path: Path, mails: list[Mail]) -> Path:
    path.write_bytes(b"".join(message(m, i) for i, m in enumerate(mails)))
    return path


SAMPLE = [
    Mail("Lunch on Friday?", "Inbox,Important,Opened,Category Personal"),
    Mail("=?UTF-8?Q?Caf=C3=A9_tomorrow?=", "Inbox,Unread,Starred",
         body="See you at the café.\n>From the corner table, I hope."),
    Mail("Quarterly report", "Work/Projects,Opened,Archived",
         date="Tue, 14 Feb 2017 09:30:00 +0100"),
    Mail("Sent by me", "Sent,Opened"),
    Mail("Old receipt", "Opened"),
    Mail("Family photos", '"Family, friends",=?UTF-8?Q?R=C3=A9sum=C3=A9s?=,Opened'),
]
