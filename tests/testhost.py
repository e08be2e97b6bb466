"""A realistic target host for deploy tests: Debian with systemd as PID 1 under systemd-nspawn.

One generic root filesystem is built with mmdebstrap ONCE and cached as a tar (under
``$ROOST_TESTHOST_CACHE`` or ``tests/.cache/testhost``). Each host ("pi", "vps") is that tar
extracted into its own folder, given its own name, static address on its own /24 and the
session's root key, then booted with ``systemd-nspawn -b --register=no --keep-unit
--network-veth``. NAT lets it reach only the resolver and HTTP/HTTPS (apt, PyPI, npm).

Use the fixtures in a test module::

    from testhost import TestHost
    pytest_plugins = ["testhost"]  # pi_host, vps_host fixtures

    @pytest.mark.slow
    @pytest.mark.container
    def test_x(pi_host: TestHost) -> None:
        pi_host.ssh("systemctl is-active ssh")

``pi_host`` / ``vps_host`` give a freshly extracted host to every test that asks for one (the
first use after boot is free, later uses re-extract the tar: a few seconds). Where the machine
cannot run containers (not root, no systemd-nspawn...) the fixtures skip with the reason, and
fail instead when ``CI=true``: a skipped end-to-end test counts as missing there.

Several pytest sessions may run at once on one machine: each host takes a numbered slot (a
lock file under /run/roost-testhost) that fixes its machine name and subnet, and a session
cleans up whatever a crashed session left in a slot before using it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "testhost"
BUILD_SCRIPT = SCRIPTS / "build-rootfs.sh"
NAT_SCRIPT = SCRIPTS / "nat.sh"
RUN_DIR = Path("/run/roost-testhost")
SUBNET_BASE = "10.231"
MAX_SLOTS = 40
BOOT_TIMEOUT = 90.0


def cache_dir() -> Path:
    env = os.environ.get("ROOST_TESTHOST_CACHE")
    path = Path(env) if env else HERE / ".cache" / "testhost"
    path.mkdir(parents=True, exist_ok=True)
    return path


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: an end-to-end test that did not run is a missing test."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"test host unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"test host unavailable: {reason}")


def missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "needs root (systemd-nspawn, veth links and nftables)"
    for tool in ("systemd-nspawn", "mmdebstrap", "nft", "ssh", "ssh-keygen", "tar", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test.sh installs it)"
    if not Path("/dev/net/tun").exists() and not Path("/sys/class/net").exists():
        return "no network device support"
    return None


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def rootfs_tar(timings: dict[str, float] | None = None) -> Path:
    """The cached generic root filesystem tar; built on first use (about 20 s).

    The cache key is the build script's hash, so changing the script rebuilds."""
    digest = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:12]
    tar = cache_dir() / f"rootfs-bookworm-{digest}.tar"
    with _flock(cache_dir() / "build.lock"):
        if not tar.exists():
            start = time.monotonic()
            proc = subprocess.run(
                [str(BUILD_SCRIPT), str(tar)], capture_output=True, text=True, timeout=900,
            )
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
                raise RuntimeError(f"building the test host rootfs failed:\n{tail}")
            if timings is not None:
                timings["rootfs_build"] = time.monotonic() - start
    return tar


def rootfs_base(tar: Path, timings: dict[str, float] | None = None) -> Path:
    """The tar extracted once into a folder next to it: the read-only lower layer of every
    host's overlay. A ``.complete`` marker guards against a half-extracted folder."""
    base = tar.with_suffix(".base")
    marker = base / ".roost-complete"
    with _flock(cache_dir() / "build.lock"):
        if not marker.exists():
            start = time.monotonic()
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir()
            subprocess.run(["tar", "-xf", str(tar), "-C", str(base), "--numeric-owner"],
                           check=True)
            marker.touch()
            if timings is not None:
                timings["rootfs_base_extract"] = time.monotonic() - start
    return base


def _session_key() -> Path:
    """A root key pair for this pytest session (private part 0600 in a private folder)."""
    folder = cache_dir() / f"keys-{os.getpid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    key = folder / "id_ed25519"
    if not key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "roost-test", "-f", str(key)],
            check=True,
        )
    return key


