"""Check that every deployed service still works: the one use case `roost check`, plain
mode and the full-screen status view call.

Every service the progress says runs somewhere (`deployed` events, minus removals) is checked
on its host, hosts in parallel, one connection each:

- its health check: the SAME probe the deploy waited for (the recipe is built again from the
  recipe id and options the deploy recorded, and its `WaitHealth` is asked once, and once more
  after a pause when it fails);
- its TLS certificate's expiry, when it has a domain (read as a client sees it);
- the host: disk and memory left, the root file system remounted read-only, and whether
  unattended-upgrades is on (roost.app.host_state, one command);
- the watchers it runs for `roost watch` (roost.app.watcher_check, one command): each timer
  active and its last run recent (a watcher host with no service of its own is connected to
  for them alone).

What counts as "needs attention" is data (`check.toml` beside this module). The report says
each service in one line of words, and gives an exit code: 0 all good, 1 something needs
attention, 2 something could not be checked (a host that cannot be reached is one line, and the
other hosts are still checked). The last report is kept in the data folder
(`last-check.json`), so the plan shows each service's last state without connecting.

    report = check(home, paths=("/srv",))
    for line in report.lines(): print(line)
    sys.exit(report.exit_code)

Hooks for work built elsewhere: `ServiceCheck.backup` (the service's last good backup) and
`ServiceCheck.reach` (reachable from outside) are typed fields, filled by the `backups` and
`reach` callables given to `check` (None: not known yet, and nothing is said about them).
`reach` defaults to roost.app.reached: the ways in the progress recorded, each looked at on
the host over the check's connection (a service with none recorded costs nothing).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from roost.app import certificates, host_state
from roost.app.connecting import connect
from roost.app.last_check import LAST_CHECK, NOT_WORKING, UNKNOWN, WORKING
from roost.app.watcher_check import WatcherCheck, watchers
from roost.core import clock as clocks
from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy import session
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipe import Recipe
from roost.deploy.steps import Secret, StepContext
from roost.deploy.transport import Transport
from roost.deploy.watch import Watch
from roost.plan.workspace import PROGRESS_FILE, Workspace

THRESHOLDS_FILE = Path(__file__).with_name("check.toml")


@dataclass(frozen=True)
class Thresholds:
    """Below these, a host or a certificate needs attention (check.toml)."""

    disk_min_free_percent: float = 10.0
    disk_min_free_mb: int = 500
    memory_min_available_mb: int = 64
    certificate_min_days: int = 14
    health_retry_seconds: float = 1.0

    @classmethod
    def load(cls, path: Path = THRESHOLDS_FILE) -> Thresholds:
        data = tomllib.loads(path.read_text("utf-8"))
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


# -- hooks for checks built elsewhere --------------------------------------------------------

@dataclass(frozen=True)
class Backup:
    """The service's last good backup, as the backups feature knows it."""

    last_good: datetime | None
    """Aware, UTC; None: there is no good backup."""
    problem: str = ""
    """Words when the latest backup failed, else ""."""


@dataclass(frozen=True)
class Reach:
    """Whether people outside reach the service, as the reach check found it."""

    reachable: bool
    how: str = ""
    """The way in, in words ("through the router's port forwarding")."""
    problem: str = ""


BackupOf = Callable[[str, str], Backup | None]
"""(service id, host) -> its last good backup, or None when unknown."""
ReachOf = Callable[[str, str, Transport], Reach | None]
"""(service id, host, the connection to the host) -> whether it is reachable from outside, or
None when unknown."""


# -- the report -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deployed:
    """A service the progress says runs on a host, and how it was deployed."""

    service_id: str
    host: str
    recipe: str
    options: Mapping[str, str]
    label: str
    """How a line names it: "chat (prosody)"."""


@dataclass(frozen=True)
class ServiceCheck:
    service_id: str
    host: str
    label: str
    state: str
    """working, not working, or could not check."""
    detail: str = ""
    """What the health check said when it did not pass, or why it could not run."""
    certificate_until: datetime | None = None
    certificate_days: int | None = None
    backup: Backup | None = None
    """Hook: the last good backup (None: not known here)."""
    reach: Reach | None = None
    """Hook: reachable from outside (None: not known here)."""
    host_attention: tuple[str, ...] = ()
    """The host's problems (disk, memory, read-only), said on each of its services' lines."""
    upgrade: str = ""
    """An upgrade of it that was cut off, in words ("" when none)."""
    attention: tuple[str, ...] = ()
    """Every problem of this service, in words; empty when all is well."""

    def words(self, now: datetime) -> str:
        parts = [self.state + (f", {self.detail}" if self.detail else "")]
        if self.certificate_days is not None:
            d = self.certificate_days
            parts.append(f"certificate expired {-d} day{'s' if d != -1 else ''} ago" if d < 0
                         else f"certificate valid for {d} day{'s' if d != 1 else ''}")
        if self.backup is not None:
            parts.append(_backup_words(self.backup, now))
        if self.reach is not None:
            parts.append(("reachable from outside" + (f" {self.reach.how}" if self.reach.how
                                                      else "")) if self.reach.reachable
                         else "not reachable from outside"
                         + (f" ({self.reach.problem})" if self.reach.problem else ""))
        if self.upgrade:
            parts.append(self.upgrade)
        parts.extend(self.host_attention)
        return f"{self.label} on {self.host}: " + "; ".join(parts) + "."


