"""Back a service up to another host, list the backups, restore one: the use case the CLI (and
the app's screens) run. Nothing here prints or prompts: events go to `on_event`, questions are
callbacks or flags.

    b = Backups(home, passphrase=ask, on_event=show)
    b.back_up("prosody", pi, vps, every="daily")     # lines: what was done
    overview(home, now, b.refresh())                 # `roost backups`
    b.verify("prosody")                              # borg check + a restore drill
    b.restore("prosody", vps, archive=None, replace=False)   # onto the target or the source
    b.move("prosody", pi, vps)                       # backup, restore, proven, then removed
    b.back_up_to_path("prosody", pi, "/mnt/usb")     # a disk on the pi itself, too
    b.restore("prosody", pi, from_path="/mnt/usb")   # from that disk (on any host it is on)

Where each service is backed up, and its last good backup as roost saw it, is kept in the data
folder's `backups.toml` (no secret: the repository's passphrase is in the vault, identity
`backup-SERVICE-SOURCE`). Setting up runs three journaled recipes (roost.deploy.backup), so a
run cut anywhere continues when run again; the backup itself runs as the source host's systemd
service, so killing roost never cuts an archive in half.
"""

from __future__ import annotations

import json
import re
import secrets as _random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from roost.app.deploy_options import deployed_options, read_table
from roost.app.deploying import Deployment, vault_secrets
from roost.app.on_host import OnHost
from roost.core import clock as clocks
from roost.core.atomic import atomic_write_text
from roost.core.errors import RoostError
from roost.deploy import backup, engine, session
from roost.deploy.backup import BackupSpec, Where
from roost.deploy.hosts import Host
from roost.deploy.journal import Journal
from roost.deploy.steps import Secret, script
from roost.deploy.transport import Transport

BACKUPS_FILE = "backups.toml"
DISK_BACKUPS_FILE = "disk-backups.toml"
RUNS_FILE = "backup-runs.toml"
"""The backups roost started and has not seen end yet ("SOURCE/NAME" = the archive the host
showed as its last before): a rerun after roost was stopped keeps the archive that run made,
rather than starting a second one."""
"""Backups to a folder on the service's own host (a USB disk), one per service, kept apart
from `BACKUPS_FILE` so that a service can have both."""
SCHEDULE_HOURS = {"hourly": 1, "daily": 24, "weekly": 24 * 7}

RESTORE = (
    'set -o pipefail; IFS= read -r p || [ -n "$p" ] || exit 3; cd / && '
    'BORG_PASSPHRASE=$p BORG_RELOCATED_REPO_ACCESS_IS_OK=yes '
    f'BORG_BASE_DIR={backup.REPO_ROOT}/.borg '
    f'runuser -u {backup.REPO_USER} -- borg export-tar "$1" - | tar -xpf - -C /'
)
"""(bash, for pipefail) As the repository's own user, stream archive $1 out of the repository
on this host, and unpack it as root (owners by name) in place."""
LIST = (
    'IFS= read -r BORG_PASSPHRASE || [ -n "$BORG_PASSPHRASE" ] || exit 3; '
    'export BORG_PASSPHRASE BORG_RELOCATED_REPO_ACCESS_IS_OK=yes '
    f'BORG_BASE_DIR={backup.REPO_ROOT}/.borg; '
    f'exec runuser -u {backup.REPO_USER} -- borg list --short "$1"'
)
_DRILL = ('b check "$1" >&2 || exit 4; '
          'n=$(b export-tar "$1::$2" - | tar -tf - | wc -l) || exit 5; '
          'm=$(b list --short "$1::$2" | wc -l) || exit 6; echo "$n $m"')
VERIFY = (
    'set -o pipefail; IFS= read -r p || [ -n "$p" ] || exit 3; cd / && '
    'export BORG_PASSPHRASE=$p BORG_RELOCATED_REPO_ACCESS_IS_OK=yes '
    f'BORG_BASE_DIR={backup.REPO_ROOT}/.borg; '
    f'b() {{ runuser -u {backup.REPO_USER} -- borg "$@"; }}; ' + _DRILL
)
"""(bash) On the host that keeps repository $1: `borg check` it, then the restore drill: stream
archive $2 out (every chunk read, decrypted and checked) through tar without writing anything,
and print how many entries came back and how many the archive lists."""
VERIFY_DISK = 'set -o pipefail; cd / && b() { borg "$@"; }; ' + _DRILL
"""(bash, through `Where.with_passphrase`) The same on a disk's repository, as root."""
PRUNE_DISK = ('cd / && g=$1; shift; borg prune --list --glob-archives "$g" "$@" && '
              'borg compact')
