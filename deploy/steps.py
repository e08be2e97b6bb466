"""Typed recipe steps: each knows what it does, how to tell whether it is already done, and how
to do it.

Every step is a frozen dataclass with:
- `describe()`: one sentence that reads well aloud ("install packages prosody, lua-dbi-sqlite3");
- `commands()`: the commands and files it would run or write, for a dry run (secrets shown as
  `<secret: name>`, never their value);
- `check(t, ctx) -> bool`: True when the host already is as the step wants it;
- `apply(t, ctx)`: make it so. Raises `StepError` (a RoostError) when it fails.

Commands are argument lists; when a shell script is needed it is a fixed script with the
values passed as positional arguments (`sh -c SCRIPT sh ARG...`), so no value is ever parsed
by a shell. Secrets are referenced by name (`Secret`) and resolved by the engine at apply time;
they reach the host only on stdin or as file contents.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import re
import shlex
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from roost.core.errors import RoostError
from roost.core.text import terminal_clean
from roost.deploy.reach import Site
from roost.deploy.transport import CommandResult, Transport

# --------------------------------------------------------------------------------------------
# Secrets


@dataclass(frozen=True)
class Secret:
    """A reference to a secret the engine resolves at apply time, e.g.
    `Secret("xmpp/alice@example.org", "password")`. Only the reference is ever shown."""

    name: str
    field: str = "password"

    @property
    def ref(self) -> str:
        """The key the secret values mapping uses: "name#field"."""
        return f"{self.name}#{self.field}"

    def shown(self) -> str:
        return f"<secret: {self.name} {self.field}>"

    def __str__(self) -> str:
        return self.shown()

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, {self.field!r})"


SecretValues = Mapping[str, str] | Callable[[Secret], str]
"""What the engine resolves secrets from: a mapping keyed by `Secret.ref`, or a function."""

Data = str | bytes | Secret


class StepError(RoostError):
    """A step failed. `tail` holds the last lines of its output (secrets removed)."""

    def __init__(self, message: str, *, hint: str | None = None, tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.tail = tail


# --------------------------------------------------------------------------------------------
# The context a step runs in


@dataclass
class StepContext:
    """What the engine gives a step: the transport, sudo, secrets, output and the paths changed
    so far in this run (for `Restart`)."""

    transport: Transport
    sudo: bool = True
    secrets: SecretValues | None = None
    on_output: Callable[[str], None] | None = None
    changed_paths: set[str] = field(default_factory=set)
    restart_record: str | None = None
    """Set by the engine: the host file where each `Restart` records the state of what it
    watches at its last successful restart (see `Restart`)."""
    wrap_final: Callable[[list[str]], list[str]] | None = None
    """Set by the engine: wraps a step's last command so the host marker is written in the same
    command (one round trip, and the marker is written only when the command succeeded)."""
    final_marked: bool = False
    tail_lines: list[str] = field(default_factory=list)
    _resolved: dict[str, str] = field(default_factory=dict)

    def secret(self, s: Secret) -> str:
        if s.ref in self._resolved:
            return self._resolved[s.ref]
        value: str | None
        if self.secrets is None:
            value = None
        elif callable(self.secrets):
            value = self.secrets(s)
        else:
            value = self.secrets.get(s.ref)
        if value is None:
            raise RoostError(
                f"the secret {s.name} ({s.field}) is not available",
                hint="create it with `roost keys`, or unlock the key store, then run again",
            )
        self._resolved[s.ref] = value
        return value

    def data(self, d: Data) -> bytes:
        if isinstance(d, Secret):
            return self.secret(d).encode("utf-8")
        return d.encode("utf-8") if isinstance(d, str) else d

    def redact(self, text: str) -> str:
        """Replace every resolved secret value in `text` with its reference."""
        for ref, value in self._resolved.items():
            if len(value) >= 4 and value in text:
                name, _, fld = ref.rpartition("#")
                text = text.replace(value, f"<secret: {name} {fld}>")
        return text

    def _line(self, line: str) -> None:
        clean = self.redact(terminal_clean(line.rstrip("\n")))
        self.tail_lines.append(clean)
        if len(self.tail_lines) > 40:
            del self.tail_lines[:-40]
        if self.on_output is not None:
            self.on_output(clean)

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        quiet: bool = False,
        final: bool = False,
    ) -> CommandResult:
        """Run a command on the host with the context's sudo. Output lines go to the progress
        stream (unless `quiet`: checks stay silent). `final=True` marks the step's last command:
        the engine may append the host marker to it."""
        cmd = list(argv)
        if final and self.wrap_final is not None:
            cmd = self.wrap_final(cmd)
        res = self.transport.run(
            cmd, sudo=self.sudo, stdin=stdin, timeout=timeout,
            on_output=None if quiet else self._line,
        )
        if final and self.wrap_final is not None and res.ok:
            self.final_marked = True
        return res

    def must(self, argv: Sequence[str], what: str, hint: str, *, stdin: bytes | None = None,
             timeout: float | None = None, final: bool = False) -> CommandResult:
        res = self.run(argv, stdin=stdin, timeout=timeout, final=final)
        if not res.ok:
            prog = program_name(argv)
            name = "the command" if prog == SH else prog
            raise StepError(f"{name} ended with exit code {res.exit_code}", hint=hint,
                            tail=self.redact(terminal_clean(res.tail())))
        return res


def program_name(argv: Sequence[str]) -> str:
    """The program a command runs, past the env/runuser wrappers steps add."""
    a = list(argv)
    while a:
        if a[0] == "env":
            a = a[3:] if a[1:2] == ["-C"] else a[1:]
            while a and "=" in a[0]:
                a = a[1:]
        elif a[0] == "runuser" and "--" in a:
            a = a[a.index("--") + 1:]
        else:
            return a[0].rsplit("/", 1)[-1]
    return "the command"


# --------------------------------------------------------------------------------------------
# Validation of values that end up as arguments


_UNIT = re.compile(r"^[A-Za-z0-9@._:\\-]+$")
_PKG = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+~:\-]+)?$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _abs_path(p: str, what: str = "path") -> str:
    if not p.startswith("/") or "\0" in p or "\n" in p or "/../" in p + "/":
        raise RoostError(f"{p[:80]!r} is not a usable {what}",
                         hint="use an absolute path without '..' or line breaks")
    return p


def _unit(u: str) -> str:
    if not _UNIT.match(u) or u.startswith("-"):
        raise RoostError(f"{u[:80]!r} is not a systemd unit name",
                         hint="use a name like prosody or prosody.service")
    return u


def _user(u: str, what: str = "user name") -> str:
    if not _USER.match(u):
        raise RoostError(f"{u[:80]!r} is not a valid {what}",
                         hint="use lower-case letters, digits, - and _")
    return u


def _mode(m: int) -> int:
    if not 0 <= m <= 0o7777:
        raise RoostError(f"{m!r} is not a file mode", hint="use a number like 0o644")
    return m


def shell_text(argv: Sequence[str]) -> str:
    """How a command reads in a dry run (quoted as a shell would need it)."""
    return shlex.join(argv)


# --------------------------------------------------------------------------------------------
# Fixed scripts (values are positional arguments, never part of the script text)

SH = "sh"
FILE_STATE = (
    'f=$1; [ -f "$f" ] || exit 3; sha256sum < "$f" | cut -d" " -f1; stat -c "%a %U %G" -- "$f"'
)
DIR_STATE = 'd=$1; [ -d "$d" ] || exit 3; stat -c "%a %U %G" -- "$d"'
SERVICE_STATE = 'systemctl is-enabled --quiet "$1" && systemctl is-active --quiet "$1"'
SERVICE_ENABLE = 'systemctl daemon-reload && systemctl enable --now "$1"'
ADD_USER = (
    'u=$1; h=$2; s=$3; shift 3; '
    'if getent group "$u" >/dev/null; then g="-g $u"; else g="-U"; fi; '
    'useradd --system $g --home-dir "$h" --no-create-home --shell "$s" "$@" "$u"'
)
PATH_EXISTS = '[ -e "$1" ] || [ -L "$1" ]'
RESTART = 'systemctl daemon-reload && systemctl "$1" "$2"'
WATCH_HASH = (
    'watch_hash() { for p in "$@"; do '
    'if [ -L "$p" ]; then printf "L %s %s\\n" "$p" "$(readlink -- "$p")"; '
    'elif [ -f "$p" ]; then printf "F %s %s %s\\n" "$p" '
    '"$(sha256sum < "$p" | cut -d" " -f1)" "$(stat -c "%a %U %G" -- "$p")"; '
    'elif [ -d "$p" ]; then printf "D %s %s\\n" "$p" "$(stat -c "%a %U %G" -- "$p")"; '
    'else printf "%s %s\\n" - "$p"; fi; done | sha256sum | cut -d" " -f1; }; '
)
"""A shell function: one hash of the state of the paths given (a file's content, mode and
owner; a link's target; a folder's mode and owner; or that it is missing)."""
RESTART_DONE = (
    WATCH_HASH + 'r=$1; k=$2; shift 2; h=$(watch_hash "$@") || exit 1; '
    '[ -f "$r" ] && grep -qxF -- "$k $h" "$r"'
)
"""Done when the host's record $1 says step $2 last restarted with the watched paths
($3...) exactly as they are now."""
RESTART_RECORD = (
    WATCH_HASH + 'r=$1; k=$2; a=$3; u=$4; shift 4; h=$(watch_hash "$@") || exit 1; '
    'systemctl daemon-reload && systemctl "$a" "$u" || exit; '
    'umask 022; mkdir -p -- "${r%/*}" && '
    '{ grep -v -e "^$k " -- "$r" 2>/dev/null; printf "%s %s\\n" "$k" "$h"; } > "$r.roost-tmp" '
    '&& mv -f -- "$r.roost-tmp" "$r"'
)
"""Restart (action $3) unit $4, then record in $1 under step key $2 the state of the watched
paths ($5...) it started with: taken before the restart, written only when it succeeded."""


def script(text: str, *args: str) -> list[str]:
    return [SH, "-c", text, SH, *args]


# --------------------------------------------------------------------------------------------
# The step base


class Step:
    """Base of every step type. Subclasses are frozen dataclasses."""

    has_check: ClassVar[bool] = True
    """False when `check` cannot tell whether the step was done (a plain command)."""
    changes_host: ClassVar[bool] = True
    """False for probes (health checks): always run, never journaled."""
    always_check: ClassVar[bool] = False
    """True when whether the step is needed depends on other steps (a `Restart`): the engine
    asks its `check` in every run, even when an earlier run of the same deploy applied it."""

    def describe(self) -> str:
        raise NotImplementedError

    def commands(self) -> list[str]:
        raise NotImplementedError

    def check(self, t: Transport, ctx: StepContext) -> bool:
        raise NotImplementedError

    def apply(self, t: Transport, ctx: StepContext) -> None:
        raise NotImplementedError

    def hint(self) -> str:
        return "read the output above and fix the cause on the host"

    def touches(self) -> tuple[str, ...]:
        """Paths this step writes (what `Restart(watch=...)` refers to)."""
        return ()

    def definition(self) -> str:
        """A canonical text of the step's definition (secrets by reference only)."""
        return json.dumps({"type": type(self).__name__, **_canon_fields(self)},
                          sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.definition().encode("utf-8")).hexdigest()[:16]


