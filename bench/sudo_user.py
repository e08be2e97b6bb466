"""The account a benchmark logs in as: a normal user with sudo, as a person's Pi has one.

Raspberry Pi OS gives its first user (`pi`) a home, a password, the `sudo` group and a drop-in
`/etc/sudoers.d/010_pi-nopasswd` (`pi ALL=(ALL) NOPASSWD: ALL`); Debian's installer gives the
first user the `sudo` group, whose sudo asks for the password. `make_user("nopasswd")` and
`make_user("password")` make those two, never a second uid 0.

Everything made is removed by `remove_user()`: the user's processes, the passwd and group
entries, the home folder and the sudoers drop-in. `cleanup_on_signals()` turns SIGTERM and
SIGHUP into KeyboardInterrupt (as Ctrl+C already is), so a `try/finally` around the benchmark
runs on all three; `signals_held()` keeps a second Ctrl+C from cutting the clean-up short. An
account left by a benchmark killed with SIGKILL carries its pid in the comment field and is
removed by the next benchmark (`remove_stale_users()`).

Shell: /bin/sh, so no shell start-up files are measured (bash would read ~/.bashrc for every
command sshd runs). Needs root (useradd, /etc/sudoers.d).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

MARK = "roost benchmark account of pid"
PREFIX = "roostbench"
SUDOERS_D = Path("/etc/sudoers.d")
SUDO_MODES = ("nopasswd", "password")
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class BenchUser:
    name: str
    uid: int
    home: Path
    password: str
    """Random; set with chpasswd (stdin), so it is never in argv. Given to roost's sudo
    support in "password" mode; sshd takes only the key."""
    sudo: str
    """"nopasswd" or "password"."""
    sudoers: Path

    @property
    def sudo_password(self) -> str | None:
        return self.password if self.sudo == "password" else None


def remove_stale_users() -> None:
    """Accounts of benchmarks that were killed before their clean-up (their pid is gone)."""
    for entry in pwd.getpwall():
        if not (entry.pw_name.startswith(PREFIX) and entry.pw_gecos.startswith(MARK)):
            continue
        pid = entry.pw_gecos[len(MARK):].strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue
        _remove(entry.pw_name, entry.pw_uid, Path(entry.pw_dir), SUDOERS_D / entry.pw_name)


def make_user(sudo: str = "nopasswd") -> BenchUser:
    """A new normal user (uid from the system's range) with a home, a password and sudo.
    Signals wait until it is made; if anything fails or one came, it is removed again."""
    if sudo not in SUDO_MODES:
        raise ValueError(f"sudo must be one of {SUDO_MODES}, not {sudo!r}")
    remove_stale_users()
    name = f"{PREFIX}{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    groups = ["-G", "sudo"] if _group_exists("sudo") else []
    try:
        with signals_held():
            subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-c", f"{MARK} {os.getpid()}",
                            *groups, name], check=True, capture_output=True)
            entry = pwd.getpwnam(name)
            if entry.pw_uid == 0:
                raise RuntimeError(f"useradd gave {name} uid 0")
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n".encode(), check=True,
                           capture_output=True)
            rule = "NOPASSWD: ALL" if sudo == "nopasswd" else "ALL"
            _write_sudoers(SUDOERS_D / name, f"{name} ALL=(ALL:ALL) {rule}\n")
    except BaseException:
        with signals_held():
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                (SUDOERS_D / name).unlink(missing_ok=True)
            else:
                _remove(name, entry.pw_uid, Path(entry.pw_dir), SUDOERS_D / name)
        raise
    return BenchUser(name, entry.pw_uid, Path(entry.pw_dir), password, sudo, SUDOERS_D / name)


def remove_user(user: BenchUser) -> None:
    with signals_held():
        _remove(user.name, user.uid, user.home, user.sudoers)


def _remove(name: str, uid: int, home: Path, sudoers: Path) -> None:
    sudoers.unlink(missing_ok=True)
    if uid == 0:  # never signal or delete anything of root's
        subprocess.run(["userdel", "-f", name], capture_output=True)
        return
    subprocess.run(["pkill", "-KILL", "-u", str(uid)], capture_output=True)
    for _ in range(50):  # userdel refuses a user who still has processes
        if subprocess.run(["pgrep", "-u", str(uid)], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    subprocess.run(["userdel", "-r", name], capture_output=True)
    if home.is_dir() and home.stat().st_uid == uid:
        shutil.rmtree(home, ignore_errors=True)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _write_sudoers(path: Path, text: str) -> None:
    """Write a drop-in only after visudo accepts it: a broken file in /etc/sudoers.d would
    break sudo for everyone on the machine."""
    tmp = path.with_name(f".{path.name}.tmp")  # sudo skips names with a dot
    tmp.write_text(text)
    tmp.chmod(0o440)
    try:
        subprocess.run(["visudo", "-c", "-q", "-f", str(tmp)], check=True, capture_output=True)
        tmp.rename(path)
    finally:
        tmp.unlink(missing_ok=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cleanup_on_signals() -> None:
    """SIGTERM and SIGHUP interrupt the program as Ctrl+C does, so `finally` clauses run."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl+C, SIGTERM and SIGHUP while making or removing things; one that came is
    raised as KeyboardInterrupt when the block is done. Blocked, not only handled: the
    commands run meanwhile (useradd, userdel) inherit the mask, so Ctrl+C in the terminal
    does not cut them short either; a signal that reaches another thread is recorded."""
    came: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        came.append(signum)

    old_handlers = {sig: signal.signal(sig, record) for sig in _SIGNALS}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # a held one reaches record()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        if came:
            raise KeyboardInterrupt(signal.Signals(came[0]).name)
