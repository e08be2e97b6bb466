"""A recipe: an ordered list of typed steps that installs one service on one host.

Recipes are built by a function from (host facts, options, identities) — see
`roost.deploy.recipes.RECIPES` — so the same recipe adapts to the host it goes to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from roost.core import validate
from roost.core.errors import RoostError
from roost.deploy.options import RecipeOptions, Values
from roost.deploy.steps import (
    DisableService,
    RemovePackages,
    RemovePath,
    RunCommand,
    Step,
    WaitHealth,
    step_key,
)

if TYPE_CHECKING:
    from roost.deploy.backup import BackupSpec
    from roost.deploy.facts import Facts

_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True)
class Port:
    """A port the service binds on the host, checked free before the first step
    (roost.deploy.ports). Built from the recipe's options, so the option moves it."""

    number: int
    protocol: str = "tcp"
    units: tuple[str, ...] = ()
    """The systemd units that hold it while this service runs ("nginx" matches nginx.service
    and nginx@x.service): a port they hold already is this service's own, not a conflict."""
    option: str | None = "port"
    """The recipe option that moves it (`--option port=N`), or None when its protocol fixes
    it (SSDP's 1900/udp, XMPP's 5222)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", validate.port(self.number))
        if self.protocol not in PROTOCOLS:
            raise RoostError(f"{self.protocol!r} is not a protocol", hint="use tcp or udp")
        units = (self.units,) if isinstance(self.units, str) else tuple(self.units)
        for u in units:
            validate.unit(u)
        object.__setattr__(self, "units", units)

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"

    def spoken(self) -> str:
        """"port 8008", "UDP port 1900": how a sentence names it."""
        return f"port {self.number}" if self.protocol == "tcp" else f"UDP port {self.number}"


@dataclass(frozen=True)
class Recipe:
    id: str
    """Stable name, used for the journal and the host marker ("static-blog")."""
    service_id: str
    """The catalog service it installs."""
    title: str
    steps: tuple[Step, ...]
    health: WaitHealth | None = None
    """The final probe: the deploy is only called done when it passes."""
    next_steps: tuple[str, ...] = ()
    """Sentences told to the person when the deploy finished."""
    uninstall: tuple[Step, ...] = ()
    """Steps that remove the service and keep its data."""
    purge: tuple[Step, ...] = ()
    """Extra steps for `undeploy --purge-data`: remove the data too."""
    sudo: bool = True
    """Run commands with sudo when the connection's user is not root."""
    version: str = ""
    """The version it installs when known while building (an upstream pin, an npm version)."""
    version_argv: tuple[str, ...] = ()
    """A read-only command on the host that prints the installed version on its first line
    (e.g. dpkg-query for a Debian package); its answer wins over `version`."""
    ports: tuple[Port, ...] = ()
    """The ports the service binds, checked free (or already its own) before the first step."""
    domain: str = ""
    """The name people reach the service at ("" when they reach it by the host's address):
    `roost reach` checks its DNS records and certificate."""
    backup: BackupSpec | None = None
    """What to back up (folders, database dumps, units to pause): roost.deploy.backup."""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise RoostError(f"{self.id!r} is not a recipe id",
                             hint="use lower-case letters, digits and hyphens")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "uninstall", tuple(self.uninstall))
        object.__setattr__(self, "purge", tuple(self.purge))
        object.__setattr__(self, "version_argv", tuple(self.version_argv))
        object.__setattr__(self, "ports", tuple(self.ports))
        seen = [str(p) for p in self.ports]
        if len(set(seen)) != len(seen):
            raise RoostError(f"{self.title} would use one port twice ({', '.join(seen)})",
                             hint="give each port option a different number")
        if isinstance(self.next_steps, str):
            object.__setattr__(self, "next_steps", (self.next_steps,))
        for s in (*self.steps, *self.uninstall, *self.purge):
            if not isinstance(s, Step):
                raise RoostError(f"recipe {self.id}: {s!r} is not a step")

    def keys(self) -> list[str]:
        return [step_key(i, s) for i, s in enumerate(self.steps)]

    @property
    def total(self) -> int:
        """How many numbered steps a run has: every step, then the health check. The engine
        counts "step N of TOTAL" with it and a dry run lists as many."""
        return len(self.steps) + (1 if self.health is not None else 0)

    def numbered(self) -> list[tuple[int, Step]]:
        """(number, step) for every step a run shows, in order, the health check last: the
        one list both the engine's progress and a dry run come from."""
        out: list[tuple[int, Step]] = list(enumerate(self.steps, 1))
        if self.health is not None:
            out.append((self.total, self.health))
        return out

    def fingerprint(self) -> str:
        """A hash of every step's definition: changes when the recipe changes."""
        return hashlib.sha256("\n".join(self.keys()).encode()).hexdigest()[:16]

    def kept(self) -> tuple[str, ...]:
        """What `roost undeploy` keeps on the host and `--purge-data` deletes, in words: the
        folders and files, databases and packages of the purge steps."""
        out: list[str] = []
        removed = {p for s in self.purge if isinstance(s, RemovePackages) for p in s.packages}
        for s in self.purge:
            if isinstance(s, RemovePath):
                out.append(s.path)
            elif isinstance(s, RemovePackages):
                names = " and ".join(s.packages)
                out.append(f"the {names} package" + ("s" if len(s.packages) > 1 else "")
                           + (" with its settings" if s.purge else ""))
            elif isinstance(s, DisableService):
                if s.unit.removesuffix(".service") not in removed:  # else the package says it
                    out.append(f"the {s.unit} service, running")
            elif isinstance(s, RunCommand):
                text = s.describe()
                for verb in ("delete ", "drop ", "remove "):
                    text = text.removeprefix(verb)
                out.append(text)
            else:
                out.append(s.describe())
        return tuple(out)

    def removal_note(self, host: str) -> str:
        """The next step that says, before the person ever removes it, what removing keeps."""
        command = f"`roost undeploy {self.service_id} --host {host}`"
        kept = self.kept()
        if not self.uninstall and not kept:
            return f"roost cannot remove {self.title} again: reinstalling the server starts over."
        if not kept:
            return f"{command} removes it again."
        return (f"{command} removes it again and keeps its data and settings on the host: "
                f"{_and(kept)}. Adding --purge-data deletes those too.")

    def removed_lines(self, host: str, purge_data: bool, dry_run: bool = False) -> list[str]:
        """What `roost undeploy` tells once it is done (or, dry, would do): what stays on the
        host, and where."""
        kept = self.kept()
        if purge_data:
            if not kept:
                return []
            return [f"{'Would delete' if dry_run else 'Deleted'} from {host}, with its data: "
                    f"{_and(kept)}."]
        if not kept:
            return [f"Nothing of {self.title} {'would stay' if dry_run else 'stays'} on {host}."]
        return [f"{'Would keep' if dry_run else 'Kept'} on {host}, with your data and settings: "
                f"{_and(kept)}.",
                f"To delete those too: roost undeploy {self.service_id} --host {host} "
                "--purge-data (this cannot be undone)."]

    def removal(self, purge_data: bool = False) -> Recipe:
        """The recipe that undoes this one (its id ends in "-uninstall")."""
        steps = self.uninstall + (self.purge if purge_data else ())
        if not steps:
            raise RoostError(f"{self.title} has no uninstall steps",
                             hint="remove it by hand; roost does not know how")
        return Recipe(id=f"{self.id}-uninstall"[:63], service_id=self.service_id,
                      title=f"remove {self.title}", steps=steps, sudo=self.sudo)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


