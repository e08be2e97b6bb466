"""A real OpenSSH sshd for transport tests: own config and host key, loopback or netns.

Fixtures (imported by conftest.py):
- `sshd`: one sshd on 127.0.0.1 for the session; yields an `Sshd` (host, port, user "root",
  client key, host key). Its AuthorizedKeysFile lives in a temp folder (`StrictModes no`).
- `sudo_user`: a non-root user (created for the session, with a password and a sudoers entry
  that requires it) who can log in to `sshd` with the same client key.
- `sshd_factory`: start extra sshds (own host key, any port) inside a test.
- `netns_hosts`: three sshds, each in a network namespace of its own behind a veth pair.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.ports import free_port

SSHD = "/usr/sbin/sshd"
# Unique per test session: several test runs may share the machine at once.
_TAG = secrets.token_hex(3)
TEST_USER = f"rtu{_TAG}"
ROOT_ALIAS = f"rtr{_TAG}"


@dataclass
class Sshd:
    host: str
    port: int
    user: str
    key: Path
    """The client's private key (ed25519, no passphrase)."""
    host_key: Path
    """The server's private host key; its .pub is next to it."""
    folder: Path
    proc: subprocess.Popen[bytes]
    netns: str | None = None
    password: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def host_key_pub(self) -> Path:
        return self.host_key.with_name(self.host_key.name + ".pub")

    def fingerprint(self) -> str:
        """The host key's fingerprint as `ssh-keygen -lf` prints it."""
        out = subprocess.run(["ssh-keygen", "-lf", str(self.host_key_pub)], check=True,
                             capture_output=True, text=True).stdout
        return out.split()[1]

    def as_user(self, user: str, password: str | None) -> Sshd:
        return Sshd(self.host, self.port, user, self.key, self.host_key, self.folder,
                    self.proc, self.netns, password, dict(self.extra))

    def session_pids(self) -> list[int]:
        """sshd processes serving a connection (children of the listener)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if "auth" in self.extra:
            shutil.rmtree(self.extra["auth"], ignore_errors=True)


def keygen(path: Path, comment: str = "roost-test") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
                    str(path)], check=True)
    return path


def _wait_port(host: str, port: int, proc: subprocess.Popen[bytes], netns: str | None,
               log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sshd exited: {err}")
        probe = (["ip", "netns", "exec", netns] if netns else []) + [
            "python3", "-c",
            f"import socket; socket.create_connection(({host!r}, {port}), 1).close()"]
        if netns:
            ok = subprocess.run(probe, capture_output=True).returncode == 0
        else:
            try:
                socket.create_connection((host, port), 1).close()
                ok = True
            except OSError:
                ok = False
        if ok:
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not start listening on {host}:{port}")


def start_sshd(folder: Path, client_key: Path, *, host: str = "127.0.0.1",
               port: int | None = None, host_key: Path | None = None,
               netns: str | None = None, users: tuple[str, ...] = ("root",)) -> Sshd:
    """Start `sshd -D -e` with its own config in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    if host_key is None:
        host_key = folder / "ssh_host_ed25519_key"
        if not host_key.exists():
            keygen(host_key, "roost-test-host")
    # sshd reads authorized_keys as the user logging in: keep them where any user can read
    # (pytest's temp folders are private to root).
    auth = Path(tempfile.mkdtemp(prefix="roost-sshd-auth-"))
    auth.chmod(0o755)
    pub = client_key.with_name(client_key.name + ".pub").read_text()
    for user in users:
        (auth / user).write_text(pub)
        (auth / user).chmod(0o644)
    port = port or free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        f"ListenAddress {host}\n"
        f"HostKey {host_key}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {auth}/%u\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "UseDNS no\n"
        "LogLevel INFO\n"
        "MaxSessions 100\n"
        "MaxStartups 100:30:200\n"
        "Subsystem sftp internal-sftp\n"
    )
    argv = [SSHD, "-D", "-e", "-f", str(config)]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    with open(folder / "sshd.log", "ab") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    _wait_port(host, port, proc, netns, log=folder / "sshd.log")
    return Sshd(host, port, "root", client_key, host_key, folder, proc, netns,
                extra={"auth": str(auth)})


