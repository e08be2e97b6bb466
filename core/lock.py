"""A process lock on a data file, so two roost processes never write it at once.

The one lock-and-wait loop in roost: the progress store, the known hosts file, the hosts
list, the vault and the deploy journal all take a `FileLock`, each with how long to wait and
how often to look again. (The `filelock` package does the same with a timeout, but raises its
own `Timeout` and adds a dependency; this is 60 lines on `flock`, whose lock the kernel drops
when the process dies.)
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from roost.core.errors import LockedError


class FileLock:
    """An exclusive, non-blocking `flock` on `<path>.lock`.

    The lock is released by the kernel when the process dies, so a crash never leaves a
    stale lock behind.
    """

    def __init__(self, path: Path, what: str = "this data", wait_s: float = 0.0,
                 poll_s: float = 0.01) -> None:
        self.path = path.with_name(path.name + ".lock")
        self.what = what
        # How long to keep trying before saying the lock is taken. A process killed just
        # after forking a child leaves that child holding the lock until it execs (the lock's
        # descriptor is close-on-exec), so a lock taken right after a crash can be busy for a
        # moment.
        self.wait_s = wait_s
        self.poll_s = poll_s
        """How long to sleep between two tries while waiting."""
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(self.poll_s)
                    continue
            os.close(fd)
            raise LockedError(
                f"another roost is using {self.what} right now",
                hint="finish or close the other roost, then try again",
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
