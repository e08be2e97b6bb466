"""What is newer for the deployed services, and upgrading one with an automatic rollback: the
use cases `roost updates` and `roost upgrade` run. Nothing here prints or prompts: events go to
`on_event` (`Said`, shown with roost.app.deploying.text_of).

    report = updates(home, host="pi", offline=False)   # per host and service
    for line in report.lines(): print(line)
    result = upgrade(home, "prosody", "pi", passphrase=ask, on_event=show)
    for line in result.lines: print(line)

`updates`: for each service the progress says runs on a host, the Debian packages its recipe
installs that have a newer version (security ones first; `offline` reads the host's apt lists
as they are, without `apt-get update`), and for an upstream release the version roost's
catalog pins against the one the deploy recorded. An upgrade that was cut off is said too.

`upgrade` (Debian packages): a backup first (the service's backup target, roost.app.backing_up;
none set up: refused unless `no_backup`), the installed versions' .deb files kept aside on the
host, `apt-get install --only-upgrade`, the units restarted and the deploy's own health check.
When anything fails it rolls back by itself (the kept versions, `--allow-downgrades`), proves
the old version works again and says what failed. A marker on the host (roost.deploy.upgrade)
lets a rerun finish an upgrade or a rollback that was cut off. The progress records the
outcome and the version running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.app.backing_up import Backups, load_records
from roost.app.checking import Deployed, deployed
from roost.app.connecting import connect
from roost.app.deploy_options import record_options
from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy import engine, session
from roost.deploy import upgrade as up
from roost.deploy.hosts import HOSTS_FILE, Host, HostStore
from roost.deploy.recipe import Recipe
from roost.deploy.steps import StepContext
from roost.deploy.transport import Transport
from roost.plan.workspace import PROGRESS_FILE, Workspace

UPGRADED = "upgraded"
ROLLED_BACK = "rolled back"
UP_TO_DATE = "up to date"


# -- roost updates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceUpdates:
    service_id: str
    host: str
    label: str
    packages: tuple[up.Pending, ...] = ()
    release: tuple[str, str] | None = None
    """(installed, newer) for an upstream release roost knows a newer version of."""
    unfinished: str = ""
    """The phase of an upgrade that was cut off ("upgrading", "rolling back"), else ""."""
    problem: str = ""
    """Why it could not be looked at, else ""."""

    @property
    def count(self) -> int:
        return len(self.packages) + (1 if self.release else 0)

    def words(self) -> str:
        head = f"{self.label} on {self.host}: "
        if self.problem:
            return head + f"could not be looked at ({self.problem})."
        parts: list[str] = []
        if self.unfinished:
            parts.append(f"an upgrade was cut off while {self.unfinished}; finish it with: "
                         f"roost upgrade {self.service_id} --host {self.host}")
        if self.packages:
            n = len(self.packages)
            sec = sum(p.security for p in self.packages)
            parts.append(f"{n} newer Debian package{'s' if n != 1 else ''}"
                         + (f", {sec} of them security updates" if sec else "") + ": "
                         + ", ".join(p.words() for p in self.packages))
        if self.release:
            parts.append(f"a newer release, {self.release[1]} (installed: "
                         f"{self.release[0] or 'not recorded'})")
        if not parts:
            return head + "up to date."
        if (self.packages or self.release) and not self.unfinished:
            parts.append(f"upgrade with: roost upgrade {self.service_id} --host {self.host}")
        return head + "; ".join(parts) + "."


@dataclass(frozen=True)
class HostUpdates:
    host: str
    reached: bool
    problem: str = ""
    services: tuple[ServiceUpdates, ...] = ()
    offline: bool = False


@dataclass(frozen=True)
class UpdatesReport:
    hosts: tuple[HostUpdates, ...] = ()

    @property
    def services(self) -> tuple[ServiceUpdates, ...]:
        return tuple(s for h in self.hosts for s in h.services)

    @property
    def summary(self) -> str:
        if not self.hosts:
            return "Nothing is deployed yet, so nothing needs updating."
        n = sum(s.count for s in self.services)
        with_updates = sum(1 for s in self.services if s.count)
        cut = sum(1 for s in self.services if s.unfinished)
        head = (f"{cut} upgrade{'s were' if cut != 1 else ' was'} cut off and must be "
                "finished (see above). " if cut else "")
        if not n:
            return head + ("Everything else is up to date." if cut
                           else "Everything is up to date.")
        return head + (f"{n} update{'s' if n != 1 else ''} for {with_updates} "
                       f"service{'s' if with_updates != 1 else ''}.")

    def lines(self) -> list[str]:
        out: list[str] = []
        for h in self.hosts:
            if not h.reached:
                names = ", ".join(s.label for s in h.services)
                out.append(f"{h.host}: could not be reached ({h.problem}); not looked at: "
                           f"{names}.")
                continue
            out.extend(s.words() for s in h.services)
            if h.offline:
                out.append(f"{h.host}: read from the package lists the host already had "
                           "(offline).")
        out.append(self.summary)
        return out

    def to_dict(self) -> dict[str, Any]:
        hosts = []
        for h in self.hosts:
            hosts.append({
                "host": h.host, "reached": h.reached, "problem": h.problem,
                "offline": h.offline,
                "services": [{
                    "service": s.service_id, "label": s.label, "line": s.words(),
                    "packages": [{"package": p.package, "installed": p.installed,
                                  "candidate": p.candidate, "security": p.security}
                                 for p in s.packages],
                    "release": ({"installed": s.release[0], "newer": s.release[1]}
                                if s.release else None),
                    "unfinished": s.unfinished, "problem": s.problem,
                } for s in h.services]})
        return {"summary": self.summary, "hosts": hosts}


def _recorded_versions(home: Path) -> dict[tuple[str, str], str]:
    """(service, host) -> the version the latest deploy or upgrade recorded."""
    if not (home / PROGRESS_FILE).exists():
        return {}
    out: dict[tuple[str, str], str] = {}
    for e in Workspace.open(home, detect=False).progress.effective():
        if e.kind in ("deployed", "upgraded") and e.service_id is not None:
            out[(e.service_id, str(e.detail.get("host", "")))] = str(
                e.detail.get("version", ""))
    return out


def updates(home: Path, *, host: str | None = None, offline: bool = False) -> UpdatesReport:
    """What is newer for every deployed service (on `host` only, when given), hosts in
    parallel."""
    items = [d for d in deployed(home) if host is None or d.host == host]
    if host is not None and not items:
        HostStore(home / HOSTS_FILE).get(host)  # an unknown host is said as such
    versions = _recorded_versions(home)
    by_host: dict[str, list[Deployed]] = {}
    for d in items:
        by_host.setdefault(d.host, []).append(d)

    def one(name: str) -> HostUpdates:
        return _host_updates(home, name, by_host[name], versions, offline)

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(by_host)))) as pool:
        return UpdatesReport(tuple(pool.map(one, sorted(by_host))))


def _host_updates(home: Path, name: str, items: Sequence[Deployed],
                  versions: Mapping[tuple[str, str], str], offline: bool) -> HostUpdates:
    unlooked = tuple(ServiceUpdates(d.service_id, name, d.label) for d in items)
    try:
        h = HostStore(home / HOSTS_FILE).get(name)
        t = connect(h, home)
    except RoostError as exc:
        return HostUpdates(name, False, exc.message, unlooked)
    except Exception as exc:  # one line per host, never a traceback
        return HostUpdates(name, False, f"{type(exc).__name__}: {printable(str(exc), 120)}",
                           unlooked)
    out: list[ServiceUpdates] = []
    refreshed = offline
    with t:
        for d in items:
            try:
                recipe = session.build_recipe(d.recipe, h, d.options, t, home)
                packages = up.recipe_packages(recipe)
                found = up.pending(t, packages, refresh=not refreshed)
                refreshed = True  # one apt-get update per host
                known, installed = recipe.version, versions.get((d.service_id, name), "")
                release = (installed, known) if known and known != installed else None
                marker = up.read_marker(t, up.marker_path(d.service_id,
                                                          session.host_state_dir()))
                out.append(ServiceUpdates(d.service_id, name, d.label, tuple(found), release,
                                          marker.phase if marker else ""))
            except RoostError as exc:
                out.append(ServiceUpdates(d.service_id, name, d.label, problem=exc.message))
    return HostUpdates(name, True, "", tuple(out), offline)


# -- roost upgrade ----------------------------------------------------------------------------

@dataclass(frozen=True)
class UpgradeResult:
    outcome: str
    """upgraded, rolled back, or up to date."""
    lines: tuple[str, ...]
    reason: str = ""
    """What failed, when it was rolled back."""
    version: str = ""


def _no_passphrase() -> str:
    raise RoostError("this needs a key from your vault",
                     hint="give the vault passphrase (ROOST_PASSPHRASE_FILE in scripts)")


def _said(on_event: Callable[[Any], None]) -> Callable[[str], None]:
    from roost.app.deploying import Said

    return lambda text: on_event(Said(text))


def _find(home: Path, service_id: str, host: str) -> Deployed:
    for d in deployed(home):
        if d.service_id == service_id and d.host == host:
            return d
    raise RoostError(f"{printable(service_id, 60)} is not deployed on {printable(host, 60)}",
                     hint="see what runs where with `roost check`")


def _backup_target(home: Path, service_id: str, host: str) -> tuple[Host, str] | None:
    """The host the service's backups go to, and their schedule; None when none is set up."""
    if not backup_set_up(home, service_id, host):
        return None
    rec = load_records(home)[service_id]
    return HostStore(home / HOSTS_FILE).get(rec.target), rec.every


