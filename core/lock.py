"""A process lock on a data file, so two roost processes never write it at once."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from roost.core.errors import LockedError


class FileLock:
    """An exclusive, non-blocking `flock` on `<path>.lock`.

    The lock is released by the kernel when the process dies, so a crash never leaves a
    stale lock behind.
    """

    def __init__(self, path: Path, what: str = "this data") -> None:
        self.path = path.with_name(path.name + ".lock")
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
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
