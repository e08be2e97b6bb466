"""roost's own data, copied off the machine roost runs on, and brought back.

The vault holds every repository passphrase of `roost backup`: without it the backups of the
services cannot be opened, so it must not live on one machine only. `roost backup --vault --to
HOST` (or `--to-path DIR`, a USB disk) copies roost's data folder there as one tar file:

- the vault travels as it is on disk, already sealed with the vault passphrase (nothing is
  opened, no passphrase is asked, so a timer or cron can run it);
- the other files (progress, hosts, known host keys, backup records, deploy options) hold no
  secret by design; the journals and caches are left out (a rerun rebuilds them).

On a host the copies go to `HOME_FOLDER` (root only, 0700, each file 0600); the last `KEEP`
are kept, so a damaged vault copied over a good one never replaces every good copy. Each copy
is read back and compared before it counts.

`roost restore --vault --from HOST` (or `--from-path DIR`) brings the newest (or a named)
copy back. A copy is checked like any hostile archive before anything is written: regular
files with plain names only, no links, nothing outside the data folder, bounded sizes. A file
that exists here and differs is replaced only with `replace=True`, and kept aside first.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from roost.app.on_host import OnHost
from roost.core import clock as clocks
from roost.core.atomic import atomic_write_bytes
from roost.core.errors import RoostError
from roost.deploy.backup import REPO_ROOT
from roost.deploy.hosts import Host
from roost.deploy.transport import Transport

HOME_FOLDER = f"{REPO_ROOT}/roost-home"
"""Where a host keeps the copies of roost's data (root only)."""
KEEP = 10
"""How many copies a host or folder keeps; older ones are removed after a good copy."""
PATH_FOLDER = "roost-home"
"""The folder the copies go to under `--to-path DIR`."""
COPY_NAME = re.compile(r"roost-home-\d{8}T\d{6}Z\.tar")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
MAX_FILE = 8 * 1024 * 1024
MAX_TOTAL = 32 * 1024 * 1024
MAX_FILES = 200
LEFT_OUT = (".lock",)
VAULT = "keys.vault"


def _files(home: Path) -> dict[str, bytes]:
    """The data folder's own files: top level, regular, not locks or temp files."""
    out: dict[str, bytes] = {}
    if not home.is_dir():
        return out
    for p in sorted(home.iterdir()):
        if (p.is_symlink() or not p.is_file() or p.name.endswith(LEFT_OUT)
                or ".tmp" in p.name or not FILE_NAME.fullmatch(p.name)):
            continue
        out[p.name] = p.read_bytes()
    return out


def pack(home: Path, stamp: str) -> tuple[str, bytes]:
    """(file name, tar bytes) of the data folder's files, named after `stamp`."""
    files = _files(home)
    if not files:
        raise RoostError(f"there is nothing of roost's in {home} to copy",
                         hint="make a plan or an identity first")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    return f"roost-home-{stamp}.tar", buf.getvalue()


def unpack(data: bytes, origin: str) -> dict[str, bytes]:
    """The files of a copy, after checking it is one; RoostError (one line) when not."""
    def bad(why: str) -> RoostError:
        return RoostError(f"{origin} is not a copy of roost's data ({why})",
                          hint="give another copy with --archive, or check the file")

    out: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar:
                if not m.isreg():
                    raise bad(f"{m.name[:60]!r} is not a plain file")
                if not FILE_NAME.fullmatch(m.name) or m.name in out:
                    raise bad(f"it names {m.name[:60]!r}")
                if m.size > MAX_FILE or len(out) >= MAX_FILES:
                    raise bad("it is larger than roost's data can be")
                total += m.size
                if total > MAX_TOTAL:
                    raise bad("it is larger than roost's data can be")
                fh = tar.extractfile(m)
                if fh is None:
                    raise bad(f"{m.name[:60]!r} cannot be read")
                out[m.name] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise bad(f"not a readable tar file: {str(exc)[:80]}") from None
    if not out:
        raise bad("it is empty")
    return out


def place(home: Path, files: dict[str, bytes], stamp: str,
          replace: bool = False) -> tuple[list[str], list[str]]:
    """Write the files into `home`; returns (written, kept aside). Files that are the same
    are left alone; a differing one needs `replace` and is kept as NAME.before-restore-STAMP.
    Nothing is written when one differs and `replace` is False."""
    differ = [n for n, d in files.items()
              if (home / n).is_file() and (home / n).read_bytes() != d]
    if differ and not replace:
        raise RoostError(f"{', '.join(differ)} here differ from the copy",
                         hint="add --yes to replace them (they are kept aside first)")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[str] = []
    aside: list[str] = []
    for name, data in files.items():
        target = home / name
        if target.is_file() and target.read_bytes() == data:
            continue
        if target.exists():
            kept = home / f"{name}.before-restore-{stamp}"
            target.replace(kept)
            aside.append(kept.name)
        atomic_write_bytes(target, data, 0o600)
        written.append(name)
    return written, aside


