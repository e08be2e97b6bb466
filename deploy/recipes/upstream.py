"""Upstream release artifacts (a tar.gz with a binary, or a zip such as an Erlang/OTP release)
for recipes Debian does not package.

The pinned versions, file names, URLs, upstream's checksums files and sha256 hashes are data:
`upstream.toml` next to this module. On the controller the file is downloaded (httpx) into
`<data dir>/cache/upstream/`, or taken from `--option artifact=PATH`; either way its sha256 is
checked before it goes anywhere: a download against upstream's own checksums file (fetched from
the same release, in upstream's layout, see checksums.py) and, where roost pins a sha256 too,
against the pin (the two must agree); a file of the person's own against the pin or their
`--option sha256`. Where upstream publishes no checksums (Pleroma) roost trusts the first file
it sees for a version and refuses a different one later (`trust = "first-use"`). One step,
`InstallArtifact`, does this for every recipe: it uploads the verified file over the transport
(SFTP with SSH), checks its sha256 again on the host before anything is unpacked, unpacks it
into `/opt/<service>/releases/<sha256 prefix>/` and points `/opt/<service>/current` at it. A
mismatch anywhere stops the step with one line naming the file and both digests; the bad file
is deleted, so a rerun downloads it again.
A zip is recognised by its first bytes (PK\\x03\\x04), not its name, and unpacked with unzip
(which keeps the files' execute bits); when it holds one top folder `release/` (how Pleroma and
Akkoma ship their OTP releases) that folder's contents become the release. `binary` may be a
relative path inside the release (`bin/pleroma`).

Options every upstream recipe takes (`artifact`, `sha256`, `mirror`): [shared.upstream] in
recipes/options.toml.

The skeleton the upstream-release services behind nginx share (gotosocial, navidrome,
akkoma/pleroma): `UpstreamService.read` reads their common options (port, listen, domain,
address, the release) and gives the release's install step and the nginx proxy;
`release_layout` the steps that make the service's user and folders and install the
release."""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import re
import stat
import tarfile
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.options import Values
from roost.deploy.recipe import TargetHost
from roost.deploy.recipes import checksums
from roost.deploy.recipes.host import reach_address
from roost.deploy.steps import EnsureDir, EnsureUser, Step, StepContext, load_script, script
from roost.deploy.transport import Transport

ARCHES = {
    "x86_64": "x86_64", "amd64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64",
    "armv7l": "armv7l", "armv7": "armv7l", "armhf": "armv7l",
}
_SHA = re.compile(r"^[0-9a-f]{64}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_BINARY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*(/[A-Za-z0-9][A-Za-z0-9._+-]*)*$")
ZIP_MAGIC = b"PK\x03\x04"
UPSTREAM_CACHE = Path("cache", "upstream")
"""Where downloads are kept below the data folder; its caller gives `home / UPSTREAM_CACHE`."""
MAX_BYTES = 512 * 1024 * 1024
MAX_UNPACKED = 2 * 1024 * 1024 * 1024
"""The most an archive may unpack to (bytes); more is refused before upload (an archive bomb)."""
MAX_MEMBERS = 100_000


@dataclass(frozen=True)
class Artifact:
    service: str
    version: str
    arch: str
    file: str
    url: str
    sha256: str
    """Empty when not pinned."""
    binary: str
    sums: str = ""
    """The URL of upstream's checksums file for this release ("" when upstream has none)."""
    trust: str = ""
    """FIRST_USE when upstream publishes no checksums and roost trusts the first file seen."""

    @property
    def sums_name(self) -> str:
        return sums_name(self.sums)


FIRST_USE = "first-use"


def sums_name(url: str) -> str:
    """The checksums file's name, as upstream calls it (the last part of its URL's path)."""
    return urlsplit(url).path.rsplit("/", 1)[-1] or "the checksums file"


def load_pins() -> dict[str, Any]:
    text = (importlib.resources.files("roost.deploy.recipes") / "upstream.toml").read_text(
        "utf-8")
    return tomllib.loads(text)


def upstream_arch(arch: str) -> str:
    """Host architecture (uname -m or its aliases) -> the key used in upstream.toml."""
    a = ARCHES.get((arch or "").strip().lower())
    if a is None:
        raise RoostError(f"no upstream release for the {arch or 'unknown'} architecture",
                         hint="roost has releases for x86_64, aarch64 and armv7l hosts")
    return a


