"""Another host over SSH: paramiko, one connection per deploy, exec per command, SFTP for files.

paramiko is imported here only, and only when a connection is made, so `roost` starts fast.
The socket is opened here with TCP_NODELAY (paramiko's own socket waits for delayed ACKs:
46 ms per command instead of 2.6 ms). Host keys are checked against roost's own known_hosts
(`roost.deploy.trust`): unknown keys raise TrustNeeded, changed keys HostKeyChanged; nothing is
ever accepted silently. Every command is an argument list quoted with `shlex.quote`; sudo gets
its password on stdin. A dropped connection becomes `ConnectionLost`, a RoostError.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.core.errors import RoostError
from roost.deploy import _cmd
from roost.deploy.base_transport import BaseTransport
from roost.deploy.local import TIMEOUT_EXIT, emit_lines, write_error
from roost.deploy.sudo import SudoPassword
from roost.deploy.transport import OutputSink, Transport
from roost.deploy.trust import AskTrust, KnownHosts, TrustNeeded

if TYPE_CHECKING:
    import paramiko

# paramiko logs socket errors itself; roost reports them as one line instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False

DEFAULT_CONFIG = Path("~/.ssh/config")
NO_KEY = "No authentication methods available"
"""paramiko's words when it had no key to offer at all (none named, none in ~/.ssh, no agent)."""
INLINE_STDIN = 512 * 1024
"""Larger stdin is sent from a thread so a command writing much output cannot deadlock."""


class ConnectionLost(RoostError):
    """The SSH connection broke; what was running may or may not have finished."""

    def __init__(self, name: str, what: str) -> None:
        self.host = name
        self.what = what
        super().__init__(
            f"lost the connection to {name} while {what}",
            hint="check that the host is on and the network works, then run the same "
            "command again: roost resumes where it stopped",
        )


@dataclass(frozen=True)
class Endpoint:
    """Where to connect, after ~/.ssh/config has filled in what was not given."""

    host: str
    port: int
    user: str
    key_files: tuple[str, ...]
    explicit_key: bool


def resolve(address: str, *, user: str | None = None, port: int | None = None,
            key_path: str | None = None, config_path: Path | None = None) -> Endpoint:
    """Apply ~/.ssh/config (HostName, User, Port, IdentityFile) to what the user gave.
    What the user gave wins, as with `ssh`."""
    cfg: dict[str, Any] = {}
    path = (config_path or DEFAULT_CONFIG).expanduser()
    if path.is_file():
        import paramiko

        try:
            cfg = dict(paramiko.SSHConfig.from_path(str(path)).lookup(address))
        except (OSError, ValueError, paramiko.ConfigParseError) as exc:
            raise RoostError(f"could not read {path}: {exc}",
                             hint="fix the file, or connect without it") from None
    host = str(cfg.get("hostname") or address)
    the_port = port or int(cfg.get("port") or 22)
    the_user = user or str(cfg.get("user") or getpass.getuser())
    keys: tuple[str, ...]
    if key_path:
        keys = (str(Path(key_path).expanduser()),)
    else:
        files = cfg.get("identityfile") or []
        keys = tuple(str(Path(f).expanduser()) for f in files if Path(f).expanduser().is_file())
    return Endpoint(host, the_port, the_user, keys, bool(key_path))


