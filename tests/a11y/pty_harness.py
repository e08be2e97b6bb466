"""Run a terminal program under a real pseudo-terminal and watch it like a screen reader would.

The program's output is fed, byte for byte, into a `pyte` terminal emulator. A test then
presses one key at a time and, after the output has settled, asks:

* where is the terminal cursor (``session.cursor`` -> ``(x, y)``), and what does the line
  under it say (``session.cursor_line``)? A console screen reader reads exactly that line;
* how many bytes did that key cause (``KeyResult.nbytes``)? One key should be one redraw;
* how many bytes does the program write while nobody touches it (``session.idle(2.0)``)?
  It should be zero: no blinking cursor, no spinner.

Usage::

    with PtySession([sys.executable, "app.py"], cols=80, rows=24, term="xterm") as s:
        s.wait_for("Pick a letter")
        r = s.press(keys.DOWN)
        assert "Bravo" in r.cursor_line
        assert s.idle(2.0) == 0

Nothing here is specific to roost; the fixture app in this folder tests the harness itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyte


class keys:
    """Bytes a VT/xterm/linux terminal sends for common keys (normal cursor-key mode)."""

    UP = b"\x1b[A"
    DOWN = b"\x1b[B"
    RIGHT = b"\x1b[C"
    LEFT = b"\x1b[D"
    ENTER = b"\r"
    TAB = b"\t"
    SHIFT_TAB = b"\x1b[Z"
    SPACE = b" "
    BACKSPACE = b"\x7f"
    ESC = b"\x1b"
    CTRL_C = b"\x03"
    CTRL_Q = b"\x11"
    HOME = b"\x1b[H"
    END = b"\x1b[F"
    PAGE_DOWN = b"\x1b[6~"
    PAGE_UP = b"\x1b[5~"
    F1 = b"\x1bOP"


# Anything that is not plain text: CSI, OSC, DCS, single-char escapes, and stray C1/C0
# controls other than \t \n \r.
ESCAPE_RE = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS/SOS/PM/APC
    rb"|\x1b[ -~]"  # 2-byte escapes (ESC =, ESC 7, ESC M, ...)
    rb"|\x1b"
    rb"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


def escape_sequences(data: bytes) -> list[bytes]:
    """Every escape sequence or control byte (other than tab/newline/CR) found in `data`."""
    return [m.group(0) for m in ESCAPE_RE.finditer(data)]


def spawn(argv: Sequence[str], env: Mapping[str, str], rows: int, cols: int,
          cwd: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Run `argv` under a new pty of rows x cols (in `cwd`): (its pid, our end's fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            if cwd:
                os.chdir(cwd)
            os.execvpe(argv[0], list(argv), dict(env))
        finally:
            os._exit(127)
    return pid, fd


def reap(pid: int, timeout: float, poll: float) -> int | None:
    """Wait up to `timeout` s (looking every `poll` s) for the child `pid` to exit: its exit
    status, or None while it runs."""
    deadline = time.monotonic() + timeout
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def stop(pid: int, wait_exit: Callable[[float], bool], timeout: float) -> None:
    """SIGTERM, then SIGKILL when `wait_exit(timeout)` says it still runs."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_exit(timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_exit(timeout)


