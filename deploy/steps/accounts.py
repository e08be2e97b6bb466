"""Steps that make system users and service accounts (passwords only on stdin)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.deploy.steps.base import (
    ADD_USER,
    Secret,
    Step,
    StepContext,
    _abs_path,
    _user,
    script,
    shell_text,
)
from roost.deploy.steps.commands import _argv_tuple, _as_user
from roost.deploy.transport import Transport

# --------------------------------------------------------------------------------------------
# Users and accounts


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