def backup_set_up(home: Path, service_id: str, host: str) -> bool:
    """Whether the service on `host` has a backup target (else an upgrade needs no_backup)."""
    rec = load_records(home).get(service_id)
    return rec is not None and rec.source == host


def upgradable(report: UpdatesReport) -> list[ServiceUpdates]:
    """The services `upgrade` has something to do for: newer Debian packages, or an upgrade
    that was cut off."""
    return [s for s in report.services if s.packages or s.unfinished]


RELEASE_OPTIONS = ("artifact", "sha256")
"""The options `roost upgrade` takes: a release file and its hash, for an upstream release."""


def _release_options(options: Mapping[str, str] | None) -> dict[str, str]:
    """The options given to `roost upgrade`: each must be one it takes."""
    given = dict(options or {})
    for k in given:
        if k not in RELEASE_OPTIONS:
            raise RoostError(f"roost upgrade takes no option {printable(k, 40)!r}",
                             hint="it takes --option artifact=FILE and --option sha256=HASH "
                                  "for an upstream release")
    return given


def upgrade(home: Path, service_id: str, host_name: str, *, no_backup: bool = False,
            options: Mapping[str, str] | None = None,
            passphrase: Callable[[], str] = _no_passphrase,
            on_event: Callable[[Any], None] = lambda e: None) -> UpgradeResult:
    """Upgrade the service on the host, rolling back by itself when the upgrade or the health
    check after it fails; finishes an upgrade or a rollback that was cut off. Raises RoostError
    when it cannot start, or when even the rollback did not work.

    An upstream release is upgraded to the release roost's catalog pins, or to the one given
    as `options` (artifact, sha256): deployed into its own folder, the link switched to it;
    its rollback switches the link back. Anything else: the recipe's Debian packages."""
    say = _said(on_event)
    given = _release_options(options)
    d = _find(home, service_id, host_name)
    target = _backup_target(home, service_id, host_name)
    if target is None and not no_backup:
        raise RoostError(
            f"no backup of {service_id} on {host_name} is set up, so roost does not upgrade it",
            hint=f"set one up first with `roost backup {service_id} --host {host_name} --to "
                 "OTHER-HOST`, or add --no-backup to upgrade without one")
    host = HostStore(home / HOSTS_FILE).get(host_name)
    secrets = session.vault_secrets(passphrase, home)

    def backups() -> Backups:
        return Backups(home, passphrase, on_event=_steps_only(on_event))

    with connect(host, home) as t:
        recipe = session.build_recipe(d.recipe, host, d.options, t, home)
        if recipe.health is None:
            raise RoostError(f"{recipe.title} has no health check, so roost cannot tell "
                             "whether an upgrade worked", hint="upgrade it by hand")
        path = up.marker_path(service_id, session.host_state_dir())
        marker = up.read_marker(t, path)
        if marker is None:
            release = _release(recipe)
            recorded = _recorded_versions(home).get((service_id, host_name), "")
            if release is not None and (given or (recipe.version and
                                                  recipe.version != recorded)):
                marker = _new_release(home, t, d, host, given, release, say)
            elif given:
                raise RoostError(f"{service_id} is not an upstream release: roost upgrades "
                                 "its Debian packages, and takes no option for them")
            else:
                marker = _new_packages(t, recipe, host_name, say)
            if marker is None:
                return UpgradeResult(UP_TO_DATE, (f"{service_id} on {host_name} is up to "
                                                  "date.",))
            if target is not None:
                say(f"backing {service_id} up to {target[0].name} before upgrading")
                for line in backups().back_up(service_id, host, target[0], every=target[1]):
                    say(line)
                marker.backup = load_records(home)[service_id].last_archive
                if recipe.backup is not None:
                    marker.data = up.data_print(t, recipe.backup.paths)
            if marker.kind == up.PACKAGES:
                say(f"keeping the installed versions aside on {host_name} to go back to: "
                    + _joined(marker.old))
                marker.files = up.keep_old(t, service_id, marker.old)
            up.write_marker(t, path, marker)
        else:
            say(f"an upgrade of {service_id} on {host_name} was cut off while "
                f"{marker.phase}; finishing it")
        ctx = StepContext(transport=t, sudo=recipe.sudo, secrets=secrets)
        units = _units(recipe)
        if marker.phase == up.UPGRADING:
            if marker.kind == up.RELEASE:
                problem, result = _try_release(home, d, host, marker, passphrase, on_event, say)
            else:
                problem, result = _try_upgrade(t, recipe, ctx, marker, units, say), None
            if problem is None:
                return _upgraded(home, t, recipe, marker, path, host_name, result)
            marker.phase, marker.reason = up.ROLLING_BACK, problem
            up.write_marker(t, path, marker)
            if marker.kind == up.RELEASE:  # a restore reinstalls the release in use
                record_options(home, service_id, host_name, d.options)
            say(f"the upgrade failed: {problem}. Going back to {_joined(marker.old)}")
        return _roll_back(home, t, recipe, ctx, marker, units, path, host, say, backups)


