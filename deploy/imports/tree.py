"""Files into a folder on the host, as a web server serves them: a batch is one tar stream
unpacked in a staging folder beside the target, then each file renamed into place (a page
is never served half written). `replace=False` leaves a file already there alone (media, whose
names are stable), so a batch sent again costs nothing on the host."""

from __future__ import annotations

import io
import re
import tarfile

from roost.core.errors import RoostError
from roost.deploy.steps.base import script
from roost.deploy.transport import Transport

BATCH_BYTES = 8 * 1024 * 1024
_REL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}){0,3}$")

# $1 = the folder, $2 = the batch's name, $3 = replace or keep; the tar on standard input.
PUT_TREE = r"""set -eu
umask 022
root=$1; stage="$1/.roost-import-$2"
mkdir -p "$root"; rm -rf "$stage"; mkdir -p "$stage"
tar -x --no-same-owner -C "$stage" -f -
cd "$stage"
find . -type f | while IFS= read -r f; do
  f=${f#./}; d=${f%/*}; [ "$d" = "$f" ] || mkdir -p "$root/$d"
  if [ "$3" = replace ] || [ ! -e "$root/$f" ]; then
    chmod 644 "$f"; mv -f "$f" "$root/$f"; echo "stored $f"
  fi
done
cd "$root"; rm -rf "$stage"
"""


class Files:
    """Files packed for one upload, each under a name roost made (checked)."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        self._tar = tarfile.open(  # noqa: SIM115  (closed by data())
            fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT)
        self.count = 0
        self.bytes = 0

    def add(self, rel: str, data: bytes, mtime: float = 0) -> None:
        if not _REL.match(rel) or ".." in rel.split("/"):
            raise RoostError(f"{rel[:60]!r} is not a file name roost makes")
        info = tarfile.TarInfo(rel)
        info.size, info.mode, info.mtime = len(data), 0o644, int(mtime)
        self._tar.addfile(info, io.BytesIO(data))
        self.count += 1
        self.bytes += len(data)

    @property
    def full(self) -> bool:
        return self.bytes >= BATCH_BYTES

    def data(self) -> bytes:
        self._tar.close()
        return self._buf.getvalue()


def put_tree(t: Transport, files: Files, root: str, name: str, *, replace: bool) -> int:
    """Store `files` under `root` on the host (as root, mode 0644); how many were stored."""
    res = t.run(script(PUT_TREE, root, name, "replace" if replace else "keep"), sudo=True,
                stdin=files.data(), timeout=600)
    if not res.ok:
        raise RoostError(f"the host could not store the files: {res.tail(3)}",
                         hint="run the same import again: it continues where it stopped")
    return sum(1 for line in res.stdout.splitlines() if line.startswith("stored "))
