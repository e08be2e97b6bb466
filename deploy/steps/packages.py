"""Steps that install and remove Debian packages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from roost.core.errors import RoostError
from roost.deploy.steps.base import (
    _PKG,
    Step,
    StepContext,
    StepError,
    shell_text,
)
from roost.deploy.transport import Transport

# --------------------------------------------------------------------------------------------
# Packages

def apt_get(verb: str, *args: str) -> list[str]:
    """apt-get as roost runs every change: no questions, the configuration files a person
    edited kept, and it waits (up to 5 minutes) for another apt or dpkg to finish instead of
    failing at once: a Pi just booted often runs its own daily apt job, and a killed run may
    leave one going."""
    return ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", verb, "-y", "-q",
            "-o", "DPkg::Lock::Timeout=300",
            "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
            *args]


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
        return apt_get("install", "--no-install-recommends", *self.packages)

    _update: ClassVar[list[str]] = apt_get("update")

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
        return apt_get("purge" if self.purge else "remove", *self.packages)

    def commands(self) -> list[str]:
        return [shell_text(self._argv())]

    def check(self, t: Transport, ctx: StepContext) -> bool:
        res = ctx.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n",
                       *self.packages], quiet=True)
        return not any(line.strip().endswith(" installed") for line in res.stdout.splitlines())

    def apply(self, t: Transport, ctx: StepContext) -> None:
        ctx.must(self._argv(), f"removing {', '.join(self.packages)}", self.hint(), final=True)