def _need_sshd() -> None:
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        pytest.skip("openssh-server is not installed (scripts/test.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("the sshd fixture runs as root")


@pytest.fixture(scope="session")
def ssh_client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_sshd()
    folder = tmp_path_factory.mktemp("ssh-client")
    return keygen(folder / "id_ed25519")


ACCOUNT_MARK = "roost test account of pid"


def _remove_stale_accounts() -> None:
    """Accounts left by a test session that was killed (its pid, kept in the comment field,
    is gone). Accounts of sessions still running are left alone."""
    import pwd

    for entry in pwd.getpwall():
        if not entry.pw_gecos.startswith(ACCOUNT_MARK):
            continue
        pid = entry.pw_gecos[len(ACCOUNT_MARK):].strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue
        Path(f"/etc/sudoers.d/{entry.pw_name}").unlink(missing_ok=True)
        if entry.pw_uid != 0:
            subprocess.run(["pkill", "-u", entry.pw_name], capture_output=True)
            subprocess.run(["userdel", "-r", entry.pw_name], capture_output=True)
        else:  # -f without -r: the account line only, never a home folder
            subprocess.run(["userdel", "-f", entry.pw_name], capture_output=True)


@pytest.fixture(scope="session")
def _test_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two plain-shell accounts for the session:
    - ROOT_ALIAS, uid 0 with /bin/sh: root without root's own (possibly heavy) start-up files,
      so timings measure roost and not someone's .bashrc;
    - TEST_USER, a normal user with a password and a sudoers entry that asks for it."""
    _need_sshd()
    if shutil.which("sudo") is None:
        pytest.skip("sudo is not installed (scripts/test.sh installs it)")
    password = "pw-" + secrets.token_hex(12)
    root_home = tmp_path_factory.mktemp("roostroot-home")
    _remove_stale_accounts()
    owner = f"{ACCOUNT_MARK} {os.getpid()}"
    subprocess.run(["useradd", "-o", "-u", "0", "-g", "0", "-M", "-p", "*", "-d", str(root_home),
                    "-s", "/bin/sh", "-c", owner, ROOT_ALIAS], check=True, capture_output=True)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-c", owner, TEST_USER], check=True,
                   capture_output=True)
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{password}\n".encode(), check=True)
    sudoers = Path(f"/etc/sudoers.d/{TEST_USER}")
    sudoers.write_text(f"{TEST_USER} ALL=(ALL:ALL) ALL\n")
    sudoers.chmod(0o440)
    try:
        yield TEST_USER, password
    finally:
        sudoers.unlink(missing_ok=True)
        subprocess.run(["pkill", "-u", TEST_USER], capture_output=True)
        subprocess.run(["userdel", "-r", TEST_USER], capture_output=True)
        # -f without -r: drop the account line only (uid 0 is "in use" by every root process)
        subprocess.run(["userdel", "-f", ROOT_ALIAS], capture_output=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, ssh_client_key: Path,
         _test_accounts: tuple[str, str]) -> Iterator[Sshd]:
    """An sshd on loopback; logs in as ROOT_ALIAS (uid 0, plain /bin/sh)."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"), ssh_client_key,
                        users=("root", ROOT_ALIAS, TEST_USER))
    server.user = ROOT_ALIAS
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def sudo_user(sshd: Sshd, _test_accounts: tuple[str, str]) -> Sshd:
    """`sshd`, logging in as a non-root user whose sudo needs its password."""
    user, password = _test_accounts
    return sshd.as_user(user, password)


@pytest.fixture()
def sshd_factory(tmp_path: Path, ssh_client_key: Path,
                 _test_accounts: tuple[str, str]) -> Iterator[Callable[..., Sshd]]:
    """Start extra sshds for one test: `factory(name, port=None, host_key=None)`."""
    started: list[Sshd] = []

    def make(name: str = "extra", *, port: int | None = None,
             host_key: Path | None = None) -> Sshd:
        server = start_sshd(tmp_path / name, ssh_client_key, port=port, host_key=host_key,
                            users=("root", ROOT_ALIAS))
        server.user = ROOT_ALIAS
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


NETNS_COUNT = 3


@pytest.fixture(scope="session")
def netns_hosts(tmp_path_factory: pytest.TempPathFactory, ssh_client_key: Path,
                _test_accounts: tuple[str, str]) -> Iterator[list[Sshd]]:
    """Several hosts, each an sshd in its own network namespace (10.231.N.2), reached from
    here over a veth pair (10.231.N.1)."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed")
    tag = secrets.token_hex(2)
    made: list[tuple[str, str]] = []
    servers: list[Sshd] = []
    try:
        for n in range(1, NETNS_COUNT + 1):
            ns = f"roost-t{tag}-{n}"
            outer, inner = f"rt{tag}o{n}", f"rt{tag}i{n}"
            subnet = 230 + n
            for cmd in (
                ["ip", "netns", "add", ns],
                ["ip", "link", "add", outer, "type", "veth", "peer", "name", inner],
                ["ip", "link", "set", inner, "netns", ns],
                ["ip", "addr", "add", f"10.{subnet}.0.1/24", "dev", outer],
                ["ip", "link", "set", outer, "up"],
                ["ip", "-n", ns, "addr", "add", f"10.{subnet}.0.2/24", "dev", inner],
                ["ip", "-n", ns, "link", "set", inner, "up"],
                ["ip", "-n", ns, "link", "set", "lo", "up"],
            ):
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    pytest.skip(f"cannot set up network namespaces: {r.stderr.strip()}")
                if cmd[:3] == ["ip", "netns", "add"]:
                    made.append((ns, outer))
            servers.append(start_sshd(tmp_path_factory.mktemp(f"netns{n}"), ssh_client_key,
                                      host=f"10.{subnet}.0.2", port=22, netns=ns,
                                      users=("root", ROOT_ALIAS)))
            servers[-1].user = ROOT_ALIAS
            servers[-1].extra["veth"] = outer
        yield servers
    finally:
        for server in servers:
            server.stop()
        for ns, outer in made:
            subprocess.run(["ip", "link", "del", outer], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
