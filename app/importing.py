"""`roost import KIND ARCHIVE --into SERVICE --host NAME`: a platform's archive into a service
on the person's host, the one use case the command line, plain mode and the full-screen app
call.

`MailImport` (KIND `mbox`, Gmail Takeout): the archive is read and checked on this computer
(roost.deploy.imports.mbox), the IMAP archive set up (or found set up) on the host by the
`mail-archive` recipe through the usual deploy, then the messages are sent in batches, each
stored by a rename so Dovecot never sees half a message. After each batch the place reached is
recorded (roost.deploy.imports.record): interrupted anywhere, the same command continues, and
a message already on the host is never stored twice.

Nothing here prints or prompts: progress goes to `on_event` as `ImportProgress` and `Said`.
"""

from __future__ import annotations

import stat
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.app.deploying import Deployment, Said
from roost.app.on_host import OnHost, no_passphrase
from roost.core.errors import RoostError
from roost.core.text import count, printable, size
from roost.deploy.hosts import Host
from roost.deploy.imports import facebook, mbox, x
from roost.deploy.imports.maildir import Batch, upload
from roost.deploy.imports.record import ImportJournal, ImportRecord, archive_key
from roost.deploy.imports.tree import Files, put_tree
from roost.deploy.imports.zipped import SafeZip
from roost.deploy.recipes.mail_archive import OWNER, imap_user, maildir
from roost.deploy.recipes.mail_archive import SERVICE as MAIL_ARCHIVE
from roost.deploy.session import public_identities

KINDS: dict[str, tuple[str, ...]] = {
    "mbox": (MAIL_ARCHIVE,),
    "x": ("static-blog",),
    "facebook": ("static-blog",),
}
"""Each kind of archive roost imports, and the services it can go into (the first is the
default of --into)."""
KIND_NAMES = {"mbox": "Gmail's mail (the .mbox file from Google Takeout)",
              "x": "X's (Twitter's) account archive (the .zip X sends you)",
              "facebook": "Facebook's posts and photos (Meta's .zip, JSON format)"}
"""Each kind in words, as the front ends offer it."""
_NO_PASSPHRASE = no_passphrase("the import needs the mail archive's login")


def check_kind(kind: str, into: str) -> str:
    """The service `kind` goes into (`into`, or the kind's first); a RoostError otherwise."""
    if kind not in KINDS:
        raise RoostError(f"roost cannot import {printable(kind, 40)!r} archives",
                         hint=f"the kinds it imports: {', '.join(KINDS)}; to load your "
                              "progress from a file, run roost progress import FILE")
    if not into:
        return KINDS[kind][0]
    if into not in KINDS[kind]:
        raise RoostError(f"{printable(kind, 40)} archives cannot go into "
                         f"{printable(into, 40)}",
                         hint=f"use --into {' or '.join(KINDS[kind])}")
    return into