"""(through `Where.with_passphrase`) PRUNE on a disk's repository (not append-only: the host
owns it)."""
PRUNE = (
    'IFS= read -r p || [ -n "$p" ] || exit 3; cd / && '
    'export BORG_PASSPHRASE=$p BORG_RELOCATED_REPO_ACCESS_IS_OK=yes '
    f'BORG_BASE_DIR={backup.REPO_ROOT}/.borg; r=$1; g=$2; shift 2; '
    f'runuser -u {backup.REPO_USER} -- borg prune --list --glob-archives "$g" "$@" "$r" && '
    f'runuser -u {backup.REPO_USER} -- borg compact "$r"'
)
"""On the host that keeps repository $1 (not through the source's append-only key): prune the
archives matching $2 with the keep options "$@", then free their space."""
ALONE = ('u=$1; shift; if [ -d /run/systemd/system ]; then '
         'exec systemd-run --unit="$u" --quiet --wait --pipe --collect -- "$@"; fi; exec "$@"')
"""Run "$@" as the transient unit $1. A restore whose roost was killed (Ctrl+C, a lost
connection) leaves its extraction running on the host; the rerun stops that unit before it
keeps anything aside and starts over, so two never write the same folders. (Without systemd
as PID 1 it runs directly.)"""
WAIT_UNIT = ('while [ "$(systemctl is-active "$1")" = activating ]; do sleep 1; done; '
             '[ "$(systemctl show -p Result --value "$1")" = success ]')
"""Wait for the run of unit $1 under way; success when it ended well."""
KEEP = {"daily": 7, "weekly": 4, "monthly": 6}
"""How many archives `roost backup ID --prune` keeps, per period."""
KEEP_ASIDE = ('s=$1; shift; for p in "$@"; do if [ -e "$p" ]; then '
              'mv -f -- "$p" "$p.roost-replaced-$s" || exit 1; fi; done')


@dataclass
class Record:
    """One service's backup, as `backups.toml` keeps it."""

    service: str
    source: str
    target: str
    address: str
    port: int = 22
    every: str = backup.DAILY
    options: dict[str, str] = field(default_factory=dict)
    last_archive: str = ""
    last_at: str = ""
    """ISO 8601 UTC end time of the last good backup."""
    size: int = 0
    """Bytes the last archive added to the repository (after deduplication and compression)."""
    original: int = 0
    """Bytes of the data the last archive holds."""
    last_verify: str = ""
    """ISO 8601 UTC time of the last `roost backup --verify` that passed."""
    verify_failed: str = ""
    """ISO 8601 UTC time the host's weekly `borg check` last failed (cleared when it passes)."""
    to_path: str = ""
    """A backup to a folder on the source host itself (a USB disk): that folder; `target` is
    then the source host."""

    @property
    def where(self) -> Where:
        return Where(self.service, self.source, self.address, self.port, disk=self.to_path)

    @property
    def kept_on(self) -> str:
        """Where the backups are, in words."""
        return self.where.where_to if self.to_path else self.target


def load_records(home: Path, disk: bool = False) -> dict[str, Record]:
    """The backups to other hosts by service; with `disk`, those to a folder on the service's
    own host."""
    out: dict[str, Record] = {}
    for sid, d in read_table(home / (DISK_BACKUPS_FILE if disk else BACKUPS_FILE)).items():
        if isinstance(d, dict):
            known = {k: v for k, v in d.items() if k in Record.__dataclass_fields__}
            out[sid] = Record(**known)
    return out


def save_record(home: Path, rec: Record) -> None:
    path = home / (DISK_BACKUPS_FILE if rec.to_path else BACKUPS_FILE)
    data = read_table(path)
    data[rec.service] = asdict(rec)
    atomic_write_text(path, tomli_w.dumps(data))


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return f"{n} bytes"


def _age(delta: timedelta) -> str:
    s = int(delta.total_seconds())
    if s < 3600:
        return f"{max(s // 60, 0)} minutes ago"
    if s < 86400 * 2:
        return f"{s // 3600} hours ago"
    return f"{s // 86400} days ago"


def status_lines(records: Mapping[str, Record], deployed: list[tuple[str, str]],
                 now: datetime, disks: Mapping[str, Record] | None = None) -> list[str]:
    """`roost backups`: one line per deployed service (service, host) and per backup, with
    where it goes, the last good backup and its age, its size; no backup, or one older than
    twice its schedule, flagged in words. A backup to a disk on the same host (`disks`) has its
    own line, and alone it does not count as a copy elsewhere."""
    lines: list[str] = []
    disks = disks or {}
    services = sorted({s for s, _ in deployed} | set(records) | set(disks))
    for sid in services:
        rec = records.get(sid)
        hosts = sorted({h for s, h in deployed if s == sid})
        if not hosts and sid in disks:
            hosts = [disks[sid].source]
        on = f" on {', '.join(hosts)}" if hosts else ""
        if rec is None:
            host = hosts[0] if hosts else "HOST"
            lines.append(f"{sid}{on}: " + ("NO COPY ELSEWHERE" if sid in disks else
                                          "NOT BACKED UP")
                         + f". Set it up with: roost backup {sid} --host {host} --to OTHER-HOST")
        else:
            lines.append(_status_line(rec, now))
        if sid in disks:
            lines.append(_status_line(disks[sid], now))
    if not lines:
        lines.append("No service is deployed yet, so there is nothing to back up.")
    return lines


