"""Steps that enable, disable and restart systemd units: `Restart(watch=...)` is the one way
a changed configuration reaches a running service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from roost.core.errors import RoostError
from roost.deploy.steps.base import (
    RESTART,
    RESTART_DONE,
    RESTART_RECORD,
    SERVICE_ENABLE,
    SERVICE_STATE,
    Step,
    StepContext,
    _abs_path,
    _unit,
    script,
)
from roost.deploy.transport import Transport

# --------------------------------------------------------------------------------------------
# Services


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
