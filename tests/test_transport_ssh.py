"""SSHTransport against a real OpenSSH sshd: commands, files, sudo, lost connections."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support import hostile
from support.background import run_in_thread

from roost.core.errors import RoostError
from roost.deploy.ssh import ConnectionLost, SSHTransport, resolve
from roost.deploy.transport import Transport
from roost.deploy.trust import KnownHosts

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]


def connect(server: Sshd, tmp_path: Path, **kw: object) -> SSHTransport:
    known = KnownHosts(tmp_path / "known_hosts")
    t = SSHTransport("testhost", server.host, user=server.user, port=server.port,
                     key_path=str(server.key), known_hosts=known, trust=server.fingerprint(),
                     sudo_password=server.password, ssh_config=tmp_path / "no-config",
                     allow_agent=False, **kw)  # type: ignore[arg-type]
    t.connect()
    return t


@pytest.fixture()
def root_t(sshd: Sshd, tmp_path: Path) -> SSHTransport:
    t = connect(sshd, tmp_path)
    yield t  # type: ignore[misc]
    t.close()


@pytest.fixture()
def user_t(sudo_user: Sshd, tmp_path: Path) -> SSHTransport:
    t = connect(sudo_user, tmp_path)
    yield t  # type: ignore[misc]
    t.close()


def test_is_a_transport(root_t: SSHTransport) -> None:
    assert isinstance(root_t, Transport)


def test_run_returns_exit_code_stdout_stderr(root_t: SSHTransport) -> None:
    r = root_t.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert not r.ok
    assert r.argv == ("sh", "-c", "echo out; echo err >&2; exit 3")
    assert root_t.run(["true"]).ok


def test_stdin_and_plain_environment(root_t: SSHTransport) -> None:
    data = bytes(range(256)) * 4000  # 1 MB, binary, more than the inline limit
    r = root_t.run(["sh", "-c", "wc -c"], stdin=data)
    assert r.stdout.strip() == str(len(data))
    env = root_t.run(["sh", "-c", 'echo "$LC_ALL $LANG $ROOST_X"'], env={"ROOST_X": "a b"})
    assert env.stdout == "C C a b\n"


def test_output_lines_stream_as_they_arrive(root_t: SSHTransport) -> None:
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    r = root_t.run(["sh", "-c", "echo one; sleep 0.5; echo two; echo three >&2"],
                   on_output=lambda line: seen.append((time.monotonic() - start, line)))
    assert [s for _, s in seen] == ["one", "two", "three"]
    assert seen[0][0] < 0.4 < seen[1][0]  # "one" arrived before the command ended
    assert r.stdout == "one\ntwo\n"


def test_timeout_gives_exit_124(root_t: SSHTransport) -> None:
    t0 = time.monotonic()
    r = root_t.run(["sleep", "5"], timeout=0.5)
    assert r.exit_code == 124 and "stopped after" in r.stderr
    assert time.monotonic() - t0 < 3
    assert root_t.run(["true"]).ok  # the connection is still usable


def test_waiting_for_the_exit_status_does_not_spin(root_t: SSHTransport) -> None:
    """A command whose output ended before it did (sshd sends EOF, the exit status comes
    later: a normal user's session always has such a gap) is waited for, not polled in a busy
    loop. Found by bench/deploy_overhead.py, where the spin made each command of a normal
    user about twice as slow as raw paramiko's."""
    cpu = time.process_time()
    r = root_t.run(["sh", "-c", "exec >&- 2>&-; sleep 2"])
    assert r.ok
    assert time.process_time() - cpu < 0.3


def test_put_get_round_trip_binary_mode_owner(root_t: SSHTransport, sudo_user: Sshd) -> None:
    blob = os.urandom(300_000) + b"\x00\n\r\xff"
    target = f"/tmp/roost-t-{os.getpid()}/deep/er/file.bin"
    try:
        root_t.put_file(target, blob, mode=0o640, owner=sudo_user.user, group="root")
        assert root_t.get_file(target) == blob
        st = os.stat(target)  # same machine: check with the real file system
        assert oct(st.st_mode & 0o7777) == oct(0o640)
        assert pwd.getpwuid(st.st_uid).pw_name == sudo_user.user and st.st_gid == 0
        root_t.put_file(target, b"second", mode=0o600)
        assert Path(target).read_bytes() == b"second"
        assert oct(os.stat(target).st_mode & 0o777) == oct(0o600)
        leftovers = [p for p in os.listdir(os.path.dirname(target)) if ".roost-" in p]
        assert leftovers == []
        assert root_t.get_file(target + ".missing") is None
    finally:
        subprocess.run(["rm", "-rf", f"/tmp/roost-t-{os.getpid()}"])


def test_sudo_user_runs_as_root_with_password_on_stdin(user_t: SSHTransport) -> None:
    assert user_t.run(["id", "-un"]).stdout.strip() == user_t.user
    assert user_t.sudo_mode() == "password"
    r = user_t.run(["id", "-u"], sudo=True)
    assert r.stdout.strip() == "0", r.stderr
    # stdin still reaches the command after sudo took its password line
    r = user_t.run(["cat"], sudo=True, stdin=b"payload\n")
    assert r.stdout == "payload\n"


def test_sudo_password_never_in_argv(user_t: SSHTransport, sudo_user: Sshd) -> None:
    assert sudo_user.password
    secret = sudo_user.password.encode()
    done = threading.Event()
    result: list[object] = []

    def slow() -> None:
        result.append(user_t.run(["sleep", "1.5"], sudo=True))
        done.set()

    th = threading.Thread(target=slow)
    th.start()
    saw_sleep = False
    hits: list[str] = []
    deadline = time.monotonic() + 5
    while not done.is_set() and time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{pid}/environ", "rb") as f:
                    envb = f.read()
            except OSError:
                continue
            if secret in cmd or secret in envb:
                hits.append(cmd.decode(errors="replace"))
            if b"sleep\x001.5" in cmd:
                saw_sleep = True
        time.sleep(0.02)
    th.join()
    assert saw_sleep, "the sudo command was never seen running"
    assert hits == []
    assert result and result[0].ok  # type: ignore[attr-defined]


def test_wrong_sudo_password_is_one_clear_error(sudo_user: Sshd, tmp_path: Path) -> None:
    sudo_user.password = "wrong-" + (sudo_user.password or "")
    t = connect(sudo_user, tmp_path)
    with pytest.raises(RoostError, match=f"sudo password for {sudo_user.user} on testhost was not"):
        t.run(["true"], sudo=True)
    t.close()


def test_sudo_user_writes_and_reads_root_files(user_t: SSHTransport) -> None:
    target = f"/etc/roost-test-{os.getpid()}/app.conf"
    try:
        user_t.put_file(target, b"secret=1\n", mode=0o600, owner="root", group="root")
        st = os.stat(target)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o600)
        assert user_t.get_file(target) == b"secret=1\n"  # needs sudo to read
        assert user_t.get_file(target + ".nope") is None
        home = Path(pwd.getpwnam(user_t.user).pw_dir)
        assert not [p for p in home.iterdir() if p.name.startswith(".roost-upload")]
        # a file in the user's own folder goes straight over SFTP
        user_t.put_file(str(home / "mine.txt"), b"x", mode=0o644)
        assert (home / "mine.txt").stat().st_uid == pwd.getpwnam(user_t.user).pw_uid
    finally:
        subprocess.run(["rm", "-rf", os.path.dirname(target)])


