"""Debian package upgrades of a deployed service on its host, and the way back.

What the host's apt says about the packages a recipe installed (`apt-cache policy`: the
installed version, the candidate, and whether the candidate comes from a security archive), the
installed versions' .deb files kept aside before an upgrade (from the host's apt cache, or
downloaded again while the package lists still offer them), the upgrade itself
(`apt-get install --only-upgrade`), and the rollback (`apt-get install --allow-downgrades` of
the kept files).

An upgrade leaves a marker on the host (`STATE_DIR/upgrade-SERVICE.json`) from before it changes
anything until the service is proven working again, on the new versions or the old ones: a run
cut anywhere (roost killed, the connection lost) is finished by the next run, which reads it.
The use case that decides (back up, upgrade, check, roll back, note the outcome) is
roost.app.upgrading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.recipe import Recipe
from roost.deploy.steps import InstallPackages, script
from roost.deploy.steps.packages import apt_get
from roost.deploy.transport import Transport

KEEP_DIR = "/var/lib/roost/upgrades"
"""Where the installed versions' .deb files are kept aside, one folder per service."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9.+~:\-]{1,100}$")

POLICY = 'LC_ALL=C apt-cache policy -- "$@"'
KEEP = (
    'first() { for x in "$@"; do if [ -e "$x" ]; then echo "$x"; return; fi; done; }; '
    'd=$1; shift; mkdir -p "$d" && chmod 755 "$d" && cd "$d" || exit 1; '
    'while [ $# -ge 2 ]; do p=$1; v=$2; shift 2; e=$(printf %s "$v" | sed "s/:/%3a/g"); '
    'f=$(first "${p}_${e}_"*.deb); '
    'if [ -z "$f" ]; then c=$(first "/var/cache/apt/archives/${p}_${e}_"*.deb); '
    'if [ -n "$c" ]; then cp -f -- "$c" . || exit 1; '
    'else apt-get download -q "$p=$v" >&2 || exit 4; fi; '
    'f=$(first "${p}_${e}_"*.deb); fi; '
    '[ -n "$f" ] || exit 4; echo "$d/$f"; done'
)
"""Into folder $1, for each (package, version) pair after it: that version's .deb, from the
folder itself (an earlier run), the host's apt cache, or downloaded; prints each file's path.
Exit 4: a version no longer to be had."""
DATA_PRINT = ('for p in "$@"; do [ -e "$p" ] && find "$p" -xdev -printf "%p %s %T@ %m %u\\n"; '
              'done | LC_ALL=C sort | sha256sum')
"""A fingerprint of the service's data folders $@ (every path's size, time, mode, owner):
whether an upgrade touched them."""
REPAIR = ('i=0; until dpkg --configure -a; do i=$((i + 1)); [ "$i" -ge 30 ] && exit 1; '
          'sleep 2; done')
"""A dpkg cut off mid-way (roost killed during an upgrade) is finished before apt runs again;
while another dpkg still holds the lock, tried again for a minute."""


@dataclass(frozen=True)
class Pending:
    """A package of the service with a newer version offered."""

    package: str
    installed: str
    candidate: str
    security: bool

    def words(self) -> str:
        return (f"{self.package} {self.installed} to {self.candidate}"
                + (" (security)" if self.security else ""))


def recipe_packages(recipe: Recipe) -> tuple[str, ...]:
    """The Debian packages the recipe installs (names only), in order, each once."""
    out: list[str] = []
    for s in recipe.steps:
        if isinstance(s, InstallPackages):
            out.extend(p.split("=")[0].split(":")[0] for p in s.packages)
    return tuple(dict.fromkeys(out))


def parse_policy(text: str) -> dict[str, tuple[str, str, bool]]:
    """`apt-cache policy`'s answer: package -> (installed, candidate, candidate from a security
    archive). A package not installed reads installed "" ("(none)")."""
    out: dict[str, tuple[str, str, bool]] = {}
    name = ""
    installed = candidate = ""
    security = False
    in_candidate = False

    def keep() -> None:
        if name:
            out[name] = (installed, candidate, security)

    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            keep()
            name, installed, candidate, security, in_candidate = (
                line.strip()[:-1], "", "", False, False)
            continue
        s = line.strip()
        if s.startswith("Installed:"):
            v = s.partition(":")[2].strip()
            installed = "" if v == "(none)" else v
        elif s.startswith("Candidate:"):
            v = s.partition(":")[2].strip()
            candidate = "" if v == "(none)" else v
        elif s.startswith("Version table:"):
            continue
        elif re.match(r"^(\*\*\* )?\S+ -?\d+$", s):
            in_candidate = s.removeprefix("*** ").split()[0] == candidate
        elif in_candidate and ("-security" in s or "security.debian.org" in s):
            security = True
    keep()
    return out


