"""The honest answer for a service roost has no recipe for: why not, and what to do instead.

The reason and the alternatives are data in the catalog (`[install]` in the manifest, see
catalog/README.md); this module turns them into one line, aware of the host when it is known:
its memory against what the service needs, and only those lighter servers that fit it. It
never connects to anything, so `roost deploy` and the app say it before any SSH.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from roost.core.errors import RoostError

if TYPE_CHECKING:
    from roost.catalog.model import Catalog, Service
    from roost.deploy.hosts import Host


def memory_words(mb: int) -> str:
    """Memory as it reads aloud: 512 -> '512 megabytes', 2048 -> '2 gigabytes'."""
    if mb < 1024:
        return f"{mb} megabytes"
    gb = mb / 1024
    text = f"{gb:.0f}" if abs(gb - round(gb)) < 0.05 else f"{gb:.1f}"
    return f"{text} gigabyte{'' if text == '1' else 's'}"


def short_name(svc: Service) -> str:
    """'Mastodon (social network)' -> 'Mastodon'."""
    return svc.name.split(" (", 1)[0]


def host_ram(host: Host | None) -> int | None:
    facts = host.facts if host is not None else None
    ram = facts.get("ram_mb") if facts else None
    return ram if isinstance(ram, int) and not isinstance(ram, bool) and ram > 0 else None


def host_arch(host: Host | None) -> str | None:
    facts = host.facts if host is not None else None
    arch = facts.get("arch") if facts else None
    return arch if isinstance(arch, str) and arch else None


def _fits(svc: Service, host: Host | None) -> bool:
    ram, arch = host_ram(host), host_arch(host)
    if ram is not None and ram < svc.requirements.ram_mb:
        return False
    return arch is None or not svc.requirements.arch or arch in svc.requirements.arch


def lighter(svc: Service, catalog: Catalog, recipes: Collection[str],
            host: Host | None = None) -> list[Service]:
    """The `install.instead` services roost can deploy (a registered recipe) that fit the host."""
    out = []
    for other_id in svc.install.instead if svc.install is not None else ():
        other = catalog.get(other_id)
        if other is not None and other.id in recipes and _fits(other, host):
            out.append(other)
    return out


def explain(svc: Service, catalog: Catalog, recipes: Collection[str],
            host: Host | None = None, *, in_app: bool = False) -> RoostError:
    """One line: why roost does not install `svc`, the host's memory against its need, then
    the public way, the lighter servers with their exact command (in the app: where to find
    them), and upstream's guide."""
    name = short_name(svc)
    where = host.name if host is not None else "NAME"
    if svc.install is not None:
        message = f"roost does not install {name}: {svc.install.why.rstrip('.')}"
    else:
        message = f"roost cannot install {name} yet: it has no deploy recipe"
    need = svc.requirements.ram_mb
    ram = host_ram(host)
    too_small = ram is not None and svc.self_hostable and ram < need
    if host is not None and ram is not None and svc.self_hostable:
        message += (f"; {host.name} has {memory_words(ram)} of memory, {name} needs "
                    f"{memory_words(need)}")
    hints: list[str] = []
    public = svc.way("public")
    if public is not None:
        hints.append(f"join a public server listed at {public.where}")
    light = lighter(svc, catalog, recipes, host)
    if light:
        commands = f"roost deploy {light[0].id} --host {where}"
        if len(light) > 1:
            commands += f" (or {', '.join(s.id for s in light[1:])})"
        if len(light) == 1:
            what, how = f"{short_name(light[0])} instead", "open it in your plan and press d"
        elif in_app:
            names = ", ".join(short_name(s) for s in light[:-1])
            what = f"a lighter server ({names} or {short_name(light[-1])})"
            how = "open one in your plan and press d"
        else:
            what, how = "a lighter server", ""
        hints.append(f"{'or ' if hints else ''}let roost set up {what}: "
                     f"{how if in_app else commands}")
    guide = svc.install.guide if svc.install is not None else ""
    if guide and svc.upstream.status != "unmaintained":  # never send people to run it unpatched
        if too_small:
            hints.append(f"with {memory_words(need)} or more, follow upstream's guide by hand: "
                         f"{guide}")
        else:
            hints.append(f"or follow upstream's guide by hand: {guide}")
    if not hints:
        known = ", ".join(sorted(recipes))
        hints.append(f"recipes roost knows: {known}")
    return RoostError(message, hint="; ".join(hints))


def no_recipe_error(service_id: str, recipes: Collection[str],
                    host: Host | None = None) -> RoostError:
    """The error for `roost deploy SERVICE` when SERVICE has no registered recipe."""
    from roost.catalog import load

    try:
        catalog = load()
    except RoostError:
        catalog = None
    svc = catalog.get(service_id) if catalog is not None else None
    if catalog is None or svc is None:
        known = ", ".join(sorted(recipes))
        return RoostError(f"roost has no deploy recipe for {service_id!r}",
                          hint=f"recipes roost knows: {known}")
    return explain(svc, catalog, recipes, host)