def close_fd(fd: int) -> int:
    """Close our end of the pty (when open); -1, the closed fd's value."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    return -1


class ScreenView:
    """What a session's pyte screen shows, read under the session's lock (its reader thread
    feeds the screen)."""

    screen: pyte.Screen
    _lock: threading.Lock

    @property
    def cursor(self) -> tuple[int, int]:
        with self._lock:
            return self.screen.cursor.x, self.screen.cursor.y

    @property
    def cursor_line(self) -> str:
        with self._lock:
            return self.screen.display[self.screen.cursor.y].rstrip()

    def line(self, y: int) -> str:
        with self._lock:
            return self.screen.display[y].rstrip()

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return [ln.rstrip() for ln in self.screen.display]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class KeyResult:
    """What one key press did."""

    key: bytes
    nbytes: int  # bytes the program wrote from the key press until output settled
    seconds: float  # from writing the key to the last byte of the response
    cursor: tuple[int, int]  # (x, y) of the terminal cursor afterwards, 0-based
    cursor_line: str  # text of the screen line the cursor is on, right-stripped
    timed_out: bool  # output never settled within the time limit

    def __str__(self) -> str:
        return (f"key={self.key!r} bytes={self.nbytes} t={self.seconds:.2f}s "
                f"cursor={self.cursor} line={self.cursor_line!r}")


class PtySession(ScreenView):
    """One program running under a pty we own, with a pyte screen fed by its output."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 80,
        rows: int = 24,
        term: str = "xterm-256color",
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        inherit_env: bool = True,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        base = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", "/usr/bin")}
        for k in ("COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "NO_COLOR", "COLUMNS",
                  "LINES"):
            base.pop(k, None)
        base.update({"TERM": term, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
        base.update(env or {})
        self.env = base
        self.cwd = str(cwd) if cwd is not None else None
        self.log_path = Path(log_path) if log_path else None
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self._raw = bytearray()
        self._chunks: list[tuple[float, int, int, float]] = []
        """(seconds the reader waited for it, start, end, time.monotonic()) of every read."""
        self._expect_pos = 0
        self._last_output = time.monotonic()
        self._eof = threading.Event()
        self._stop = threading.Event()
        self.pid = -1
        self.fd = -1
        self.exit_status: int | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> PtySession:
        self.pid, self.fd = spawn(self.argv, self.env, self.rows, self.cols, self.cwd)
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> PtySession:
        return self.start() if self.pid < 0 else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reader(self) -> None:
        # The app's writes are told apart by when they arrive (the app waits 80 ms before it
        # moves the cursor): a reader that a busy machine puts off for longer reads two writes
        # as one. Where allowed (root), this thread runs in real time, so it reads each write
        # as it comes even beside a full test run; it only waits in select() otherwise.
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        waited_since = time.monotonic()
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.fd], [], [], 0.05)
                if not r:
                    continue
                data = os.read(self.fd, 65536)
                waited = time.monotonic() - waited_since
            except OSError:  # EIO: the child closed the pty
                break
            if not data:
                break
            with self._lock:
                self._chunks.append((waited, len(self._raw), len(self._raw) + len(data),
                                     time.monotonic()))
                self._raw += data
                self._last_output = time.monotonic()
                self.stream.feed(data)
            waited_since = time.monotonic()
        self._eof.set()

    def close(self, timeout: float = 3.0) -> int | None:
        """Stop the program (SIGTERM, then SIGKILL) if still running; return its exit status."""
        if self.pid > 0 and self.exit_status is None and not self.wait_exit(0.0):
            stop(self.pid, self.wait_exit, timeout)
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self.fd = close_fd(self.fd)
        if self.log_path:
            self.log_path.write_bytes(bytes(self._raw))
        return self.exit_status

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the program to exit; True if it has."""
        if self.exit_status is not None:
            return True
        self.exit_status = reap(self.pid, timeout, 0.02)
        if self.exit_status is None:
            return False
        self._eof.wait(1.0)  # let the reader pick up the last bytes
        return True

    @property
    def alive(self) -> bool:
        return not self.wait_exit(0.0)

    # ------------------------------------------------------------------ reading the screen
    @property
    def raw(self) -> bytes:
        with self._lock:
            return bytes(self._raw)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return len(self._raw)

    def writes_since(self, start: int, gap: float = 0.005) -> list[tuple[int, bytes]]:
        """The output after byte `start`, split into the separate writes (frames) the
        program made, each as (offset just past its last byte, its bytes). A read that
        was already waiting (the reader waited less than `gap` s for it: the pty buffer
        holds only 4 KB) continues the previous write."""
        with self._lock:
            chunks = [c for c in self._chunks if c[2] > start]
            raw = bytes(self._raw)
        out: list[tuple[int, bytes]] = []
        for waited, a, b, _t in chunks:
            piece = raw[max(a, start):b]
            if out and waited < gap:
                out[-1] = (b, out[-1][1] + piece)
            else:
                out.append((b, piece))
        return out

    def output_span(self, start: int) -> float:
        """Seconds from the first to the last read of the output after byte `start`."""
        with self._lock:
            times = [c[3] for c in self._chunks if c[2] > start]
        return times[-1] - times[0] if times else 0.0

    def screen_at(self, offset: int) -> pyte.Screen:
        """The screen as it was when the output had reached byte `offset` (a replay)."""
        screen = pyte.Screen(self.cols, self.rows)
        pyte.ByteStream(screen).feed(self.raw[:offset])
        return screen

    def dump(self) -> str:
        """The screen with a '>' marking the cursor line, for assertion messages."""
        x, y = self.cursor
        rows = [f"{'>' if i == y else ' '}{i:2d}|{ln}" for i, ln in enumerate(self.lines)]
        return "\n".join(rows) + f"\ncursor=({x}, {y})"

    # ------------------------------------------------------------------ waiting
    def settle(self, quiet: float = 0.25, timeout: float = 10.0, minimum: float = 0.0) -> bool:
        """Wait until no output arrived for `quiet` s (at least `minimum` s); False on timeout."""
        t0 = time.monotonic()
        while True:
            now = time.monotonic()
            with self._lock:
                last = self._last_output
            if now - t0 >= minimum and now - max(last, t0) >= quiet:
                return True
            if self._eof.is_set() and now - t0 >= minimum:
                return True
            if now - t0 >= timeout:
                return False
            time.sleep(0.01)

    def wait_until(self, pred: Callable[[PtySession], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self):
                return True
            if self._eof.is_set():
                return pred(self)
            time.sleep(0.02)
        return pred(self)

    def wait_for(self, text: str, timeout: float = 10.0, settle: float = 0.25) -> None:
        """Wait until `text` is on screen and output has settled; AssertionError otherwise."""
        if not self.wait_until(lambda s: text in s.text, timeout):
            raise AssertionError(f"{text!r} never appeared on screen within {timeout}s:\n"
                                 f"{self.dump()}\nexit={self.exit_status}")
        self.settle(settle, timeout)

    def wait_for_raw(self, text: bytes, timeout: float = 10.0) -> None:
        """Wait until `text` appears in the raw output (for line-mode programs)."""
        if not self.wait_until(lambda s: text in s.raw, timeout):
            raise AssertionError(f"{text!r} never appeared in output within {timeout}s; "
                                 f"got {self.raw[-800:]!r}")

    def expect(self, pattern: bytes | re.Pattern[bytes], timeout: float = 10.0) -> re.Match[bytes]:
        """Like pexpect: wait for `pattern` in the raw output after the previous match.

        For line-mode programs. Returns the match; AssertionError on timeout or exit."""
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        found: list[re.Match[bytes]] = []

        def hit(s: PtySession) -> bool:
            m = rx.search(s.raw, self._expect_pos)
            if m:
                found.append(m)
            return m is not None

        if not self.wait_until(hit, timeout):
            raise AssertionError(f"{rx.pattern!r} not seen within {timeout}s "
                                 f"(exit={self.exit_status}); output since last match:\n"
                                 f"{self.raw[self._expect_pos:][-1500:].decode(errors='replace')}")
        self._expect_pos = found[-1].end()
        return found[-1]

    # ------------------------------------------------------------------ input
    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def press(self, key: bytes, quiet: float = 0.25, timeout: float = 10.0,
              expect: str | None = None,
              until: Callable[[PtySession], bool] | None = None) -> KeyResult:
        """Send one key as one write, wait for the output to settle, report what it did.

        With `expect` (text on the cursor line) or `until` (any condition), first wait up
        to `timeout` for it, so a slow response (a screen loading) is not cut in two."""
        n0 = self.nbytes
        t0 = time.monotonic()
        self.write(key)
        if expect is not None:
            want = " ".join(expect.lower().split())
            self.wait_until(lambda s: want in " ".join(s.cursor_line.lower().split()), timeout)
        if until is not None:
            self.wait_until(until, timeout)
        # Wait for the first byte of the response (or `quiet` of nothing), then for quiet.
        ok = self.settle(quiet=quiet, timeout=timeout, minimum=0.02)
        with self._lock:
            last = self._last_output
        n = self.nbytes - n0
        return KeyResult(key=key, nbytes=n, seconds=max(0.0, last - t0) if n else 0.0,
                         cursor=self.cursor, cursor_line=self.cursor_line, timed_out=not ok)

    def type_text(self, text: str, quiet: float = 0.1) -> list[KeyResult]:
        """Type `text` one character per write."""
        return [self.press(ch.encode(), quiet=quiet) for ch in text]

    def idle(self, seconds: float = 2.0) -> int:
        """Bytes the program writes during `seconds` of no input. Should be 0."""
        n0 = self.nbytes
        time.sleep(seconds)
        return self.nbytes - n0

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        with self._lock:
            self.screen.resize(rows, cols)
        self.cols, self.rows = cols, rows
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGWINCH)