def _status_line(rec: Record, now: datetime) -> str:
    sid = rec.service
    kept = f"{rec.to_path} on the same machine" if rec.to_path else rec.target
    head = f"{sid} on {rec.source}: backed up to {kept} ({rec.every})"
    to = f"--to-path {rec.to_path}" if rec.to_path else f"--to {rec.target}"
    if not rec.last_at:
        return (f"{head}; NO GOOD BACKUP YET. Run: roost backup {sid} --host "
                f"{rec.source} {to}")
    at = clocks.parse(rec.last_at, "the last backup's time")
    age = now - at
    late = age > timedelta(hours=2 * SCHEDULE_HOURS.get(rec.every, 24))
    checked = (f", verified {_age(now - clocks.parse(rec.last_verify))}"
               if rec.last_verify else ", never verified")
    if rec.verify_failed:
        checked += (f", and its weekly check FAILED {_age(now - clocks.parse(rec.verify_failed))}"
                    f": run roost backup {sid} --verify"
                    + (f" --to-path {rec.to_path}" if rec.to_path else ""))
    return (f"{head}; last good backup {rec.last_archive}, {_age(age)}, "
            f"{_size(rec.original)} of data, {_size(rec.size)} added{checked}"
            + (f". TOO OLD: the {rec.every} backup has not run for "
               f"{_age(age).removesuffix(' ago')}; check the host {rec.source}."
               if late else "."))


def deployed_services(home: Path) -> list[tuple[str, str]]:
    """(service, host) of every service the progress says runs somewhere."""
    from roost.plan.progress import ProgressStore
    from roost.plan.workspace import PROGRESS_FILE

    if not (home / PROGRESS_FILE).exists():
        return []
    return [(e.service_id, str(e.detail.get("host", "")))
            for e in ProgressStore(home / PROGRESS_FILE).load().running() if e.service_id]


def overview(home: Path, now: datetime, records: Mapping[str, Record] | None = None
             ) -> list[str]:
    """The lines of `roost backups` (and of the app's Backups screens): every deployed
    service and every backup, from `records` or what roost saw last."""
    return status_lines(load_records(home) if records is None else records,
                        deployed_services(home), now, load_records(home, disk=True))