class _Slot:
    """An exclusive numbered slot: fixes a host's machine name and subnet for this session."""

    def __init__(self) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        for n in range(1, MAX_SLOTS + 1):
            fh = open(RUN_DIR / f"slot{n}.lock", "a+")  # noqa: SIM115 (held for the session)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            self.number = n
            self._fh: IO[str] | None = fh
            self.state = RUN_DIR / f"slot{n}.json"
            return
        raise RuntimeError(f"all {MAX_SLOTS} test host slots are taken")

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self.state.unlink()
            self._fh.close()
            self._fh = None


def _cleanup_slot(n: int) -> None:
    """Undo what a crashed session left in slot `n`: container, veth link, NAT table, overlay
    mount and host folders. Only called while holding the slot's lock."""
    state = RUN_DIR / f"slot{n}.json"
    if state.exists():
        try:
            pid = int(json.loads(state.read_text()).get("pid", 0))
        except (ValueError, OSError):
            pid = 0
        if pid > 1:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                cmdline = b""
            if b"systemd-nspawn" in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                for _ in range(50):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.1)
        with contextlib.suppress(OSError):
            state.unlink()
    from support.netlab import cleanup_lab  # a network lab (namespaces) left in slot n

    cleanup_lab(n)
    for link in Path("/sys/class/net").glob(f"ve-rt{n}-*"):
        subprocess.run(["ip", "link", "del", link.name], capture_output=True)
    subprocess.run([str(NAT_SCRIPT), "down", f"t{n}"], capture_output=True)
    for folder in (cache_dir() / "hosts").glob(f"slot{n}-*"):
        if (folder / "merged").is_dir():
            subprocess.run(["umount", str(folder / "merged")], capture_output=True)
        if not (folder / "merged").is_mount():
            shutil.rmtree(folder, ignore_errors=True)