def _backup_words(b: Backup, now: datetime) -> str:
    if b.last_good is None:
        return "no good backup" + (f" ({b.problem})" if b.problem else "")
    hours = int((now - b.last_good).total_seconds() // 3600)
    ago = f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"
    return f"last backup {ago}" + (f"; the latest failed ({b.problem})" if b.problem else "")


@dataclass(frozen=True)
class HostCheck:
    host: str
    reached: bool
    problem: str = ""
    """Why it could not be reached (one line), when it was not."""
    state: host_state.HostState | None = None
    attention: tuple[str, ...] = ()
    services: tuple[ServiceCheck, ...] = ()
    seconds: float = 0.0
    watchers: tuple[WatcherCheck, ...] = ()
    """The `roost watch` watchers this host runs (each timer and its last run)."""
    watching: tuple[str, ...] = ()
    """What the watchers on it watch, in words (said when it could not be reached)."""

    def words(self) -> str:
        if not self.reached:
            names = ", ".join([*(s.label for s in self.services),
                               *(f"the watcher for {w}" for w in self.watching)])
            return (f"{self.host}: could not be reached ({self.problem}); not checked: "
                    f"{names}.")
        st = self.state
        parts: list[str] = []
        if st is not None:
            for d in st.disks:
                parts.append(f"disk at {d.path}: not on the host" if d.free_mb is None else
                             f"disk at {d.path}: {_size(d.free_mb)} free ({d.free_percent:.0f}%)")
            if st.memory_available_mb is not None:
                parts.append(f"memory: {_size(st.memory_available_mb)} available")
            if st.root_read_only is not None:
                parts.append("root file system read-only" if st.root_read_only
                             else "root file system writable")
            if st.unattended_upgrades is not None:
                parts.append("automatic security updates "
                             + ("on" if st.unattended_upgrades else "off"))
        return f"{self.host}: " + "; ".join(parts or ["reached"]) + "."


def _size(mb: int) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


@dataclass(frozen=True)
class CheckReport:
    at: datetime
    hosts: tuple[HostCheck, ...] = ()

    @property
    def services(self) -> tuple[ServiceCheck, ...]:
        return tuple(s for h in self.hosts for s in h.services)

    @property
    def exit_code(self) -> int:
        """0 all good, 1 something needs attention, 2 something could not be checked."""
        if any(not h.reached for h in self.hosts) or any(
                s.state == UNKNOWN for s in self.services):
            return 2
        if any(s.attention for s in self.services) or any(
                h.attention or any(w.attention for w in h.watchers) for h in self.hosts):
            return 1
        return 0

    @property
    def summary(self) -> str:
        if not self.hosts:
            return "Nothing is deployed yet, so there is nothing to check."
        return {0: "All good.", 1: "Something needs attention.",
                2: "Something could not be checked."}[self.exit_code]

    def lines(self) -> list[str]:
        """One line per service (or per host that could not be reached), a line per host
        with its disk, memory and updates, then the summary."""
        out: list[str] = []
        for h in self.hosts:
            if not h.reached:
                out.append(h.words())
                continue
            out.extend(s.words(self.at) for s in h.services)
            out.extend(w.words() for w in h.watchers)
            out.append(h.words())
        out.append(self.summary)
        return out

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat().replace("+00:00", "Z")
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [plain(x) for x in v]
            return v

        hosts = []
        for h in self.hosts:
            d = asdict(h)
            for s, sd in zip(h.services, d["services"], strict=True):
                sd["line"] = s.words(self.at)
            for w, wd in zip(h.watchers, d["watchers"], strict=True):
                wd["line"], wd["attention"] = w.words(), list(w.attention)
            d["line"] = h.words()
            hosts.append(d)
        out: dict[str, Any] = plain({"at": self.at, "exit_code": self.exit_code,
                                     "summary": self.summary, "hosts": hosts})
        return out


# -- the use case -----------------------------------------------------------------------------

def deployed(home: Path, workspace: Workspace | None = None) -> list[Deployed]:
    """What the progress says runs where (latest deploy of each service on each host)."""
    if workspace is None and not (home / PROGRESS_FILE).exists():
        return []
    ws = workspace if workspace is not None else Workspace.open(home, detect=False)
    out: list[Deployed] = []
    for e in ws.progress.running():
        if e.service_id is None:
            continue
        svc = ws.catalog.get(e.service_id)
        raw = e.detail.get("options", {})
        options = ({str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {})
        label = f"{svc.category} ({e.service_id})" if svc is not None else e.service_id
        recipe = str(e.detail.get("recipe", "") or (svc.recipe if svc is not None and svc.recipe
                                                     else e.service_id))
        out.append(Deployed(e.service_id, str(e.detail.get("host", "")), recipe, options,
                            printable(label, 80)))
    return out


def _no_passphrase() -> str:
    raise RoostError("this health check needs a key from your vault",
                     hint="give the vault passphrase (ROOST_PASSPHRASE_FILE in scripts)")


def check(home: Path, *, paths: Sequence[str] = (), thresholds: Thresholds | None = None,
          clock: clocks.Clock | None = None, passphrase: Callable[[], str] = _no_passphrase,
          backups: BackupOf | None = None, reach: ReachOf | None = None,
          workspace: Workspace | None = None, keep: bool = True) -> CheckReport:
    """Check every deployed service on every host (hosts in parallel); `paths` are file
    systems to check besides / on every host. The report is kept for the plan (`keep`)."""
    limits = thresholds or Thresholds.load()
    now = (clock or clocks.from_environment())()
    if workspace is None and (home / PROGRESS_FILE).exists():
        workspace = Workspace.open(home, detect=False)
    items = deployed(home, workspace)
    if reach is None and items and workspace is not None:
        from roost.app.reached import reach_of

        reach = reach_of(workspace)
    by_host: dict[str, list[Deployed]] = {}
    for d in items:
        by_host.setdefault(d.host, []).append(d)
    watches = _watches(home)
    for w in watches:
        by_host.setdefault(w.watcher, [])
    asked: list[str] = []
    lock = threading.Lock()

    def passphrase_once() -> str:  # hosts run in parallel: ask at most once
        with lock:
            if not asked:
                asked.append(passphrase())
            return asked[0]

    secrets = session.vault_secrets(passphrase_once, home)
    disk_paths = tuple(dict.fromkeys(("/", *paths)))

    def one(name: str) -> HostCheck:
        return _check_host(name, by_host[name], home, disk_paths, limits, now, secrets,
                           backups, reach, [w for w in watches if w.watcher == name])

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(by_host)))) as pool:
        hosts = tuple(pool.map(one, sorted(by_host)))
    report = CheckReport(now, hosts)
    if keep and hosts:
        keep_report(home, report)
    return report


