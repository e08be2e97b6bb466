"""Before anything is installed: are the ports a recipe will bind free on the host?

A recipe declares the ports its service binds (`Recipe.ports`, built from its options, so a
port option moves them). `check()` reads the host's listening sockets with one command, `ss
-Hltnup` under sudo (sudo lets `ss` name the process of every socket, not only the login
user's), plus the systemd unit of each of those processes from /proc/PID/cgroup. A port is
fine when nothing listens on it, or when one of the units the recipe names holds it (the same
service deployed before, or the nginx it adds a site to). Anything else stops the deploy before
its first step with one sentence: the port, what holds it, and the option that moves this
service elsewhere (or, for a port its protocol fixes, to stop the other program or use another
host).

A port counts as taken whatever address the other socket is bound to: binding 0.0.0.0:80 fails
when 127.0.0.1:80 is held, and the other way round.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy.recipe import Port, Recipe
from roost.deploy.steps import script
from roost.deploy.transport import Transport

LISTENERS = (
    'command -v ss >/dev/null 2>&1 || exit 127; out=$(ss -Hltnup) || exit 3; '
    'printf "%s\\n" "$out"; echo "$1"; '
    'for p in $(printf "%s\\n" "$out" | grep -o "pid=[0-9]*" | cut -d= -f2 | sort -u); do '
    'sed -n -e "s|^0::|$p |p" -e "s|^[0-9]*:name=systemd:|$p |p" "/proc/$p/cgroup" '
    '2>/dev/null; done'
)
"""Prints `ss -Hltnup`, a separator line ($1), then "PID CGROUP-PATH" for each process that
holds a socket (cgroup v2's line and v1's systemd line, whichever the host has)."""
SEPARATOR = "--roost-cgroups--"
COMMAND_SHOWN = "ss -Hltnup, and /proc/PID/cgroup of each process it names"
"""How the dry run names the command."""

_PROC = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=([0-9]+),fd=[0-9]+\)')


@dataclass(frozen=True)
class Listener:
    """One listening socket: `ss` prints one line per socket (IPv4 and IPv6 apart)."""

    protocol: str
    """tcp or udp."""
    address: str
    port: int
    processes: tuple[tuple[str, int], ...] = ()
    """(process name, pid) of every process holding it; empty when ss could not tell."""


@dataclass(frozen=True)
class Listeners:
    """What listens on the host: the sockets and the systemd unit of each process."""

    sockets: tuple[Listener, ...]
    units: Mapping[int, str]
    """pid -> its systemd unit ("nginx.service", "session-3.scope")."""

    def on(self, port: Port) -> tuple[Listener, ...]:
        return tuple(s for s in self.sockets
                     if s.port == port.number and s.protocol == port.protocol)

    def taken(self, protocol: str) -> set[int]:
        return {s.port for s in self.sockets if s.protocol == protocol}

    def unit_of(self, pid: int) -> str:
        return self.units.get(pid, "")


def parse_ss(text: str) -> tuple[Listener, ...]:
    """The lines of `ss -Hltnup` (Netid State Recv-Q Send-Q Local Peer [users:(...)]).
    Lines that are not a tcp or udp socket are left out."""
    out: list[Listener] = []
    for line in text.splitlines():
        parts = line.split(None, 6)
        if len(parts) < 6 or parts[0] not in ("tcp", "udp"):
            continue
        local = parts[4]
        host, sep, port = local.rpartition(":")
        if not sep or not port.isdigit():
            continue
        host = host.split("%", 1)[0] if not host.startswith("[") else host
        users = parts[6] if len(parts) > 6 else ""
        procs = tuple((printable(name.replace('\\"', '"'), 40), int(pid))
                      for name, pid in _PROC.findall(users))
        out.append(Listener(parts[0], host, int(port), procs))
    return tuple(out)


def unit_of_cgroup(path: str) -> str:
    """The systemd unit of a cgroup path: its deepest .service or .scope part."""
    for part in reversed(path.strip().split("/")):
        if part.endswith((".service", ".scope")):
            return part
    return ""


def parse_cgroups(text: str) -> dict[int, str]:
    """"PID CGROUP-PATH" lines into pid -> unit (the first line with a unit wins)."""
    out: dict[int, str] = {}
    for line in text.splitlines():
        pid, _, path = line.partition(" ")
        unit = unit_of_cgroup(path)
        if pid.isdigit() and unit and int(pid) not in out:
            out[int(pid)] = unit
    return out


def parse_listeners(stdout: str) -> Listeners:
    sockets, _, cgroups = stdout.partition(f"\n{SEPARATOR}\n")
    if not cgroups and stdout.startswith(f"{SEPARATOR}\n"):
        sockets, cgroups = "", stdout[len(SEPARATOR) + 1:]
    return Listeners(parse_ss(sockets), parse_cgroups(cgroups))


def read_listeners(t: Transport, sudo: bool = True) -> Listeners:
    res = t.run(script(LISTENERS, SEPARATOR), sudo=sudo, timeout=60)
    if res.exit_code == 127:
        raise RoostError(f"roost cannot check which ports are free on {t.name}: it has no "
                         "`ss` command", hint="install it with `sudo apt-get install "
                                              "iproute2`, then deploy again")
    if not res.ok:
        raise RoostError(f"roost could not list the ports in use on {t.name}: {res.tail(2)}",
                         hint="check that the login user can use sudo")
    return parse_listeners(res.stdout)


def unit_matches(unit: str, names: Sequence[str]) -> bool:
    """"nginx" matches nginx.service and nginx@x.service; a full unit name matches itself."""
    for name in names:
        if unit == name or unit == f"{name}.service" or unit.startswith(f"{name}@"):
            return True
    return False


@dataclass(frozen=True)
class Conflict:
    port: Port
    holders: tuple[Listener, ...]


def conflicts(recipe: Recipe, found: Listeners) -> list[Conflict]:
    """The recipe's ports held by something other than its own units."""
    out: list[Conflict] = []
    for port in recipe.ports:
        on = found.on(port)
        if not on:
            continue
        own = any(unit_matches(found.unit_of(pid), port.units)
                  for s in on for _, pid in s.processes)
        if not own:
            out.append(Conflict(port, on))
    return out


