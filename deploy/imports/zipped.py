"""A platform's zip archive opened as a stranger's file: every entry checked before one byte
is used, so a hostile archive is refused in one line and nothing is written.

Refused: entries with an absolute path, `..`, a backslash or a control character in their
name; symbolic links (zip keeps a Unix mode in each entry's external attributes); absurd
compression (an entry expanding more than 200 times, or the whole archive more than 8 GB: a
zip bomb); a file that is not a zip. Reading an entry stops at the size its header declared,
so a lying header cannot expand further either.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from roost.core.errors import RoostError
from roost.core.text import printable

MAX_TOTAL = 8 * 1024**3
MAX_RATIO = 200
MAX_ENTRIES = 200_000


class SafeZip:
    def __init__(self, path: Path) -> None:
        name = printable(path.name, 80)
        self.name = name
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise RoostError(f"there is no file {name}", hint="check the path") from None
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            why = "it is not a zip archive" if isinstance(exc, zipfile.BadZipFile) else str(
                getattr(exc, "strerror", "") or "it cannot be read")
            raise RoostError(f"{name} cannot be opened: {why}",
                             hint="give the archive's .zip file as the platform sent it") from None
        try:
            self.entries = self._check()
        except BaseException:
            self.zip.close()
            raise

    def _check(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise self._refuse(f"it has more than {MAX_ENTRIES} entries")
        total = 0
        out: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            n = info.filename
            parts = n.split("/")
            if (n.startswith("/") or "\\" in n or ".." in parts or ":" in parts[0]
                    or any(not c.isprintable() for c in n)):
                raise self._refuse(f"the entry {printable(n, 60)!r} would be written outside "
                                   "the import's folder or has control characters")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise self._refuse(f"the entry {printable(n, 60)!r} is a symbolic link")
            total += info.file_size
            if info.file_size > MAX_RATIO * max(info.compress_size, 1024) or total > MAX_TOTAL:
                raise self._refuse("it expands to far more than it holds (a zip bomb)")
            if not info.is_dir():
                out[n] = info
        return out

    def _refuse(self, why: str) -> RoostError:
        return RoostError(f"{self.name} is refused: {why}",
                          hint="nothing was written; ask the platform for a new archive")

    def find(self, *names: str) -> str | None:
        """The first of `names` the archive holds (also under one top folder)."""
        for n in names:
            if n in self.entries:
                return n
            for e in self.entries:
                if e.endswith("/" + n) and e.count("/") == n.count("/") + 1:
                    return e
        return None

    def read(self, name: str) -> bytes:
        """An entry's bytes, never more than its header declared."""
        info = self.entries[name]
        try:
            with self.zip.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError,
                NotImplementedError) as exc:
            raise RoostError(f"{self.name}: {printable(name, 60)} cannot be read ({exc})",
                             hint="the archive is damaged: download it again") from None
        if len(data) > info.file_size:
            raise self._refuse(f"{printable(name, 60)} holds more than its header says")
        return data

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