def sweep_stale_slots() -> int:
    """Clean every slot no running session holds but that has leftovers; how many were."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    cleaned = 0
    for n in range(1, MAX_SLOTS + 1):
        lock = RUN_DIR / f"slot{n}.lock"
        leftovers = (RUN_DIR / f"slot{n}.json").exists() or (
            RUN_DIR / f"lab{n}.json").exists() or any(
            (cache_dir() / "hosts").glob(f"slot{n}-*"))
        if not leftovers:
            continue
        with open(lock, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a running session holds it
            _cleanup_slot(n)
            cleaned += 1
    return cleaned


SSH_OPTS = [
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
]


@dataclass
class TestHost:
    """One booted test host. ``address``:``ssh_port`` as root with ``key_path``."""

    __test__ = False  # not a test class

    role: str
    machine: str
    address: str
    gateway: str
    subnet: str
    key_path: Path
    root: Path
    tar: Path
    base: Path | None = None
    mounted: bool = False
    ssh_port: int = 22
    user: str = "root"
    boot_seconds: float = 0.0
    reset_seconds: float = 0.0
    used: bool = False
    state_file: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _trash: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    # --- commands -------------------------------------------------------------------------
    def ssh(
        self, command: str, *, check: bool = True, input: bytes | None = None,
        timeout: float = 600.0, user: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command on the host over real SSH (the openssh client)."""
        argv = ["ssh", *SSH_OPTS, "-i", str(self.key_path), "-p", str(self.ssh_port),
                f"{user or self.user}@{self.address}", command]
        proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
        result = subprocess.CompletedProcess(
            argv, proc.returncode, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"on {self.role}: {command!r} exited {proc.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def active(self, unit: str) -> bool:
        """systemd says `unit` is active."""
        return self.ssh(f"systemctl is-active {unit}", check=False).stdout.strip() == "active"

    def gone(self, path: str) -> bool:
        """Nothing is at `path` (`test -e` answers 1, not an SSH failure)."""
        return self.ssh(f"test -e {path}", check=False).returncode == 1

    def known_hosts_lines(self) -> str:
        """OpenSSH known_hosts lines for this host's keys (read from its own files)."""
        out = []
        for pub in sorted((self.fs / "etc/ssh").glob("ssh_host_*_key.pub")):
            kind, blob = pub.read_text().split()[:2]
            out.append(f"{self.address} {kind} {blob}\n")
        return "".join(out)

    def transport(self, folder: Path) -> Any:
        """roost's own SSHTransport to this host as root, trusting exactly its host keys
        (a known_hosts file in `folder`). The caller closes it."""
        from roost.deploy.ssh import SSHTransport
        from roost.deploy.trust import KnownHosts

        folder.mkdir(parents=True, exist_ok=True)
        known = folder / "known_hosts"
        known.write_text(self.known_hosts_lines())
        known.chmod(0o600)
        no_config = folder / "no-ssh-config"
        t = SSHTransport(self.role, self.address, user="root", port=self.ssh_port,
                         key_path=str(self.key_path), known_hosts=KnownHosts(known),
                         ssh_config=no_config, allow_agent=False)
        t.connect()
        return t

    def console_tail(self, lines: int = 40) -> str:
        try:
            text = Path(f"{self.root}.console").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def fs(self) -> Path:
        """The host's root filesystem as seen from this machine."""
        return self.root / "merged" if self.mounted else self.root

    @property
    def changes(self) -> Path:
        """Where every file written on the host since its reset lives (the overlay's upper
        layer), or the whole root filesystem when no overlay is used."""
        return self.root / "upper" if self.mounted else self.fs

    def _unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.root / "merged")], capture_output=True)
            self.mounted = False

    # --- life cycle -----------------------------------------------------------------------
    def _extract(self) -> None:
        """A fresh root: an overlay whose lower layer is the extracted base (resetting is
        dropping the upper layer: well under a second), or a fresh tar extraction where overlay
        mounts do not work."""
        self._unmount()
        if self.root.exists():
            trash = self.root.with_name(f"{self.root.name}.trash{time.monotonic_ns()}")
            self.root.rename(trash)
            # Deleting a big tree takes a while: in the background, waited for at teardown.
            self._trash.append(subprocess.Popen(["rm", "-rf", str(trash)]))
        self.root.mkdir(parents=True)
        mounted = False
        if self.base is not None:
            upper, work, merged = self.root / "upper", self.root / "work", self.root / "merged"
            for d in (upper, work, merged):
                d.mkdir()
            res = subprocess.run(
                ["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={self.base},upperdir={upper},workdir={work}", str(merged)],
                capture_output=True,
            )
            mounted = res.returncode == 0
        if mounted:
            self.mounted = True
        else:
            subprocess.run(
                ["tar", "-xf", str(self.tar), "-C", str(self.fs), "--numeric-owner"], check=True,
            )
        r = self.fs
        (r / "etc/hostname").write_text(f"{self.role}\n")
        hosts = (r / "etc/hosts").read_text() if (r / "etc/hosts").exists() else ""
        (r / "etc/hosts").write_text(hosts + f"127.0.1.1\t{self.role}\n")
        dns = _resolver()
        # IgnoreCarrierLoss: the network lab (tests/support/netlab.py) moves the host's link
        # into another namespace, which takes its carrier away for a moment; without it,
        # networkd unconfigured the link then and at times did not put back its gateway or
        # its resolver (apt then failed on "Temporary failure resolving").
        (r / "etc/systemd/network/10-host0.network").write_text(
            "[Match]\nName=host0 eth0\n[Network]\n"
            f"Address={self.address}/24\nGateway={self.gateway}\nDNS={dns}\n"
            "ConfigureWithoutCarrier=yes\nIgnoreCarrierLoss=yes\n"
        )
        ssh_dir = r / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        auth = ssh_dir / "authorized_keys"
        auth.write_text(Path(f"{self.key_path}.pub").read_text())
        auth.chmod(0o600)

    def start(self) -> None:
        start = time.monotonic()
        console = open(f"{self.root}.console", "wb")  # noqa: SIM115 (handed to the child)
        try:
            self._proc = subprocess.Popen(
                ["systemd-nspawn", "-b", "-D", str(self.fs), f"--machine={self.machine}",
                 "--register=no", "--keep-unit", "--network-veth", "--console=pipe",
                 # A tun device for userspace WireGuard (wireguard-go), as a VPS offers one.
                 *(["--bind=/dev/net/tun"] if Path("/dev/net/tun").exists() else [])],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            console.close()
        self._slot_state_write()
        link = f"ve-{self.machine}"
        for _ in range(200):
            if Path(f"/sys/class/net/{link}").exists():
                break
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.role}: systemd-nspawn exited:\n{self.console_tail()}")
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{self.role}: no veth link {link} appeared")
        subprocess.run(["ip", "addr", "replace", f"{self.gateway}/24", "dev", link], check=True)
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
        self._wait_ready(start)
        self.boot_seconds = time.monotonic() - start

    def _wait_ready(self, start: float) -> None:
        deadline = start + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"{self.role}: container exited:\n{self.console_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                (self.address, self.ssh_port), timeout=0.5
            ) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{self.role}: ssh did not answer:\n{self.console_tail()}")
        left = max(5.0, deadline - time.monotonic())
        res = self.ssh("systemctl is-system-running --wait", check=False, timeout=left)
        state = res.stdout.strip()
        if state == "degraded":
            # On a loaded machine a boot unit can time out (seen: systemd-update-utmp-runlevel
            # under 2 cores shared by several suites). That is the machine, not the host roost
            # deploys to: start the failed units once more, and only then judge.
            self.ssh("systemctl --failed --no-legend --plain | awk '{print $1}' "
                     "| xargs -r sh -c 'systemctl reset-failed \"$@\"; "
                     "systemctl start \"$@\"' sh", check=False, timeout=120)
            res = self.ssh("systemctl is-system-running --wait", check=False, timeout=60)
            state = res.stdout.strip()
        if state != "running":
            failed = self.ssh("systemctl --failed --no-legend", check=False).stdout
            raise RuntimeError(f"{self.role}: system is {state!r}; failed units:\n{failed}")

    def _slot_state_write(self) -> None:
        """Record the nspawn pid so a later session can clean up after a crash of this one."""
        if self._proc is not None and self.state_file is not None:
            self.state_file.write_text(json.dumps({"pid": self._proc.pid, "machine": self.machine}))

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.ssh("systemctl poweroff", check=False, timeout=5)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # nspawn: orderly poweroff
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        self._proc = None
        subprocess.run(["ip", "link", "del", f"ve-{self.machine}"], capture_output=True)

    def reset(self) -> None:
        """Back to the freshly built state: stop, re-extract the tar, boot (a few seconds)."""
        start = time.monotonic()
        self.stop()
        self._extract()
        self.start()
        self.reset_seconds = time.monotonic() - start
        self.used = False

    def reboot(self) -> None:
        """A reboot as the host sees it: an orderly shutdown, then boot from the same files."""
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        self._unmount()
        for p in self._trash:
            p.wait()
        self._trash.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(OSError):
            Path(f"{self.root}.console").unlink()