def _canon(v: object) -> Any:
    if isinstance(v, Secret):
        return {"secret": v.ref}
    if isinstance(v, bytes):
        return {"sha256": hashlib.sha256(v).hexdigest()}
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if isinstance(v, Mapping):
        return {str(k): _canon(x) for k, x in sorted(v.items())}
    if isinstance(v, tuple | list):
        return [_canon(x) for x in v]
    if callable(v):
        return {"callable": getattr(v, "__qualname__", type(v).__name__)}
    return repr(v)


def _canon_fields(step: Step) -> dict[str, Any]:
    return {f.name: _canon(getattr(step, f.name)) for f in fields(step)}  # type: ignore[arg-type]


def step_key(index: int, step: Step) -> str:
    """A stable key for step `index` (0-based): its position and a hash of its definition."""
    return f"{index:03d}-{step.digest()}"


def _preview(data: Data, limit: int = 40) -> list[str]:
    if isinstance(data, Secret):
        return [f"    {data.shown()}"]
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return [f"    ({len(data)} bytes of binary data)"]
    lines = data.splitlines()
    out = [f"    | {line}" for line in lines[:limit]]
    if len(lines) > limit:
        out.append(f"    | … {len(lines) - limit} more lines")
    return out


def _owner_text(owner: str | None, group: str | None, mode: int) -> str:
    who = ""
    if owner or group:
        who = f", owner {owner or '-'}:{group or '-'}"
    return f"mode {mode:04o}{who}"