def pending(t: Transport, packages: Sequence[str], refresh: bool) -> list[Pending]:
    """The packages among `packages` that have a newer version, security ones first;
    `refresh` runs `apt-get update` first (else: what the host's apt lists already say)."""
    for p in packages:
        _check_name(p)
    if not packages:
        return []
    if refresh:
        res = t.run(apt_get("update"), sudo=True, timeout=600)
        if not res.ok:
            raise RoostError(f"apt-get update failed on {t.name}: {res.tail(2)}",
                             hint="check the host's internet connection, or add --offline "
                                  "to read the lists it has")
    res = t.run(script(POLICY, *packages), timeout=120)
    if not res.ok:
        raise RoostError(f"apt-cache policy failed on {t.name}: {res.tail(2)}")
    found = parse_policy(res.stdout)
    out = [Pending(p, *found[p]) for p in packages
           if p in found and found[p][0] and found[p][1] and found[p][0] != found[p][1]]
    return sorted(out, key=lambda x: not x.security)


def installed_versions(t: Transport, packages: Sequence[str]) -> dict[str, str]:
    """package -> the version installed now (packages not installed left out)."""
    res = t.run(script(POLICY, *packages), timeout=120)
    if not res.ok:
        raise RoostError(f"apt-cache policy failed on {t.name}: {res.tail(2)}")
    return {p: v[0] for p, v in parse_policy(res.stdout).items() if v[0]}


# -- the marker --------------------------------------------------------------------------------

PACKAGES = "packages"
RELEASE = "release"
UPGRADING = "upgrading"
ROLLING_BACK = "rolling back"


