"""An in-memory Transport for fast unit tests of step and engine logic.

It understands the commands roost's own steps send (dpkg-query, apt-get, install -d, id,
useradd, systemctl, rm and the fixed `sh -c` scripts of steps.py and engine.py) and keeps the
host's state in dictionaries. Tests of real behaviour use the LocalTransport or real SSH too;
this fake is never the only proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from roost.core.errors import RoostError
from roost.deploy import engine, steps
from roost.deploy.transport import CommandResult, OutputSink, Transport
from support import counter

Handler = Callable[[list[str], bytes | None], tuple[int, str, str]]


@dataclass
class FakeFile:
    data: bytes
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    link: bool = False


@dataclass
class FakeHost:
    files: dict[str, FakeFile] = field(default_factory=dict)
    dirs: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)
    available: set[str] | None = None
    """Packages apt can install (None: any)."""
    lists_fresh: bool = True
    users: dict[str, set[str]] = field(default_factory=dict)
    groups: set[str] = field(default_factory=lambda: {"root"})
    enabled: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    restarts: list[str] = field(default_factory=list)


class FakeTransport:
    """Implements roost.deploy.transport.Transport in memory."""

    def __init__(self, name: str = "fake", host: FakeHost | None = None) -> None:
        self.name = name
        self.host = host or FakeHost()
        self.log: list[tuple[str, ...]] = []
        self.stdins: list[bytes | None] = []
        self.handlers: dict[str, Handler] = {}
        self.lose_connection_at: int | None = None
        """Raise 'connection lost' on this call number (1-based, counting run, put_file and
        get_file), before the call does anything."""
        self.lose_reply_at: int | None = None
        """Like lose_connection_at, but the call is carried out on the host first and only
        its answer is lost (the hardest case for resuming)."""
        self.calls = 0
        self.closed = False

    # -- Transport --------------------------------------------------------------------------

    def _tick(self) -> None:
        self.calls += 1
        if self.lose_connection_at is not None and self.calls >= self.lose_connection_at:
            raise RoostError(f"the connection to {self.name} was lost",
                             hint="check the host is on and reachable")

    def run(self, argv: Sequence[str], *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputSink | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        self._tick()
        cmd = [str(a) for a in argv]
        self.log.append(tuple(cmd))
        self.stdins.append(stdin)
        rc, out, err = self._exec(cmd, stdin)
        self._reply()
        if on_output is not None:
            for line in (out + err).splitlines():
                on_output(line)
        return CommandResult(tuple(cmd), rc, out, err)

    def _reply(self) -> None:
        if self.lose_reply_at is not None and self.calls >= self.lose_reply_at:
            raise RoostError(f"the connection to {self.name} was lost",
                             hint="check the host is on and reachable")

    def put_file(self, path: str, data: bytes, *, mode: int = 0o600, owner: str | None = None,
                 group: str | None = None) -> None:
        self._tick()
        self.log.append(("put_file", path))
        if owner is not None and owner not in self.host.users and owner != "root":
            raise RoostError(f"the user {owner} does not exist on {self.name}")
        self.host.files[path] = FakeFile(bytes(data), mode, owner or "root", group or "root")
        self._reply()

    def get_file(self, path: str) -> bytes | None:
        self._tick()
        f = self.host.files.get(path)
        return None if f is None else f.data

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------------

    def commands_run(self) -> list[tuple[str, ...]]:
        """The log with the engine's marker wrapper removed (the step's own commands)."""
        out = []
        for c in self.log:
            inner = engine.unwrap_step(c)
            if inner is not None:
                out.append(inner)
            elif not (len(c) > 2 and c[2] in (engine.MARK_ONLY, engine.READ_MARKER,
                                               engine.WRITE_MARKER, engine.RESET_MARKER)):
                out.append(c)
        return out

    def _exec(self, a: list[str], stdin: bytes | None) -> tuple[int, str, str]:
        h = self.host
        if not a:
            return 127, "", "empty command"
        if a[0] in self.handlers:
            return self.handlers[a[0]](a, stdin)
        if a[:2] == ["sh", "-c"]:
            return self._script(a[2], a[4:], stdin)
        if a[0] == "env":
            if len(a) > 2 and a[1] == "-C":
                return self._exec(a[3:], stdin)
            rest = a[1:]
            while rest and "=" in rest[0]:
                rest = rest[1:]
            return self._exec(rest, stdin)
        if a[0] == "runuser":
            return self._exec(a[a.index("--") + 1:], stdin)
        if a[0] == "test" and len(a) == 3:
            p = a[2]
            f = h.files.get(p)
            ok = {"-e": f is not None or p in h.dirs, "-f": f is not None and not f.link,
                  "-L": f is not None and f.link, "-d": p in h.dirs,
                  "-s": f is not None and bool(f.data)}.get(a[1], False)
            return (0 if ok else 1), "", ""
        if a[0] == "ln" and a[1] in ("-s", "-sf", "-sfn"):
            h.files[a[-1]] = FakeFile(a[-2].encode(), 0o777, link=True)
            return 0, "", ""
        if a[0] == "cp":
            src, dst = a[-2], a[-1]
            if src not in h.files:
                return 1, "", f"cp: cannot stat '{src}': No such file or directory\n"
            f = h.files[src]
            h.files[dst] = FakeFile(f.data, f.mode)
            return 0, "", ""
        if a[0] == "true":
            return 0, "", ""
        if a[0] == "false":
            return 1, "", ""
        if a[0] == "dpkg-query":
            pkgs = a[4:]
            lines = [f"{p} installed" for p in pkgs if p in h.packages]
            missing = [p for p in pkgs if p not in h.packages]
            err = "".join(f"dpkg-query: no packages found matching {p}\n" for p in missing)
            return (1 if missing else 0), "".join(x + "\n" for x in lines), err
        if a[0] == "apt-get":
            words, rest = [], a[1:]
            while rest:  # past the options: -y, -q, "-o NAME=VALUE"
                word, rest = rest[0], rest[1:]
                if word == "-o":
                    rest = rest[1:]
                elif not word.startswith("-"):
                    words.append(word)
            verb, pkgs = words[0], words[1:]
            if verb == "update":
                h.lists_fresh = True
                return 0, "Reading package lists...\n", ""
            if verb == "install":
                bad = [p for p in pkgs if h.available is not None and p not in h.available]
                if bad or not h.lists_fresh:
                    return 100, "", f"E: Unable to locate package {(bad or pkgs)[0]}\n"
                h.packages.update(pkgs)
                return 0, "".join(f"Setting up {p} ...\n" for p in pkgs), ""
            if verb in ("remove", "purge"):
                h.packages.difference_update(pkgs)
                return 0, "", ""
        if a[0] == "install" and a[1] == "-d":
            mode, owner, group = 0o755, "root", "root"
            i = 2
            while a[i] != "--":
                if a[i] == "-m":
                    mode = int(a[i + 1], 8)
                elif a[i] == "-o":
                    owner = a[i + 1]
                elif a[i] == "-g":
                    group = a[i + 1]
                i += 2
            if owner not in h.users and owner != "root":
                return 1, "", f"install: invalid user '{owner}'\n"
            h.dirs[a[i + 1]] = (mode, owner, group)
            return 0, "", ""
        if a[0] == "id":
            user = a[-1]
            if user not in h.users and user != "root":
                return 1, "", f"id: '{user}': no such user\n"
            if a[1] == "-u":
                return 0, "999\n", ""
            return 0, " ".join([user, *sorted(h.users.get(user, set()))]) + "\n", ""
        if a[0] == "usermod":
            h.users[a[-1]].update(a[3].split(","))
            return 0, "", ""
        if a[0] == "systemctl":
            verb, unit = a[1], a[-1]
            if verb == "is-enabled":
                return (0, "enabled\n", "") if unit in h.enabled else (1, "disabled\n", "")
            if verb == "is-active":
                return (0, "", "") if unit in h.active else (3, "", "")
            if verb == "disable":
                h.enabled.discard(unit)
                h.active.discard(unit)
                return 0, "", ""
            if verb in ("restart", "reload", "reload-or-restart"):
                h.restarts.append(unit)
                h.active.add(unit)
                return 0, "", ""
            if verb == "daemon-reload":
                return 0, "", ""
        if a[0] == "rm":
            paths = a[a.index("--") + 1:]
            for p in paths:
                for d in (h.files, h.dirs):
                    for k in [k for k in d if k == p or k.startswith(p.rstrip("/") + "/")]:
                        del d[k]
            return 0, "", ""
        return 127, "", f"fake transport: {a[0]}: command not known\n"

    def _script(self, text: str, args: list[str], stdin: bytes | None) -> tuple[int, str, str]:
        h = self.host
        if text == engine.MARK_APPEND:
            rc, out, err = self._exec(args[2:], stdin)
            if rc == 0:
                self._append(args[0], args[1])
            return rc, out, err
        if text in (engine.MARK_EVAL, engine.MARK_TRAP):
            rc, out, err = self._script(args[2], args[3:], stdin)
            if rc == 0:
                self._append(args[0], args[1])
            return rc, out, err
        if text == engine.READ_MARKER:
            f = h.files.get(args[0])
            return (3, "", "") if f is None else (0, f.data.decode(), "")
        if text == engine.RESET_MARKER:
            f = h.files.get(args[0])
            old = f.data.decode() if f is not None else ""
            kept = sorted({ln for ln in old.splitlines()
                           if ln and not ln.startswith(("start ", args[2] + " "))})
            h.files[args[0]] = FakeFile("".join(k + "\n" for k in kept).encode()
                                        + f"{args[2]} {args[1]}\n".encode())
            return 0, old, ""
        if text == engine.WRITE_MARKER:
            h.files[args[0]] = FakeFile(stdin or b"")
            return 0, "", ""
        if text == engine.MARK_ONLY:
            self._append(args[0], args[1])
            return 0, "", ""
        if text == steps.FILE_STATE:
            f = h.files.get(args[0])
            if f is None:
                return 3, "", ""
            return 0, f"{hashlib.sha256(f.data).hexdigest()}\n{f.mode:o} {f.owner} {f.group}\n", ""
        if text == steps.DIR_STATE:
            d = h.dirs.get(args[0])
            return (3, "", "") if d is None else (0, f"{d[0]:o} {d[1]} {d[2]}\n", "")
        if text == steps.PATH_EXISTS:
            p = args[0]
            return (0 if p in h.files or p in h.dirs else 1), "", ""
        if text == steps.SERVICE_STATE:
            u = args[0]
            return (0 if u in h.enabled and u in h.active else 1), "", ""
        if text == steps.SERVICE_ENABLE:
            h.enabled.add(args[0])
            h.active.add(args[0])
            return 0, "", ""
        if text == steps.ADD_USER:
            name = args[0]
            extra = args[4].split(",") if len(args) > 4 else []
            h.users[name] = set(extra)
            h.groups.add(name)
            return 0, "", ""
        if text in (counter.APPEND, counter.APPEND_SLOW):
            self._append(args[1], args[0])
            return 0, "", ""
        if text == steps.RESTART:
            return self._exec(["systemctl", args[0], args[1]], stdin)
        if text == steps.RESTART_DONE:
            f = h.files.get(args[0])
            line = f"{args[1]} {self._watch_hash(args[2:])}"
            return (0 if f is not None and line in f.data.decode().splitlines() else 1), "", ""
        if text == steps.RESTART_RECORD:
            record, key, action, unit, watched = args[0], args[1], args[2], args[3], args[4:]
            state = self._watch_hash(watched)
            rc, out, err = self._exec(["systemctl", action, unit], stdin)
            if rc != 0:
                return rc, out, err
            f = h.files.get(record)
            lines = f.data.decode().splitlines() if f is not None else []
            kept = [ln for ln in lines if not ln.startswith(key + " ")]
            h.files[record] = FakeFile("".join(x + "\n" for x in [*kept, f"{key} {state}"])
                                       .encode())
            return 0, out, err
        return 127, "", "fake transport: script not known\n"

    def _watch_hash(self, paths: list[str]) -> str:
        """steps.WATCH_HASH on the fake host."""
        lines = []
        for p in paths:
            f, d = self.host.files.get(p), self.host.dirs.get(p)
            if f is not None and f.link:
                lines.append(f"L {p} {f.data.decode()}")
            elif f is not None:
                lines.append(f"F {p} {hashlib.sha256(f.data).hexdigest()} "
                             f"{f.mode:o} {f.owner} {f.group}")
            elif d is not None:
                lines.append(f"D {p} {d[0]:o} {d[1]} {d[2]}")
            else:
                lines.append(f"- {p}")
        return hashlib.sha256("".join(x + "\n" for x in lines).encode()).hexdigest()

    def _append(self, path: str, line: str) -> None:
        f = self.host.files.get(path)
        if f is None:
            self.host.files[path] = FakeFile(line.encode() + b"\n")
        else:
            f.data += line.encode() + b"\n"
