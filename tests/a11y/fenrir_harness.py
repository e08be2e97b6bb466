"""Run a program inside Debian's Fenrir screen reader, headless, and record what it speaks.

Layout of one session::

    test --(pty we own, cols x rows)--> fenrir -e -s fenrir/settings.conf -o general#shell=<cmd>
                                          |-- pyte emulation of a 2nd pty --> <cmd> (TERM=linux)
                                          `-- speech -> fenrir/jsonlSpeechDriver.py -> speech.jsonl

Keys are written to Fenrir's stdin exactly as a terminal would send them, ONE key per write
with a pause in between: Fenrir matches each read() chunk against its pty shortcut table and
passes anything else to the program. After each key the session waits until the speech log
has been quiet for `gap` seconds and returns what was spoken in the meantime.

Pitfalls handled here (see shared/reference/fenrir/README.md):
* Fenrir's stdin must be a tty (otherwise it hangs): we pty.fork() it.
* Its stdout mirrors every byte the program writes; it blocks if nobody reads: a thread drains
  it (into a pyte screen, so a test can check the program really started).
* Bare Esc is Fenrir's "stop speech": `press_escape()` sends Fenrir's bypass (Esc :) first.
* Fenrir forces TERM=linux for the program.
* The speech driver must be given as a path relative to Fenrir's speechDriver package folder.
* Start-up speech order varies between runs: assert on per-key speech only.

`fenrir_unavailable()` says why Fenrir cannot run here (or None). Tests call
`require_fenrir()`: it skips with that reason locally and FAILS when CI=true.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyte

from a11y.pty_harness import ScreenView, close_fd, reap, spawn, stop

HERE = Path(__file__).resolve().parent
SETTINGS = HERE / "fenrir" / "settings.conf"
DRIVER = HERE / "fenrir" / "jsonlSpeechDriver.py"
FENRIR_PKG = Path("/usr/lib/python3/dist-packages/fenrirscreenreader")
# Textual's half-block borders; Debian's default barrier lists only strip box-drawing lines.
TEXTUAL_BARRIERS = "barrier#leftBarriers=│└┌─▊;barrier#rightBarriers=│┘┐─▎"
# What Fenrir itself says at start and stop, whatever the program does.
FENRIR_NOISE = ("Start Fenrir", "Quit Fenrir", "pychant is not installed", "has attribute")

BYPASS = b"\x1b:"  # Fenrir pty.conf: pass the next key through to the program
ESC = b"\x1b"


def fenrir_unavailable() -> str | None:
    """None if Fenrir can run headless here, else a sentence saying why not."""
    if sys.platform != "linux":
        return f"Fenrir runs on Linux only (this is {sys.platform})"
    exe = shutil.which("fenrir")
    if not exe:
        return ("the 'fenrir' command is not installed "
                "(apt-get install fenrir; scripts/test.sh does)")
    if not (FENRIR_PKG / "screenDriver" / "ptyDriver.py").exists():
        return f"Fenrir's Python package is not at {FENRIR_PKG} (expected Debian's fenrir 1.9.x)"
    r = subprocess.run(["/usr/bin/python3", "-c", "import pyte, fenrirscreenreader"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return f"Fenrir's Python deps do not import: {r.stderr.strip().splitlines()[-1:]}"
    return None


def require_fenrir() -> None:
    """Skip (printing why) when Fenrir cannot run; in CI (CI=true) fail instead."""
    import pytest

    reason = fenrir_unavailable()
    if reason is None:
        return
    msg = f"Fenrir screen-reader test cannot run: {reason}"
    print(msg, file=sys.stderr)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + " (CI=true: a skipped screen-reader test fails the run)", pytrace=False)
    pytest.skip(msg)


def fenrir_version() -> str:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "fenrir"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


@dataclass
class Step:
    """One key and what Fenrir said because of it."""

    name: str
    key: bytes
    spoken: list[str]
    latency: float | None  # key write -> first utterance, seconds

    @property
    def joined(self) -> str:
        return " | ".join(self.spoken)


@dataclass
class SpeechLog:
    path: Path

    def records(self) -> list[dict[str, object]]:
        try:
            data = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        # Only whole lines: Fenrir may be half-way through writing the last one.
        lines = data.split("\n")[:-1]
        return [json.loads(line) for line in lines if line.strip()]

    def texts(self, start: int = 0) -> list[str]:
        return [str(r["text"]) for r in self.records()[start:] if "text" in r]

    def wait_quiet(self, quiet: float, minimum: float, maximum: float) -> None:
        """Wait until the log has not grown for `quiet` s (after at least `minimum` s)."""
        t0 = time.monotonic()
        last_n, last_change = len(self.records()), t0
        while True:
            time.sleep(0.03)
            n = len(self.records())
            now = time.monotonic()
            if n != last_n:
                last_n, last_change = n, now
            if now - t0 >= minimum and now - last_change >= quiet:
                return
            if now - t0 >= maximum:
                return


@dataclass
class FenrirSession(ScreenView):
    """`command` runs inside Fenrir; use as a context manager."""

    command: Sequence[str]
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    extra_opts: str = ""  # more Fenrir -o overrides, "section#key=value;..."
    cols: int = 80
    rows: int = 24
    gap: float = 0.6  # seconds of speech silence that end a key

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.speech = SpeechLog(self.workdir / "speech.jsonl")
        self.tty_path = self.workdir / "screen.tty"
        self.screen = pyte.Screen(self.cols, self.rows)
        self._stream = pyte.ByteStream(self.screen)
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._eof = threading.Event()
        self.pid = -1
        self.fd = -1
        self.exit_status: int | None = None
        self.steps: list[Step] = []
        self.startup: list[str] = []

    # -------------------------------------------------------------- lifecycle
    def argv(self) -> list[str]:
        cmd = " ".join(shlex.quote(a) for a in self.command)
        if ";" in cmd:
            raise ValueError("Fenrir's -o cannot carry ';' in general#shell: " + cmd)
        rel_driver = os.path.relpath(str(DRIVER)[:-3], FENRIR_PKG / "speechDriver")
        opts = f"speech#driver={rel_driver};general#shell={cmd}"
        if self.extra_opts:
            opts += ";" + self.extra_opts
        return ["fenrir", "-e", "-s", str(SETTINGS), "-o", opts]

    def start(self, settle: float = 1.0, minimum: float = 1.5, maximum: float = 20.0,
              ready: str | None = None) -> None:
        """Start Fenrir with the program; wait until start-up speech goes quiet.

        With `ready`, first wait (up to `maximum`) until that text is on the program's
        screen: keys sent before the program reads the terminal are echoed, not acted on."""
        if self.speech.path.exists():
            self.speech.path.unlink()
        env = dict(os.environ)
        env.pop("COLORTERM", None)
        env.update({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "linux"})
        env.update(self.env)
        env["FENRIR_SPEECH_JSONL"] = str(self.speech.path)
        argv = self.argv()
        # In the work folder: Fenrir's relative debugFile lands there.
        self.pid, self.fd = spawn(argv, env, self.rows, self.cols, self.workdir)
        threading.Thread(target=self._drain, daemon=True).start()
        if ready is not None and not self.wait_screen(ready, maximum):
            raise AssertionError(f"{ready!r} never appeared under Fenrir within {maximum}s:\n"
                                 f"{self.screen_text}\nspoken: {self.speech.texts()}")
        self.speech.wait_quiet(quiet=settle, minimum=minimum, maximum=maximum)
        self.startup = self.speech.texts()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.fd], [], [], 0.05)
                if not r:
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self._raw += data
                self._stream.feed(data)
        self._eof.set()

    def __enter__(self) -> FenrirSession:
        if self.pid < 0:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_exit(self, timeout: float) -> bool:
        if self.exit_status is None:
            self.exit_status = reap(self.pid, timeout, 0.05)
        return self.exit_status is not None

    def close(self) -> None:
        """Terminate Fenrir (and so the program) if still running; keep the logs."""
        if self.pid > 0 and not self.wait_exit(0):
            stop(self.pid, self.wait_exit, 3)
        self._stop.set()
        self.fd = close_fd(self.fd)
        self.tty_path.write_bytes(bytes(self._raw))

    # -------------------------------------------------------------- screen (what the program drew)
    screen_text = ScreenView.text

    def wait_screen(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen_text:
                return True
            time.sleep(0.05)
        return text in self.screen_text

    # -------------------------------------------------------------- keys
    def press(self, key: bytes, name: str | None = None, gap: float | None = None,
              maximum: float = 10.0, screen: str | None = None,
              cursor: str | None = None,
              until: Callable[[FenrirSession], bool] | None = None) -> Step:
        """Write one key, wait for `gap` s of speech silence, return what was spoken.

        A key that opens a screen can take longer than `gap` to draw (more so beside
        Fenrir on 2 cores): `screen` (text anywhere on screen) or `cursor` (text on the
        cursor line) or `until` makes it first wait, up to `maximum`, for the key's effect."""
        gap = self.gap if gap is None else gap
        if self.wait_exit(0):
            raise AssertionError(f"Fenrir (and the program) already exited ({self.exit_status}) "
                                 f"before key {name or key!r}:\n{self.transcript()}\n"
                                 f"screen:\n{self.screen_text}")
        n0 = len(self.speech.records())
        t0 = time.time()
        os.write(self.fd, key)
        if screen is not None or cursor is not None or until is not None:
            deadline = time.monotonic() + maximum
            while time.monotonic() < deadline and not (
                    (screen is None or screen in self.screen_text)
                    and (cursor is None or cursor in self.cursor_line)
                    and (until is None or until(self))):
                time.sleep(0.03)
        self.speech.wait_quiet(quiet=gap, minimum=gap, maximum=maximum)
        new = [r for r in self.speech.records()[n0:] if "text" in r]
        first_t = new[0].get("t") if new else None
        latency = round(float(first_t) - t0, 3) if isinstance(first_t, int | float) else None
        step = Step(name or repr(key), key, [str(r["text"]) for r in new], latency)
        self.steps.append(step)
        return step

    def press_escape(self, name: str = "Esc") -> Step:
        """Esc for the program: Fenrir's bypass first, else Fenrir eats Esc as 'stop speech'."""
        self.press(BYPASS, name="bypass", gap=0.2)
        return self.press(ESC, name=name)

    def type_text(self, text: str, gap: float = 0.15) -> list[Step]:
        return [self.press(ch.encode(), name=ch, gap=gap) for ch in text]

    def quit(self, key: bytes, timeout: float = 10.0) -> bool:
        """Send the program's quit key; True if Fenrir exited with it."""
        os.write(self.fd, key)
        return self.wait_exit(timeout)

    def transcript(self) -> str:
        """Human-readable record of the session, for assertion messages."""
        out = [f"<start> {self.startup}"]
        out += [f"{s.name:>12}: {s.spoken}  ({s.latency}s)" for s in self.steps]
        return "\n".join(out)


def norm(text: str) -> str:
    """Text as Fenrir's punctuation rules say it, reduced to lowercase words, so an
    expected label can be compared with an utterance: 'X (Twitter), [x] chosen' and
    ' X  Twitter ,  x  chosen' both become 'x twitter x chosen'."""
    t = text.lower().replace("-", " dash ").replace("/", " slash ")
    return " ".join("".join(c if c.isalnum() else " " for c in t).split())


# Utterances Fenrir makes about the screen itself, not its text.
NOISE = ("has attribute", "blank", "pp")


def content(step: Step) -> list[str]:
    """The step's utterances without Fenrir's own noise."""
    return [u for u in step.spoken if norm(u) not in NOISE and norm(u)]


def said(step: Step, *expected: str) -> bool:
    """True if the step's speech, joined, contains every expected text, in that order."""
    heard = norm(" ".join(content(step)))
    pos = 0
    for e in expected:
        i = heard.find(norm(e), pos)
        if i < 0:
            return False
        pos = i + len(norm(e))
    return True


def last_said(step: Step, expected: str) -> bool:
    """True if the LAST utterance of the step contains `expected`: where the reader is."""
    spoken = content(step)
    return bool(spoken) and norm(expected) in norm(spoken[-1])