def _watches(home: Path) -> list[Watch]:
    """The watches `roost watch` set up ([] when none, or when their list is damaged: `roost
    watch --list` says so)."""
    from roost.app.watching import Watching  # (it imports this module)

    try:
        return Watching(home).watches()
    except RoostError:
        return []


def _check_host(name: str, items: list[Deployed], home: Path, paths: tuple[str, ...],
                limits: Thresholds, now: datetime, secrets: Callable[[Secret], str],
                backups: BackupOf | None, reach: ReachOf | None,
                watches: Sequence[Watch] = ()) -> HostCheck:
    start = time.monotonic()
    unchecked = tuple(ServiceCheck(d.service_id, name, d.label, UNKNOWN) for d in items)
    watching = tuple(f"{w.label} on {w.host}" for w in watches)

    def unreached(problem: str) -> HostCheck:
        return HostCheck(name, False, problem, services=unchecked, watching=watching,
                         seconds=time.monotonic() - start)

    try:
        host = HostStore(home / HOSTS_FILE).get(name)
        t = connect(host, home)
    except RoostError as exc:
        return unreached(exc.message)
    except Exception as exc:  # one line per host, never a traceback
        return unreached(f"{type(exc).__name__}: {printable(str(exc), 120)}")
    with t:
        try:
            state = host_state.read(t, paths, session.host_state_dir())
        except RoostError as exc:
            return unreached(exc.message)
        attention = _host_attention(state, limits)
        services = tuple(_with_upgrade(_check_service(d, host, t, home, limits, now, secrets,
                                                      backups, reach, attention), state)
                         for d in items)
        try:
            found = watchers(t, watches)
        except RoostError as exc:
            return unreached(exc.message)
    return HostCheck(name, True, "", state, attention, services, time.monotonic() - start,
                     found, watching)