# --------------------------------------------------------------------------------------------
# Packages


def _packages(names: Sequence[str]) -> str:
    """"the package prosody", "packages nodejs, npm"."""
    return (f"the package {names[0]}" if len(names) == 1
            else f"packages {', '.join(names)}")


@dataclass(frozen=True)
class InstallPackages(Step):
    packages: tuple[str, ...]
    update_first: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.packages, str):
            object.__setattr__(self, "packages", (self.packages,))
        if not self.packages:
            raise RoostError("InstallPackages needs at least one package")
        for p in self.packages:
            if not _PKG.match(p):
                raise RoostError(f"{p[:80]!r} is not a Debian package name")

    def describe(self) -> str:
        return f"install {_packages(self.packages)}"

    def _install(self) -> list[str]:
        return ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
                "--no-install-recommends", *self.packages]

    _update: ClassVar[list[str]] = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                                    "update", "-q"]

    def _query(self) -> list[str]:
        return ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *self.packages]

    def commands(self) -> list[str]:
        out = [shell_text(self._update)] if self.update_first else []
        return [*out, shell_text(self._install())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(self._query(), quiet=True)
        installed = {line.split()[0].split(":")[0] for line in res.stdout.splitlines()
                     if line.strip().endswith(" installed")}
        return all(p.split("=")[0].split(":")[0] in installed for p in self.packages)

    def apply(self, t: Transport, ctx: StepContext) -> None:
        # apt's output is shown only when it failed, as the failed step's last lines: a first
        # try that fails on old or missing package lists (a fresh image: "Unable to locate
        # package") and works after an update is not news to the person.
        if self.update_first:
            self._apt(ctx, self._update, "apt-get update")
        res = ctx.run(self._install(), final=True, quiet=True)
        if not res.ok and not self.update_first:
            self._apt(ctx, self._update, "apt-get update")
            res = ctx.run(self._install(), final=True, quiet=True)
        if not res.ok:
            raise StepError(f"apt-get ended with exit code {res.exit_code}", hint=self.hint(),
                            tail=ctx.redact(res.tail()))

    def _apt(self, ctx: StepContext, argv: Sequence[str], what: str) -> None:
        res = ctx.run(argv, quiet=True)
        if not res.ok:
            raise StepError(f"{what} ended with exit code {res.exit_code}", hint=self.hint(),
                            tail=ctx.redact(res.tail()))

    def hint(self) -> str:
        return ("check the host's internet connection and free disk space, and that no other "
                "package manager is running (`sudo apt-get -f install` repairs a broken one)")


@dataclass(frozen=True)
class RemovePackages(Step):
    packages: tuple[str, ...]
    purge: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.packages, str):
            object.__setattr__(self, "packages", (self.packages,))
        for p in self.packages:
            if not _PKG.match(p):
                raise RoostError(f"{p[:80]!r} is not a Debian package name")

    def describe(self) -> str:
        verb = "purge" if self.purge else "remove"
        return f"{verb} {_packages(self.packages)}"

    def _argv(self) -> list[str]:
        return ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                "purge" if self.purge else "remove", "-y", "-q", *self.packages]

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n",
                       *self.packages], quiet=True)
        return not any(line.strip().endswith(" installed") for line in res.stdout.splitlines())

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"removing {', '.join(self.packages)}", self.hint(), final=True)


