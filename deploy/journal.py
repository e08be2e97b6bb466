"""The deploy journal on the controller: which steps of a recipe finished on a host.

`data_dir/deploys/<host>/<recipe>.toml`, a versioned TOML file written atomically. It holds
the current run's id and status and one entry per applied step, by stable step key (index +
hash of the step's definition). The host keeps its own record (a marker file, see engine.py);
a resumed deploy skips a step only when both agree, and re-checks it otherwise (the whole
decision: resume.py).

Writes happen on a background thread (write-behind, at most every WRITE_EVERY seconds) so a
deploy never waits for the disk between steps; `flush()` waits for the last write, and the
engine flushes when a run ends, fails or is interrupted. The host marker is written in the
same command as each step, so a journal that lags (power loss, SIGKILL) is reconciled on
resume: a step in the host's record only is known to have finished.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.core.errors import RoostError
from roost.core.lock import FileLock
from roost.core.validate import short_name
from roost.core.versioned import read_versioned, write_versioned

SCHEMA = 1
WRITE_EVERY = 0.25


@dataclass
class JournalEntry:
    key: str
    description: str
    at: float
    run_id: str
    applied: bool = True
    """False: the step was found already done (checked, not applied)."""


@dataclass
class JournalState:
    recipe: str
    host: str
    run_id: str
    status: str
    """"running", "finished", "failed", "stopped" or "unhealthy"."""
    fingerprint: str
    started: float
    updated: float
    total: int
    steps: list[JournalEntry] = field(default_factory=list)

    @property
    def unfinished(self) -> bool:
        return self.status not in ("finished",)

    def done_keys(self) -> set[str]:
        """Steps applied in the current run."""
        return {e.key for e in self.steps if e.run_id == self.run_id and e.applied}

    def seen_keys(self) -> set[str]:
        """Steps the current run got to (applied, or found already done)."""
        return {e.key for e in self.steps if e.run_id == self.run_id}

    def to_toml(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe, "host": self.host, "run_id": self.run_id,
            "status": self.status, "fingerprint": self.fingerprint, "started": self.started,
            "updated": self.updated, "total": self.total,
            "steps": [{"key": e.key, "description": e.description, "at": e.at,
                       "run_id": e.run_id, "applied": e.applied} for e in self.steps],
        }

    @classmethod
    def from_toml(cls, d: dict[str, Any]) -> JournalState:
        try:
            return cls(
                recipe=str(d["recipe"]), host=str(d["host"]), run_id=str(d["run_id"]),
                status=str(d["status"]), fingerprint=str(d.get("fingerprint", "")),
                started=float(d.get("started", 0)), updated=float(d.get("updated", 0)),
                total=int(d.get("total", 0)),
                steps=[JournalEntry(str(s["key"]), str(s.get("description", "")),
                                    float(s.get("at", 0)), str(s["run_id"]),
                                    bool(s.get("applied", True)))
                       for s in d.get("steps", [])],
            )
        except (KeyError, TypeError, ValueError):
            raise RoostError("the deploy journal is incomplete",
                             hint="deploy again without --resume") from None


def journal_path(host: str, recipe_id: str, base: Path) -> Path:
    """Where the journal of `recipe_id` on `host` lives below the data folder `base`."""
    short_name(host, "host name")
    return base / "deploys" / host / f"{recipe_id}.toml"


class Journal:
    """One recipe's journal on one host. Use `with journal.locked():` around a run."""

    def __init__(self, path: Path, recipe_id: str, host: str) -> None:
        self.path = path
        self.recipe_id = recipe_id
        self.host = host
        self.state: JournalState | None = None
        self._cond = threading.Condition()
        self._version = 0
        self._written = 0
        self._error: RoostError | None = None
        self._flushing = False
        self._last = 0.0
        self._thread: threading.Thread | None = None
        # Wait a little: a deploy resumed right after a crash can find the lock still held by
        # a child the dead run had just forked (see FileLock.wait_s).
        self._lock = FileLock(path, f"the deploy of {recipe_id} to {host}", wait_s=2.0)

    @classmethod
    def for_host(cls, host: str, recipe_id: str, base: Path) -> Journal:
        return cls(journal_path(host, recipe_id, base), recipe_id, host)

    @contextlib.contextmanager
    def locked(self) -> Any:
        try:
            self._lock.acquire()
        except OSError as exc:
            raise RoostError(f"cannot use the deploy journal folder {self.path.parent}: "
                             f"{exc.strerror or exc}",
                             hint="check that roost's data folder can be written") from None
        try:
            yield self
        finally:
            try:
                self.flush()
            finally:
                self._lock.release()

    def load(self) -> JournalState | None:
        data = read_versioned(self.path, "deploy journal", SCHEMA)
        self.state = None if data is None else JournalState.from_toml(data)
        return self.state

    def begin(self, run_id: str, fingerprint: str, total: int, resume: bool) -> JournalState:
        now = time.time()
        old = self.state
        if resume and old is not None and old.run_id == run_id:
            old.status, old.updated, old.total, old.fingerprint = "running", now, total, \
                fingerprint
        else:
            keep = old.steps[-500:] if old is not None else []
            self.state = JournalState(self.recipe_id, self.host, run_id, "running", fingerprint,
                                      now, now, total, keep)
        self._dirty()
        # On disk before the first step runs: a deploy killed at any step is always found
        # (and continued) by the next run. Later records are coalesced by the writer.
        self.flush()
        assert self.state is not None
        return self.state

    def record(self, key: str, description: str, applied: bool = True) -> None:
        assert self.state is not None
        now = time.time()
        self.state.steps.append(JournalEntry(key, description, now, self.state.run_id,
                                             applied))
        self.state.updated = now
        self._dirty()

    def finish(self, status: str) -> None:
        if self.state is None:
            return
        self.state.status = status
        self.state.updated = time.time()
        self._dirty()
        self.flush()

    def applied_counts(self) -> dict[str, int]:
        """How many times each step key was applied in the current run (never more than 1)."""
        out: dict[str, int] = {}
        if self.state is not None:
            for e in self.state.steps:
                if e.run_id == self.state.run_id and e.applied:
                    out[e.key] = out.get(e.key, 0) + 1
        return out

    # -- write-behind -----------------------------------------------------------------------

    def _dirty(self) -> None:
        with self._cond:
            self._version += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="roost-journal",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _writer(self) -> None:
        while True:
            with self._cond:
                while self._written >= self._version:
                    if not self._cond.wait(timeout=2.0) and self._written >= self._version:
                        self._thread = None  # idle: the next change starts a new writer
                        return
                # coalesce: let more records arrive, unless someone waits for the disk
                while not self._flushing:
                    left = self._last + WRITE_EVERY - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(timeout=left)
                version = self._version
                assert self.state is not None
                snapshot = self.state.to_toml()
                snapshot["steps"] = list(snapshot["steps"])
            try:
                write_versioned(self.path, snapshot, SCHEMA)
            except RoostError as exc:
                with self._cond:
                    self._error = exc
                    self._written = version
                    self._thread = None
                    self._cond.notify_all()
                return
            with self._cond:
                self._written = max(self._written, version)
                self._last = time.monotonic()
                self._cond.notify_all()

    def flush(self) -> None:
        """Wait until everything recorded is on disk; raise the writer's error if any."""
        with self._cond:
            self._flushing = True
            self._cond.notify_all()
            while self._written < self._version and self._error is None:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._writer, name="roost-journal",
                                                    daemon=True)
                    self._thread.start()
                self._cond.wait(timeout=1.0)
            self._flushing = False
            if self._error is not None:
                err, self._error = self._error, None
                raise err

    def forget(self) -> None:
        """Remove the journal (after an undeploy)."""
        self.flush()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.state = None