HOSTILE = [*hostile.HOSTILE, "&& touch {c} #"]


def test_hostile_arguments_never_run(root_t: SSHTransport, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    folder = tmp_path / "d"
    folder.mkdir()
    for pattern in HOSTILE:
        value = pattern.format(c=canary)
        r = root_t.run(["echo", value])
        assert r.stdout == value + "\n"
        r = root_t.run(["printf", "%s", value], env={"ROOST_V": value})
        assert r.stdout == value
        path = str(folder / value.replace("/", "_"))
        root_t.put_file(path, value.encode(), mode=0o644)
        assert root_t.get_file(path) == value.encode()
        assert Path(path).read_bytes() == value.encode()
        with pytest.raises(RoostError):
            root_t.put_file("/tmp/x", b"", owner=value)  # a hostile owner is just a bad name
    assert not canary.exists()


def test_hostile_values_through_sudo_never_run(user_t: SSHTransport, tmp_path: Path) -> None:
    canary = Path("/tmp") / f"roost-canary-{os.getpid()}"
    try:
        for pattern in HOSTILE:
            value = pattern.format(c=canary)
            assert user_t.run(["echo", value], sudo=True).stdout == value + "\n"
            # through the private upload folder and `sudo sh -c INSTALL_SCRIPT`
            path = f"/etc/roost-hostile-{os.getpid()}/" + value.replace("/", "_")
            user_t.put_file(path, value.encode(), mode=0o644, owner="root", group="root")
            assert Path(path).read_bytes() == value.encode()
            assert user_t.get_file(path) == value.encode()
        assert not canary.exists()
    finally:
        canary.unlink(missing_ok=True)
        subprocess.run(["rm", "-rf", f"/etc/roost-hostile-{os.getpid()}"])


def test_killed_connection_mid_command_is_a_clean_error(sshd: Sshd, tmp_path: Path) -> None:
    before = set(sshd.session_pids())
    t = connect(sshd, tmp_path)
    t.current_step = "3 of 7, install packages"
    th, errors = run_in_thread(t, ["sleep", "30"])
    time.sleep(0.5)
    mine = [p for p in sshd.session_pids() if p not in before]
    # the connection opened for this test is the session sshd that has a `sleep 30` below it
    victims = [p for p in mine if "sleep" in subprocess.run(
        ["ps", "-o", "args=", "--ppid", ",".join(map(str, _descendants(p)))],
        capture_output=True, text=True).stdout]
    assert victims, "no sshd session found for the test's connection"
    for p in victims:
        os.kill(p, 9)
    th.join(10)
    assert not th.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionLost)
    msg = str(errors[0])
    assert msg.startswith("lost the connection to testhost while running `sleep 30`")
    assert "install packages" in msg and "resumes" in msg
    with pytest.raises(ConnectionLost):
        t.run(["true"])
    with pytest.raises(ConnectionLost):
        t.put_file("/tmp/x-roost", b"1")
    t.close()