# --------------------------------------------------------------------------------------------
# Files


def _file_matches(ctx: StepContext, path: str, data: bytes, mode: int, owner: str | None,
                  group: str | None) -> bool:
    res = ctx.run(script(FILE_STATE, path), quiet=True)
    if not res.ok:
        return False
    lines = res.stdout.split()
    if len(lines) != 4:
        return False
    digest, m, o, g = lines
    if digest != hashlib.sha256(data).hexdigest() or int(m, 8) != mode:
        return False
    return (owner is None or o == owner) and (group is None or g == group)


def _private(mode: int, group: str | None) -> bool:
    """Fit for a secret: nothing for others; read by the group only when one is named (0640
    root:<service> lets the service read it, as 0600 would not)."""
    return not mode & (0o037 if group is not None else 0o077)


@dataclass(frozen=True)
class WriteFile(Step):
    """Write a file atomically on the host (temp file, then rename) with mode and owner."""

    path: str
    content: Data
    mode: int = 0o644
    owner: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _abs_path(self.path)
        _mode(self.mode)
        if self.owner is not None:
            _user(self.owner, "owner")
        if self.group is not None:
            _user(self.group, "group")
        if isinstance(self.content, Secret) and not _private(self.mode, self.group):
            raise RoostError(f"{self.path} holds a secret but would be readable by others",
                             hint="give it mode 0o600 or 0o640")

    def _data(self, ctx: StepContext) -> bytes:
        return ctx.data(self.content)

    def _shown(self) -> Data:
        return self.content

    def describe(self) -> str:
        return f"write {self.path}"

    def commands(self) -> list[str]:
        shown = self._shown()
        size = "a secret" if isinstance(shown, Secret) else f"{len(ctx_free_bytes(shown))} bytes"
        return [f"write file {self.path} ({size}, "
                f"{_owner_text(self.owner, self.group, self.mode)}), atomically:",
                *_preview(shown)]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return _file_matches(ctx, self.path, self._data(ctx), self.mode, self.owner, self.group)

    def apply(self, t: Transport, ctx: StepContext) -> None:
        t.put_file(self.path, self._data(ctx), mode=self.mode, owner=self.owner,
                   group=self.group)
        ctx.changed_paths.add(self.path)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)

    def hint(self) -> str:
        return "check that the folder exists or can be created, the owner exists, and disk space"


def ctx_free_bytes(d: str | bytes) -> bytes:
    return d.encode("utf-8") if isinstance(d, str) else d


class _TemplateText(string.Template):
    # ${name} and $name, names may hold dots and dashes after the first letter.
    idpattern = r"(?a:[_a-z][_a-z0-9.\-]*)"
    flags = re.IGNORECASE


def load_template(name: str) -> str:
    """A template file shipped in roost/deploy/templates/."""
    if "/" in name or name.startswith("."):
        raise RoostError(f"{name!r} is not a template name")
    try:
        return (importlib.resources.files("roost.deploy") / "templates" / name).read_text("utf-8")
    except (FileNotFoundError, OSError):
        raise RoostError(f"the template {name} is missing from roost",
                         hint="reinstall roost") from None