def _with_upgrade(s: ServiceCheck, st: host_state.HostState) -> ServiceCheck:
    """A service whose upgrade was cut off needs attention, and says how to finish it."""
    if s.service_id not in st.upgrades_cut_off:
        return s
    words = (f"an upgrade was cut off; finish it with: roost upgrade {s.service_id} --host "
             f"{s.host}")
    return dataclasses.replace(s, upgrade=words, attention=(*s.attention, words))


def _host_attention(st: host_state.HostState, limits: Thresholds) -> tuple[str, ...]:
    out: list[str] = []
    for d in st.disks:
        if d.free_mb is None:
            continue  # a path asked for every host may be on one only: said in its line
        if d.free_percent < limits.disk_min_free_percent or d.free_mb < limits.disk_min_free_mb:
            out.append(f"disk at {d.path} nearly full: {_size(d.free_mb)} free "
                       f"({d.free_percent:.0f}%)")
    if (st.memory_available_mb is not None
            and st.memory_available_mb < limits.memory_min_available_mb):
        out.append(f"memory nearly used up: {_size(st.memory_available_mb)} available")
    if st.root_read_only:
        out.append("the root file system is read-only (an SD card that fails is remounted "
                   "read-only: back up now and replace it)")
    return tuple(out)


def _check_service(d: Deployed, host: Host, t: Transport, home: Path, limits: Thresholds,
                   now: datetime, secrets: Callable[[Secret], str],
                   backups: BackupOf | None, reach: ReachOf | None,
                   host_attention: tuple[str, ...]) -> ServiceCheck:
    extra: dict[str, Any] = {
        "backup": backups(d.service_id, d.host) if backups else None,
        "reach": reach(d.service_id, d.host, t) if reach else None,
        "host_attention": host_attention,
    }
    try:
        recipe = session.build_recipe(d.recipe, host, d.options, t, home)
        problem = health_once(recipe, t, secrets, limits.health_retry_seconds)
    except RoostError as exc:
        return ServiceCheck(d.service_id, d.host, d.label, UNKNOWN, exc.message, **extra)
    until = _certificate(recipe, d, host)
    days = None if until is None else int((until - now).total_seconds() // 86400)
    attention = list(host_attention)
    if problem is not None:
        attention.insert(0, problem)
    if days is not None and days < limits.certificate_min_days:
        attention.append(f"certificate valid for {days} days")
    b = extra["backup"]
    if isinstance(b, Backup) and (b.last_good is None or b.problem):
        attention.append("backup")
    r = extra["reach"]
    if isinstance(r, Reach) and not r.reachable:
        attention.append("not reachable from outside")
    return ServiceCheck(d.service_id, d.host, d.label,
                        WORKING if problem is None else NOT_WORKING, problem or "", until, days,
                        attention=tuple(attention), **extra)


def health_once(recipe: Recipe, t: Transport, secrets: Callable[[Secret], str],
                retry_after: float = 1.0) -> str | None:
    """The recipe's own health check (what the deploy waited for), asked once, and once more
    after `retry_after` seconds when it fails: None when healthy, else what is wrong."""
    check = recipe.health
    if check is None:
        raise RoostError(f"{recipe.title} has no health check roost can run")
    ctx = StepContext(transport=t, sudo=recipe.sudo, secrets=secrets)
    problem = check.once(t, ctx)
    if problem is not None and retry_after > 0:
        time.sleep(retry_after)
        problem = check.once(t, ctx)
    return problem


def _certificate(recipe: Recipe, d: Deployed, host: Host) -> datetime | None:
    """When the certificate the service serves for its domain expires; None without a domain
    or without TLS."""
    domain = d.options.get("domain", "").strip()
    site = getattr(recipe.health, "site", None) if recipe.health is not None else None
    if not domain or domain == "_":
        domain = getattr(site, "name", "") or ""
    if not domain or domain == "_" or all(c.isdigit() or c == "." for c in domain):
        return None
    address = getattr(site, "address", "") or ("127.0.0.1" if host.is_local else host.address)
    ports = {p.number for p in recipe.ports}
    if certificates.XMPP_PORT in ports:
        served = certificates.served(address, domain, certificates.XMPP_PORT, xmpp=True)
    else:
        port = site.port if site is not None and getattr(site, "https", False) else \
            certificates.HTTPS_PORT
        served = certificates.served(address, domain, port)
    return None if served is None else served.not_after


# -- the last report, for the plan ------------------------------------------------------------

def keep_report(home: Path, report: CheckReport) -> None:
    """Keep the report in the data folder (replacing the previous one), for the plan."""
    atomic_write_text(home / LAST_CHECK, json.dumps(report.to_dict(), indent=1) + "\n")