def upgrade_all(home: Path, *, host: str | None = None, no_backup: bool = False,
                passphrase: Callable[[], str] = _no_passphrase,
                on_event: Callable[[Any], None] = lambda e: None) -> tuple[int, list[str]]:
    """Upgrade every deployed service (on `host`, when given) that has newer Debian packages
    or an upgrade to finish, one after the other; one that cannot start or fails does not stop
    the others. (exit code: 0 all upgraded, 1 one was rolled back, 2 one could not be
    upgraded; the lines to tell.)"""
    say = _said(on_event)
    report = updates(home, host=host)
    todo = upgradable(report)
    lines: list[str] = []
    code = 0
    if not todo:
        return 0, [report.summary]
    for s in todo:
        say(f"upgrading {s.service_id} on {s.host}")
        try:
            result = upgrade(home, s.service_id, s.host, no_backup=no_backup,
                             passphrase=passphrase, on_event=on_event)
        except RoostError as exc:
            lines.append(f"{s.service_id} on {s.host} was not upgraded: {exc.line()}")
            code = 2
            continue
        lines.extend(result.lines)
        if result.outcome == ROLLED_BACK:
            code = max(code, 1)
    return code, lines


def _steps_only(on_event: Callable[[Any], None]) -> Callable[[Any], None]:
    """Each step of a deploy run inside the upgrade (a new release, a restore), not its
    commands' output nor its closing words (the first-use tips of a fresh deploy)."""
    from roost.deploy.events import Finished, Output

    def steps(e: Any) -> None:
        if not isinstance(e, Output | Finished):
            on_event(e)

    return steps


