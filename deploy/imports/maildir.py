"""Messages into a Maildir on the host, the way Dovecot reads it (Maildir++ folders).

Pure parts: `folder_dir` (an IMAP folder name -> its folder inside the Maildir, each level in
IMAP's modified UTF-7, RFC 3501 5.1.3) and `file_name` (a message's stable id and flags -> a
Maildir file name, `ID.roost:2,FLAGS`). `Batch` packs messages into a tar stream, each file
dated with the message's own date (Dovecot shows a Maildir file's time as when it arrived).

`upload(t, batch, root, user)` sends a batch to the host in one command, run as the mailbox's
own user: the files are unpacked in the Maildir's tmp/ folder, then each is renamed into its
folder's cur/ (a rename: Dovecot never sees half a message), unless a file of the same id is
there already under any flags. So a batch sent twice, or a run cut anywhere, never leaves a
message twice.
"""

from __future__ import annotations

import base64
import io
import re
import tarfile

from roost.core.errors import RoostError
from roost.deploy.steps.base import script
from roost.deploy.transport import Transport

_ID = re.compile(r"^[0-9a-f]{32}$")
_FLAGS = re.compile(r"^[A-Z]*$")
BATCH_BYTES = 8 * 1024 * 1024
"""A batch is sent once it holds this much (one command per batch, not per message)."""

# $1 = the Maildir, $2 = the batch's name; the tar stream on standard input.
MOVE_IN = r"""set -eu
umask 077
root=$1; stage="$1/tmp/roost-import-$2"
mkdir -p "$root/cur" "$root/new" "$root/tmp"
rm -rf "$stage"; mkdir -p "$stage"
tar -x -C "$stage" -f -
cd "$stage"
find . -type f | while IFS= read -r f; do
  f=${f#./}; dir=${f%/*}; [ "$dir" = "$f" ] && dir=.; name=${f##*/}; id=${name%%.roost:*}
  box="$root/$dir"; box=${box%/cur}
  mkdir -p "$box/cur" "$box/new" "$box/tmp"
  there=
  for g in "$box"/cur/"$id".* "$box"/new/"$id".*; do [ -e "$g" ] && there=1; break; done
  if [ -z "$there" ]; then mv -f "$f" "$box/cur/$name"; echo "$id"; fi
done
cd "$root"; rm -rf "$stage"
"""


def _mutf7(text: str) -> str:
    """IMAP's modified UTF-7: printable ASCII as is (`&` as `&-`), other runs as `&...-` in
    base64 of UTF-16BE with `,` for `/`."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",")
                       + "-")
            run.clear()

    for ch in text:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def clean_folder(name: str) -> str:
    """A folder name Dovecot takes: levels split on `/`, each without control characters,
    `.` (Maildir++'s own separator) or leading/trailing spaces; an empty level is `_`."""
    levels = []
    for level in name.split("/"):
        level = "".join(c if c.isprintable() else "_" for c in level).replace(".", "_").strip()
        levels.append(level or "_")
    return "/".join(levels)


def folder_dir(folder: str) -> str:
    """The folder inside the Maildir that holds IMAP folder `folder` (`INBOX` is the
    Maildir itself): `.Work.Projects` for `Work/Projects`, non-ASCII in modified UTF-7."""
    if folder.upper() == "INBOX":
        return "."
    return "." + ".".join(_mutf7(level) for level in clean_folder(folder).split("/"))


def file_name(message_id: str, flags: str) -> str:
    if not _ID.match(message_id) or not _FLAGS.match(flags):
        raise RoostError("a message id or its flags are not what roost makes")
    return f"{message_id}.roost:2,{''.join(sorted(flags))}"


class Batch:
    """Messages packed for one upload: a tar stream of `FOLDER/cur/NAME` files."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._tar = tarfile.open(  # noqa: SIM115  (closed by data())
            fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT)
        self.count = 0
        self.bytes = 0

    def add(self, folder: str, message_id: str, flags: str, raw: bytes,
            date: float | None) -> None:
        info = tarfile.TarInfo(f"{folder_dir(folder)}/cur/{file_name(message_id, flags)}")
        info.size = len(raw)
        info.mode = 0o600
        info.mtime = int(date) if date is not None and 0 < date < 2**33 else 0
        self._tar.addfile(info, io.BytesIO(raw))
        self.count += 1
        self.bytes += len(raw)

    @property
    def full(self) -> bool:
        return self.bytes >= BATCH_BYTES

    def data(self) -> bytes:
        self._tar.close()
        return self._buf.getvalue()


def upload(t: Transport, batch: Batch, root: str, user: str, name: str) -> int:
    """Put `batch`'s messages into the Maildir `root` on the host as `user` (see the module's
    doc: each message at most once); how many messages were new there."""
    argv = ["runuser", "-u", user, "--", *script(MOVE_IN, root, name)]
    res = t.run(argv, sudo=True, stdin=batch.data(), timeout=600)
    if not res.ok:
        raise RoostError(f"the host could not store the messages: {res.tail(3)}",
                         hint="run the same import again: it continues where it stopped")
    return len({line for line in res.stdout.split() if _ID.match(line)})
