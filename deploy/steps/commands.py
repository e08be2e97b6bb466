"""Running commands on the host: `RunCommand`, and the argument checks shared with accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roost.core.errors import RoostError
from roost.deploy.steps.base import (
    PATH_EXISTS,
    Data,
    Secret,
    Step,
    StepContext,
    _abs_path,
    _user,
    ctx_free_bytes,
    script,
    shell_text,
)
from roost.deploy.transport import Transport

# --------------------------------------------------------------------------------------------
# Commands


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