def _descendants(pid: int) -> list[int]:
    out = [pid]
    i = 0
    while i < len(out):
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(out[i])],
                              capture_output=True, text=True).stdout.split()
        out += [int(k) for k in kids]
        i += 1
    return out


def test_unreachable_and_refused_are_one_line_errors(tmp_path: Path) -> None:
    from sshd import free_port

    t = SSHTransport("nowhere", "127.0.0.1", user="root", port=free_port(),
                     known_hosts=KnownHosts(tmp_path / "kh"), ssh_config=tmp_path / "none",
                     allow_agent=False)
    with pytest.raises(RoostError, match="refused the connection"):
        t.connect()


def test_wrong_key_is_a_login_error(sshd: Sshd, tmp_path: Path) -> None:
    from sshd import keygen

    other = keygen(tmp_path / "other")
    t = SSHTransport("testhost", sshd.host, user="root", port=sshd.port, key_path=str(other),
                     known_hosts=KnownHosts(tmp_path / "kh"), trust=sshd.fingerprint(),
                     ssh_config=tmp_path / "none", allow_agent=False)
    with pytest.raises(RoostError, match="did not accept roost's login as root"):
        t.connect()


def test_ssh_config_fills_in_hostname_user_port_key(sshd: Sshd, tmp_path: Path) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(f"Host mybox\n  HostName {sshd.host}\n  User root\n  Port {sshd.port}\n"
                   f"  IdentityFile {sshd.key}\n")
    ep = resolve("mybox", config_path=cfg)
    assert (ep.host, ep.port, ep.user, ep.key_files) == (sshd.host, sshd.port, "root",
                                                         (str(sshd.key),))
    t = SSHTransport("mybox", "mybox", known_hosts=KnownHosts(tmp_path / "kh"),
                     trust=sshd.fingerprint(), ssh_config=cfg, allow_agent=False)
    with t:
        assert t.run(["id", "-u"]).stdout == "0\n"
    # what the user gave wins over the config
    assert resolve("mybox", user="bob", port=2222, config_path=cfg).user == "bob"


