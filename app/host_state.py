"""What kills a small host before its services fail a health check, read in ONE command over
the connection `roost check` already has: disk and memory left, whether the root file system
(an SD card, on a Pi) was remounted read-only, and whether Debian's unattended-upgrades is on.

Read-only: nothing here changes the host. `parse` is a pure function of the command's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roost.deploy.engine import HOST_STATE_DIR
from roost.deploy.steps import script
from roost.deploy.transport import Transport

PROBE = (
    'sd=$1; shift; echo @df; df -Pk -- "$@" 2>&1; '
    'echo @mem; grep -E "^(MemTotal|MemAvailable):" /proc/meminfo; '
    'echo @root; awk \'$2 == "/" { print $4 }\' /proc/mounts; echo @uu; '
    'if [ -x /usr/bin/unattended-upgrade ]; then '
    'apt-config dump APT::Periodic::Unattended-Upgrade 2>/dev/null; echo installed; '
    'else echo absent; fi; echo @up; for f in "$sd"/upgrade-*.json; do '
    '[ -e "$f" ] && basename "$f" .json; done; true'
)
"""$1 is roost's state folder on the host, the rest the paths. Sections: df of each path,
memory, the options of / (last mount wins), unattended-upgrades (its setting as apt reads it:
/etc/apt/apt.conf.d/20auto-upgrades and the rest), and the upgrades under way (the markers
`roost upgrade` leaves until it is done: roost.deploy.upgrade)."""


@dataclass(frozen=True)
class Disk:
    path: str
    free_mb: int | None
    """None: the path is not on the host."""
    total_mb: int = 0

    @property
    def free_percent(self) -> float:
        return 100.0 * (self.free_mb or 0) / self.total_mb if self.total_mb else 0.0


@dataclass(frozen=True)
class HostState:
    disks: tuple[Disk, ...] = ()
    memory_available_mb: int | None = None
    memory_total_mb: int | None = None
    root_read_only: bool | None = None
    """True when / is mounted read-only (a failing SD card is remounted so by the kernel)."""
    unattended_upgrades: bool | None = None
    """On (installed and enabled), off, or None when apt could not say."""
    upgrades_cut_off: tuple[str, ...] = ()
    """The services whose upgrade was cut off (its marker is still on the host)."""


def read(t: Transport, paths: Sequence[str], state_dir: str = HOST_STATE_DIR) -> HostState:
    """Run the probe on the host (no sudo) and parse it; `state_dir` is where roost keeps its
    records on the host."""
    res = t.run(script(PROBE, state_dir, *paths), timeout=30)
    return parse(res.stdout, paths)


def parse(out: str, paths: Sequence[str]) -> HostState:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("@") and line[1:] in ("df", "mem", "root", "uu", "up"):
            current = line[1:]
            sections[current] = []
        elif current:
            sections[current].append(line)
    disks = _disks(sections.get("df", []), paths)
    mem = {k.rstrip(":"): int(v) // 1024 for k, v, *_ in
           (line.split() for line in sections.get("mem", []) if len(line.split()) >= 2)
           if v.isdigit()}
    root = [line.strip() for line in sections.get("root", []) if line.strip()]
    read_only = ("ro" in root[-1].split(",")) if root else None
    cut = tuple(line.strip().removeprefix("upgrade-") for line in sections.get("up", [])
                if line.strip().startswith("upgrade-"))
    return HostState(disks, mem.get("MemAvailable"), mem.get("MemTotal"), read_only,
                     _unattended(sections.get("uu", [])), cut)


def _disks(lines: list[str], paths: Sequence[str]) -> tuple[Disk, ...]:
    """df -Pk prints a header, then one line per path in order (an error line instead for a
    path that is not there)."""
    rows = [line.split() for line in lines if not line.startswith("Filesystem")]
    out: list[Disk] = []
    found = iter(r for r in rows if len(r) >= 6 and r[1].isdigit() and r[3].isdigit())
    missing = {p for p in paths
               if any(line.startswith((f"df: {p}:", f"df: '{p}':")) for line in lines)}
    for p in paths:
        if p in missing:
            out.append(Disk(p, None))
            continue
        r = next(found, None)
        out.append(Disk(p, None) if r is None else Disk(p, int(r[3]) // 1024, int(r[1]) // 1024))
    return tuple(out)


def _unattended(lines: list[str]) -> bool | None:
    if not lines:
        return None
    if lines[-1].strip() == "absent":
        return False
    for line in lines:
        if line.startswith("APT::Periodic::Unattended-Upgrade"):
            value = line.split(None, 1)[1].strip().strip(";").strip('"') if " " in line else ""
            return value not in ("", "0")
    return False  # installed, never switched on