def _resolver() -> str:
    for line in Path("/etc/resolv.conf").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            return parts[1]
    return "9.9.9.9"


class TestHostPool:
    """The session's hosts by role, booted on first request, all torn down at the end."""

    __test__ = False

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.hosts: dict[str, TestHost] = {}
        self._slots: list[_Slot] = []
        self._tags: list[str] = []
        self._lock = threading.Lock()
        sweep_stale_slots()
        self.tar = rootfs_tar(self.timings)
        self.base = rootfs_base(self.tar, self.timings)
        self.key = _session_key()
        self._closed = False
        atexit.register(self.close)

    def get(self, role: str) -> TestHost:
        with self._lock:
            if role in self.hosts:
                return self.hosts[role]
            slot = _Slot()
            self._slots.append(slot)
            n = slot.number
            machine = f"rt{n}-{role}"[:11]
            tag = f"t{n}"
            _cleanup_slot(n)
            subnet = f"{SUBNET_BASE}.{n}.0/24"
            subprocess.run([str(NAT_SCRIPT), "up", subnet, tag], check=True, capture_output=True)
            self._tags.append(tag)
            host = TestHost(
                role=role, machine=machine, address=f"{SUBNET_BASE}.{n}.2",
                gateway=f"{SUBNET_BASE}.{n}.1", subnet=subnet, key_path=self.key,
                root=cache_dir() / "hosts" / f"slot{n}-{role}", tar=self.tar,
                state_file=slot.state, base=self.base,
            )
            self.hosts[role] = host  # torn down at close() even if the boot fails
            start = time.monotonic()
            host._extract()
            self.timings[f"{role}_extract"] = time.monotonic() - start
            host.start()
            self.timings[f"{role}_boot"] = host.boot_seconds
            return host

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for host in self.hosts.values():
            with contextlib.suppress(Exception):
                host.remove()
        for tag in self._tags:
            subprocess.run([str(NAT_SCRIPT), "down", tag], capture_output=True)
        for slot in self._slots:
            slot.release()
        shutil.rmtree(self.key.parent, ignore_errors=True)
        with contextlib.suppress(OSError):
            (cache_dir() / "timings.json").write_text(json.dumps(self.timings, indent=1))


