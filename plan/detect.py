"""What roost can find out about the machine it runs on, without asking.

The parsers are pure functions over the text of /etc/os-release, /proc/meminfo and `df -P`
output; they live in `roost.core.machine`, so the deploy layer reuses them over SSH on a
remote host without importing the plan. On this machine the free space comes from
`shutil.disk_usage` (statvfs), without running `df`.
"""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from roost.core.machine import (
    ARCH_ALIASES,
    format_mb,
    normalise_arch,
    parse_df,
    parse_meminfo,
    parse_os_release,
    parse_pi_model,
)

__all__ = ["ARCH_ALIASES", "HostFacts", "detect_local", "format_mb", "normalise_arch",
           "parse_df", "parse_meminfo", "parse_os_release", "parse_pi_model"]


@dataclass(frozen=True)
class HostFacts:
    arch: str
    """uname -m, normalised: x86_64, aarch64, armv7l (or what uname said)."""
    ram_mb: int | None
    disk_free_mb: int | None
    os_id: str
    os_version: str
    os_codename: str
    pi_model: str | None
    """The Raspberry Pi model line, or None when this is not a Pi."""
    hostname: str

    @property
    def is_pi(self) -> bool:
        return self.pi_model is not None

    def describe(self) -> str:
        """One sentence, read aloud."""
        what = self.pi_model or f"a {self.arch} computer"
        ram = f" with {format_mb(self.ram_mb)} of memory" if self.ram_mb else ""
        osname = f", running {self.os_id} {self.os_version}".rstrip() if self.os_id else ""
        return f"This is {what}{ram}{osname}."


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8", errors="replace")
    except OSError:
        return ""


def detect_local(root: Path = Path("/")) -> HostFacts:
    """Facts about this machine. Never raises: what cannot be read stays empty."""
    osr = parse_os_release(_read(str(root / "etc/os-release"))
                           or _read(str(root / "usr/lib/os-release")))
    ram = parse_meminfo(_read(str(root / "proc/meminfo")))
    disk: int | None = None
    try:  # what `df -P` says is available; over SSH a remote host's df is parsed instead
        where = Path.home() if root == Path("/") else root
        disk = shutil.disk_usage(where).free // (1024 * 1024)
    except (OSError, RuntimeError):
        disk = None
    return HostFacts(
        arch=normalise_arch(platform.machine() or os.uname().machine),
        ram_mb=ram,
        disk_free_mb=disk,
        os_id=osr.get("ID", ""),
        os_version=osr.get("VERSION_ID", ""),
        os_codename=osr.get("VERSION_CODENAME", ""),
        pi_model=parse_pi_model(_read(str(root / "proc/device-tree/model"))),
        hostname=platform.node(),
    )