RecipeBuilder = Callable[["TargetHost | None", Mapping[str, str], "Identities"], Recipe]
"""builder(host, options, identities) -> Recipe. Raises RoostError for a bad option.

- host: a `TargetHost` from `roost deploy` (name, address, facts), or None in tests and dry
  runs without facts: read it through `TargetHost.of(host)`.
- options: `--option name=value` pairs, exactly as typed; check them with `take_options`,
  which gives the typed, checked values (`o.port("port")`).
- identities: identity id -> the public part of a key-vault identity (`PublicIdentity`); the
  secrets themselves are referenced with `Secret(identity_id, field)` and resolved at apply
  time, never at build time.

A builder registers itself with `@register(ID)`."""


def take_options(options: Mapping[str, str], allowed: Mapping[str, str | None],
                 recipe: str) -> Values:
    """Check `options` against `allowed` (name -> default, None = required) and return them
    with defaults filled in. Unknown or missing options raise RoostError. When `allowed` is a
    recipe's declaration (`recipe_options`), each value is also checked by its type's
    validator, in the declared order, and the typed value kept (`Values.port(name)`)."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise RoostError(f"{recipe} has no option {unknown[0]!r}",
                         hint=f"its options are: {', '.join(sorted(allowed)) or 'none'}")
    out: dict[str, str] = {}
    for name, default in allowed.items():
        if name in options:
            out[name] = options[name]
        elif default is None:
            raise RoostError(f"{recipe} needs the option {name}",
                             hint=f"add --option {name}=VALUE")
        else:
            out[name] = default
    if isinstance(allowed, RecipeOptions):
        return Values(out, {o.name: o.check(out[o.name]) for o in allowed.options})
    return Values(out, out)


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """`["k=v", ...]` from the command line into a dict (values kept exactly as typed)."""
    out: dict[str, str] = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not re.match(r"^[a-z][a-z0-9_-]*$", k):
            raise RoostError(f"{p[:60]!r} is not an option", hint="write --option name=value")
        out[k] = v
    return out


class PublicIdentity(Protocol):
    """What a builder reads of a key-vault identity: its kind and public fields
    (roost.keys.model.IdentityInfo; the secrets are `Secret` references)."""

    @property
    def kind(self) -> str: ...

    @property
    def public(self) -> Mapping[str, str]: ...


Identities = Mapping[str, PublicIdentity]
"""identity id -> its public part."""


@dataclass(frozen=True)
class TargetHost:
    """The host a recipe is built for: its name and address, and its facts
    (roost.deploy.facts.Facts, or None when they were never read). A builder given None (a
    test, a dry run without a host) reads `TargetHost.of(None)`: no name, no address, no
    facts."""

    name: str = ""
    address: str = ""
    facts: Facts | None = None

    @classmethod
    def of(cls, host: TargetHost | None) -> TargetHost:
        return cls() if host is None else host

    @property
    def arch(self) -> str:
        return self.facts.arch if self.facts is not None else ""

    @property
    def sudo(self) -> str:
        """root, nopasswd, password or missing; "" without facts."""
        return self.facts.sudo if self.facts is not None else ""

    @property
    def ram_mb(self) -> int | None:
        return self.facts.ram_mb if self.facts is not None else None

    @property
    def os_id(self) -> str:
        return self.facts.os_id if self.facts is not None else ""

    @property
    def os_version(self) -> str:
        return self.facts.os_version if self.facts is not None else ""

    @property
    def pi_model(self) -> str | None:
        return self.facts.pi_model if self.facts is not None else None


_REGISTRY: dict[str, RecipeBuilder] = {}


def register(recipe_id: str) -> Callable[[RecipeBuilder], RecipeBuilder]:
    """`@register("gotosocial")` on a builder adds it to the registry of recipes
    (roost.deploy.recipes.RECIPES) under that id; the builder itself is unchanged."""
    if not _ID.match(recipe_id):
        raise RoostError(f"{recipe_id!r} is not a recipe id")

    def add(build: RecipeBuilder) -> RecipeBuilder:
        if _REGISTRY.get(recipe_id, build) is not build:
            raise RoostError(f"two recipes are registered as {recipe_id}")
        _REGISTRY[recipe_id] = build
        return build

    return add


def registered() -> dict[str, RecipeBuilder]:
    """Every registered builder, by id in alphabetical order."""
    return dict(sorted(_REGISTRY.items()))