def open_archive(path: Path) -> tuple[Any, int]:
    """The archive opened for reading, and its size: a regular file, not a zip. One
    RoostError line otherwise."""
    name = printable(path, 120)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RoostError(f"there is no file {name}", hint="check the path") from None
    except OSError as exc:
        raise RoostError(f"cannot read {name}: {exc.strerror or 'error'}",
                         hint="check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise RoostError(f"{name} is not a file", hint="give the archive file itself")
    try:
        f = path.open("rb")
    except OSError as exc:
        raise RoostError(f"cannot read {name}: {exc.strerror or 'error'}",
                         hint="check the file's permissions") from None
    if f.read(4) == b"PK\x03\x04":
        f.close()
        raise RoostError(f"{name} is a zip archive, not an mbox file",
                         hint="unpack the Takeout zip and give the .mbox file in its Mail "
                              "folder")
    f.seek(0)
    return f, st.st_size


@dataclass(frozen=True)
class ImportProgress:
    """Where an import is: messages stored, bytes of the archive read of its size."""

    stored: int
    read: int
    size: int

    def text(self) -> str:
        return (f"{count(self.stored, 'new message')} stored, {size(self.read)} of "
                f"{size(self.size)} read")


@dataclass(frozen=True)
class ImportSummary:
    messages: int
    bytes: int
    folders: Mapping[str, int]
    skipped: tuple[str, ...]
    stored: int = 0
    """Items stored by this run (0 for a dry run, or when all were there already)."""
    noun: str = "message"
    group: str = "folder"
    where: str = ""
    """Where the person finds what was imported (a line), once it is."""

    def lines(self, dry_run: bool = False) -> list[str]:
        verb = "would be imported" if dry_run else "are in the archive"
        out = [f"{count(self.messages, self.noun)} ({size(self.bytes)}) {verb}, in "
               f"{count(len(self.folders), self.group)}:"]
        out += [f"  {printable(name, 80)}: {n}" for name, n in sorted(self.folders.items())]
        if not dry_run and self.noun == "message":
            there = self.messages - self.stored
            out.append(f"Stored {count(self.stored, 'new message')}"
                       + (f"; {there} {'was' if there == 1 else 'were'} there already."
                          if there > 0 else "."))
        elif not dry_run:
            out.append(f"Stored {count(self.stored, 'new file')}; the pages are up to date.")
        if self.where and not dry_run:
            out.append(self.where)
        if self.skipped:
            out.append(f"Not imported, and why ({len(self.skipped)}):")
            out += [f"  {s}" for s in self.skipped[:50]]
        return out


@dataclass
class MailImport(OnHost):
    archive: Path
    host: Host
    home: Path
    into: str = MAIL_ARCHIVE
    options: Mapping[str, str] = field(default_factory=dict)
    passphrase: Callable[[], str] = _NO_PASSPHRASE

    def scan(self) -> ImportSummary:
        """Read the whole archive without sending anything: what would be imported (the
        dry run; also how a broken archive is refused before anything is written)."""
        f, _ = open_archive(self.archive)
        folders: Counter[str] = Counter()
        n = total = 0
        skipped: list[str] = []
        with f:
            for m in mbox.messages(f, printable(self.archive.name, 80)):
                if isinstance(m, mbox.Skipped):
                    skipped.append(f"at byte {m.offset}: {m.why}")
                    continue
                n += 1
                total += len(m.raw)
                for folder in mbox.folders_and_flags(m.labels)[0]:
                    folders[folder] += 1
        return ImportSummary(n, total, dict(folders), tuple(skipped))

    def run(self) -> ImportSummary:
        summary = self.scan()  # a file that is not an mbox stops here, nothing written
        d = Deployment(self.into, self.host, self.home, dict(self.options),
                       on_event=self.on_event, passphrase=self.passphrase, trust=self.trust,
                       ask_trust=self.ask_trust, sudo_password=self.sudo_password)
        self.on_event(Said(f"setting up {self.into} on {self.host.name} (nothing is redone "
                           "when it is there already)"))
        d.run()
        _, user = imap_user(public_identities(self.home), d.values.get("identity", ""))
        f, size = open_archive(self.archive)
        journal = ImportJournal(self.home, self.host.name, self.into,
                                archive_key(self.archive, size))
        record = journal.load()
        if record.offset:
            self.on_event(Said(f"continuing an import that stopped at "
                               f"{record.offset * 100 // max(size, 1)}%"))
        stored_before = record.stored
        with f, self.connect_to(self.host, self.home) as t:
            batch, end = Batch(), record.offset
            for m in mbox.messages(f, printable(self.archive.name, 80), start=record.offset):
                if isinstance(m, mbox.Skipped):
                    end = m.end
                    continue
                folders, flags = mbox.folders_and_flags(m.labels)
                for folder in folders:
                    batch.add(folder, m.id, flags, m.raw, m.date)
                end = m.end
                record.bytes += len(m.raw)
                if batch.full:
                    self._send(t, batch, user, journal, record, end, size)
                    batch = Batch()
            if batch.count:
                self._send(t, batch, user, journal, record, end, size)
        record.offset, record.finished = end, True
        record.skipped = list(summary.skipped)
        journal.save(record)
        return ImportSummary(summary.messages, summary.bytes, summary.folders,
                             summary.skipped, stored=record.stored - stored_before)

    def _send(self, t: Any, batch: Batch, user: str, journal: ImportJournal,
              record: ImportRecord, end: int, size: int) -> None:
        record.stored += upload(t, batch, maildir(user), OWNER, f"{end:x}")
        record.offset = end
        journal.save(record)
        self.on_event(ImportProgress(record.stored, end, size))




BLOG_ROOT = "/var/www/roost-blog"
"""static-blog's web root (roost.deploy.recipes.static_blog.WEB_ROOT): posts go in x/."""


READERS: dict[str, Callable[[SafeZip], x.XArchive]] = {
    "x": x.read_archive, "facebook": facebook.read_archive}
"""The kinds of posts archive XImport renders, each read into the same posts."""


@dataclass
class XImport(OnHost):
    """KINDs `x` and `facebook`: the archive's posts as pages in the static blog's folder of
    that name (x/, facebook/), the images beside them. The blog must be deployed first (its
    own pages stay as they are)."""

    archive: Path
    host: Host
    home: Path
    into: str = "static-blog"
    options: Mapping[str, str] = field(default_factory=dict)
    passphrase: Callable[[], str] = _NO_PASSPHRASE
    kind: str = "x"

    def _read(self) -> tuple[x.XArchive, list[tuple[str, bytes]], SafeZip]:
        z = SafeZip(self.archive)
        try:
            archive = READERS[self.kind](z)
            return archive, x.site(archive), z
        except BaseException:
            z.close()
            raise

    def _summary(self, archive: x.XArchive, pages: list[tuple[str, bytes]], z: SafeZip,
                 stored: int = 0, where: str = "") -> ImportSummary:
        months: Counter[str] = Counter(p.at.strftime("%Y-%m") for p in archive.posts)
        wanted = {m.file for p in archive.posts for m in p.media}
        missing = sorted(wanted - set(archive.media_files))
        skipped = [*archive.skipped, *(f"media {printable(m, 60)}: not in the archive"
                                       for m in missing)]
        total = sum(len(d) for _, d in pages) + sum(
            z.entries[archive.media_files[m]].file_size for m in wanted
            if m in archive.media_files)
        return ImportSummary(len(archive.posts), total, dict(months), tuple(skipped),
                             stored=stored, noun="post", group="month", where=where)

    def scan(self) -> ImportSummary:
        archive, pages, z = self._read()
        with z:
            return self._summary(archive, pages, z)

    def run(self) -> ImportSummary:
        archive, pages, z = self._read()
        with z, self.connect_to(self.host, self.home) as t:
            if not t.run(["test", "-d", BLOG_ROOT], sudo=True).ok:
                raise RoostError(f"the static blog is not on {self.host.name} yet",
                                 hint=f"deploy it first: roost deploy static-blog --host "
                                      f"{self.host.name}")
            root = f"{BLOG_ROOT}/{self.kind}"
            wanted = sorted({m.file for p in archive.posts for m in p.media}
                            & set(archive.media_files))
            total = sum(z.entries[archive.media_files[m]].file_size for m in wanted)
            stored = sent = 0
            batch = Files()
            for n, name in enumerate(wanted):
                data = z.read(archive.media_files[name])
                batch.add(f"media/{name}", data)
                sent += len(data)
                if batch.full or n == len(wanted) - 1:
                    stored += put_tree(t, batch, root, f"m{n}", replace=False)
                    self.on_event(ImportProgress(stored, sent, total))
                    batch = Files()
            page_batch = Files()
            for rel, data in pages:
                page_batch.add(rel, data)
            stored += put_tree(t, page_batch, root, "pages", replace=True)
        address = self.host.address or self.host.name
        return self._summary(archive, pages, z, stored,
                             where=f"Your posts are at http://{address}/{self.kind}/ on the "
                                   "blog.")


def import_job(kind: str, archive: Path, host: Host, home: Path, into: str = "",
               **kw: Any) -> MailImport | XImport:
    """The use case for `kind` (checked, with the service it goes into)."""
    service = check_kind(kind, into)
    if kind in READERS:
        return XImport(archive, host, home, into=service, kind=kind, **kw)
    return MailImport(archive, host, home, into=service, **kw)
