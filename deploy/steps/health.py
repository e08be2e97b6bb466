"""Waiting until a deployed service answers: `WaitHealth` and its result."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from roost.core.errors import RoostError
from roost.deploy.reach import Site
from roost.deploy.steps.base import (
    Step,
    StepContext,
    StepError,
    shell_text,
)
from roost.deploy.steps.commands import _argv_tuple
from roost.deploy.transport import Transport

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
