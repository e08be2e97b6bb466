"""Load and validate the service manifests.

Each manifest is checked field by field. A broken one is left out with one line that names the
file, the field and what was expected; the rest of the catalog still loads, so the app starts.

`load()` reads the catalog shipped with roost, or the folder named by the environment variable
`ROOST_CATALOG_DIR` (a folder holding `manifests/*.toml` and `platforms.toml`), which is how a
person tries a manifest of their own and how tests feed the real CLI a broken catalog.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from roost.catalog.model import (
    ADOPT_KINDS,
    ARCHES,
    DIFFICULTY,
    IDENTITY_KINDS,
    UPSTREAM_STATUS,
    Adopt,
    Catalog,
    Install,
    Platform,
    Requirements,
    Service,
    Upstream,
)
from roost.core.errors import RoostError

# \Z, not $: `$` also matches before a trailing newline, which would let "prosody\n" through.
_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}\Z")
_PORT = re.compile(r"^[1-9][0-9]{0,4}/(tcp|udp)\Z")
_OS = re.compile(r"^[a-z]+-[0-9][0-9.]*\Z")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]*\Z")

ENV_CATALOG_DIR = "ROOST_CATALOG_DIR"


def _one_line(text: str, limit: int = 400) -> str:
    """Control characters escaped and length bounded, so a message is always one short line."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _show(value: object) -> str:
    """A value quoted for a message: escaped and cut short."""
    return _one_line(repr(value), 60)