def check_sha256(value: str) -> str:
    v = value.strip().lower()
    if not _SHA.match(v):
        raise RoostError("the sha256 option is not a sha256 hash",
                         hint="give the 64 hexadecimal characters of the file's sha256")
    return v


def pinned(service: str, arch: str, pins: Mapping[str, Any] | None = None) -> Artifact:
    table = (pins if pins is not None else load_pins()).get(service)
    if not isinstance(table, Mapping):
        raise RoostError(f"roost has no pinned release for {service}")
    a = upstream_arch(arch)
    entry = table.get("arch", {}).get(a)
    if not isinstance(entry, Mapping):
        raise RoostError(f"{service} has no release for {a}",
                         hint="give one with --option artifact=PATH --option sha256=HASH")
    version = str(table["version"])
    flavour = str(entry.get("flavour", ""))
    file = str(entry["file"]).format(version=version, flavour=flavour)
    sha = str(entry.get("sha256", "")).lower()
    if sha and not _SHA.match(sha):
        raise RoostError(f"the pinned sha256 for {file} is malformed", hint="reinstall roost")
    sums = str(table.get("sums", ""))
    trust = str(table.get("trust", ""))
    if trust not in ("", FIRST_USE):
        raise RoostError(f"the trust of {service}'s release is not understood",
                         hint="reinstall roost")
    return Artifact(service=service, version=version, arch=a, file=file,
                    url=str(table["url"]).format(version=version, file=file, flavour=flavour),
                    sha256=sha,
                    binary=str(table.get("binary", service)),
                    sums=sums.format(version=version, file=file, flavour=flavour),
                    trust=trust)


def mirrored(url: str, mirror: str) -> str:
    """`url` fetched from `mirror` (a server with upstream's layout): its scheme, host and port
    replaced by the mirror's, the mirror's path put before upstream's."""
    if not url or not mirror:
        return url
    m, u = urlsplit(mirror), urlsplit(url)
    rest = u.path + (f"?{u.query}" if u.query else "")
    return f"{m.scheme}://{m.netloc}{m.path.rstrip('/')}{rest}"


def choose(service: str, host: TargetHost | None, options: Mapping[str, str]
           ) -> tuple[Artifact, str]:
    """The artifact for this host and options, and the user's local file ("" for none).
    Host arch defaults to x86_64 when the host's facts are unknown (dry runs). The option
    `mirror` fetches the release and its checksums file from a server with upstream's layout."""
    arch = TargetHost.of(host).arch or "x86_64"
    art = pinned(service, arch)
    mirror = str(options.get("mirror", "") or "").strip()
    if mirror:
        mirror = validate.base_url(mirror, "mirror address")
        art = replace(art, url=mirrored(art.url, mirror), sums=mirrored(art.sums, mirror))
    sha = check_sha256(options["sha256"]) if options.get("sha256") else art.sha256
    local = options.get("artifact", "")
    if local:
        p = Path(local).expanduser()
        if not p.is_file():
            raise RoostError(f"{p} is not a file", hint="give the release file you downloaded")
        local = str(p.resolve())
        name = p.name if _FILE.match(p.name) else art.file
        art = replace(art, file=name, sha256=sha)
    else:
        art = replace(art, sha256=sha)
    return art, local


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _not_pinned(art: Artifact) -> RoostError:
    return RoostError(f"{art.file} has no pinned sha256, so roost will not download it",
                      hint="check the hash upstream publishes and pass --option sha256=HASH")


def first_use_words(art: Artifact) -> str:
    """What roost says before downloading a release whose upstream publishes no checksums."""
    return (f"{art.service.capitalize()} publishes no checksums; roost will remember this "
            "file's hash and refuse it if it ever changes for the same version")


def expected_sha256(art: Artifact, timeout: float = 30.0) -> tuple[str, str]:
    """(the sha256 the download must have, where it comes from in words); ("", "") for trust
    on first use. With a checksums file it is fetched now, must list the file and agree with
    the pin where there is one. Raises a one-line RoostError, having downloaded nothing else."""
    if art.sums:
        name = art.sums_name
        listed = checksums.published(checksums.fetch(art.sums, name, timeout), art.file, name)
        if art.sha256 and listed != art.sha256:
            raise RoostError(f"{name} says {art.file} has sha256 {listed}, but roost's pin is "
                             f"{art.sha256}; nothing was downloaded",
                             hint="upstream's release or roost's pin changed: do not install "
                                  "it until they agree")
        return listed, name
    if art.sha256:
        return art.sha256, "the pinned sha256"
    if art.trust == FIRST_USE:
        return "", ""
    raise _not_pinned(art)


