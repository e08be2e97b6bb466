"""Upstream's own checksums files, and what roost remembers of the releases it verified.

A checksums file is read in the layouts upstreams publish: goreleaser's `checksums.txt` (one
`HEX  NAME` line per asset: Navidrome, GoToSocial), a single `sha256sum` line beside the file
(Friendica's `.sum256`, Akkoma's `.sha256`; the name may be missing), or BSD's
`SHA256 (NAME) = HEX`. `published` gives the digest listed for one file and refuses a file
listed twice with different digests.

`Remembered` is a small JSON file beside the downloads (`<data dir>/cache/upstream/
verified.json`, 0600): the digest each release file was last verified to have (so a rerun can
tell, without a download, whether the host already runs it) and, for an upstream that
publishes no checksums (trust on first use), the digest first seen for each version the
release reports. Removing the download folder forgets both.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError

_SHA = re.compile(r"^[0-9a-f]{64}$")
_BSD = re.compile(r"^SHA256 \((?P<name>[^)]+)\) = (?P<sha>[0-9a-fA-F]{64})$")
MAX_SUMS = 1 << 20
"""The largest checksums file read (bytes)."""
REMEMBERED = "verified.json"


def published(text: str, file: str, source: str) -> str:
    """The sha256 `text` (a checksums file named `source`) lists for `file`. A line without a
    name counts when it is the only line. Raises a one-line RoostError when none is listed or
    two differ."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    found: set[str] = set()
    for line in lines:
        bsd = _BSD.match(line)
        if bsd:
            digest, name = bsd["sha"].lower(), bsd["name"]
        else:
            parts = line.split()
            digest = parts[0].lower()
            name = parts[1].lstrip("*") if len(parts) > 1 else ""
        if not _SHA.match(digest):
            continue
        if name.rsplit("/", 1)[-1] == file or (not name and len(lines) == 1):
            found.add(digest)
    if not found:
        raise RoostError(f"{source} lists no sha256 for {file}; roost will not install it",
                         hint="the release may have been replaced: check upstream's release "
                              "page, or pass --option artifact=PATH --option sha256=HASH")
    if len(found) > 1:
        raise RoostError(f"{source} lists two different sha256 for {file}; roost will not "
                         "install it", hint="check upstream's release page")
    return found.pop()


def fetch(url: str, what: str, timeout: float = 30.0) -> str:
    """The text of a (small) checksums file. One-line RoostError when it cannot be had."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                raise RoostError(f"downloading {what} failed: the server answered "
                                 f"{r.status_code}", hint="try again later; roost installs "
                                 "no release it cannot check")
            data = b""
            for chunk in r.iter_bytes():
                data += chunk
                if len(data) > MAX_SUMS:
                    raise RoostError(f"{what} is larger than a checksums file can be")
    except httpx.HTTPError as exc:
        raise RoostError(f"downloading {what} failed ({type(exc).__name__})",
                         hint="check the connection; roost installs no release it cannot "
                              "check") from None
    return data.decode("utf-8", "replace")


def otp_version(data: bytes) -> str:
    """The version an Erlang/OTP release zip reports (its releases/start_erl.data holds
    `ERTS_VERSION RELEASE_VERSION`), or "" when it does not say."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in ("release/releases/start_erl.data", "releases/start_erl.data"):
                if name in z.namelist():
                    words = z.read(name)[:200].decode("utf-8", "replace").split()
                    if len(words) == 2 and re.match(r"^[0-9A-Za-z._+-]{1,40}$", words[1]):
                        return words[1]
    except (zipfile.BadZipFile, OSError, KeyError):
        return ""
    return ""


class Remembered:
    """verified.json in the download folder `cache`."""

    def __init__(self, cache: Path) -> None:
        self.path = cache / REMEMBERED
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            raw = {}
        files = raw.get("files") if isinstance(raw, dict) else None
        first = raw.get("first_use") if isinstance(raw, dict) else None
        self.files: dict[str, str] = {k: v for k, v in (files or {}).items()
                                      if isinstance(v, str) and _SHA.match(v)}
        self.first_use: dict[str, str] = {k: v for k, v in (first or {}).items()
                                          if isinstance(v, str) and _SHA.match(v)}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(self.path, json.dumps(
            {"files": self.files, "first_use": self.first_use}, indent=1, sort_keys=True))

    def verified(self, file: str) -> str:
        return self.files.get(file, "")

    def remember(self, file: str, sha: str) -> None:
        self.files[file] = sha
        self.save()

    @staticmethod
    def key(service: str, file: str, version: str) -> str:
        return f"{service} {file} {version}"