@dataclass
class Marker:
    """What the host keeps while an upgrade is under way."""

    service: str
    phase: str
    old: dict[str, str]
    """package -> the version before the upgrade."""
    new: dict[str, str]
    """package -> the version the upgrade installs."""
    files: list[str] = field(default_factory=list)
    """The old versions' .deb files kept aside on the host."""
    reason: str = ""
    """What failed, once the rollback began."""
    backup: str = ""
    """The archive taken before the upgrade, when one was."""
    data: str = ""
    """The data folders' fingerprint before the upgrade (DATA_PRINT), when a backup was taken."""
    kind: str = "packages"
    """"packages" (Debian) or "release" (an upstream release: `old` and `new` name the release
    folders, `new["current"]` the link that points at the one in use)."""
    options: dict[str, str] = field(default_factory=dict)
    """For a release: the options the new release is deployed with (never a secret)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Marker:
        try:
            d: Any = json.loads(text)
            m = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except (ValueError, TypeError, KeyError) as exc:
            raise RoostError(f"roost's upgrade record on the host cannot be read ({exc})",
                             hint="check the packages by hand, remove the record, then run "
                                  "again") from None
        if m.kind == RELEASE:
            for v in (*m.old.values(), *m.new.values()):
                release_path(v)
            if set(m.old) != {"release"} or set(m.new) != {"release", "current"}:
                raise RoostError("roost's upgrade record on the host names no release")
        elif m.kind == PACKAGES:
            for p, v in (*m.old.items(), *m.new.items()):
                _check_name(p)
                _check_version(v)
        else:
            raise RoostError(f"roost's upgrade record on the host has an unknown kind "
                             f"{m.kind[:30]!r}")
        if m.phase not in (UPGRADING, ROLLING_BACK):
            raise RoostError(f"roost's upgrade record on the host has an unknown phase "
                             f"{m.phase[:30]!r}")
        return m


def marker_path(service: str, state_dir: str = engine.HOST_STATE_DIR) -> str:
    return f"{state_dir.rstrip('/')}/upgrade-{service}.json"


def read_marker(t: Transport, path: str) -> Marker | None:
    res = t.run(script('[ -f "$1" ] || exit 3; cat -- "$1"', path), sudo=True)
    if res.exit_code == 3:
        return None
    if not res.ok:
        raise RoostError(f"could not read roost's upgrade record on {t.name}: {res.tail(2)}",
                         hint="check that the login user can use sudo")
    return Marker.from_json(res.stdout)


def write_marker(t: Transport, path: str, marker: Marker) -> None:
    engine.write_marker(t, path, marker.to_json())


def remove_marker(t: Transport, path: str) -> None:
    t.run(["rm", "-f", "--", path], sudo=True)


# -- the changes ------------------------------------------------------------------------------

def keep_old(t: Transport, service: str, old: Mapping[str, str]) -> list[str]:
    """Keep the installed versions' .deb files aside on the host; their paths. Refuses (before
    anything changes) when one cannot be had: there would be no way back."""
    pairs = [x for p, v in old.items() for x in (_check_name(p), _check_version(v))]
    res = t.run(script(KEEP, f"{KEEP_DIR}/{service}", *pairs), sudo=True, timeout=600)
    if not res.ok:
        raise RoostError(f"roost cannot keep the installed versions of "
                         f"{', '.join(old)} on {t.name} to go back to, so it upgrades nothing",
                         hint="the host's apt cache no longer has them and its package lists "
                              "no longer offer them; upgrade by hand if you accept no way back")
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]


def upgrade(t: Transport, packages: Iterable[str]) -> tuple[bool, str]:
    """`apt-get install --only-upgrade` of the packages: (worked, apt's last lines)."""
    argv = apt_get("install", "--only-upgrade", *(_check_name(p) for p in packages))
    return _apt(t, argv)


def downgrade(t: Transport, files: Sequence[str]) -> tuple[bool, str]:
    """Install the kept .deb files again (`--allow-downgrades`): (worked, apt's last lines)."""
    for f in files:
        if not f.startswith(KEEP_DIR + "/") or not re.match(r"^[A-Za-z0-9/._+%~:-]+$", f):
            raise RoostError(f"{f[:80]!r} is not a file roost kept")
    return _apt(t, apt_get("install", "--allow-downgrades", "--no-install-recommends", *files))


def _apt(t: Transport, argv: list[str]) -> tuple[bool, str]:
    t.run(["sh", "-c", REPAIR], sudo=True, timeout=600)
    res = t.run(argv, sudo=True, timeout=1800)
    return res.ok, res.tail(5)


def restart(t: Transport, units: Sequence[str]) -> str | None:
    """Restart the service's units so the installed code runs; None, or what failed."""
    for u in units:
        res = t.run(["systemctl", "restart", u], sudo=True, timeout=300)
        if not res.ok:
            return f"{u} did not start again ({res.tail(1) or f'exit code {res.exit_code}'})"
    return None


def data_print(t: Transport, paths: Sequence[str]) -> str:
    """The fingerprint of the data folders `paths` (DATA_PRINT)."""
    res = t.run(script(DATA_PRINT, *paths), sudo=True, timeout=600)
    if not res.ok:
        raise RoostError(f"roost could not look at the data folders on {t.name}: "
                         f"{res.tail(2)}")
    return res.stdout.split()[0] if res.stdout.split() else ""


def forget_kept(t: Transport, service: str) -> None:
    t.run(["rm", "-rf", "--", f"{KEEP_DIR}/{service}"], sudo=True)


# -- upstream releases ------------------------------------------------------------------------

_PATH = re.compile(r"^/[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*$")
SWITCH = 'ln -sfn -- "$1" "$2.roost-new" && mv -Tf -- "$2.roost-new" "$2"'
"""Point the link $2 at the release folder $1 in one rename (never a moment without it)."""


def release_path(p: str) -> str:
    if not _PATH.match(p) or "/../" in p + "/" or "/./" in p + "/":
        raise RoostError(f"{p[:80]!r} is not a release folder roost made")
    return p


def release_in_use(t: Transport, current: str) -> str:
    """The release folder the link `current` points at ("" when there is none)."""
    res = t.run(["readlink", "-f", "--", release_path(current)], sudo=True)
    return res.stdout.strip() if res.ok else ""


def switch_release(t: Transport, release: str, current: str) -> None:
    """Point `current` at `release` again (the rollback of an upstream release)."""
    res = t.run(script(SWITCH, release_path(release), release_path(current)), sudo=True)
    if not res.ok:
        raise RoostError(f"roost could not point {current} at {release} on {t.name}: "
                         f"{res.tail(2)}", hint="run the same command again")


def _check_name(p: str) -> str:
    if not _NAME.match(p):
        raise RoostError(f"{p[:80]!r} is not a Debian package name")
    return p


def _check_version(v: str) -> str:
    if not _VERSION.match(v):
        raise RoostError(f"{v[:80]!r} is not a Debian package version")
    return v
