"""Pure parsers of what a Linux machine says about itself: /etc/os-release, /proc/meminfo,
`df -P`, uname -m and the device-tree model line.

Pure functions over text, below every layer that reads a machine: the plan reads this
computer with them (`roost.plan.detect`), the deploy layer a remote host over SSH
(`roost.deploy.facts`).
"""

from __future__ import annotations

ARCH_ALIASES = {
    "x86_64": "x86_64", "amd64": "x86_64",
    "aarch64": "aarch64", "arm64": "aarch64",
    "armv7l": "armv7l", "armv7": "armv7l", "armhf": "armv7l", "armv6l": "armv6l",
}


def format_mb(mb: int) -> str:
    """512 -> '512 MB', 1024 -> '1 GB', 1536 -> '1.5 GB'."""
    if mb < 1024:
        return f"{mb} MB"
    gb = mb / 1024
    return f"{gb:.0f} GB" if abs(gb - round(gb)) < 0.05 else f"{gb:.1f} GB"


def normalise_arch(machine: str) -> str:
    m = machine.strip().lower()
    return ARCH_ALIASES.get(m, m)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of os-release(5), with quotes and escapes removed."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            value = (value.replace('\\"', '"').replace("\\$", "$")
                     .replace("\\`", "`").replace("\\\\", "\\"))
        if key.replace("_", "").isalnum():
            out[key] = value
    return out


def parse_meminfo(text: str) -> int | None:
    """MemTotal in MB (rounded), or None when the line is missing."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                kb = int(parts[1])
                unit = parts[2].lower() if len(parts) > 2 else "kb"
                if unit == "kb":
                    return round(kb / 1024)
                if unit == "mb":
                    return kb
                return round(kb / 1024 / 1024)
    return None


def parse_df(text: str) -> int | None:
    """Free MB from `df -P` output; the last data line counts.

    The free-blocks column is the one before Capacity ("42%"); the mount point may hold
    spaces, so columns are found from the capacity, not counted from the end.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    header = lines[0].split()
    block = 1024
    if header and header[1:2] and header[1].endswith("-blocks"):
        size = header[1].split("-")[0]
        if size.isdigit():
            block = int(size)
    parts = lines[-1].split()
    # Filesystem 1024-blocks Used Available Capacity Mounted-on: find Capacity ("42%" or "-").
    for i in range(len(parts) - 1, 2, -1):
        cap = parts[i]
        is_cap = (cap.endswith("%") and cap[:-1].isdigit()) or cap == "-"
        if is_cap and all(parts[i - k].isdigit() for k in (1, 2, 3)):
            return int(parts[i - 1]) * block // (1024 * 1024)
    return None


def parse_pi_model(text: str) -> str | None:
    model = text.replace("\x00", "").strip()
    return model if model.lower().startswith("raspberry pi") else None