def _release(recipe: Recipe) -> Any:
    """The recipe's upstream release step (InstallArtifact), or None."""
    from roost.deploy.recipes.upstream import InstallArtifact

    return next((s for s in recipe.steps if isinstance(s, InstallArtifact)), None)


def _new_release(home: Path, t: Transport, d: Deployed, host: Host, given: Mapping[str, str],
                 release: Any, say: Callable[[str], None]) -> up.Marker | None:
    """The marker of an upgrade to the release roost knows (or the one given); None when that
    release is the one in use."""
    options = {**d.options, **given}
    new = _release(session.build_recipe(d.recipe, host, options, t, home))
    in_use = up.release_in_use(t, release.current)
    if not in_use:
        raise RoostError(f"{d.service_id} on {host.name} has no release in use "
                         f"({release.current} is missing)",
                         hint=f"deploy it again with `roost deploy {d.service_id} --host "
                              f"{host.name}`")
    if new.release == in_use:
        return None
    say(f"the release in use is {in_use}; the new one goes to {new.release}")
    return up.Marker(d.service_id, up.UPGRADING, {"release": in_use},
                     {"release": new.release, "current": release.current},
                     kind=up.RELEASE, options=options)


def _new_packages(t: Transport, recipe: Recipe, host_name: str,
                  say: Callable[[str], None]) -> up.Marker | None:
    packages = up.recipe_packages(recipe)
    if not packages:
        raise RoostError(f"{recipe.service_id} installs no Debian package and no upstream "
                         "release roost can upgrade",
                         hint=f"deploy it again with `roost deploy {recipe.service_id} --host "
                              f"{host_name}`")
    say(f"reading the newest package lists on {host_name}")
    todo = up.pending(t, packages, refresh=True)
    if not todo:
        return None
    return up.Marker(recipe.service_id, up.UPGRADING, {p.package: p.installed for p in todo},
                     {p.package: p.candidate for p in todo})