@dataclass
class Backups(OnHost):
    """Backups of services (on_event, trust, ask_trust, sudo_password: keywords, OnHost)."""

    home: Path
    passphrase: Callable[[], str]
    """The vault's passphrase, asked when the repository's passphrase is first needed."""
    clock: clocks.Clock = clocks.system

    def _connect(self, host: Host) -> Transport:
        return self.connect_to(host, self.home)

    def _say(self, text: str) -> None:
        from roost.app.deploying import Said

        self.on_event(Said(text))

    def _spec(self, service: str, host: Host, options: Mapping[str, str]) -> BackupSpec:
        recipe = session.build_recipe(service, host, options, None, self.home)
        if recipe.backup is None:
            raise RoostError(f"roost does not know yet what to back up of {service}",
                             hint="back up its folders with borg by hand for now")
        return recipe.backup

    def _passphrase(self, service: str, source: str) -> Secret:
        """The repository's passphrase: made and kept in the vault on first use."""
        from roost.keys.login import create
        from roost.keys.vault import Vault

        ident = backup.passphrase_id(service, source)
        vault = Vault.open(self.home, self.passphrase())
        if ident not in vault:
            made = create(ident, user="borg", password=_random.token_urlsafe(32))
            vault.add(made)
        return Secret(ident, "password")

    def _run(self, recipe: Any, t: Transport, host: str, secrets: Any = None) -> None:
        journal = Journal.for_host(host, recipe.id, self.home)
        previous = journal.load()
        resume = previous is not None and previous.unfinished
        engine.run(recipe, t, journal=journal, secrets=secrets, on_event=self.on_event,
                   resume=resume, state_dir=session.host_state_dir())

    def back_up(self, service: str, source: Host, target: Host,
                every: str = backup.DAILY) -> list[str]:
        if source.name == target.name:
            raise RoostError("a backup on the same host is lost with that host",
                             hint="give another host with --to (a disk on this one, as well: "
                                  "--to-path DIR)")
        if every not in backup.EVERY:
            raise RoostError(f"{every[:30]!r} is not a backup schedule",
                             hint=f"use one of {', '.join(backup.EVERY)}")
        options = deployed_options(self.home, service, source.name)
        spec = self._spec(service, source, options)
        where = Where(service, source.name, target.address, target.port or 22)
        with self._connect(target) as tt, \
                self._connect(source) as ts:
            secret = self._passphrase(service, source.name)
            self._grant(where, spec, ts, tt)
            rec = Record(service, source.name, target.name, where.address, where.port, every,
                         options)
            files = self._first_backup(rec, spec, ts, secret)
        save_record(self.home, rec)
        noted = _note_backup(self.home, service, source.name, target.name, every)
        return [f"Backed up {service} from {source.name} to {target.name}: archive "
                f"{rec.last_archive} holds {files} files and folders, "
                f"{_size(rec.original)} of data ({_size(rec.size)} added).",
                f"The next backups run {every} on {source.name} ({where.unit}.timer). "
                f"{target.name} keeps them append-only: {source.name} cannot delete them.",
                "The repository's passphrase is in your vault only "
                f"(`roost keys show {secret.name} --secret`).", *noted]

    def _first_backup(self, rec: Record, spec: BackupSpec, ts: Transport, secret: Secret
                      ) -> int:
        """Install the backup unit and timer on the source (ts), run the first backup now,
        note it in `rec` and list its archive: how many files and folders it holds."""
        where = rec.where
        secrets = vault_secrets(self.passphrase, self.home)
        unit = f"{where.unit}.service"
        runs, key = read_table(self.home / RUNS_FILE), f"{rec.source}/{where.name}"
        before = self._last_archive(ts, rec)
        # Roost was stopped after starting a backup: the rerun keeps what that one made, once
        # it ends (it runs on the host, roost's death does not cut it).
        done = False
        if key in runs:
            if ts.run(["systemctl", "is-active", unit], sudo=True).stdout.strip() == \
                    "activating":
                self._say(f"the backup of {rec.service} started earlier still runs on "
                          f"{rec.source}: waiting for it to end")
                ts.run(script(WAIT_UNIT, unit), sudo=True, timeout=24 * 3600)
                before = self._last_archive(ts, rec)
            done = bool(before) and before != runs[key]
        self._run(backup.source_recipe(where, spec, secret, rec.every), ts, rec.source,
                  secrets)
        if not done:
            self._say(f"running the backup of {rec.service} on {rec.source} now ({unit})")
            runs[key] = before
            atomic_write_text(self.home / RUNS_FILE, tomli_w.dumps(runs))
            if not ts.run(["systemctl", "start", unit], sudo=True).ok:
                raise RoostError(f"the backup of {rec.service} on {rec.source} failed",
                                 hint=f"see why with `journalctl -u {where.unit} -n 50` on "
                                      f"{rec.source}, then run again")
        self._read_status(ts, rec)
        runs = read_table(self.home / RUNS_FILE)
        if runs.pop(key, None) is not None:
            atomic_write_text(self.home / RUNS_FILE, tomli_w.dumps(runs))
        listed = ts.run(where.borg("list", "--short", f"::{rec.last_archive}"), sudo=True,
                        stdin=secrets(secret).encode())
        if not listed.ok:
            raise RoostError(f"the archive {rec.last_archive} cannot be listed",
                             hint="run `roost backup` again")
        return len(listed.stdout.splitlines())

    def back_up_to_path(self, service: str, source: Host, path: str,
                        every: str = backup.DAILY) -> list[str]:
        """Back `service` up to a folder on its own host (a USB disk mounted there): the same
        encrypted repository, unit and timer as to another host, reached without SSH. Said
        plainly: a copy on the same machine is lost with it (fire, theft, a surge)."""
        if every not in backup.EVERY:
            raise RoostError(f"{every[:30]!r} is not a backup schedule",
                             hint=f"use one of {', '.join(backup.EVERY)}")
        where = Where(service, source.name, "", disk=path)
        options = deployed_options(self.home, service, source.name)
        spec = self._spec(service, source, options)
        inside = [p for p in spec.paths if (where.disk + "/").startswith(p + "/")]
        if inside:
            raise RoostError(f"{where.disk} is inside {inside[0]}, which the backup reads",
                             hint="give a folder outside the service's data, such as /mnt/usb")
        with self._connect(source) as ts:
            if not ts.run(["test", "-d", where.disk], sudo=True).ok:
                raise RoostError(f"there is no folder {where.disk} on {source.name}",
                                 hint=f"plug the disk in and mount it at {where.disk}, then "
                                      "run again")
            mounted = ts.run(["mountpoint", "-q", where.disk], sudo=True).ok
            secret = self._passphrase(service, source.name)
            self._run(backup.disk_recipe(where, spec), ts, source.name)
            rec = Record(service, source.name, source.name, "", 22, every, options,
                         to_path=where.disk)
            files = self._first_backup(rec, spec, ts, secret)
        save_record(self.home, rec)
        return [f"Backed up {service} on {source.name} to {where.disk}: archive "
                f"{rec.last_archive} holds {files} files and folders, "
                f"{_size(rec.original)} of data ({_size(rec.size)} added).",
                f"The next backups run {every} ({where.unit}.timer), only while {where.disk} "
                "is mounted.",
                *([] if mounted else [
                    f"{where.disk} is not a disk of its own (not a mount point): the "
                    f"backups are on {source.name}'s own card or disk."]),
                f"A copy on the same machine is not enough on its own: a dead card, a fire "
                f"or a theft can take both. Keep one on another host too: roost backup "
                f"{service} --host {source.name} --to OTHER-HOST.",
                "The repository's passphrase is in your vault only "
                f"(`roost keys show {secret.name} --secret`): without it the disk is "
                "unreadable."]

    def back_up_all(self, target: Host, every: str = backup.DAILY) -> list[str]:
        """`back_up` every running service roost can back up, each from its host to `target`
        (those running on `target` itself are left out, said in a line). One failing service
        does not stop the others; a RoostError at the end names the ones that failed."""
        from roost.app.hosts import find
        from roost.plan.protect import running_backed_up
        from roost.plan.workspace import Workspace

        ws = Workspace.open(self.home, detect=False)
        found = running_backed_up(ws.progress, ws.catalog)
        if not found:
            raise RoostError("nothing roost can back up runs yet",
                             hint="deploy a service first; `roost catalog` says which ones "
                                  "roost backs up")
        lines: list[str] = []
        failed: list[str] = []
        for service, host in found:
            if host == target.name:
                lines.append(f"{service} runs on {target.name} itself: back it up to another "
                             "host.")
                continue
            try:
                lines += self.back_up(service, find(self.home, host), target, every)
            except RoostError as exc:
                lines.append(f"{service} on {host}: {exc.line()}")
                failed.append(f"{service} on {host}")
        if failed:
            for line in lines:
                self._say(line)
            raise RoostError(f"{len(failed)} of {len(found)} backups failed: "
                             f"{', '.join(failed)}",
                             hint="the lines above say why; run again once it is fixed")
        return lines

    def _grant(self, where: Where, spec: BackupSpec, ts: Transport, tt: Transport) -> None:
        """The source host (ts) gets borg, its own key and the target's host keys; the target
        (tt) lets that key add to (and read) the source's repositories, append-only."""
        self._run(backup.source_key_recipe(where, spec, self._host_keys(tt, where)), ts,
                  ts.name)
        pub = ts.get_file(backup.KEY + ".pub")
        if pub is None:
            raise RoostError(f"{ts.name} has no backup key", hint="run the command again")
        self._run(backup.target_recipe(where, pub.decode()), tt, tt.name)

    @staticmethod
    def _host_keys(tt: Transport, where: Where) -> str:
        """The target's host keys, read over roost's trusted connection, as known_hosts lines
        for the source."""
        res = tt.run(script('cat /etc/ssh/ssh_host_*_key.pub'), sudo=True)
        name = where.address if where.port == 22 else f"[{where.address}]:{where.port}"
        lines = [f"{name} {' '.join(ln.split()[:2])}" for ln in res.stdout.splitlines()
                 if ln.startswith(("ssh-", "ecdsa-"))]
        if not lines:
            raise RoostError("roost cannot read the backup host's SSH keys")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _last_archive(ts: Transport, rec: Record) -> str:
        """The last good archive the source host notes ("" when none)."""
        try:
            return str(json.loads(ts.get_file(rec.where.status) or b"{}")["archive"]["name"])
        except (ValueError, KeyError, TypeError):
            return ""

    @staticmethod
    def _read_verified(ts: Transport, rec: Record) -> None:
        """The host's weekly check (backup.CHECK): the last time it passed, if later than the
        last verify roost saw, and when it last failed."""
        def when(path: str) -> str:
            raw = (ts.get_file(path) or b"").decode(errors="replace").strip()
            try:
                return clocks.parse(raw).isoformat() if raw else ""
            except RoostError:
                return ""

        passed, failed = when(rec.where.verified), when(rec.where.verify_failed)
        if passed and (not rec.last_verify or
                       clocks.parse(passed) > clocks.parse(rec.last_verify)):
            rec.last_verify = passed
        rec.verify_failed = failed if failed and (
            not rec.last_verify or clocks.parse(failed) > clocks.parse(rec.last_verify)) else ""

    @staticmethod
    def _read_status(ts: Transport, rec: Record) -> None:
        raw = ts.get_file(rec.where.status)
        try:
            data = json.loads(raw or b"{}")
            arch = data["archive"]
            stats = arch["stats"]
            rec.last_archive = str(arch["name"])
            rec.last_at = clocks.parse(str(arch["end"])).isoformat()
            rec.size = int(stats.get("deduplicated_size", 0))
            rec.original = int(stats.get("original_size", 0))
        except (ValueError, KeyError, TypeError):
            raise RoostError(f"{rec.source} has no record of a good backup of {rec.service}",
                             hint="run `roost backup` again") from None

    def refresh(self) -> dict[str, Record]:
        """Each backup's last good archive as its source host says (hosts that cannot be
        reached keep what roost saw last)."""
        from roost.app.hosts import find

        records = load_records(self.home)
        for rec in [*records.values(), *load_records(self.home, disk=True).values()]:
            try:
                with self._connect(find(self.home, rec.source)) as ts:
                    self._read_status(ts, rec)
                    self._read_verified(ts, rec)
                save_record(self.home, rec)
            except RoostError:
                continue
        return records

    def _record(self, service: str, disk: str | None = None) -> Record:
        """The backup of `service` to another host, or (`disk`) to a folder on its host; a
        disk's record taking the folder given (the disk may be mounted elsewhere now)."""
        from dataclasses import replace

        rec = load_records(self.home, disk=disk is not None).get(service)
        if rec is None:
            raise RoostError(f"{service} has no backup roost knows of"
                             + (" on a disk" if disk is not None else ""),
                             hint="`roost backups` lists them")
        if disk is not None:
            rec = replace(rec, to_path=Where(service, rec.source, "", disk=disk).disk)
        return rec

    def verify(self, service: str, disk: str | None = None) -> list[str]:
        """`borg check` of the repository and a restore drill of the last archive on the host
        that keeps it (or, `disk`, on the source host from its disk); nothing is written
        there in the clear."""
        from roost.app.hosts import find

        rec = self._record(service, disk)
        secret = vault_secrets(self.passphrase, self.home)(
            Secret(backup.passphrase_id(service, rec.source), "password"))
        with self._connect(find(self.home, rec.target)) as t:
            local = not rec.to_path
            names = self.archives(rec, t, secret, local)
            if not names:
                raise RoostError(f"there is no archive of {service} yet",
                                 hint=f"run roost backup {service} first")
            self._say(f"checking the repository on {rec.kept_on} and unpacking {names[-1]} "
                      "without writing it")
            argv = (("bash", "-c", VERIFY, "bash", rec.where.path, names[-1]) if local else
                    rec.where.with_passphrase("bash", "-c", VERIFY_DISK, "bash",
                                              rec.where.path, names[-1]))
            res = t.run(argv, sudo=True, stdin=secret.encode(), timeout=3600)
        counts = res.stdout.split()
        if not res.ok or len(counts) != 2 or counts[0] != counts[1]:
            raise RoostError(f"the backups of {service} on {rec.kept_on} failed their check: "
                             f"{_last(res.stderr or res.stdout)}",
                             hint="make a new backup at once (roost backup), and keep the "
                                  "service's host safe until it passes")
        rec.last_verify = self.clock().isoformat()
        rec.verify_failed = ""
        save_record(self.home, rec)
        return [f"The repository of {service} on {rec.kept_on} passed borg check, and all "
                f"{counts[0]} files and folders of {names[-1]} came back from it."]

    def prune(self, service: str, keep: Mapping[str, int] | None = None,
              disk: str | None = None) -> list[str]:
        """Thin out the archives from roost's side, on the host that keeps them (the source
        host cannot: its key is append-only); a disk's (`disk`) on the source host."""
        from roost.app.hosts import find

        rec = self._record(service, disk)
        policy = dict(KEEP if keep is None else keep)
        args = [f"--keep-{k}={int(v)}" for k, v in policy.items()]
        secret = vault_secrets(self.passphrase, self.home)(
            Secret(backup.passphrase_id(service, rec.source), "password"))
        with self._connect(find(self.home, rec.target)) as t:
            argv = (rec.where.with_passphrase("sh", "-c", PRUNE_DISK, "sh", f"{service}-*",
                                              *args) if rec.to_path else
                    script(PRUNE, rec.where.path, f"{service}-*", *args))
            res = t.run(argv, sudo=True, stdin=secret.encode(), timeout=3600)
            if not res.ok:
                raise RoostError(f"pruning the backups of {service} failed: "
                                 f"{_last(res.stderr or res.stdout)}",
                                 hint="run it again; nothing is lost when it stops")
            left = self.archives(rec, t, secret, not rec.to_path)
        gone = sum(1 for ln in (res.stdout + res.stderr).splitlines()
                   if ln.startswith("Pruning archive"))
        kept = ", ".join(f"{v} {k}" for k, v in policy.items())
        return [f"Pruned the backups of {service} on {rec.kept_on} (keeping {kept}): "
                f"{gone} removed, {len(left)} kept, the last {left[-1] if left else 'none'}."]

    # -- restore ---------------------------------------------------------------------------

    def archives(self, rec: Record, t: Transport, secret: str, local: bool) -> list[str]:
        """The archive names, oldest first: read on the host that keeps them (`local`), or
        from the source host through its own key."""
        argv = script(LIST, rec.where.path) if local else rec.where.borg("list", "--short")
        res = t.run(argv, sudo=True, stdin=secret.encode())
        if not res.ok:
            raise RoostError(f"roost cannot read the backups of {rec.service} on {rec.kept_on}",
                             hint=(f"plug the disk in and mount it at {rec.to_path}, then run "
                                   "again" if rec.to_path else "check the host, then run again"))
        return [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]

    def restore(self, service: str, to: Host, archive: str | None = None,
                replace: bool = False, from_path: str | None = None) -> list[str]:
        """Install `service` on `to` with the options it had and put an archive back: from the
        host that keeps its backups, or (`from_path`) from its disk, mounted at that folder on
        `to` (the host it ran on, or a new one the disk was moved to)."""
        return self._restore(service, to, archive, replace, from_path)[0]

    def _restorable(self, service: str, to: Host, archive: str | None,
                    from_path: str | None = None) -> Record:
        """The backup record of `service`, refused before any connection when the archive
        named is not one of its, or `to` is neither of the hosts it knows (a disk can be on
        any host)."""
        rec = self._record(service, from_path)
        if archive is not None:
            backup.archive_name(archive)
            if not archive.startswith(service + "-"):
                raise RoostError(f"{archive} is a backup of another service, not {service}",
                                 hint=f"restore it with roost restore "
                                      f"{archive.rsplit('-', 3)[0]}, or pick one of "
                                      f"{service}'s archives")
        if not rec.to_path and to.name not in (rec.target, rec.source):
            raise RoostError(f"roost restores {service} onto {rec.source}, where it ran, or "
                             f"{rec.target}, the host that keeps its backups, for now",
                             hint=f"give --to {rec.source} or --to {rec.target}")
        return rec

    def _restore(self, service: str, to: Host, archive: str | None = None,
                 replace: bool = False, from_path: str | None = None) -> tuple[list[str], Any]:
        rec = self._restorable(service, to, archive, from_path)
        spec = self._spec(service, to, rec.options)
        secrets = vault_secrets(self.passphrase, self.home)
        secret = secrets(Secret(backup.passphrase_id(service, rec.source), "password"))
        options = {k: v for k, v in rec.options.items()
                   if not (k == "address" and to.name != rec.source)}
        local = not rec.to_path and to.name == rec.target
        if rec.to_path:  # borg there, and the disk's repository where the person says
            with self._connect(to) as t:
                if not t.run(["test", "-d", rec.where.path], sudo=True).ok:
                    raise RoostError(f"there are no backups of {service} in {rec.to_path} on "
                                     f"{to.name}",
                                     hint=f"plug the disk in and mount it at {rec.to_path} "
                                          "(or give the folder it is at with --from-path)")
                self._run(backup.disk_recipe(rec.where, spec), t, to.name)
        elif not local:  # the source host, maybe new: its key is let in again (append-only)
            from roost.app.hosts import find

            with self._connect(find(self.home, rec.target)) as tt, \
                    self._connect(to) as ts:
                self._grant(rec.where, spec, ts, tt)
        with self._connect(to) as t:
            names = self.archives(rec, t, secret, local)
            if archive is None:
                if not names:
                    raise RoostError(f"there is no archive of {service} yet",
                                     hint=f"run roost backup {service} first")
                archive = names[-1]
            elif archive not in names:
                raise RoostError(f"there is no archive {archive} of {service}",
                                 hint="`roost backups` shows the last one")
            running = [u for u in spec.pause
                       if t.run(["systemctl", "is-active", "--quiet", u], sudo=True).ok]
            if running and not replace:
                raise RoostError(f"{service} is running on {to.name} with its own data",
                                 hint="restore over it with --yes (what it holds now is kept "
                                      "aside, not deleted)")
        d = Deployment(service, to, self.home, options, on_event=self.on_event,
                       passphrase=self.passphrase, trust=self.trust)
        self._say(f"installing {service} on {to.name} with the options it had")
        d.run(restart=True)
        stamp = clocks.stamp(self.clock)
        with self._connect(to) as t:
            for u in spec.pause:
                t.run(["systemctl", "stop", u], sudo=True)
            self._say(f"keeping what {to.name} had aside (*.roost-replaced-{stamp})")
            unit = f"roost-restore-{service}.service"
            t.run(["systemctl", "stop", unit], sudo=True)  # one a killed run left going
            for dump in spec.dumps:  # the database as it is now, kept aside with its folder
                if not t.run(dump.argv(), sudo=True, timeout=3600).ok:
                    raise RoostError(f"roost could not keep {dump.database} aside "
                                     f"({dump.describe()})",
                                     hint="check the host, then run again")
            kept = t.run(script(KEEP_ASIDE, stamp, *spec.paths), sudo=True)
            if not kept.ok:
                raise RoostError("roost could not keep the current data aside",
                                 hint=kept.tail(3) or "check the host, then run again")
            self._say(f"putting {archive} back")
            argv = (("bash", "-c", RESTORE, "bash", f"{rec.where.path}::{archive}") if local
                    else rec.where.with_passphrase("sh", "-c", backup.EXTRACT, "sh", archive))
            res = t.run(script(ALONE, unit, *argv), sudo=True, stdin=secret.encode(),
                        timeout=3600)
            if not res.ok:
                raise RoostError(f"the restore of {archive} failed: "
                                 f"{_last(res.stderr or res.stdout)}",
                                 hint="run the same command again: it starts over")
            for dump in spec.dumps:
                self._say(f"loading {dump.database} back from {dump.to}")
                loaded = t.run(dump.load_argv(), sudo=True, timeout=3600)
                if not loaded.ok:
                    raise RoostError(f"loading {dump.database} back failed: "
                                     f"{_last(loaded.stderr or loaded.stdout)}",
                                     hint="run the same command again: it starts over")
            for u in spec.pause:
                t.run(["systemctl", "start", u], sudo=True)
        self._say("checking that it works")
        result = d.run()
        ok = result.health is None or result.health.ok
        if not ok:
            raise RoostError(f"{service} was restored on {to.name} but its health check failed",
                             hint=f"the data it replaced is in *.roost-replaced-{stamp}")
        return [f"Restored {service} on {to.name} from {archive}; its health check passed.",
                f"What it replaced is kept on {to.name}: "
                + ", ".join(f"{p}.roost-replaced-{stamp}" for p in spec.paths)
                + " (where there was anything)."], result

    # -- move ------------------------------------------------------------------------------

    def move(self, service: str, frm: Host, to: Host, replace: bool = False,
             forget_old: bool = False) -> list[str]:
        """Move a service from `frm` to `to` (the host that keeps, or will keep, its backups):
        a last backup with the service held stopped on `frm`, the restore on `to` proven by its
        health check and noted in the progress; only then is it removed from `frm`, its data
        kept there unless `forget_old` (the backups on `to` still hold it)."""
        from roost.app.deploying import Deployment, note_deployed

        rec = load_records(self.home).get(service)
        if rec is not None and (rec.source, rec.target) != (frm.name, to.name):
            raise RoostError(f"{service} is backed up from {rec.source} to {rec.target}",
                             hint=f"move it with --from {rec.source} --to {rec.target}")
        spec = self._spec(service, frm, deployed_options(self.home, service, frm.name))
        where = Where(service, frm.name, to.address, to.port or 22)
        self.back_up(service, frm, to)  # set up (or check) the backup while it still runs
        self._say(f"stopping {service} on {frm.name} for its last backup")
        with self._connect(frm) as t:
            for u in spec.pause:
                t.run(["systemctl", "stop", u], sudo=True)
                t.run(["systemctl", "mask", "--runtime", u], sudo=True)
        try:
            last = self.back_up(service, frm, to)
            lines, result = self._restore(service, to, None, replace)
        except BaseException:
            with self._connect(frm) as t:  # back as it was
                for u in spec.pause:
                    t.run(["systemctl", "unmask", "--runtime", u], sudo=True)
                    t.run(["systemctl", "start", u], sudo=True)
            raise
        noted = note_deployed(service, to.name, result, self.home)
        with self._connect(frm) as t:
            t.run(["systemctl", "disable", "--now", f"{where.unit}.timer",
                   f"{where.verify_unit}.timer"], sudo=True)
            for u in spec.pause:  # still stopped: unmasking starts nothing
                t.run(["systemctl", "unmask", "--runtime", u], sudo=True)
        old = Deployment(service, frm, self.home, deployed_options(self.home, service, frm.name),
                         on_event=self.on_event, passphrase=self.passphrase, trust=self.trust)
        removed = old.undeploy(purge_data=forget_old)
        return [last[0], *lines, *noted, *removed,
                f"{frm.name} no longer backs {service} up. {to.name} keeps the backups and "
                f"now runs {service} too: back it up from there to another host with "
                f"roost backup {service} --host {to.name} --to OTHER-HOST.",
                f"If a domain name points at {frm.name} ({frm.address}) for {service}, point "
                f"it at {to.name} ({to.address}) now (DNS A or AAAA record)."]


def _note_backup(home: Path, service: str, host: str, target: str, every: str) -> list[str]:
    """Note the backup in the progress (the plan stops offering to protect it); a progress
    that cannot be written costs a line, never the backup."""
    from roost.plan.workspace import Workspace

    try:
        ws = Workspace.open(home, detect=False)
        if ws.catalog.get(service) is not None:
            ws.record_backup(service, host, target, every)
    except RoostError as exc:
        return [f"roost could not note the backup in your progress: {exc.line()}"]
    return []


def _last(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return re.sub(r"\s+", " ", lines[-1])[:200] if lines else "no output"
