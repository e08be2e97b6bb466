"""Stand-in upstream release files (a .tar.gz or an OTP-style .zip) built from given members,
with fixed times so the same members always give the same bytes and sha256, and the local
release server that hands them out with upstream's checksums files (ReleaseServer)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from roost.deploy.recipes.upstream import Artifact

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


class ReleaseServer:
    """Stand-in releases served on 127.0.0.1 in upstream's layout, for `--option mirror`: each
    release file at its upstream URL's path (query included), upstream's checksums file at
    its own path beside it, written as upstream writes it (`HEX  NAME` lines, one per file the
    checksums file covers: goreleaser's checksums.txt lists every asset of the release,
    Friendica's .sum256 and Akkoma's .sha256 one). `tamper` serves other bytes under a file's
    name while its checksums file still lists the real digest; `relist` changes what the
    checksums file says. `seen` is every path asked for."""

    def __init__(self) -> None:
        from routeserver import RouteServer

        self.server = RouteServer()
        self.base = self.server.base
        self.listed: dict[str, dict[str, str]] = {}
        """checksums file path -> {file name: listed sha256}"""

    @staticmethod
    def _path(url: str) -> str:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        return u.path + (f"?{u.query}" if u.query else "")

    def publish(self, art: Artifact, data: bytes) -> str:
        """Serve `data` as the release `art` (a roost Artifact, upstream's URLs), listed in its
        checksums file when it has one; its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        self.server.routes[self._path(art.url)] = (200, "application/octet-stream", data)
        if art.sums:
            self.relist(art, sha)
        return sha

    def tamper(self, art: Artifact, data: bytes) -> None:
        self.server.routes[self._path(art.url)] = (200, "application/octet-stream", data)

    def relist(self, art: Artifact, sha: str) -> None:
        path = self._path(art.sums)
        self.listed.setdefault(path, {})[art.file] = sha
        text = "".join(f"{s}  {name}\n" for name, s in sorted(self.listed[path].items()))
        self.server.routes[path] = (200, "text/plain", text)

    @property
    def seen(self) -> list[str]:
        return [p for p, _h in self.server.seen]

    def close(self) -> None:
        self.server.close()
