"""Stand-in upstream release files (a .tar.gz or an OTP-style .zip) built from given members,
with fixed times so the same members always give the same bytes and sha256."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

MTIME = 1700000000
ZIP_TIME = (2025, 10, 24, 0, 0, 0)

Member = tuple[str, bytes, int]
"""(path inside the release, content, file mode)."""


def release_archive(path: Path, members: Iterable[Member], *, dirs: Iterable[str] = (),
                    kind: str = "tar.gz") -> str:
    """Write the release file `path` (`kind` "tar.gz" or "zip"); its sha256 in hex.
    `dirs` are folder entries written first (tar only)."""
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data, mode in members:
                zinfo = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                zinfo.external_attr = (0o100000 | mode) << 16
                zinfo.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zinfo, data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for d in dirs:
                info = tarfile.TarInfo(d)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
                tar.addfile(info)
            for name, data, mode in members:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, MTIME
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()
