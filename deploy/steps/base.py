"""The step base: secrets, the context a step runs in, validation of argument values, the
fixed scripts and `Step` itself (the steps are in the sibling modules, re-exported by the
package).

Typed recipe steps: each knows what it does, how to tell whether it is already done, and how
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

import base64
import hashlib
import importlib.resources
import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from roost.core import validate
from roost.core.errors import RoostError
from roost.core.text import terminal_clean
from roost.deploy.transport import CommandResult, Transport

# --------------------------------------------------------------------------------------------
# Secrets


@dataclass(frozen=True)
class Secret:
    """A reference to a secret the engine resolves at apply time, e.g.
    `Secret("xmpp/alice@example.org", "password")`. Only the reference is ever shown."""

    name: str
    field: str = "password"
    binary: bool = False
    """The value is base64 of bytes (a key file): a file written from it gets the bytes."""

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
    cache: Path | None = None
    """Set by the engine from its caller: the folder on this computer that upstream downloads
    are kept in (`home / UPSTREAM_CACHE`); None when the caller gives none."""
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
            value = self.secret(d)
            if d.binary:
                try:
                    return base64.b64decode(value, validate=True)
                except ValueError:
                    raise RoostError(f"the secret {d.name} ({d.field}) is not base64") from None
            return value.encode("utf-8")
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


_PKG = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+~:\-]+)?$")
_abs_path = validate.abs_path
_unit = validate.unit
_user = validate.unix_user


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


def load_script(name: str) -> str:
    """A fixed shell script shipped as a file in roost/deploy/scripts/ (the ones over ten
    lines live there, where the test command's shellcheck reads them); run it with
    `script(load_script(NAME), ARG...)`."""
    return (importlib.resources.files("roost.deploy") / "scripts" / name).read_text("utf-8")


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


def ctx_free_bytes(d: str | bytes) -> bytes:
    return d.encode("utf-8") if isinstance(d, str) else d


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