def download(art: Artifact, cache: Path, timeout: float = 60.0,
             say: Callable[[str], None] | None = None) -> Path:
    """Download `art` into the folder `cache` (or reuse a verified copy) and return its path.
    The file is verified against upstream's checksums file and roost's pin (expected_sha256),
    or trusted on first use (`say` is told so first); a file whose sha256 differs is deleted
    and a one-line RoostError naming both digests raised, so a rerun downloads it again. No
    request is made for a file neither pinned, nor listed, nor trusted on first use."""
    if not art.sha256 and not art.sums and art.trust != FIRST_USE:
        raise _not_pinned(art)
    if not _FILE.match(art.file):
        raise RoostError(f"{art.file[:60]!r} is not a usable file name")
    folder = cache
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = folder / art.file
    memory = checksums.Remembered(folder)
    known = memory.verified(art.file)
    held = file_sha256(dest) if dest.is_file() else ""
    if held and held == known and (held == art.sha256 or (not art.sha256 and art.trust)):
        return dest  # verified when it was downloaded
    expected, source = expected_sha256(art, min(timeout, 30.0))
    if held and expected and held == expected:
        memory.remember(art.file, held)
        return dest
    if not expected and say is not None:
        say(first_use_words(art))
    import httpx

    part = folder / (art.file + ".part")
    try:
        with httpx.stream("GET", art.url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                raise RoostError(f"downloading {art.file} failed: the server answered "
                                 f"{r.status_code}", hint="try again later, or download it "
                                 "yourself and pass --option artifact=PATH")
            size = 0
            with part.open("wb") as f:
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise RoostError(f"{art.file} is larger than expected")
                    f.write(chunk)
    except httpx.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise RoostError(f"downloading {art.file} failed ({type(exc).__name__})",
                         hint="check the connection, or pass --option artifact=PATH") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    got = file_sha256(part)
    if expected and got != expected:
        part.unlink(missing_ok=True)
        dest.unlink(missing_ok=True)
        raise RoostError(f"{art.file} has sha256 {got}, but {source} says {expected}; it was "
                         "deleted and nothing was installed",
                         hint="the download was damaged or replaced: deploy again to download "
                              "it again, and if it happens again do not use it")
    if not expected:
        version = checksums.otp_version(part.read_bytes()) or art.version
        key = checksums.Remembered.key(art.service, art.file, version)
        seen = memory.first_use.get(key, "")
        if seen and seen != got:
            part.unlink(missing_ok=True)
            dest.unlink(missing_ok=True)
            raise RoostError(f"{art.file} ({art.service} {version}) has sha256 {got}, but roost "
                             f"first saw {seen} for that version; it was deleted and nothing "
                             "was installed", hint="upstream replaced the release under the "
                             "same version, or the download was tampered with: do not use it")
        memory.first_use[key] = got
    part.replace(dest)
    memory.remember(art.file, got)
    return dest


def obtain(art: Artifact, local: str = "", cache: Path | None = None,
           say: Callable[[str], None] | None = None) -> Path:
    """The verified file on this computer: the user's own (`local`) or a download into
    `cache` (the caller's folder: `home / UPSTREAM_CACHE`, through StepContext.cache)."""
    if not local:
        if cache is None:
            raise RoostError(f"roost was given no folder to download {art.file} into",
                             hint="download it yourself and pass --option artifact=PATH")
        return download(art, cache, say=say)
    if not art.sha256:
        raise _not_pinned(art)
    p = Path(local)
    if not p.is_file():
        raise RoostError(f"{p} is not a file", hint="give the release file you downloaded")
    got = file_sha256(p)
    if got != art.sha256:
        raise RoostError(f"{p.name} has sha256 {got}, not the expected sha256 {art.sha256}",
                         hint="download the release again, or pass its hash with "
                              "--option sha256=HASH")
    return p


def _member_parts(name: str) -> list[str] | None:
    """The path parts of an archive member's name, or None when unpacking it could land
    outside the release folder (absolute, `..`, a drive letter or backslashes)."""
    if not name or name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return parts


def _link_target_ok(target: str) -> bool:
    """A link target that cannot leave the release: relative, its `..` parts only at the start
    (each link is checked against its own folder, see _check_members)."""
    if not target or target.startswith("/") or "\\" in target or "\0" in target:
        return False
    parts = [p for p in target.split("/") if p not in ("", ".")]
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    return ".." not in parts[ups:]


def _check_members(members: list[tuple[str, str, int, str]], binary: str, file: str) -> None:
    """members: (name, kind "file"|"dir"|"link"|"other", size, link target). Raises a one-line
    RoostError for anything that could write outside the release or fill the host's disk."""
    if len(members) > MAX_MEMBERS:
        raise RoostError(f"{file} holds more than {MAX_MEMBERS} files; roost will not unpack it",
                         hint="check that it is the real release")
    total = 0
    links: dict[tuple[str, ...], str] = {}
    paths: dict[tuple[str, ...], str] = {}
    for name, kind, size, target in members:
        parts = _member_parts(name)
        if parts is None:
            raise RoostError(f"{file} has a file outside its folder ({name[:60]!r}); roost "
                             "will not unpack it", hint="check that it is the real release")
        if kind == "other":
            raise RoostError(f"{file} holds a device or pipe ({name[:60]!r}); roost will not "
                             "unpack it", hint="check that it is the real release")
        total += max(size, 0)
        if total > MAX_UNPACKED:
            raise RoostError(f"{file} unpacks to more than {MAX_UNPACKED // 2**30} GB; roost "
                             "will not unpack it", hint="check that it is the real release")
        if kind == "link":
            depth = len(parts) - 1
            ups = len(target.split("/")) - len([p for p in target.split("/") if p != ".."])
            if not _link_target_ok(target) or ups > depth:
                raise RoostError(f"{file} has a link pointing outside its folder "
                                 f"({name[:60]!r}); roost will not unpack it",
                                 hint="check that it is the real release")
            links[tuple(parts)] = target
        paths[tuple(parts)] = kind
    for key in paths:
        for i in range(1, len(key)):
            if key[:i] in links:
                raise RoostError(f"{file} has a file inside a link ({'/'.join(key)[:60]!r}); "
                                 "roost will not unpack it", hint="check that it is the real "
                                 "release")
    if tuple(binary.split("/")) in links:
        raise RoostError(f"the release's {binary} is a link, not a program; roost will not "
                             "install it", hint="check that it is the real release")


def check_archive(data: bytes, binary: str, file: str = "the release") -> None:
    """Refuse, on this computer and before anything is uploaded, an archive (zip or tar.gz)
    whose unpacking could write outside its release folder or fill the host's disk: members
    with an absolute path or a `..`, links (symbolic or hard) pointing out of the release,
    files inside a link, devices, pipes, more than MAX_UNPACKED bytes (as the archive states
    them) or MAX_MEMBERS files, or a binary that is a link. Raises a one-line RoostError."""
    members: list[tuple[str, str, int, str]] = []
    try:
        if data[:4] == ZIP_MAGIC:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                infos = z.infolist()
                if len(infos) > MAX_MEMBERS:
                    members = [("x", "file", 0, "")] * (MAX_MEMBERS + 1)
                for info in infos[:MAX_MEMBERS + 1]:
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        if info.file_size > 4096:
                            raise RoostError(f"{file} has a link that is too long "
                                             f"({info.filename[:60]!r})")
                        target = z.read(info).decode("utf-8", "replace")
                        members.append((info.filename, "link", 0, target))
                    elif info.is_dir():
                        members.append((info.filename, "dir", 0, ""))
                    elif mode and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                        members.append((info.filename, "other", 0, ""))
                    else:
                        members.append((info.filename, "file", info.file_size, ""))
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                for m in tar:
                    if len(members) > MAX_MEMBERS:
                        break
                    if m.issym():
                        members.append((m.name, "link", 0, m.linkname))
                    elif m.islnk():
                        # A hard link names a member of the archive, from its top.
                        if _member_parts(m.linkname) is None:
                            members.append((m.name, "link", 0, "/"))
                        else:
                            members.append((m.name, "file", 0, ""))
                    elif m.isdir():
                        members.append((m.name, "dir", 0, ""))
                    elif m.isreg():
                        members.append((m.name, "file", m.size, ""))
                    else:
                        members.append((m.name, "other", 0, ""))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise RoostError(f"{file} is not a readable zip or tar.gz ({type(exc).__name__})",
                         hint="download the release again") from None
    if data[:4] == ZIP_MAGIC:
        members = _unwrap_release(members)
    _check_members(members, binary, file)


def _unwrap_release(members: list[tuple[str, str, int, str]]
                    ) -> list[tuple[str, str, int, str]]:
    """A zip whose only top entry is the folder release/ is unpacked from inside it
    (UNPACK_ZIP): check its members as they will lie, one level up."""
    tops = {(_member_parts(n) or [""])[0] for n, _k, _s, _t in members}
    if tops != {"release"} or any(n.strip("/") == "release" and k != "dir"
                                  for n, k, _s, _t in members):
        return members
    out = []
    for name, kind, size, target in members:
        rest = "/".join((_member_parts(name) or [])[1:])
        if rest:
            out.append((rest, kind, size, target))
    return out


# Unpack $1 (the uploaded tar.gz, checked against $2 = sha256) into $3 (a release folder),
# check that it holds $5 (the binary), then point $4 (the "current" link) at it.
UNPACK = load_script("upstream-unpack.sh")
# The same for a zip: unzip keeps the execute bits of the files in it; a single top folder
# named release/ (Pleroma's and Akkoma's OTP releases) is unwrapped.
UNPACK_ZIP = load_script("upstream-unpack-zip.sh")
INSTALLED = '[ "$(readlink "$1")" = "$2" ] && [ -x "$2/$3" ]'


@dataclass(frozen=True)
class InstallArtifact(Step):
    """Upload a verified release file and unpack it under `root`/releases, then switch
    `root`/current to it. Done when `current` already points at this release."""

    service: str
    version: str
    file: str
    url: str
    sha256: str
    binary: str
    root: str
    local: str = ""
    sums: str = ""
    """The URL of upstream's checksums file ("" for none)."""
    trust: str = ""

    @classmethod
    def of(cls, art: Artifact, root: str, local: str = "") -> InstallArtifact:
        return cls(service=art.service, version=art.version, file=art.file, url=art.url,
                   sha256=art.sha256, binary=art.binary, root=root, local=local,
                   sums="" if local else art.sums, trust="" if local else art.trust)

    def __post_init__(self) -> None:
        if not self.root.startswith("/opt/") or ".." in self.root:
            raise RoostError(f"{self.root!r} is not a folder under /opt")
        if not _FILE.match(self.file) or not _BINARY.match(self.binary) \
                or ".." in self.binary.split("/"):
            raise RoostError("the release file or binary name is not usable")

    @property
    def release(self) -> str:
        return self.release_of(self.sha256)

    def release_of(self, sha: str) -> str:
        """The release folder of the file whose sha256 is `sha` ("" when not known yet)."""
        return f"{self.root}/releases/{(sha or 'unpinned')[:16]}"

    @property
    def current(self) -> str:
        return f"{self.root}/current"

    def artifact(self) -> Artifact:
        return Artifact(self.service, self.version, "", self.file, self.url, self.sha256,
                        self.binary, self.sums, self.trust)

    def describe(self) -> str:
        return f"install {self.service} {self.version} from its upstream release"

    def commands(self) -> list[str]:
        src = self.local or f"{self.url} (downloaded here, cached)"
        how = "unzip" if self.file.endswith(".zip") else "unpack"
        release = self.release if self.sha256 else f"{self.root}/releases/<sha256 prefix>"
        return [*self.verification(src),
                f"upload it to {self.root}/releases/{self.file} (SFTP)",
                f"check its sha256 on the host (sha256sum), then {how} it into {release}, "
                f"check it holds {self.binary}",
                f"ln -sfn {release} {self.current}"]

    def verification(self, src: str) -> list[str]:
        """The dry run's words: which checksum the file will be verified against."""
        if self.local or not (self.sums or self.trust):
            pin = f"sha256 {self.sha256}" if self.sha256 else \
                "sha256 NOT PINNED: refused unless you pass --option sha256=HASH"
            return [f"check {src}: {pin}"]
        if self.sums:
            also = f", which must agree with roost's pinned sha256 {self.sha256}" \
                if self.sha256 else ""
            return [f"download upstream's checksums file {sums_name(self.sums)} from "
                    f"{self.sums}{also}",
                    f"check {src} against the sha256 {sums_name(self.sums)} lists for "
                    f"{self.file}"]
        return [f"check {src}: {first_use_words(self.artifact())}"]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        sha = self.sha256
        if not sha and not self.local and ctx.cache is not None:
            sha = checksums.Remembered(ctx.cache).verified(self.file)
        if not sha:
            return False
        return ctx.run(script(INSTALLED, self.current, self.release_of(sha), self.binary),
                       quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        path = obtain(self.artifact(), self.local, ctx.cache, say=ctx.on_output)
        tarball = f"{self.root}/releases/{self.file}"
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if self.sha256 and sha != self.sha256:  # changed since it was verified
            raise RoostError(f"{self.file} has sha256 {sha}, not the verified {self.sha256}; "
                             "nothing was installed", hint="deploy again")
        check_archive(data, self.binary, self.file)
        unpack = UNPACK_ZIP if data[:4] == ZIP_MAGIC else UNPACK
        t.put_file(tarball, data, mode=0o600)
        # The unpack script checks the sha256 on the host before anything is unpacked; a
        # mismatch deletes the upload and names both digests.
        release = self.release_of(sha)
        ctx.must(script(unpack, tarball, sha, release, self.current, self.binary),
                 f"unpacking {self.file}", self.hint(), final=True)

    def touches(self) -> tuple[str, ...]:
        return (self.current,)

    def hint(self) -> str:
        return "the release file may be damaged or not for this host: check it and deploy again"


# --------------------------------------------------------------------------------------------
# nginx in front of a service that listens on 127.0.0.1

DEBIAN_DEFAULT = "/etc/nginx/sites-enabled/default"


def proxy_site(service: str, port: int, listen: int, domain: str, max_body: str = "16m"
               ) -> tuple[list[Step], list[Step]]:
    """(steps, uninstall steps) for an nginx site `roost-<service>` proxying to
    127.0.0.1:port. With domain "_" the site is the default one on `listen` (Debian's welcome
    site is removed so it does not answer instead)."""
    from roost.deploy.steps import (
        EnableService,
        InstallPackages,
        RemovePath,
        RenderTemplate,
        Restart,
        RunCommand,
    )

    conf = f"/etc/nginx/sites-available/roost-{service}.conf"
    enabled = f"/etc/nginx/sites-enabled/roost-{service}.conf"
    default = domain == "_"
    steps: list[Step] = [
        InstallPackages(("nginx",)),
        RenderTemplate(conf, template="upstream-nginx-proxy.conf", mode=0o644, values={
            "service": service, "port": str(port), "domain": domain, "max_body": max_body,
            "listen": f"{listen} default_server" if default else str(listen)}),
        RunCommand(("ln", "-sfn", conf, enabled), unless=("test", "-L", enabled),
                   description=f"turn the {service} site on in nginx"),
    ]
    watch = [conf, enabled]
    if default:
        steps.append(RemovePath(DEBIAN_DEFAULT))
        watch.append(DEBIAN_DEFAULT)
    steps += [EnableService("nginx"), Restart("nginx", watch=tuple(watch), action="reload")]
    uninstall: list[Step] = [RemovePath(enabled), RemovePath(conf),
                             Restart("nginx", watch=(enabled,), action="reload")]
    return steps, uninstall


@dataclass(frozen=True)
class UpstreamService:
    """An upstream-release service behind nginx: its checked common options, its release and
    the nginx site proxying to it."""

    art: Artifact
    install: InstallArtifact
    domain: str
    port: int
    listen: int
    address: str
    proxy: tuple[Step, ...]
    unproxy: tuple[Step, ...]

    @classmethod
    def read(cls, service: str, host: TargetHost | None, o: Values, root: str, *,
             max_body: str) -> UpstreamService:
        """From the options `domain`, `port`, `listen`, `address`, `artifact` and `sha256`."""
        domain, port, listen = o.text("domain"), o.port("port"), o.port("listen")
        address = reach_address(o.text("address"), host, "127.0.0.1")
        art, local = choose(service, host, o)
        proxy, unproxy = proxy_site(service, port, listen, domain, max_body=max_body)
        return cls(art, InstallArtifact.of(art, root, local), domain, port, listen, address,
                   tuple(proxy), tuple(unproxy))

    @property
    def binary(self) -> str:
        return f"{self.install.current}/{self.art.binary}"


def release_layout(install: InstallArtifact, user: str, data: str, *,
                   folders: tuple[str, ...] = (), between: tuple[Step, ...] = ()
                   ) -> list[Step]:
    """The service's system user (home `data`), its data folder and `folders` in it (mode
    0750, the user's), `between` (more folders of its own), then the release root and its
    releases, and the install step."""
    return [
        EnsureUser(user, home=data),
        EnsureDir(data, mode=0o750, owner=user, group=user),
        *(EnsureDir(f"{data}/{d}", mode=0o750, owner=user, group=user) for d in folders),
        *between,
        EnsureDir(install.root, mode=0o755),
        EnsureDir(f"{install.root}/releases", mode=0o755),
        install,
    ]