def render(text: str, values: Mapping[str, str], what: str = "template") -> str:
    """Substitute `${name}` with values: plain text replacement, nothing is evaluated.
    A placeholder with no value is an error; `$$` is a literal `$`."""
    try:
        return _TemplateText(text).substitute(values)
    except KeyError as exc:
        raise RoostError(f"the {what} needs a value for {exc.args[0]}") from None
    except ValueError as exc:
        raise RoostError(f"the {what} has a bad placeholder: {exc}") from None


@dataclass(frozen=True)
class RenderTemplate(WriteFile):
    """Render `template` (a file in deploy/templates/) or `text` with `values` and write it;
    or, for a file whose syntax needs its values quoted, call `render` (a module-level
    function) with the values, secrets resolved, at apply time.

    Values are inserted as text, never evaluated. A value with a line break is refused unless
    `multiline=True`, so an option can never add lines to a config file."""

    content: Data = ""
    template: str | None = None
    text: str | None = None
    values: Mapping[str, str | Secret] = field(default_factory=dict)
    multiline: bool = False
    render: Callable[[Mapping[str, str]], str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if sum(x is not None for x in (self.template, self.text, self.render)) != 1:
            raise RoostError("RenderTemplate needs exactly one of template=, text= or render=")
        has_secret = any(isinstance(v, Secret) for v in self.values.values())
        if has_secret and not _private(self.mode, self.group):
            raise RoostError(f"{self.path} holds a secret but would be readable by others",
                             hint="give it mode 0o600 or 0o640")
        for k, v in self.values.items():
            if isinstance(v, str) and not self.multiline and ("\n" in v or "\r" in v
                                                                  or "\0" in v):
                raise RoostError(f"the value for {k} has a line break",
                                 hint="give it on one line")

    def _source(self) -> str:
        return self.text if self.text is not None else load_template(self.template or "")

    def _render(self, value_of: Callable[[str | Secret], str]) -> str:
        values = {k: value_of(v) for k, v in self.values.items()}
        if self.render is not None:
            return self.render(values)
        return render(self._source(), values, f"template for {self.path}")

    def _data(self, ctx: StepContext) -> bytes:
        def value(v: str | Secret) -> str:
            if isinstance(v, Secret):
                s = ctx.secret(v)
                if not self.multiline and ("\n" in s or "\r" in s):
                    raise RoostError(f"the secret {v.name} ({v.field}) has a line break")
                return s
            return v
        return self._render(value).encode("utf-8")

    def _shown(self) -> Data:
        return self._render(lambda v: v.shown() if isinstance(v, Secret) else v)

    def describe(self) -> str:
        return f"write {self.path} from a template"

    def commands(self) -> list[str]:
        return [f"write file {self.path} (rendered, "
                f"{_owner_text(self.owner, self.group, self.mode)}), atomically:",
                *_preview(self._shown())]


@dataclass(frozen=True)
class EnsureDir(Step):
    path: str
    mode: int = 0o755
    owner: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        _abs_path(self.path)
        _mode(self.mode)
        if self.owner is not None:
            _user(self.owner, "owner")
        if self.group is not None:
            _user(self.group, "group")

    def describe(self) -> str:
        return f"create the folder {self.path}"

    def _argv(self) -> list[str]:
        argv = ["install", "-d", "-m", f"{self.mode:04o}"]
        if self.owner:
            argv += ["-o", self.owner]
        if self.group:
            argv += ["-g", self.group]
        return [*argv, "--", self.path]

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(script(DIR_STATE, self.path), quiet=True)
        parts = res.stdout.split()
        if not res.ok or len(parts) != 3:
            return False
        return (int(parts[0], 8) == self.mode and (self.owner is None or parts[1] == self.owner)
                and (self.group is None or parts[2] == self.group))

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"creating {self.path}", self.hint(), final=True)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)


@dataclass(frozen=True)
class RemovePath(Step):
    """Remove a file or a folder with everything in it (uninstall, --purge-data)."""

    path: str

    def __post_init__(self) -> None:
        _abs_path(self.path)
        if self.path.rstrip("/").count("/") < 2 and self.path.rstrip("/") not in ("/srv",):
            raise RoostError(f"refusing to remove {self.path}: too close to the root folder")

    def describe(self) -> str:
        return f"remove {self.path}"

    def _argv(self) -> list[str]:
        return ["rm", "-rf", "--", self.path]

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return not ctx.run(script(PATH_EXISTS, self.path), quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"removing {self.path}", self.hint(), final=True)

    def touches(self) -> tuple[str, ...]:
        return (self.path,)


# --------------------------------------------------------------------------------------------
# Users and services