def _stamp(clock: clocks.Clock) -> str:
    return clock().strftime("%Y%m%dT%H%M%SZ")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class HomeCopies(OnHost):
    """Copies of roost's data folder `home` on another host or in a folder."""

    home: Path
    clock: clocks.Clock = clocks.system

    def _connect(self, host: Host) -> Transport:
        return self.connect_to(host, self.home)

    # --- on a host -------------------------------------------------------------------------

    def _listed(self, t: Transport) -> list[str]:
        res = t.run(["ls", "-1", "--", HOME_FOLDER], sudo=True)
        return sorted(n for n in res.stdout.split() if COPY_NAME.fullmatch(n)) if res.ok else []

    def copy_to(self, host: Host) -> list[str]:
        """Copy the data folder to `host`; proven by reading it back."""
        name, data = pack(self.home, _stamp(self.clock))
        with self._connect(host) as t:
            made = t.run(["install", "-d", "-m", "0700", "-o", "root", "-g", "root", "--",
                          REPO_ROOT, HOME_FOLDER], sudo=True)
            if not made.ok:
                raise RoostError(f"{host.name} cannot make {HOME_FOLDER}: {made.tail(1)}",
                                 hint="check the host's disk and that roost may use sudo")
            path = f"{HOME_FOLDER}/{name}"
            t.put_file(path, data, mode=0o600, owner="root", group="root")
            back = t.get_file(path)
            if back is None or _digest(back) != _digest(data):
                raise RoostError(f"the copy on {host.name} does not read back as written",
                                 hint="check the host's disk, then run again")
            old = self._listed(t)[:-KEEP]
            if old:
                t.run(["rm", "-f", "--", *(f"{HOME_FOLDER}/{n}" for n in old)], sudo=True)
        return self._said(name, data, host.name)

    def copies_on(self, host: Host) -> list[str]:
        with self._connect(host) as t:
            return self._listed(t)

    def restore_from(self, host: Host, archive: str | None = None,
                     replace: bool = False) -> list[str]:
        with self._connect(host) as t:
            name = self._pick(self._listed(t), archive, host.name)
            data = t.get_file(f"{HOME_FOLDER}/{name}")
        if data is None:
            raise RoostError(f"{name} went missing on {host.name}", hint="run again")
        return self._restored(name, data, f"{name} on {host.name}", replace)

    # --- in a folder (a USB disk) ----------------------------------------------------------

    def copy_to_path(self, folder: Path) -> list[str]:
        if not folder.is_dir():
            raise RoostError(f"there is no folder {str(folder)[:80]}",
                             hint="mount the disk, or give a folder that exists")
        name, data = pack(self.home, _stamp(self.clock))
        where = folder / PATH_FOLDER
        where.mkdir(mode=0o700, exist_ok=True)
        target = where / name
        atomic_write_bytes(target, data, 0o600)
        if _digest(target.read_bytes()) != _digest(data):
            raise RoostError(f"the copy in {where} does not read back as written",
                             hint="check the disk, then run again")
        for old in sorted(p.name for p in where.iterdir()
                          if COPY_NAME.fullmatch(p.name))[:-KEEP]:
            (where / old).unlink(missing_ok=True)
        return [*self._said(name, data, str(where)),
                "A copy on a disk that stays beside this machine is lost with it in a fire "
                "or a theft: keep one on another host too (--to HOST)."]

    def restore_from_path(self, folder: Path, archive: str | None = None,
                          replace: bool = False) -> list[str]:
        where = folder / PATH_FOLDER
        names = sorted(p.name for p in where.iterdir()
                       if COPY_NAME.fullmatch(p.name)) if where.is_dir() else []
        name = self._pick(names, archive, str(where))
        return self._restored(name, (where / name).read_bytes(), str(where / name), replace)

    # --- shared ----------------------------------------------------------------------------

    @staticmethod
    def _pick(names: list[str], archive: str | None, where: str) -> str:
        if archive is None:
            if not names:
                raise RoostError(f"{where} holds no copy of roost's data",
                                 hint="make one with `roost backup --vault --to HOST`")
            return names[-1]
        if archive not in names:
            raise RoostError(f"{where} holds no copy named {archive[:60]!r}",
                             hint=f"the copies there: {', '.join(names[-3:]) or 'none'}")
        return archive

    def _said(self, name: str, data: bytes, where: str) -> list[str]:
        files = unpack(data, name)
        vault = ("the sealed vault, " if VAULT in files
                 else "no vault yet (make an identity first), ")
        return [f"Copied roost's data to {where}: {name}, {len(files)} files: {vault}"
                "progress, hosts and backup records.",
                f"It keeps the last {KEEP} copies. The vault travels sealed: it opens with your "
                "vault passphrase only."]

    def _restored(self, name: str, data: bytes, origin: str, replace: bool) -> list[str]:
        files = unpack(data, origin)
        written, aside = place(self.home, files, _stamp(self.clock), replace)
        lines = [f"Restored roost's data from {origin}: "
                 + (f"{', '.join(written)} written." if written
                    else "every file was already the same here.")]
        if aside:
            lines.append(f"Kept what it replaced as {', '.join(aside)}.")
        if VAULT in written:
            lines.append("The vault opens with the passphrase it had when it was copied.")
        return lines