def holder_words(c: Conflict, found: Listeners, known: Mapping[str, str]) -> str:
    """"python3 (pid 812)", "apache2 (apache2.service)", "node (ssb-pub)": the process, and
    the roost service the progress says runs there, else its unit, else its pid."""
    procs = [p for s in c.holders for p in s.processes]
    if not procs:
        return "another program (roost cannot see which: it runs as another user)"
    name, pid = procs[0]
    service = known.get(str(c.port), "")
    if service:
        return f"{name} ({printable(service, 60)})"
    unit = found.unit_of(pid)
    if unit.endswith(".service") and unit not in ("ssh.service", "sshd.service"):
        return f"{name} ({unit})"
    return f"{name} (pid {pid})"


def free_port(port: Port, found: Listeners, avoid: set[int]) -> int:
    """A free port to suggest instead: 8080 and up for a privileged one, else the next ones."""
    taken = found.taken(port.protocol) | avoid
    start = 8080 if port.number < 1024 else port.number + 1
    for n in itertools.chain(range(start, 65536), range(1024, start)):
        if n not in taken:
            return n
    return start


def refusal(recipe: Recipe, found: Sequence[Conflict], listeners: Listeners,
            known: Mapping[str, str]) -> RoostError:
    """One sentence: what is taken by what, and how to deploy this service anyway."""
    used = [f"{c.port.spoken()} {'is already used by' if i == 0 else 'by'} "
            f"{holder_words(c, listeners, known)}" for i, c in enumerate(found)]
    taken = ", ".join(used[:-1]) + (" and " if len(used) > 1 else "") + used[-1]
    movable = [c for c in found if c.port.option]
    fixed = [c for c in found if not c.port.option]
    avoid = {p.number for p in recipe.ports}
    moves = []
    for c in movable:
        n = free_port(c.port, listeners, avoid)
        avoid.add(n)
        moves.append(f"--option {c.port.option}={n}")
    title = recipe.title
    if not fixed:
        ports = "another port" if len(moves) == 1 else "other ports"
        return RoostError(f"{taken}; deploy {title} on {ports} with {' '.join(moves)}")
    need = " and ".join(c.port.spoken() for c in fixed)
    it = "it" if len(fixed) == 1 else "them"
    other = "other port" if len(moves) == 1 else "other ports"
    also = f", and move the {other} with {' '.join(moves)}" if moves else ""
    return RoostError(f"{taken}; {title} needs {need} itself: stop what uses {it} or deploy "
                      f"to another host with --host NAME{also}")


def check(recipe: Recipe, t: Transport,
          known: Callable[[], Mapping[str, str]] | None = None) -> Listeners | None:
    """Raise the refusal when a port the recipe binds is taken by something else; return what
    was found (None when the recipe binds no port, and nothing was run). `known` gives the
    roost services the progress says run on this host, by port ("8008/tcp" -> "ssb-pub"),
    asked only to name a holder."""
    if not recipe.ports:
        return None
    found = read_listeners(t, recipe.sudo)
    bad = conflicts(recipe, found)
    if bad:
        names: Mapping[str, str] = {}
        if known is not None:
            try:
                names = {k: v for k, v in known().items() if v != recipe.service_id}
            except RoostError:
                names = {}
        raise refusal(recipe, bad, found, names)
    return found


def dry_run_lines(recipe: Recipe) -> list[str]:
    """What the dry run says about the port check."""
    if not recipe.ports:
        return []
    shown = []
    for p in recipe.ports:
        own = f", or already used by {' or '.join(p.units)}" if p.units else ""
        shown.append(f"{p.spoken()} free{own}")
    return [f"before step 1: check that {'; '.join(shown)}", f"  {COMMAND_SHOWN}"]