@dataclass(frozen=True)
class EnsureUser(Step):
    """A system user (and its own group) with no login shell."""

    name: str
    home: str = "/nonexistent"
    shell: str = "/usr/sbin/nologin"
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _user(self.name)
        _abs_path(self.home, "home folder")
        _abs_path(self.shell, "shell")
        for g in self.groups:
            _user(g, "group")

    def describe(self) -> str:
        return f"create the system user {self.name}"

    def _argv(self) -> list[str]:
        extra = ["--groups", ",".join(self.groups)] if self.groups else []
        return script(ADD_USER, self.name, self.home, self.shell, *extra)

    def commands(self) -> list[str]:
        extra = f" --groups {','.join(self.groups)}" if self.groups else ""
        return [f"useradd --system --user-group --home-dir {shlex.quote(self.home)} "
                f"--no-create-home --shell {shlex.quote(self.shell)}{extra} {self.name}"]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(["id", "-nG", self.name], quiet=True)
        return res.ok and set(self.groups) <= set(res.stdout.split())

    def apply(self, t: Transport, ctx: StepContext) -> None:
        exists = ctx.run(["id", "-u", self.name], quiet=True).ok
        if exists:  # only the groups are missing
            ctx.must(["usermod", "-a", "-G", ",".join(self.groups), self.name],
                     f"adding {self.name} to groups", self.hint(), final=True)
        else:
            ctx.must(self._argv(), f"creating the user {self.name}", self.hint(), final=True)


