"""Gmail Takeout's `.mbox` file, read as a stream: one message in memory at a time.

The format (Google Takeout, "Mail"): an mbox file, each message starting with a line
`From <id>@xxx <date>` after a blank line; lines of a body that start with `From ` are written
`>From ` (mboxrd: one `>` is removed when read back). Each message carries Gmail's labels in
the header `X-Gmail-Labels: Inbox,Important,Opened,"My, label",Work/Projects` (comma
separated, a label with a comma quoted, non-ASCII labels MIME-encoded, `/` nesting).
See docs/import-formats.md.

`messages(stream)` yields `Message`s; `folders_and_flags(labels)` says where one goes in an
IMAP archive. Nothing here touches a host or a file other than the stream it is given.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import BinaryIO

from roost.core.errors import RoostError

MAX_MESSAGE = 64 * 1024 * 1024
"""A message larger than this (Gmail's own limit is 25 MB before encoding) is skipped."""
MAX_LINE = 1024 * 1024
"""A first line longer than this is not mbox's From line: the file is refused."""

SYSTEM_FOLDERS = {"inbox": "INBOX", "sent": "Sent", "drafts": "Drafts", "spam": "Junk",
                  "trash": "Trash", "chat": "Chats"}
"""Gmail's own labels that are folders, and the folder names mail apps know them by."""
IGNORED = {"important", "opened", "unread", "starred", "archived"}
"""Gmail's labels that are flags or states, not folders (and `Category ...` tabs)."""
ARCHIVE = "Archive"
"""Where a message with no folder label goes (Gmail's "All Mail" only)."""


@dataclass(frozen=True)
class Message:
    raw: bytes
    """The message as sent, without mbox's `From ` line, `>From ` unescaped."""
    labels: tuple[str, ...]
    subject: str
    date: float | None
    """The message's Date header as a Unix time (None when missing or unreadable)."""
    offset: int
    """Where the message's `From ` line starts in the file (for progress and resuming)."""
    end: int
    """Where the next message starts."""
    id: str = field(init=False)
    """A stable id: the same message gives the same id in every run and every archive."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", hashlib.sha256(self.raw).hexdigest()[:32])


@dataclass(frozen=True)
class Skipped:
    """A message that was not imported, and why (in words)."""

    offset: int
    end: int
    why: str


def _is_separator(line: bytes) -> bool:
    return line.startswith(b"From ") and len(line.split(None, 2)) >= 2


CHUNK = 1024 * 1024
_SEP = re.compile(rb"\n\r?\n(From [^\r\n]*\r?\n)")
"""A blank line, then a `From ` line: where the next message starts."""
_UNESCAPE = re.compile(rb"^>(>*From )", re.MULTILINE)
"""mboxrd: `>From `, `>>From `... lose one `>`."""


def messages(stream: BinaryIO, name: str = "the archive",
             start: int = 0) -> Iterator[Message | Skipped]:
    """Every message in the mbox `stream` (binary, read from its start or from `start`, an
    offset a previous run reached), in order. Refuses a file that is not an mbox at all with a
    RoostError before yielding anything; a message that cannot be read is yielded as
    `Skipped`, and the rest still are. Read in blocks, the separators found by a regular
    expression: memory holds one message (at most MAX_MESSAGE) and one block."""
    if start:
        stream.seek(start)
    first = stream.readline(MAX_LINE + 1)
    if not first:
        return
    if len(first) > MAX_LINE or not _is_separator(first):
        raise RoostError(f"{name} is not an mbox file (it does not start with a From line)",
                         hint="give the .mbox file from Google Takeout's Mail folder")
    offset = start                      # where this message's From line starts
    base = start + len(first)           # the file offset of buf[0]
    buf = bytearray()
    dropped = False                     # this message grew past MAX_MESSAGE
    scan = 0
    eof = False
    while True:
        if not scan and bytes(buf[:1]) in (b"\n", b"\r"):
            empty = re.match(rb"\r?\n(From [^\r\n]*\r?\n)", buf)
            if empty:  # a From line right after this one's blank line: an empty message
                yield Skipped(offset, base + empty.start(1), "empty")
                offset, scan, cut = base + empty.start(1), 0, empty.end()
                base = base + cut  # before the buffer changes under the match
                del buf[:cut]
                continue
        m = _SEP.search(buf, scan)
        if m is not None:
            nxt = base + m.start(1)
            yield _finish(bytes(buf[:m.start() + 1]), offset, nxt, dropped)
            offset, dropped, scan, cut = nxt, False, 0, m.end()
            base += cut  # before the buffer changes under the match
            del buf[:cut]
            continue
        if eof:
            if buf or offset < base:
                yield _finish(_strip_blank(bytes(buf)), offset, base + len(buf), dropped)
            return
        if len(buf) > MAX_MESSAGE:  # keep only the tail a separator could start in
            dropped = True
            keep = len(buf) - 8
            del buf[:keep]
            base += keep
        scan = max(0, len(buf) - 8)
        block = stream.read(CHUNK)
        if not block:
            eof = True
        buf += block


def _strip_blank(raw: bytes) -> bytes:
    """The last message of the file without the blank line mbox may end with."""
    if raw.endswith(b"\n\r\n"):
        return raw[:-2]
    if raw.endswith(b"\n\n"):
        return raw[:-1]
    return raw


def _finish(raw: bytes, offset: int, end: int, too_big: bool) -> Message | Skipped:
    if too_big:
        return Skipped(offset, end, f"larger than {MAX_MESSAGE // (1024 * 1024)} MB")
    raw = _UNESCAPE.sub(rb"\1", raw)
    head, sep, _ = raw.partition(b"\n\n")
    if not sep:
        head, sep, _ = raw.partition(b"\r\n\r\n")
    if not raw.strip():
        return Skipped(offset, end, "empty")
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n")
    if not headers.keys() or (headers.defects and not headers.get("From")):
        return Skipped(offset, end, "no mail headers")
    return Message(raw=raw, labels=labels_of(headers.get_all("X-Gmail-Labels") or []),
                   subject=_text(headers.get("Subject")), date=_date(headers.get("Date")),
                   offset=offset, end=end)


def _text(value: object) -> str:
    """A header as text: MIME-encoded words decoded, line folds joined."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).replace("\r", "").replace("\n", "")
    except (ValueError, LookupError, UnicodeError):
        return str(value).replace("\r", "").replace("\n", "")


def _date(value: object) -> float | None:
    if value is None:
        return None
    try:
        return parsedate_to_datetime(str(value)).timestamp()
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def labels_of(values: Sequence[object]) -> tuple[str, ...]:
    """The labels of `X-Gmail-Labels` header values: split on commas outside quotes."""
    out: list[str] = []
    for value in values:
        text = _text(value)
        for row in csv.reader([text], skipinitialspace=True):
            out += [label.strip() for label in row if label.strip()]
    return tuple(dict.fromkeys(out))


def folders_and_flags(labels: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """(the IMAP folders a message with these labels goes in, its Maildir flags): a copy in
    each folder, as Gmail's own IMAP shows one message in each of its labels; `Archive` when
    it has no folder label; flags S (read, unless Gmail says Unread), F (Starred), D
    (Drafts). Folder names use `/` between levels, as Gmail's labels do."""
    folders: list[str] = []
    lower = {label.lower() for label in labels}
    for label in labels:
        key = label.lower()
        if key in IGNORED or key.startswith("category "):
            continue
        folders.append(SYSTEM_FOLDERS.get(key, label))
    flags = ("D" if "drafts" in lower else "") + ("F" if "starred" in lower else "") + (
        "" if "unread" in lower else "S")
    return tuple(dict.fromkeys(folders)) or (ARCHIVE,), flags