@pytest.fixture(scope="session")
def testhost_pool() -> Iterator[TestHostPool]:
    reason = missing_requirements()
    if reason:
        unavailable(reason)
    try:
        pool = TestHostPool()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        unavailable(str(exc))
        raise
    try:
        yield pool
    finally:
        pool.close()


def _fresh(pool: TestHostPool, role: str) -> Iterator[TestHost]:
    # A host that does not boot is a failure, not a skip: the machine has what it needs.
    host = pool.get(role)
    if host.used:
        host.reset()
        pool.timings[f"{role}_reset"] = host.reset_seconds
    host.used = True
    yield host


@pytest.fixture
def pi_host(testhost_pool: TestHostPool) -> Iterator[TestHost]:
    """A Debian host with systemd ("pi"), freshly extracted for this test."""
    yield from _fresh(testhost_pool, "pi")


@pytest.fixture
def vps_host(testhost_pool: TestHostPool) -> Iterator[TestHost]:
    """A second Debian host with systemd ("vps") on its own subnet."""
    yield from _fresh(testhost_pool, "vps")


def quote(*parts: str) -> str:
    """shlex-join helper for ssh command strings in tests."""
    return " ".join(shlex.quote(p) for p in parts)


def record_time(name: str, seconds: float) -> None:
    """Keep a measured duration (deploy times...) in the cache folder's times.json."""
    path = cache_dir() / "times.json"
    with _flock(cache_dir() / "times.lock"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        data[name] = round(seconds, 2)
        path.write_text(json.dumps(data, indent=1, sort_keys=True))


class ProcScanner:
    """Watch every process on this machine (the test hosts' processes included: they share the
    kernel) for secret values in their command line or environment, while a deploy runs.

    Use as a context manager; `hits` lists what was seen. `canary` is a harmless marker a test
    puts in a command line to prove the scanner does see short-lived processes."""

    __test__ = False

    def __init__(self, secrets: list[str], canary: str | None = None) -> None:
        self.needles = [s.encode() for s in secrets if s]
        self.canary = canary.encode() if canary else None
        self.hits: list[str] = []
        self.canary_seen = False
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = str(os.getpid())
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or entry.name == me:
                    continue
                for part in ("cmdline", "environ"):
                    try:
                        with open(f"/proc/{entry.name}/{part}", "rb") as fh:
                            blob = fh.read()
                    except OSError:
                        continue
                    if self.canary and self.canary in blob:
                        self.canary_seen = True
                    for n in self.needles:
                        if n in blob:
                            cmd = blob.split(b"\0")[0][:60].decode(errors="replace")
                            self.hits.append(f"pid {entry.name} {part} ({cmd})")
            self.scans += 1
            # A short pause keeps the scan from starving the deploy it watches (2 cores here);
            # a command lives far longer than this (prosodyctl: ~300 ms).
            self._stop.wait(0.01)

    def __enter__(self) -> ProcScanner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def files_containing(root: Path, secrets: list[str]) -> list[str]:
    """Files under `root` holding any of the secret values in plain text (grep -rlF). The
    values reach grep in a pattern file, never its arguments: a ProcScanner watching for them
    (in this test or one running beside it) must not find the check itself."""
    found: list[str] = []
    for s in secrets:
        with tempfile.NamedTemporaryFile("w", prefix="roost-patterns-") as patterns:
            patterns.write(s + "\n")
            patterns.flush()
            res = subprocess.run(["grep", "-rlF", "-f", patterns.name, "--", str(root)],
                                 capture_output=True, text=True)
        found += [f for f in res.stdout.split() if f != patterns.name]
    return found
