"""Typed, immutable view of one service manifest (`catalog/manifests/<id>.toml`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

IDENTITY_KINDS = ("ssb", "xmpp", "fediverse", "matrix", "ssh", "wireguard", "tor", "login")
ARCHES = ("x86_64", "aarch64", "armv7l")
ADOPT_KINDS = ("public", "home", "vps")
UPSTREAM_STATUS = ("maintained", "slow", "unmaintained")
DIFFICULTY = ("easy", "medium", "hard")

AdoptKind = Literal["public", "home", "vps"]


@dataclass(frozen=True)
class Upstream:
    status: str
    """maintained, slow (little activity) or unmaintained."""
    url: str
    note: str = ""
    replaced_by: str | None = None
    """Catalog id of the maintained service that speaks the same protocol."""


@dataclass(frozen=True)
class Adopt:
    """One way to adopt a service: join a public instance, or host it at home or on a VPS."""

    kind: AdoptKind
    summary: str
    """One sentence, read aloud, that says what this way means for the person."""
    where: str = ""
    """For `public`: where to pick an instance (a directory page)."""


@dataclass(frozen=True)
class Requirements:
    """What self-hosting needs. Only meaningful for the `home` and `vps` ways."""

    ram_mb: int
    disk_mb: int
    arch: tuple[str, ...]
    needs_domain: bool
    inbound_ports: tuple[str, ...]
    residential_ok: bool
    lan_only: bool = False
    os: tuple[str, ...] = ()
    """Supported systems as `id-version` (e.g. `ubuntu-22.04`); empty means any Debian-like."""
    reached_by_others: bool = False
    """People other than the person (friends, other servers, readers) must reach it from
    outside: at home it needs a way in (the router, a relay, Tor)."""


@dataclass(frozen=True)
class Install:
    """Why roost does not install a service itself, and what the person can do instead.

    Kept as data so the deploy command, the app and the catalog all say the same thing.
    """

    by_roost: bool
    """False: roost does not install it (no recipe). True only alongside a `recipe`."""
    why: str
    """One sentence, read aloud: why roost does not install it."""
    instead: tuple[str, ...] = ()
    """Catalog ids of lighter services to run instead, best first."""
    guide: str = ""
    """Upstream's own installation guide, for someone who runs it by hand."""
    unattended: bool = False
    """Upstream ships an installer that runs without questions (a recipe could drive it)."""


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    category: str
    replaces: tuple[str, ...]
    """Platform ids from `catalog/platforms.toml`."""
    summary: str
    why: str
    protocol: str
    upstream: Upstream
    adopt: tuple[Adopt, ...]
    requirements: Requirements
    identities: tuple[str, ...]
    difficulty: str
    time_minutes: int
    sources: tuple[str, ...]
    asks: tuple[str, ...] = ()
    """What roost will ask the person for when they take this step."""
    recipe: str | None = None
    """Deploy recipe id, when roost can deploy it."""
    next_steps: tuple[str, ...] = ()
    """What to do once it runs (connect a client, move followers...)."""
    install: Install | None = None
    experimental: bool = False
    """For people who build their own tools: listed in the catalog and deployable, but never
    part of anyone's plan."""
    """Why roost does not install it and what to do instead; None for services it deploys."""
    backed_up: bool = False
    """Its recipe declares what to back up: `roost backup` works for it, and the plan offers
    to protect it once it runs (a test keeps this and the recipes in step)."""
    file: str = field(default="", compare=False)

    def way(self, kind: str) -> Adopt | None:
        return next((a for a in self.adopt if a.kind == kind), None)

    @property
    def self_hostable(self) -> bool:
        return any(a.kind in ("home", "vps") for a in self.adopt)


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    category: str


@dataclass(frozen=True)
class Catalog:
    services: tuple[Service, ...]
    platforms: tuple[Platform, ...]
    problems: tuple[str, ...] = ()
    """One line per manifest that was left out, naming the file and the field."""

    def get(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def platform(self, platform_id: str) -> Platform | None:
        return next((p for p in self.platforms if p.id == platform_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.services)
