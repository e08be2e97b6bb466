"""What a host is: OS, architecture, memory, free disk, Pi model, init, sudo, ports in use.

Gathered in ONE command over any Transport: a small POSIX sh script sent on stdin to `sh -s`
prints each piece under a `@@roost NAME` marker; the pure parsers of `roost.core.machine`
(os-release, meminfo, df) read the pieces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from roost.core import clock, machine
from roost.core.errors import RoostError
from roost.deploy.transport import Transport

MARK = "@@roost "

SCRIPT = r"""
s() { printf '\n@@roost %s\n' "$1"; }
s os; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
s arch; uname -m
s mem; grep '^MemTotal:' /proc/meminfo 2>/dev/null
s dfroot; df -P / 2>/dev/null
s dfvar; df -P /var 2>/dev/null
s model; cat /proc/device-tree/model 2>/dev/null | tr -d '\000'
s init; cat /proc/1/comm 2>/dev/null
s sudo
if [ "$(id -u)" = 0 ]; then echo root
elif command -v sudo >/dev/null 2>&1; then
  if sudo -n true >/dev/null 2>&1; then echo nopasswd; else echo password; fi
else echo missing; fi
s tcp; ss -Hltn 2>/dev/null || { echo @@proc; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
s udp; ss -Hlun 2>/dev/null || { echo @@proc; cat /proc/net/udp /proc/net/udp6 2>/dev/null; }
s hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
s end
"""

SUDO_WORDS = {
    "root": "roost logs in as root",
    "nopasswd": "works without a password",
    "password": "asks for a password",
    "missing": "not installed",
}


@dataclass(frozen=True)
class Facts:
    hostname: str
    os_id: str
    os_version: str
    os_codename: str
    arch: str
    ram_mb: int | None
    root_free_mb: int | None
    var_free_mb: int | None
    pi_model: str | None
    init: str
    sudo: str
    """root, nopasswd, password (sudo asks for one) or missing."""
    tcp_ports: tuple[int, ...] = field(default=())
    udp_ports: tuple[int, ...] = field(default=())
    read_at: str = ""
    """ISO 8601 UTC time the facts were read."""

    @property
    def is_pi(self) -> bool:
        return self.pi_model is not None

    @property
    def sudo_works(self) -> bool:
        return self.sudo in ("root", "nopasswd", "password")

    def port_taken(self, port: int, proto: str = "tcp") -> bool:
        return port in (self.tcp_ports if proto == "tcp" else self.udp_ports)

    def to_dict(self) -> dict[str, Any]:
        """For hosts.toml and --json: no None values (TOML has none)."""
        d = asdict(self)
        d["tcp_ports"] = list(self.tcp_ports)
        d["udp_ports"] = list(self.udp_ports)
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Facts:
        def i(key: str) -> int | None:
            v = d.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        def s(key: str) -> str:
            v = d.get(key)
            return v if isinstance(v, str) else ""

        def ports(key: str) -> tuple[int, ...]:
            v = d.get(key)
            return tuple(p for p in v if isinstance(p, int)) if isinstance(v, list) else ()

        return cls(hostname=s("hostname"), os_id=s("os_id"), os_version=s("os_version"),
                   os_codename=s("os_codename"), arch=s("arch"), ram_mb=i("ram_mb"),
                   root_free_mb=i("root_free_mb"), var_free_mb=i("var_free_mb"),
                   pi_model=s("pi_model") or None, init=s("init"), sudo=s("sudo"),
                   tcp_ports=ports("tcp_ports"), udp_ports=ports("udp_ports"),
                   read_at=s("read_at"))

    def lines(self) -> list[str]:
        """Short sentences, one per line, that read well aloud."""
        osname = " ".join(x for x in (self.os_id.capitalize(), self.os_version) if x)
        if self.os_codename:
            osname += f" ({self.os_codename})"
        what = self.pi_model or f"a {self.arch} computer"
        out = [f"{self.hostname or 'The host'} is {what}, running {osname or 'an unknown OS'}."]
        mem = machine.format_mb(self.ram_mb) if self.ram_mb else "unknown"
        disk = [f"{machine.format_mb(mb)} on {where}" for where, mb in
                (("/", self.root_free_mb), ("/var", self.var_free_mb)) if mb is not None]
        out.append(f"Memory: {mem}. Free disk: {', '.join(disk) or 'unknown'}.")
        out.append(f"Init system: {self.init or 'unknown'}. "
                   f"Sudo: {SUDO_WORDS.get(self.sudo, self.sudo or 'unknown')}.")
        tcp = ", ".join(map(str, self.tcp_ports)) or "none"
        udp = ", ".join(map(str, self.udp_ports)) or "none"
        out.append(f"Ports in use: TCP {tcp}; UDP {udp}.")
        if self.read_at:
            out.append(f"Read at {self.read_at}.")
        return out


def split_report(text: str) -> dict[str, str]:
    """The script's output → {section name: its text}."""
    parts: dict[str, str] = {}
    name: str | None = None
    buf: list[str] = []
    for line in text.splitlines():
        if line.startswith(MARK):
            if name is not None:
                parts[name] = "\n".join(buf).strip("\n")
            name = line[len(MARK):].strip()
            buf = []
        elif name is not None:
            buf.append(line)
    if name is not None:
        parts[name] = "\n".join(buf).strip("\n")
    return parts


def parse_ports(text: str, udp: bool = False) -> tuple[int, ...]:
    """Listening ports from `ss -Hltn`/`-Hlun`, or from /proc/net/{tcp,udp}[6] after @@proc."""
    ports: set[int] = set()
    lines = text.splitlines()
    if lines and lines[0].strip() == "@@proc":
        want = "07" if udp else "0A"  # UDP: unconnected; TCP: LISTEN
        for line in lines[1:]:
            cols = line.split()
            if len(cols) > 3 and ":" in cols[1] and cols[3] == want:
                try:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
                except ValueError:
                    continue
        return tuple(sorted(p for p in ports if p))
    for line in lines:
        cols = line.split()
        if len(cols) < 4:
            continue
        local = cols[3]
        port = local.rsplit(":", 1)[-1]
        if port.isdigit():
            ports.add(int(port))
    return tuple(sorted(p for p in ports if p))


def printable(text: str, limit: int = 120) -> str:
    """What a host reports is shown in a terminal and read aloud: no control characters
    (escape sequences could clear the screen or retitle the window), and not too long."""
    return "".join(c for c in text if c.isprintable()).strip()[:limit]


def parse_facts(text: str, read_at: str = "") -> Facts:
    parts = {k: "\n".join(printable(line, 400) for line in v.splitlines())
             for k, v in split_report(text).items()}
    if "end" not in parts:
        raise ValueError("the facts report is incomplete")
    osr = {k: printable(v) for k, v in machine.parse_os_release(parts.get("os", "")).items()}
    model = machine.parse_pi_model(parts.get("model", ""))
    return Facts(
        hostname=printable(parts.get("hostname", "")),
        os_id=osr.get("ID", ""),
        os_version=osr.get("VERSION_ID", ""),
        os_codename=osr.get("VERSION_CODENAME", ""),
        arch=printable(machine.normalise_arch(parts.get("arch", ""))),
        ram_mb=machine.parse_meminfo(parts.get("mem", "")),
        root_free_mb=machine.parse_df(parts.get("dfroot", "")),
        var_free_mb=machine.parse_df(parts.get("dfvar", "")),
        pi_model=printable(model) if model else None,
        init=printable(parts.get("init", "")),
        sudo=printable(parts.get("sudo", "")),
        tcp_ports=parse_ports(parts.get("tcp", "")),
        udp_ports=parse_ports(parts.get("udp", ""), udp=True),
        read_at=read_at,
    )


def now_iso() -> str:
    return clock.from_environment()().strftime("%Y-%m-%dT%H:%M:%SZ")


def gather(t: Transport) -> Facts:
    """Read the facts of the host behind `t` with one command."""
    r = t.run(["sh", "-s"], stdin=SCRIPT.encode(), timeout=60)
    try:
        return parse_facts(r.stdout, now_iso())
    except ValueError:
        raise RoostError(f"could not read the facts of {t.name}: {r.tail(3) or 'no output'}",
                         hint="check that the host has a POSIX sh, then try again") from None