def _try_release(home: Path, d: Deployed, host: Host, marker: up.Marker,
                 passphrase: Callable[[], str], on_event: Callable[[Any], None],
                 say: Callable[[str], None]) -> tuple[str | None, Any]:
    """Deploy the new release (its own folder, the link switched, the health check): (None,
    the deploy's result) when it works, else (what failed, None)."""
    from roost.app.deploying import Deployment
    say(f"deploying the new release of {d.service_id} into {marker.new['release']}")
    dep = Deployment(d.recipe, host, home, marker.options, passphrase=passphrase,
                     on_event=_steps_only(on_event))
    try:
        return None, dep.run()
    except engine.DeployFailed as exc:
        return exc.message, None


def _upgraded(home: Path, t: Transport, recipe: Recipe, marker: up.Marker, path: str,
              host_name: str, result: Any) -> UpgradeResult:
    sid = marker.service
    assert recipe.health is not None
    up.remove_marker(t, path)
    if marker.kind == up.RELEASE:
        from roost.app.deploying import note_deployed

        version = str(getattr(result, "version", "") or "")
        lines = [f"Upgraded {sid} on {host_name} to the release in {marker.new['release']}"
                 + (f", version {version}" if version else "")
                 + f" (it was {marker.old['release']}); its health check passed."]
        lines += note_deployed(sid, host_name, result, home)[:1]
        lines += _note(home, sid, host_name, version, UPGRADED, {})
        return UpgradeResult(UPGRADED, tuple(lines), version=version)
    up.forget_kept(t, sid)
    version = engine.installed_version(recipe, t) or _joined(marker.new)
    lines = [f"Upgraded {sid} on {host_name}: "
             + ", ".join(f"{p} {marker.old[p]} to {v}" for p, v in marker.new.items())
             + f"; {recipe.health.describe()}: it works."]
    lines += _note(home, sid, host_name, version, UPGRADED, marker.new)
    return UpgradeResult(UPGRADED, tuple(lines), version=version)


def _units(recipe: Recipe) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for p in recipe.ports for u in p.units))