@dataclass(frozen=True)
class EnableService(Step):
    """`systemctl enable --now UNIT`; done when it is enabled and active."""

    unit: str

    def __post_init__(self) -> None:
        _unit(self.unit)

    def describe(self) -> str:
        return f"enable and start {self.unit}"

    def commands(self) -> list[str]:
        return ["systemctl daemon-reload", f"systemctl enable --now {self.unit}"]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return ctx.run(script(SERVICE_STATE, self.unit), quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(script(SERVICE_ENABLE, self.unit), f"starting {self.unit}", self.hint(),
                 final=True)

    def hint(self) -> str:
        return (f"see why it stopped with `journalctl -u {self.unit} -n 50` on the host, "
                "fix the cause, then deploy again")


@dataclass(frozen=True)
class DisableService(Step):
    unit: str

    def __post_init__(self) -> None:
        _unit(self.unit)

    def describe(self) -> str:
        return f"stop and disable {self.unit}"

    def commands(self) -> list[str]:
        return [f"systemctl disable --now {self.unit}"]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(["systemctl", "is-enabled", self.unit], quiet=True)
        active = ctx.run(["systemctl", "is-active", "--quiet", self.unit], quiet=True)
        return res.stdout.strip() != "enabled" and not active.ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(["systemctl", "disable", "--now", self.unit], f"stopping {self.unit}",
                 self.hint(), final=True)


@dataclass(frozen=True)
class Restart(Step):
    """Restart (or reload) a unit when what it depends on changed: one of the `watch` paths
    (config files, unit files, the `current` link of a release) changed in this run, or their
    state is not what it was at the last restart that succeeded.

    The engine gives the step a record on the host (`StepContext.restart_record`): each
    successful restart writes there, in the same command, a hash of the watched paths'
    state it started with (content, mode and owner of a file, target of a link). So a run
    cut off between a config write and the restart, or a run skipped past the restart, is
    caught up by the next run, resumed or not; and a run where nothing changed restarts
    nothing. Without a record (a host deployed before there was one) it restarts once."""

    unit: str
    watch: tuple[str, ...]
    action: str = "restart"

    always_check: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _unit(self.unit)
        if isinstance(self.watch, str):
            object.__setattr__(self, "watch", (self.watch,))
        for p in self.watch:
            _abs_path(p)
        if self.action not in ("restart", "reload", "reload-or-restart"):
            raise RoostError(f"{self.action!r} is not restart, reload or reload-or-restart")

    def describe(self) -> str:
        return f"{self.action} {self.unit} if its configuration changed"

    def commands(self) -> list[str]:
        return [f"systemctl {self.action} {self.unit}   (only if {', '.join(self.watch)} "
                "changed since its last restart)"]

    def record_key(self) -> str:
        """Its line in the host's record: the step's definition, not its position."""
        return self.digest()

    def check(self, t: Transport, ctx: StepContext) -> bool:
        if set(self.watch) & ctx.changed_paths:
            return False
        if ctx.restart_record is None:  # outside the engine: this run's changes only
            return True
        return ctx.run(script(RESTART_DONE, ctx.restart_record, self.record_key(),
                              *self.watch), quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        if ctx.restart_record is None:
            argv = script(RESTART, self.action, self.unit)
        else:
            argv = script(RESTART_RECORD, ctx.restart_record, self.record_key(), self.action,
                          self.unit, *self.watch)
        ctx.must(argv, f"{self.action} of {self.unit}", self.hint(), final=True)

    def hint(self) -> str:
        return (f"the new configuration may be wrong: see `journalctl -u {self.unit} -n 50` "
                "on the host")


# --------------------------------------------------------------------------------------------
# Commands and accounts


def _as_user(argv: Sequence[str], user: str | None, cwd: str | None) -> list[str]:
    out = list(argv)
    if cwd is not None:
        out = ["env", "-C", cwd, *out]
    if user is not None:
        out = ["runuser", "-u", user, "--", *out]
    return out


def _argv_tuple(step: Step, name: str) -> None:
    v = getattr(step, name)
    if v is None:
        return
    if isinstance(v, str):
        raise RoostError(f"{name} must be a list of arguments, not a shell string",
                         hint=f"write {name}=[\"prog\", \"arg\"]")
    v = tuple(v)
    for a in v:
        if isinstance(a, Secret):
            raise RoostError(f"a secret cannot be a command argument ({a.shown()})",
                             hint="pass it on stdin (stdin=Secret(...)) or in a file")
        if not isinstance(a, str):
            raise RoostError(f"command arguments must be text, not {type(a).__name__}")
    if not v:
        raise RoostError(f"{name} is empty")
    object.__setattr__(step, name, v)


@dataclass(frozen=True)
class RunCommand(Step):
    """Run a command (an argument list). Done when `unless` exits 0, or `creates` exists.
    Without either it runs once per host: the host's record of applied steps remembers it
    (changing the command, or `roost undeploy`, lets it run again). To run something on every
    change instead, use `Restart` with `watch=`."""

    argv: tuple[str, ...]
    unless: tuple[str, ...] | None = None
    creates: str | None = None
    stdin: Data | None = None
    as_user: str | None = None
    cwd: str | None = None
    timeout: float | None = None
    description: str | None = None
    on_failure: str | None = None

    def __post_init__(self) -> None:
        _argv_tuple(self, "argv")
        _argv_tuple(self, "unless")
        if self.creates is not None:
            _abs_path(self.creates)
        if self.cwd is not None:
            _abs_path(self.cwd, "working folder")
        if self.as_user is not None:
            _user(self.as_user)

    @property
    def has_check(self) -> bool:  # type: ignore[override]
        return self.unless is not None or self.creates is not None

    def describe(self) -> str:
        return self.description or f"run {self.argv[0]}"

    def commands(self) -> list[str]:
        out = [shell_text(_as_user(self.argv, self.as_user, self.cwd))]
        if isinstance(self.stdin, Secret):
            out[0] += f"   (stdin: {self.stdin.shown()})"
        elif self.stdin is not None:
            out[0] += f"   (stdin: {len(ctx_free_bytes(self.stdin))} bytes)"
        if self.unless:
            out.append(f"  unless this succeeds: {shell_text(self.unless)}")
        if self.creates:
            out.append(f"  unless {self.creates} exists")
        return out

    def check(self, t: Transport, ctx: StepContext) -> bool:
        if self.creates is not None and ctx.run(script(PATH_EXISTS, self.creates),
                                                quiet=True).ok:
            return True
        if self.unless is not None:
            return ctx.run(_as_user(self.unless, self.as_user, self.cwd), quiet=True).ok
        return False

    def apply(self, t: Transport, ctx: StepContext) -> None:
        stdin = None if self.stdin is None else ctx.data(self.stdin)
        ctx.must(_as_user(self.argv, self.as_user, self.cwd), self.describe(), self.hint(),
                 stdin=stdin, timeout=self.timeout, final=True)

    def hint(self) -> str:
        return self.on_failure or super().hint()


@dataclass(frozen=True)
class CreateAccount(Step):
    """Create an account with a command that reads the password on stdin (`repeat` times,
    one per line, for tools that ask to confirm). Done when `exists` exits 0.

    `encode` (a module-level function) turns the password into the line sent, for a command
    that reads it in a file format (a JSON or YAML string), so any password arrives whole."""

    argv: tuple[str, ...]
    secret: Secret
    exists: tuple[str, ...] | None = None
    repeat: int = 1
    as_user: str | None = None
    description: str | None = None
    encode: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        _argv_tuple(self, "argv")
        _argv_tuple(self, "exists")
        if self.as_user is not None:
            _user(self.as_user)
        if not 1 <= self.repeat <= 3:
            raise RoostError("repeat must be 1, 2 or 3")

    @property
    def has_check(self) -> bool:  # type: ignore[override]
        return self.exists is not None

    def describe(self) -> str:
        return self.description or f"create an account with {self.argv[0]}"

    def commands(self) -> list[str]:
        out = [f"{shell_text(_as_user(self.argv, self.as_user, None))}   "
               f"(stdin: {self.secret.shown()})"]
        if self.exists:
            out.append(f"  unless this succeeds: {shell_text(self.exists)}")
        return out

    def check(self, t: Transport, ctx: StepContext) -> bool:
        if self.exists is None:
            return False
        return ctx.run(_as_user(self.exists, self.as_user, None), quiet=True).ok

    def apply(self, t: Transport, ctx: StepContext) -> None:
        value = ctx.secret(self.secret)
        line = value if self.encode is None else self.encode(value)
        if "\n" in line or "\r" in line:
            raise RoostError(f"the secret {self.secret.name} ({self.secret.field}) has a line "
                             "break", hint="make a new one with `roost keys`")
        ctx.must(_as_user(self.argv, self.as_user, None), self.describe(),
                 "check the account name; the secret itself was not shown",
                 stdin=(line + "\n").encode("utf-8") * self.repeat, final=True)


# --------------------------------------------------------------------------------------------
# Health


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    detail: str
    seconds: float = 0.0
    note: str | None = None
    """A passing check's side remark for the person, e.g. that the domain does not point at
    the host yet (roost.deploy.reach.Site.dns_note); never a failure."""


@dataclass(frozen=True)
class WaitHealth(Step):
    """Wait until the service answers: a command on the host (`argv`), an HTTP fetch from the
    controller (`site` and `path`: the host's address, asked for the site's name; expecting
    `expect_status` and, if set, `expect_text`), or any probe callable run on the controller
    (returns True, or a string saying what is wrong). Retries every `interval` seconds until
    `timeout`. With a `site` (a probe may have one too, for this alone), a passing check then
    notes when the site's name does not point at the host yet."""

    description: str
    argv: tuple[str, ...] | None = None
    site: Site | None = None
    path: str = "/"
    expect_status: int = 200
    expect_text: str | None = None
    probe: Callable[[], bool | str] | None = None
    timeout: float = 60.0
    interval: float = 1.0
    verify_tls: bool = True

    has_check: ClassVar[bool] = False
    changes_host: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _argv_tuple(self, "argv")
        fetch = self.site is not None and self.probe is None
        if sum((self.argv is not None, fetch, self.probe is not None)) != 1:
            raise RoostError("WaitHealth needs exactly one of argv=, site= or probe=")
        if not re.match(r"^/[^\s]*$", self.path):
            raise RoostError(f"{self.path[:80]!r} is not a path like /ping")

    def describe(self) -> str:
        return self.description

    def commands(self) -> list[str]:
        if self.argv is not None:
            what = f"until this succeeds: {shell_text(self.argv)}"
        elif self.probe is None:
            assert self.site is not None
            what = f"until {self.site.shown(self.path)} answers {self.expect_status}" + (
                f" with {self.expect_text!r}" if self.expect_text else "")
        else:
            name = getattr(self.probe, "__qualname__", "a probe")
            what = f"until {name} succeeds (run here)"
        return [f"wait up to {self.timeout:g} s {what}"]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        return False

    def once(self, t: Transport, ctx: StepContext) -> str | None:
        """One attempt: None when healthy, else what is wrong."""
        if self.argv is not None:
            res = ctx.run(self.argv, quiet=True)
            return None if res.ok else (ctx.redact(res.tail(3)) or f"exit code {res.exit_code}")
        if self.probe is None:
            import httpx

            assert self.site is not None
            shown = self.site.shown(self.path)
            try:
                r = self.site.get(self.path, verify=self.verify_tls)
            except httpx.HTTPError as exc:
                return f"{shown} did not answer ({type(exc).__name__})"
            if r.status_code != self.expect_status:
                return f"{shown} answered {r.status_code}, not {self.expect_status}"
            if self.expect_text is not None and self.expect_text not in r.text:
                return f"{shown} answered without the expected text"
            return None
        try:
            out = self.probe()
        except Exception as exc:  # a probe failing is an unhealthy answer, not a crash
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        if out is True:
            return None
        return out if isinstance(out, str) and out else "the probe said no"

    def wait(self, t: Transport, ctx: StepContext) -> HealthResult:
        start = time.monotonic()
        while True:
            problem = self.once(t, ctx)
            took = time.monotonic() - start
            if problem is None:
                note = self.site.dns_note() if self.site is not None else None
                return HealthResult(True, f"{self.description}: healthy", took, note)
            if took + self.interval > self.timeout:
                return HealthResult(False, f"{self.description}: {problem}", took)
            time.sleep(self.interval)

    def apply(self, t: Transport, ctx: StepContext) -> None:
        result = self.wait(t, ctx)
        if not result.ok:
            raise StepError(f"not healthy after {result.seconds:.0f} s: {result.detail}",
                            hint=self.hint())

    def hint(self) -> str:
        return ("the service did not come up: look at its log on the host "
                "(`journalctl -n 50`), then deploy again; finished steps are not redone")


def describe_all(steps: Iterable[Step]) -> list[str]:
    return [s.describe() for s in steps]