def test_real_root_login(sshd: Sshd, tmp_path: Path) -> None:
    t = connect(sshd.as_user("root", None), tmp_path)
    with t:
        assert t.is_root() and t.sudo_mode() == "root"
        assert t.run(["id", "-u"], sudo=True).stdout == "0\n"


def test_one_connection_for_many_commands(root_t: SSHTransport, sshd: Sshd) -> None:
    before = set(sshd.session_pids())
    root_t.run(["true"])
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        root_t.run(["true"])
    assert len(os.listdir("/proc/self/fd")) <= fds  # no descriptor kept per command
    root_t.put_file("/tmp/roost-one-conn", b"1")
    root_t.get_file("/tmp/roost-one-conn")
    assert set(sshd.session_pids()) - before == set()  # no new connection was opened


def test_paramiko_is_not_imported_at_start() -> None:
    code = ("import sys, roost.cli.main, roost.cli.host_cmd, roost.deploy.hosts, "
            "roost.deploy.facts, roost.deploy.ssh, roost.deploy.trust, roost.deploy.local\n"
            "roost.cli.main.build_parser()\n"
            "assert 'paramiko' not in sys.modules, 'paramiko imported at start'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_sudo_password_asked_once_and_only_when_needed(sudo_user: Sshd, sshd: Sshd,
                                                       tmp_path: Path) -> None:
    asked: list[int] = []

    def ask() -> str | None:
        asked.append(1)
        return sudo_user.password

    known = KnownHosts(tmp_path / "kh")
    for server, expected in ((sshd, 0), (sudo_user, 1)):
        t = SSHTransport("testhost", server.host, user=server.user, port=server.port,
                         key_path=str(server.key), known_hosts=known,
                         trust=server.fingerprint(), sudo_password=ask,
                         ssh_config=tmp_path / "none", allow_agent=False)
        with t:
            t.run(["true"])
            assert asked == []  # nothing asked before sudo is needed
            for _ in range(3):
                assert t.run(["id", "-u"], sudo=True).stdout == "0\n"
        assert len(asked) == expected


def test_write_under_a_file_is_one_clear_error(root_t: SSHTransport, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(RoostError, match=f"cannot write {tmp_path}/plain/sub/f on testhost"):
        root_t.put_file(str(tmp_path / "plain" / "sub" / "f"), b"1")
    from roost.deploy.local import LocalTransport

    with pytest.raises(RoostError, match="cannot write"):
        LocalTransport().put_file(str(tmp_path / "plain" / "f"), b"1")


def test_output_after_the_exit_status_is_not_lost(root_t: SSHTransport) -> None:
    """sshd may send the exit status while the command's last output is still in its pipe
    (it reads the pipe only as the channel window allows); the output that follows it is
    the command's too. Seen as `roost check` losing its probe's last section."""
    short = []
    for _ in range(60):
        r = root_t.run(["sh", "-c", "head -c 2000000 /dev/zero | od -v -An | tail -c 300000; "
                        "echo the-end"])
        if not r.stdout.endswith("the-end\n") or len(r.stdout) != 300008:
            short.append(len(r.stdout))
    assert short == []