def _joined(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{p} {v}" for p, v in versions.items())


def _try_upgrade(t: Transport, recipe: Recipe, ctx: StepContext, marker: up.Marker,
                 units: Sequence[str], say: Callable[[str], None]) -> str | None:
    """Upgrade, restart, check: None when it works, else what failed, in words."""
    say("upgrading " + ", ".join(f"{p} to {v}" for p, v in marker.new.items()))
    ok, tail = up.upgrade(t, marker.new)
    if not ok:
        return (f"apt-get could not upgrade {', '.join(marker.new)} ("
                f"{printable(_last(tail), 200)})")
    got = up.installed_versions(t, list(marker.new))
    off = [p for p, v in marker.new.items() if got.get(p) != v]
    if off:
        return f"apt-get did not install {', '.join(f'{p} {marker.new[p]}' for p in off)}"
    problem = up.restart(t, units)
    if problem is not None:
        return problem
    assert recipe.health is not None
    say(recipe.health.describe())
    result = recipe.health.wait(t, ctx)
    return None if result.ok else f"the health check failed: {result.detail}"


def _roll_back(home: Path, t: Transport, recipe: Recipe, ctx: StepContext, marker: up.Marker,
               units: Sequence[str], path: str, host: Host, say: Callable[[str], None],
               backups: Callable[[], Backups]) -> UpgradeResult:
    sid, host_name = marker.service, host.name
    again = f"run `roost upgrade {sid} --host {host_name}` again to retry the rollback"
    if marker.kind == up.RELEASE:
        say(f"pointing {marker.new['current']} at {marker.old['release']} again")
        up.switch_release(t, marker.old["release"], marker.new["current"])
    else:
        say("installing the kept versions again: " + _joined(marker.old))
        ok, tail = up.downgrade(t, marker.files)
        if not ok:
            raise RoostError(f"the rollback of {sid} on {host_name} failed too: apt-get said "
                             f"{printable(_last(tail), 200)}", hint=again)
    restored = False
    if marker.backup and marker.data and recipe.backup is not None and (
            up.data_print(t, recipe.backup.paths) != marker.data):
        say(f"the upgrade changed {sid}'s data too: putting back the backup {marker.backup} "
            "taken just before it")
        for line in backups().restore(sid, host, archive=marker.backup, replace=True):
            say(line)
        restored = True
    problem = up.restart(t, units)
    assert recipe.health is not None
    if problem is None:
        say(recipe.health.describe())
        result = recipe.health.wait(t, ctx)
        problem = None if result.ok else result.detail
    if problem is not None:
        raise RoostError(f"after the rollback, {sid} on {host_name} does not work either: "
                         f"{problem}", hint=again)
    version = (_recorded_versions(home).get((sid, host_name), "")
               if marker.kind == up.RELEASE else
               engine.installed_version(recipe, t) or _joined(marker.old))
    up.remove_marker(t, path)
    if marker.kind == up.PACKAGES:
        up.forget_kept(t, sid)
    lines = [f"The upgrade of {sid} on {host_name} failed: {marker.reason}.",
             f"Rolled back to {_joined(marker.old)}; {recipe.health.describe()}: it works "
             "again. "
             + (f"Its data is back as it was before the upgrade (the backup {marker.backup})."
                if restored else "The upgrade had not changed its data."
                if marker.data else "Your data was not touched by the rollback.")]
    lines += _note(home, sid, host_name, version, ROLLED_BACK, marker.old, marker.reason)
    return UpgradeResult(ROLLED_BACK, tuple(lines), marker.reason, version)


def _note(home: Path, sid: str, host: str, version: str, outcome: str,
          packages: Mapping[str, str], reason: str = "") -> list[str]:
    try:
        ws = Workspace.open(home, detect=False)
        if ws.catalog.get(sid) is None:
            return []
        ws.record_upgraded(sid, host, version, outcome, packages, reason)
    except RoostError as exc:
        return [f"roost could not note this in your progress: {exc.line()}"]
    return [f"Noted in your progress: {sid} on {host} {outcome}"
            + (f", version {version}." if version else ".")]


def _last(tail: str) -> str:
    lines = [x for x in tail.splitlines() if x.strip()]
    return lines[-1].strip() if lines else "no output"