def open_socket(host: str, port: int, timeout: float,
                dead_after: float = 60.0) -> socket.socket:
    """A connected TCP socket with TCP_NODELAY, and keep-alives so that a link that went
    silent (cable pulled, Wi-Fi gone) counts as lost after about `dead_after` seconds."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle = max(1, int(dead_after / 3))
    interval = max(1, int(dead_after / 6))
    for opt, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", 4),
                       ("TCP_USER_TIMEOUT", int(dead_after * 1000))):
        if hasattr(socket, opt):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
    return sock


class SSHTransport(BaseTransport):
    """One host over one SSH connection. Connects on first use (or `connect()`)."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        user: str | None = None,
        port: int | None = None,
        key_path: str | None = None,
        sudo_password: SudoPassword = None,
        known_hosts: KnownHosts,
        trust: str | None = None,
        ask_trust: AskTrust | None = None,
        connect_timeout: float = 15.0,
        ssh_config: Path | None = None,
        allow_agent: bool = True,
        dead_after: float = 60.0,
    ) -> None:
        super().__init__(name, sudo_password)
        self.address = address
        self.endpoint = resolve(address, user=user, port=port, key_path=key_path,
                                config_path=ssh_config)
        self.user = self.endpoint.user
        self.current_step: str | None = None
        """The engine may set this; a lost connection then names the step."""
        self._known_hosts = known_hosts
        self._trust = trust
        self._ask_trust = ask_trust
        self._timeout = connect_timeout
        self._allow_agent = allow_agent
        self._dead_after = dead_after
        self._client: paramiko.SSHClient | None = None
        self._sftp_client: paramiko.SFTPClient | None = None
        self._uid: int | None = None
        self._closed = False
        self._lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------

    def connect(self) -> None:
        if self._client is not None:
            return
        if self._closed:
            raise RoostError(f"the connection to {self.name} was closed")
        import paramiko

        ep = self.endpoint
        for key_file in ep.key_files if ep.explicit_key else ():
            if not Path(key_file).is_file():
                raise RoostError(f"there is no key file {key_file[:80]!r}",
                                 hint="give the path of your private key")
        known = self._known_hosts  # in the data folder the caller passed
        where = f"{ep.host} port {ep.port}"
        try:
            sock = open_socket(ep.host, ep.port, self._timeout, self._dead_after)
        except socket.gaierror:
            raise RoostError(f"cannot find the host {ep.host!r} for {self.name}",
                             hint="check the name, or use its IP address") from None
        except ConnectionRefusedError:
            raise RoostError(f"{where} refused the connection",
                             hint="check that sshd runs there and the port is right") from None
        except TimeoutError:
            raise RoostError(f"{where} did not answer within {self._timeout:g} s",
                             hint="check that the host is on and reachable") from None
        except OSError as exc:
            raise RoostError(f"cannot reach {where}: {exc.strerror or exc}",
                             hint="check that the host is on and reachable") from None

        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_policy(self.name, ep, known, self._trust,
                                                    self._ask_trust))
        try:
            client.connect(
                ep.host, port=ep.port, username=ep.user, sock=sock,
                key_filename=list(ep.key_files) or None,  # type: ignore[arg-type]
                allow_agent=self._allow_agent and not ep.explicit_key,
                look_for_keys=not ep.key_files,
                timeout=self._timeout, banner_timeout=self._timeout,
                auth_timeout=self._timeout,
            )
        except RoostError:
            client.close()
            sock.close()
            raise
        except paramiko.PasswordRequiredException:
            client.close()
            raise RoostError(
                "the SSH key is protected by a passphrase",
                hint="add it to ssh-agent with `ssh-add`, then try again") from None
        except paramiko.AuthenticationException:
            client.close()
            raise RoostError(
                f"{self.name} did not accept roost's login as {ep.user}",
                hint=f"check that the key (--key PATH, ssh-agent or ~/.ssh) is in "
                f"~{ep.user}/.ssh/authorized_keys on the host") from None
        except paramiko.SSHException as exc:
            client.close()
            if str(exc) != NO_KEY:
                raise self._failed(where, exc) from None
            # Nothing to log in with: no key named, none in ~/.ssh, no ssh-agent. Not the
            # host's fault, so say what is missing and how to make or name one.
            raise RoostError(
                f"there is no SSH key on this computer to log in to {self.name} with",
                hint="make one with `roost keys new ssh` and write it to ~/.ssh with "
                "`roost keys export ssh --to ~/.ssh/id_ed25519` (then add the .pub file to "
                "~/.ssh/authorized_keys on the host), or name the key you have with "
                "`roost host add NAME USER@HOST --key PATH`") from None
        except (OSError, EOFError) as exc:
            client.close()
            raise self._failed(where, exc) from None
        t = client.get_transport()
        if t is not None:
            t.set_keepalive(max(1, int(self._dead_after / 4)))
        self._client = client

    def _failed(self, where: str, exc: BaseException) -> RoostError:
        why = "".join(c for c in str(exc) if c.isprintable())[:160]
        return RoostError(f"the SSH connection to {self.name} ({where}) failed: "
                          f"{why or type(exc).__name__}",
                          hint="check that the host is on and sshd runs there")

    def _transport(self) -> paramiko.Transport:
        self.connect()
        assert self._client is not None
        t = self._client.get_transport()
        if t is None or not t.is_active():
            raise self._lost("starting a command")
        return t

    def _alive(self) -> bool:
        if self._client is None:
            return False
        t = self._client.get_transport()
        return t is not None and t.is_active()

    def _lost(self, what: str) -> ConnectionLost:
        if self.current_step:
            what = f"{what} (step: {self.current_step})"
        return ConnectionLost(self.name, what)

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn paramiko and socket errors from a dead connection into ConnectionLost."""
        import paramiko

        try:
            yield
        except RoostError:
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            dead = isinstance(exc, EOFError | paramiko.SSHException) and \
                "closed" in str(exc).lower()
            if dead or not self._alive():
                raise self._lost(what) from None
            raise

    def _sftp(self) -> paramiko.SFTPClient:
        with self._lock:
            if self._sftp_client is None:
                self.connect()
                assert self._client is not None
                with self._guard("opening SFTP"):
                    self._sftp_client = self._client.open_sftp()
            return self._sftp_client

    def close(self) -> None:
        self._closed = True
        if self._sftp_client is not None:
            with contextlib.suppress(Exception):
                self._sftp_client.close()
            self._sftp_client = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def __enter__(self) -> Transport:
        self.connect()
        return self

    @property
    def host_key_fingerprint(self) -> str | None:
        if self._client is None:
            return None
        t = self._client.get_transport()
        key = t.get_remote_server_key() if t is not None else None
        return key.fingerprint if key is not None else None

    # -- commands --------------------------------------------------------------------------

    def is_root(self) -> bool:
        """Whether the login user is root (uid 0), asked once per connection."""
        if self._uid is None:
            if self.user == "root":
                self._uid = 0
            else:
                code, out, _ = self._raw(["id", "-u"], b"", None, None, "checking the user")
                text = out.decode("ascii", "replace").strip()
                self._uid = int(text) if code == 0 and text.isdigit() else -1
        return self._uid == 0

    def _probe(self, argv: Sequence[str], stdin: bytes) -> int:
        return self._raw(list(argv), stdin, None, None, "checking sudo")[0]

    def _exec(
        self, args: tuple[str, ...], *, sudo: bool, stdin: bytes | None,
        timeout: float | None, on_output: OutputSink | None, env: dict[str, str] | None,
    ) -> tuple[int, bytes, bytes]:
        use_sudo, feed = self._with_sudo(sudo, stdin)
        line = _cmd.remote_line(args, sudo=use_sudo, env=env)
        return self._raw(line, feed, timeout, on_output, f"running `{_short(args)}`")

    def _raw(self, cmd: Sequence[str] | str, feed: bytes, timeout: float | None,
             on_output: OutputSink | None, what: str) -> tuple[int, bytes, bytes]:
        """Run a command line (a str, already quoted) or an argument list (quoted here)."""
        import paramiko

        t = self._transport()
        line = cmd if isinstance(cmd, str) else _cmd.shell_line(cmd)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            chan = t.open_session(timeout=self._timeout)
        except (paramiko.SSHException, EOFError, OSError):
            raise self._lost(what) from None
        sender: threading.Thread | None = None
        try:
            try:
                sender = _start(chan, line, feed)
            except (paramiko.SSHException, EOFError, OSError):
                raise self._lost(what) from None
            out, err, timed_out = _collect(chan, t, deadline, on_output)
            if timed_out:
                err.extend(f"\nroost: stopped after {timeout:g} s without finishing\n".encode())
                return TIMEOUT_EXIT, bytes(out), bytes(err)
            code = chan.recv_exit_status()
            if code == -1:
                if not t.is_active():
                    raise self._lost(what)
                code = 255  # killed by a signal: sshd sends no exit status
            return code, bytes(out), bytes(err)
        finally:
            with contextlib.suppress(Exception):
                chan.close()
            if sender is not None:
                sender.join(timeout=1)

    # -- files -----------------------------------------------------------------------------

    def put_file(
        self, path: str, data: bytes, *, mode: int = 0o600, owner: str | None = None,
        group: str | None = None,
    ) -> None:
        folder, name = _cmd.split_path(path)
        root = self.is_root()
        foreign = bool(group) or bool(owner and owner != self.user)
        if root or not foreign:
            try:
                self._put_direct(folder, name, data, mode, _cmd.owner_spec(owner, group))
                return
            except PermissionError:
                if root:
                    raise RoostError(f"cannot write {path} on {self.name}: permission "
                                     f"denied", hint="check the folder's permissions") from None
            except OSError as exc:
                raise write_error(self.name, path, exc) from None
        self._put_sudo(folder, name, data, mode, _cmd.owner_spec(owner, group))

    def _put_direct(self, folder: str, name: str, data: bytes, mode: int, owner: str) -> None:
        sftp = self._sftp()
        what = f"writing {folder.rstrip('/')}/{name}"
        tmp = f"{folder.rstrip('/')}/.{name}.roost-{secrets.token_hex(4)}"
        with self._guard(what):
            self._makedirs(sftp, folder)
            try:
                with sftp.open(tmp, "wb") as f:
                    f.chmod(mode)  # before any data is in it
                    f.set_pipelined(True)
                    f.write(data)
                if owner:
                    code, _, err = self._raw(["chown", "--", owner, tmp], b"", None, None, what)
                    if code != 0:
                        raise RoostError(f"cannot give {folder}/{name} to {owner} on "
                                         f"{self.name}: {_first(err)}")
                sftp.posix_rename(tmp, f"{folder.rstrip('/')}/{name}")
            except BaseException:
                if self._alive():
                    with contextlib.suppress(OSError):
                        sftp.remove(tmp)
                raise

    def _makedirs(self, sftp: paramiko.SFTPClient, folder: str) -> None:
        missing: list[str] = []
        cur = folder.rstrip("/") or "/"
        while cur not in ("", "/"):
            try:
                sftp.stat(cur)
                break
            except FileNotFoundError:
                missing.append(cur)
                cur = cur.rsplit("/", 1)[0] or "/"
        for d in reversed(missing):
            sftp.mkdir(d, 0o755)

    def _put_sudo(self, folder: str, name: str, data: bytes, mode: int, owner: str) -> None:
        sftp = self._sftp()
        target = f"{folder.rstrip('/')}/{name}"
        what = f"writing {target}"
        with self._guard(what):
            home = sftp.normalize(".")
            private = f"{home.rstrip('/')}/.roost-upload-{secrets.token_hex(6)}"
            sftp.mkdir(private, 0o700)
            src = f"{private}/data"
            try:
                sftp.chmod(private, 0o700)
                with sftp.open(src, "wb") as f:
                    f.chmod(0o600)
                    f.set_pipelined(True)
                    f.write(data)
                tmp = f"{folder.rstrip('/')}/.{name}.roost-{secrets.token_hex(4)}"
                code, _out, err = self._exec(
                    ("sh", "-c", _cmd.INSTALL_SCRIPT, "sh", folder, src, tmp, target,
                     f"{mode:o}", owner),
                    sudo=True, stdin=None, timeout=None, on_output=None, env=None)
                if code != 0:
                    raise RoostError(f"cannot write {target} on {self.name}: {_first(err)}")
            finally:
                if self._alive():
                    with contextlib.suppress(OSError):
                        sftp.remove(src)
                    with contextlib.suppress(OSError):
                        sftp.rmdir(private)

    def get_file(self, path: str) -> bytes | None:
        _cmd.split_path(path)
        sftp = self._sftp()
        with self._guard(f"reading {path}"):
            try:
                with sftp.open(path, "rb") as f:
                    f.prefetch()
                    return f.read()
            except FileNotFoundError:
                return None
            except PermissionError:
                if self.is_root():
                    raise RoostError(f"cannot read {path} on {self.name}: permission "
                                     f"denied") from None
            except OSError as exc:
                if not self._alive():
                    raise
                raise RoostError(f"cannot read {path} on {self.name}: "
                                 f"{exc.strerror or exc}") from None
        code, out, err = self._exec(("sh", "-c", _cmd.CAT_SCRIPT, "sh", path), sudo=True,
                                    stdin=None, timeout=None, on_output=None, env=None)
        if code == _cmd.CAT_MISSING:
            return None
        if code != 0:
            raise RoostError(f"cannot read {path} on {self.name}: {_first(err)}")
        return out


def _policy(name: str, ep: Endpoint, known: KnownHosts, trust: str | None,
            ask: AskTrust | None = None) -> paramiko.MissingHostKeyPolicy:
    """Checks every host key against roost's known_hosts (nothing is preloaded into
    paramiko, so every connection comes through here). On first contact, `ask` (when given)
    is asked within this one handshake; it returns True to trust the key, or raises."""
    import paramiko

    class _Check(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                             key: paramiko.PKey) -> None:
            try:
                known.verify(name, ep.host, ep.port, key, trust)
            except TrustNeeded as need:
                if ask is None or not ask(need):
                    raise
                known.verify(name, ep.host, ep.port, key, need.fingerprint)

    return _Check()


def _start(chan: paramiko.Channel, line: str, feed: bytes) -> threading.Thread | None:
    """Start `line` on the channel and give it `feed` as stdin: inline when small (then close
    stdin), else from a thread (returned, to be joined) so a full window cannot stall us."""
    chan.exec_command(line)
    if len(feed) <= INLINE_STDIN:
        if feed:
            chan.sendall(feed)
        chan.shutdown_write()
        return None
    sender = threading.Thread(target=_send_all, args=(chan, feed), daemon=True)
    sender.start()
    return sender


def _read_ready(chan: paramiko.Channel, out: bytearray, err: bytearray, pend_out: bytearray,
                pend_err: bytearray, on_output: OutputSink | None) -> bool:
    """Read what the channel has ready on stdout and stderr, passing whole lines on; True
    when anything came."""
    got_out = _drain(chan.recv_ready, chan.recv, out, pend_out, on_output)
    got_err = _drain(chan.recv_stderr_ready, chan.recv_stderr, err, pend_err, on_output)
    return got_out or got_err


def _drain(ready: Callable[[], bool], recv: Callable[[int], bytes], buf: bytearray,
           pend: bytearray, on_output: OutputSink | None) -> bool:
    """Read one of the channel's streams while it has something ready, into `buf`, passing
    whole lines on; True when anything came."""
    got = False
    while ready():
        chunk = recv(65536)
        if not chunk:
            break
        got = True
        buf.extend(chunk)
        if on_output is not None:
            emit_lines(pend, chunk, on_output)
    return got


EOF_GRACE = 1.0
"""Seconds to wait, after the exit status, for the rest of the output and its EOF."""


def _collect(chan: paramiko.Channel, t: paramiko.Transport, deadline: float | None,
             on_output: OutputSink | None) -> tuple[bytearray, bytearray, bool]:
    """Read the command's stdout and stderr until it ends or the deadline passes: (stdout,
    stderr, timed out). A last partial line goes to `on_output` at the end."""
    out = bytearray()
    err = bytearray()
    pend_out = bytearray()
    pend_err = bytearray()
    timed_out = False
    exited_at: float | None = None
    while True:
        if _read_ready(chan, out, err, pend_out, pend_err, on_output):
            continue
        if chan.exit_status_ready() and not chan.recv_ready() \
                and not chan.recv_stderr_ready():
            # sshd sends the exit status when the command ends, which can be before the
            # command's last output (still in its pipe) is sent: that comes, then EOF. A
            # command that left a child holding its output open gets EOF_GRACE seconds.
            exited_at = exited_at if exited_at is not None else time.monotonic()
            if chan.eof_received or time.monotonic() - exited_at > EOF_GRACE:
                break
        if chan.closed:
            break
        wait = 1.0
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            wait = min(wait, left)
        if exited_at is not None:
            wait = min(wait, EOF_GRACE / 4)  # a select() woken by EOF, or the grace's end
        if chan.eof_received:
            # the output is over and only the exit status is to come: select() on
            # the channel would return at once from here on (a busy loop)
            chan.status_event.wait(wait)
        else:
            select.select([chan], [], [], wait)
        if not t.is_active():
            # drain what arrived, then report the loss below
            continue
    if on_output is not None:
        for buf in (pend_out, pend_err):
            if buf:
                on_output(buf.decode("utf-8", "replace"))
    return out, err, timed_out


def _send_all(chan: paramiko.Channel, data: bytes) -> None:
    with contextlib.suppress(Exception):
        chan.sendall(data)
        chan.shutdown_write()


def _short(args: Sequence[str]) -> str:
    text = " ".join(args)
    return text if len(text) <= 60 else text[:57] + "…"


def _first(err: bytes) -> str:
    lines = err.decode("utf-8", "replace").strip().splitlines()
    last = "".join(c for c in lines[-1] if c.isprintable())[:200] if lines else ""
    return last or "unknown error"