class ManifestError(RoostError):
    """A manifest (or platforms.toml) that cannot be used: one line naming the file and field."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(_one_line(message), hint=hint)


@dataclass
class _Fields:
    """Typed accessors over one TOML table that name the file and field on error."""

    file: str
    table: dict[str, Any]
    prefix: str = ""
    used: set[str] | None = None

    def __post_init__(self) -> None:
        self.used = set()

    def _fail(self, key: str, expected: str) -> ManifestError:
        return ManifestError(f"{self.file}: field '{self.prefix}{_one_line(key, 60)}' {expected}")

    def _get(self, key: str, default: Any, required: bool) -> Any:
        assert self.used is not None
        self.used.add(key)
        if key not in self.table:
            if required:
                raise self._fail(key, "is missing")
            return default
        return self.table[key]

    def str_(self, key: str, *, required: bool = True, default: str = "",
             choices: Iterable[str] | None = None, pattern: re.Pattern[str] | None = None) -> str:
        v = self._get(key, default, required)
        if not isinstance(v, str):
            raise self._fail(key, f"must be text, not {_tname(v)}")
        if required and not v.strip():
            raise self._fail(key, "must not be empty")
        opts = tuple(choices) if choices is not None else None
        if opts is not None and v not in opts:
            raise self._fail(key, f"must be one of {', '.join(opts)}, not {_show(v)}")
        if pattern is not None and v and not pattern.match(v):
            raise self._fail(key, f"has the wrong form: {_show(v)}")
        return v

    def opt_str(self, key: str, *, pattern: re.Pattern[str] | None = None) -> str | None:
        v = self._get(key, None, False)
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            raise self._fail(key, f"must be non-empty text, not {_tname(v)}")
        if pattern is not None and not pattern.match(v):
            raise self._fail(key, f"has the wrong form: {_show(v)}")
        return v

    def int_(self, key: str, lo: int, hi: int) -> int:
        v = self._get(key, None, True)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self._fail(key, f"must be a whole number, not {_tname(v)}")
        if not lo <= v <= hi:
            raise self._fail(key, f"must be between {lo} and {hi}, not {v}")
        return v

    def bool_(self, key: str, *, required: bool = True, default: bool = False) -> bool:
        v = self._get(key, default, required)
        if not isinstance(v, bool):
            raise self._fail(key, f"must be true or false, not {_tname(v)}")
        return v

    def strs(self, key: str, *, required: bool = True, choices: Iterable[str] | None = None,
             pattern: re.Pattern[str] | None = None, nonempty: bool = False) -> tuple[str, ...]:
        v = self._get(key, [], required)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self._fail(key, f"must be a list of text, not {_tname(v)}")
        if nonempty and not v:
            raise self._fail(key, "must list at least one entry")
        opts = tuple(choices) if choices is not None else None
        for x in v:
            if opts is not None and x not in opts:
                raise self._fail(key, f"has {_show(x)}; expected one of {', '.join(opts)}")
            if pattern is not None and not pattern.match(x):
                raise self._fail(key, f"has {_show(x)}, which has the wrong form")
        if len(set(v)) != len(v):
            raise self._fail(key, "lists the same entry twice")
        return tuple(v)

    def table_(self, key: str) -> _Fields:
        v = self._get(key, None, True)
        if not isinstance(v, dict):
            raise self._fail(key, f"must be a table, not {_tname(v)}")
        return _Fields(self.file, v, f"{self.prefix}{key}.")

    def opt_table(self, key: str) -> _Fields | None:
        v = self._get(key, None, False)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self._fail(key, f"must be a table, not {_tname(v)}")
        return _Fields(self.file, v, f"{self.prefix}{key}.")

    def tables(self, key: str) -> list[_Fields]:
        v = self._get(key, None, True)
        if not isinstance(v, list) or not v or not all(isinstance(x, dict) for x in v):
            raise self._fail(key, "must be a non-empty list of tables ([[" + key + "]])")
        return [_Fields(self.file, x, f"{self.prefix}{key}[{i}].") for i, x in enumerate(v)]

    def no_unknown(self) -> None:
        assert self.used is not None
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise ManifestError(
                f"{self.file}: unknown field '{self.prefix}{_one_line(extra[0], 60)}'"
                " (check its spelling against catalog/README.md)"
            )


def _tname(v: object) -> str:
    return {
        str: "text", int: "a number", float: "a number", bool: "true/false",
        list: "a list", dict: "a table",
    }.get(type(v), type(v).__name__)


def _parse_toml(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{file}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ManifestError(f"{file}: not valid TOML (nested too deeply)") from None


def parse_platforms(text: str, file: str = "platforms.toml") -> tuple[Platform, ...]:
    data = _parse_toml(text, file)
    out: list[Platform] = []
    top = _Fields(file, data)
    for f in top.tables("platform"):
        platform = Platform(f.str_("id", pattern=_ID), f.str_("name"), f.str_("category"))
        f.no_unknown()
        if any(p.id == platform.id for p in out):
            raise ManifestError(f"{file}: field 'platform.id' repeats {platform.id!r}")
        out.append(platform)
    top.no_unknown()
    return tuple(out)


def parse_manifest(text: str, file: str, platforms: Iterable[str]) -> Service:
    """Parse one manifest. Raises ManifestError naming the file and field, and nothing else."""
    data = _parse_toml(text, file)
    f = _Fields(file, data)
    sid = f.str_("id", pattern=_ID)
    if file.endswith(".toml") and Path(file).stem != sid:
        raise ManifestError(f"{file}: field 'id' must match the file name, not {sid!r}")
    up = f.table_("upstream")
    upstream = Upstream(
        status=up.str_("status", choices=UPSTREAM_STATUS),
        url=up.str_("url", pattern=_URL),
        note=up.str_("note", required=False),
        replaced_by=up.opt_str("replaced_by", pattern=_ID),
    )
    up.no_unknown()
    adopt = []
    for a in f.tables("adopt"):
        kind = a.str_("kind", choices=ADOPT_KINDS)
        adopt.append(Adopt(kind=kind, summary=a.str_("summary"),  # type: ignore[arg-type]
                           where=a.str_("where", required=False)))
        a.no_unknown()
    kinds = [a.kind for a in adopt]
    if len(set(kinds)) != len(kinds):
        raise ManifestError(f"{file}: field 'adopt' lists the same way twice")
    rq = f.table_("requirements")
    req = Requirements(
        ram_mb=rq.int_("ram_mb", 0, 1_000_000),
        disk_mb=rq.int_("disk_mb", 0, 10_000_000),
        arch=rq.strs("arch", choices=ARCHES),
        needs_domain=rq.bool_("needs_domain"),
        inbound_ports=rq.strs("inbound_ports", pattern=_PORT),
        residential_ok=rq.bool_("residential_ok"),
        lan_only=rq.bool_("lan_only", required=False),
        reached_by_others=rq.bool_("reached_by_others", required=False),
        os=rq.strs("os", required=False, pattern=_OS),
    )
    rq.no_unknown()
    install = None
    it = f.opt_table("install")
    if it is not None:
        install = Install(
            by_roost=it.bool_("by_roost"),
            why=it.str_("why"),
            instead=it.strs("instead", required=False, pattern=_ID),
            guide=it.str_("guide", required=False, pattern=_URL),
            unattended=it.bool_("unattended", required=False),
        )
        it.no_unknown()
    service = Service(
        id=sid,
        name=f.str_("name"),
        category=f.str_("category"),
        replaces=f.strs("replaces", choices=tuple(platforms)),
        summary=f.str_("summary"),
        why=f.str_("why"),
        protocol=f.str_("protocol"),
        upstream=upstream,
        adopt=tuple(adopt),
        requirements=req,
        identities=f.strs("identities", choices=IDENTITY_KINDS),
        difficulty=f.str_("difficulty", choices=DIFFICULTY),
        time_minutes=f.int_("time_minutes", 1, 10_000),
        sources=f.strs("sources", nonempty=True, pattern=_URL),
        asks=f.strs("asks", required=False),
        recipe=f.opt_str("recipe", pattern=_ID),
        next_steps=f.strs("next_steps", required=False),
        install=install,
        experimental=f.bool_("experimental", required=False),
        backed_up=f.bool_("backed_up", required=False),
        file=file,
    )
    f.no_unknown()
    _check_consistency(service)
    return service


def _check_consistency(s: Service) -> None:
    """Rules that tie fields together, so the plan never offers something impossible."""
    file, req = s.file, s.requirements

    def fail(field_name: str, expected: str) -> ManifestError:
        return ManifestError(f"{file}: field '{field_name}' {expected}")

    for i, way in enumerate(s.adopt):
        if way.kind == "public" and not _URL.match(way.where):
            raise fail(f"adopt[{i}].where", "must give the web address of a list of public "
                       "instances for the public way")
        if way.kind != "public" and way.where:
            raise fail(f"adopt[{i}].where", "belongs only to the public way")
    for port in req.inbound_ports:
        if int(port.split("/")[0]) > 65535:
            raise fail("requirements.inbound_ports", f"has {port!r}; ports go up to 65535")
    if s.self_hostable and not req.arch:
        raise fail("requirements.arch", "must list at least one architecture")
    if not req.residential_ok and s.way("home") is not None:
        raise fail("adopt", "offers a home way, but requirements.residential_ok is false")
    if req.lan_only:
        if req.needs_domain:
            raise fail("requirements.needs_domain", "must be false when lan_only is true")
        if s.way("vps") is not None:
            raise fail("adopt", "offers a vps way, but requirements.lan_only is true")
    if s.upstream.replaced_by is not None:
        if s.upstream.status == "maintained":
            raise fail("upstream.replaced_by", "is only for services whose upstream is "
                       "slow or unmaintained")
        if s.upstream.replaced_by == s.id:
            raise fail("upstream.replaced_by", "names the service itself")
    if s.recipe is not None and not s.self_hostable:
        raise fail("recipe", "needs a home or vps way to deploy to")
    if s.install is not None:
        if s.install.by_roost and s.recipe is None:
            raise fail("install.by_roost", "is true, but the service names no recipe")
        if not s.install.by_roost and s.recipe is not None:
            raise fail("install.by_roost", f"is false, but the service names recipe {s.recipe!r}")
        if s.id in s.install.instead:
            raise fail("install.instead", "names the service itself")
    if req.lan_only and req.reached_by_others:
        raise fail("requirements.reached_by_others", "must be false when lan_only is true")


def _link_problem(s: Service, by_id: dict[str, Service]) -> str | None:
    """Why `install.instead` cannot be offered, as one line; None when every id is fine."""
    if s.install is None:
        return None
    for other in s.install.instead:
        target = by_id.get(other)
        if target is None:
            return (f"{s.file}: field 'install.instead' names {_show(other)}, "
                    "which is not in the catalog")
        if target.upstream.status != "maintained":
            return (f"{s.file}: field 'install.instead' names {other!r}, "
                    "whose upstream is not maintained")
        if not target.self_hostable:
            return (f"{s.file}: field 'install.instead' names {other!r}, "
                    "which cannot be hosted by the person")
    return None


def _check_links(services: list[Service], problems: list[str]) -> list[Service]:
    by_id = {s.id: s for s in services}
    kept = []
    for s in services:
        rb = s.upstream.replaced_by
        if rb is not None:
            target = by_id.get(rb)
            if target is None:
                problems.append(f"{s.file}: field 'upstream.replaced_by' names {rb!r}, "
                                "which is not in the catalog")
                continue
            if target.upstream.status != "maintained":
                problems.append(f"{s.file}: field 'upstream.replaced_by' names {rb!r}, "
                                "whose upstream is not maintained either")
                continue
        problem = _link_problem(s, by_id)
        if problem is not None:
            problems.append(problem)
            continue
        kept.append(s)
    return kept


def load_from(folder: Path, platforms_file: Path) -> Catalog:
    """Load every `*.toml` under `folder`; broken ones are reported, not fatal.

    Only an unreadable `platforms_file` is fatal (ManifestError), since every manifest is
    checked against it.
    """
    try:
        platforms_text = platforms_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ManifestError(
            f"{platforms_file}: cannot read the platform list ({reason})",
            hint=f"check the file, or unset {ENV_CATALOG_DIR} to use the built-in catalog",
        ) from None
    platforms = parse_platforms(platforms_text, platforms_file.name)
    pids = [p.id for p in platforms]
    services: list[Service] = []
    problems: list[str] = []
    seen: set[str] = set()
    try:
        paths = sorted(folder.glob("*.toml"))
    except OSError as exc:
        raise ManifestError(f"{folder}: cannot list the manifests ({exc.strerror})") from None
    if not folder.is_dir():
        problems.append(f"{folder}: no such folder of manifests")
    for path in paths:
        try:
            s = parse_manifest(path.read_text("utf-8"), path.name, pids)
        except ManifestError as exc:
            problems.append(exc.message)
            continue
        except UnicodeDecodeError:
            problems.append(f"{_one_line(path.name)}: not UTF-8 text")
            continue
        except OSError as exc:
            problems.append(f"{_one_line(path.name)}: cannot be read ({exc.strerror})")
            continue
        if s.id in seen:
            problems.append(f"{path.name}: field 'id' repeats {s.id!r}")
            continue
        seen.add(s.id)
        services.append(s)
    services = _check_links(services, problems)
    return Catalog(tuple(services), platforms, tuple(problems))


def builtin_dir() -> Path:
    return Path(str(resources.files("roost.catalog")))


def catalog_dir() -> Path:
    """`ROOST_CATALOG_DIR` when set, else the catalog shipped with roost."""
    override = os.environ.get(ENV_CATALOG_DIR)
    return Path(override).expanduser() if override else builtin_dir()


def load() -> Catalog:
    """The catalog: the built-in one, or the folder `ROOST_CATALOG_DIR` names.

    That folder holds `manifests/*.toml` and `platforms.toml`, laid out like the built-in one.
    """
    base = catalog_dir()
    return load_from(base / "manifests", base / "platforms.toml")
