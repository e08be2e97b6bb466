"""bench/deploy_overhead.py logs in as a person's Pi is reached (a normal user with sudo, as
Raspberry Pi OS's `pi`), never as a second uid 0, and leaves nothing on the machine it ran on:
no account, group, home, sudoers drop-in, authorized_keys, sshd or temp folder, after a full
run, after Ctrl+C, SIGTERM or SIGHUP, and (swept by the next run) after SIGKILL.

The benchmark runs for real, as a subprocess, in its quick mode (`--repeat 1 --no-tools`);
what it made is read from the system (passwd, group, /etc/sudoers.d, `sudo -l`, /proc) while
it runs.
"""

from __future__ import annotations

import grp
import os
import pwd
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "deploy_overhead.py"
PREFIX = "roostbench"
FILES_LINE = re.compile(r"bench files in (\S+)")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the benchmark adds and removes a user: that needs root (CI runs as root)")
    for tool in ("/usr/sbin/sshd", "sudo", "visudo", "useradd"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/test.sh installs it)")


@dataclass
class Made:
    """What a running benchmark made, as the system shows it."""
    name: str
    uid: int
    home: Path
    groups: list[str]
    sudoers: Path


class Running:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(BENCH), *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for_line(self, pattern: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.output)
                continue
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.output)}")

    def account(self, timeout: float = 120) -> Made:
        """The account this benchmark made, once it has its sudoers entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.output)
            for e in pwd.getpwall():
                mine = e.pw_gecos.endswith(f" {self.proc.pid}") or e.pw_gecos == ""
                if not (e.pw_name.startswith(PREFIX) and mine):
                    continue
                assert e.pw_uid != 0, f"the benchmark made {e.pw_name} with uid 0"
                sudoers = Path(f"/etc/sudoers.d/{e.pw_name}")
                if sudoers.exists():
                    groups = [g.gr_name for g in grp.getgrall() if e.pw_name in g.gr_mem]
                    return Made(e.pw_name, e.pw_uid, Path(e.pw_dir), groups, sudoers)
            time.sleep(0.05)
        raise AssertionError(f"no benchmark account appeared:\n{''.join(self.output)}")

    def finish(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def files(self) -> Path:
        return Path(FILES_LINE.search("".join(self.output)).group(1))  # type: ignore[union-attr]


@pytest.fixture()
def bench() -> Iterator[list[Running]]:
    """Benchmarks a test started; any still running is interrupted (it cleans up), and what
    a killed one left is swept as the next benchmark would."""
    runs: list[Running] = []
    yield runs
    for r in runs:
        if r.proc.poll() is None:
            r.proc.send_signal(signal.SIGINT)
            try:
                r.proc.wait(60)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait()
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import deploy_overhead
        import sudo_user

        deploy_overhead.remove_stale_runs()
        sudo_user.remove_stale_users()
    except ImportError:
        pass
    finally:
        sys.path.remove(str(ROOT / "bench"))


def sshd_of(folder: Path) -> list[int]:
    """Processes whose argv names a file in `folder` (the benchmark's sshd)."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(folder) + "/" in argv:
                out.append(int(proc.name))
    return out


def assert_nothing_left(made: Made, files: Path | None) -> None:
    names = {e.pw_name for e in pwd.getpwall()}
    assert made.name not in names, f"{made.name} is still in passwd"
    assert made.name not in {g.gr_name for g in grp.getgrall()}, "its group is still there"
    assert not any(made.name in g.gr_mem for g in grp.getgrall()), "still a group member"
    assert not made.home.exists(), f"{made.home} is still there"
    assert not made.sudoers.exists(), f"{made.sudoers} is still there"
    pids = subprocess.run(["pgrep", "-u", str(made.uid)], capture_output=True, text=True)
    assert pids.stdout.strip() == "", f"processes of uid {made.uid} are still running"
    if files is not None:
        assert not files.exists(), f"{files} (sshd config, keys, authorized_keys) is left"
        assert sshd_of(files) == [], "the benchmark's sshd is still running"


def sudo_as(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=30)


@pytest.mark.parametrize("mode", ["nopasswd", "password"])
def test_bench_logs_in_as_a_normal_sudo_user_and_leaves_nothing(
        bench: list[Running], mode: str) -> None:
    run = Running("--repeat", "1", "--no-tools", "--sudo", mode)
    bench.append(run)
    made = run.account()
    assert made.uid != 0
    assert made.home.is_dir() and made.home.stat().st_uid == made.uid
    assert "sudo" in made.groups
    rules = subprocess.run(["sudo", "-l", "-U", made.name], capture_output=True, text=True)
    assert "(ALL : ALL)" in rules.stdout, rules.stdout
    # the sudo a person's Pi has: without a password (pi) or asking for it
    no_password = sudo_as(made.name, "sudo", "-n", "true")
    assert (no_password.returncode == 0) == (mode == "nopasswd"), no_password.stderr
    assert run.finish() == 0, "".join(run.output)
    out = "".join(run.output)
    # every way measured, the ones through sudo too
    for way in ("roost", "transport", "paramiko", "openssh", "roost-sudo", "paramiko-sudo"):
        assert re.search(rf"^\| {way} \| \d+\.\d+ s \|", out, re.M), out
    assert_nothing_left(made, run.files())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_bench_interrupted_leaves_nothing(bench: list[Running], sig: signal.Signals) -> None:
    run = Running("--repeat", "1000", "--no-tools")
    bench.append(run)
    made = run.account()
    run.wait_for_line(r"round 1:")  # sessions open, runs under way
    run.proc.send_signal(sig)
    assert run.finish(120) == 130, "".join(run.output)
    assert "interrupted" in "".join(run.output)
    assert_nothing_left(made, run.files())


def test_bench_killed_is_swept_by_the_next_run(bench: list[Running]) -> None:
    killed = Running("--repeat", "1000", "--no-tools")
    bench.append(killed)
    made = killed.account()
    killed.wait_for_line(r"round 1:")
    files = killed.files()
    killed.proc.kill()
    killed.proc.wait()
    assert made.name in {e.pw_name for e in pwd.getpwall()}  # SIGKILL: nothing could run
    nxt = Running("--repeat", "1", "--no-tools")
    bench.append(nxt)
    assert nxt.finish() == 0, "".join(nxt.output)
    assert_nothing_left(made, files)
