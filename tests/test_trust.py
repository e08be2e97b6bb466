"""Trust on first use against a real sshd: unknown, trusted, changed, forgotten."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from roost.deploy.ssh import SSHTransport
from roost.deploy.trust import (
    FingerprintMismatch,
    HostKeyChanged,
    KnownHosts,
    TrustNeeded,
    fingerprint,
    host_id,
    normalise_fingerprint,
)

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]


def transport(server: Sshd, known: KnownHosts, trust: str | None = None) -> SSHTransport:
    return SSHTransport("box", server.host, user=server.user, port=server.port,
                        key_path=str(server.key), known_hosts=known, trust=trust,
                        ssh_config=Path("/nonexistent"), allow_agent=False)


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    from sshd import keygen

    key = keygen(tmp_path / "k")
    pub = (tmp_path / "k.pub").read_text().split()
    blob = base64.b64decode(pub[1])
    expected = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], check=True,
                              capture_output=True, text=True).stdout.split()[1]
    assert fingerprint(blob) == expected
    assert not fingerprint(blob).endswith("=")
    assert fingerprint(blob) == "SHA256:" + base64.b64encode(
        hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert key.exists()


def test_normalise_and_host_id() -> None:
    assert normalise_fingerprint(" sha256:abc= ") == "SHA256:abc"
    assert normalise_fingerprint("abc") == "SHA256:abc"
    assert host_id("example.org", 22) == "example.org"
    assert host_id("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_first_contact_asks_then_trusts(sshd: Sshd, tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    with pytest.raises(TrustNeeded) as info:
        transport(sshd, known).connect()
    err = info.value
    assert err.fingerprint == sshd.fingerprint()  # the same text ssh-keygen -lf prints
    assert err.key_type == "ssh-ed25519"
    assert sshd.fingerprint() in str(err) and "ED25519" in str(err)
    assert "--trust" in str(err) and "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in \
        str(err)
    assert sshd.fingerprint() in err.question()
    assert not (tmp_path / "known_hosts").exists()  # nothing kept without a yes

    with pytest.raises(FingerprintMismatch):
        transport(sshd, known, trust="SHA256:" + "A" * 43).connect()
    assert known.known(sshd.host, sshd.port) == []

    with transport(sshd, known, trust=err.fingerprint) as t:
        assert t.run(["true"]).ok
    kept = known.known(sshd.host, sshd.port)
    assert [(k.key_type, k.fingerprint) for k in kept] == [("ssh-ed25519", err.fingerprint)]
    # OpenSSH can read the file roost wrote
    line = (tmp_path / "known_hosts").read_text()
    assert line.startswith(f"[{sshd.host}]:{sshd.port} ssh-ed25519 ")
    found = subprocess.run(["ssh-keygen", "-F", f"[{sshd.host}]:{sshd.port}", "-f",
                            str(tmp_path / "known_hosts")], capture_output=True, text=True)
    assert found.returncode == 0
    assert oct((tmp_path / "known_hosts").stat().st_mode & 0o777) == oct(0o600)

    # Known now: no question, no --trust needed.
    with transport(sshd, known) as t:
        assert t.run(["true"]).ok


def test_changed_host_key_is_refused(sshd_factory: Callable[..., Sshd], tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    first = sshd_factory("first")
    with transport(first, known, trust=first.fingerprint()) as t:
        t.run(["true"])
    port = first.port
    first.stop()
    second = sshd_factory("second", port=port)  # same address, a new host key
    assert second.fingerprint() != first.fingerprint()
    canary = tmp_path / "canary"
    for trust in (None, second.fingerprint()):  # even --trust does not override a known key
        t = transport(second, known, trust=trust)
        with pytest.raises(HostKeyChanged) as info:
            t.connect()
            t.run(["touch", str(canary)])
        msg = str(info.value)
        assert msg.startswith("STOP: the host key of box")
        assert first.fingerprint() in msg and second.fingerprint() in msg
        assert "reinstalled" in msg and "someone is in the middle" in msg
        assert "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in msg
        assert "roost host forget box" in msg
    assert not canary.exists()
    # the known key is still the first one
    assert [k.fingerprint for k in known.known(second.host, port)] == [first.fingerprint()]

    assert known.forget(second.host, port) == 1
    assert known.forget(second.host, port) == 0
    with pytest.raises(TrustNeeded):
        transport(second, known).connect()
    with transport(second, known, trust=second.fingerprint()) as t:
        assert t.run(["true"]).ok


def test_no_silent_accept_anywhere(sshd: Sshd, tmp_path: Path) -> None:
    """Even with the user's own ~/.ssh/known_hosts holding the key, roost asks: it reads only
    its own file (paramiko's system host keys are never loaded)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(
        f"[{sshd.host}]:{sshd.port} " + " ".join(sshd.host_key_pub.read_text().split()[:2])
        + "\n")
    known = KnownHosts(tmp_path / "roost_known_hosts")
    with pytest.raises(TrustNeeded):
        transport(sshd, known).connect()


def test_damaged_known_hosts_is_an_error_not_a_trust(sshd: Sshd, tmp_path: Path) -> None:
    from roost.core.errors import RoostError

    path = tmp_path / "known_hosts"
    path.write_text(f"[{sshd.host}]:{sshd.port} ssh-ed25519 !!!notbase64\n")
    with pytest.raises(RoostError):
        transport(sshd, KnownHosts(path), trust=sshd.fingerprint()).connect()


def test_ipv6_host_through_the_cli(sshd: Sshd, tmp_path: Path, ssh_client_key: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An IPv6 address goes through parsing, connecting and known_hosts as [::1]:port."""
    from sshd import ROOT_ALIAS, start_sshd

    from roost.cli.main import main

    server = start_sshd(tmp_path / "v6", ssh_client_key, host="::1", users=(ROOT_ALIAS,))
    try:
        monkeypatch.setenv("ROOST_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        args = ["host", "add", "six", f"{ROOT_ALIAS}@[::1]:{server.port}", "--key",
                str(ssh_client_key)]
        assert main(args) == 2
        assert server.fingerprint() in capsys.readouterr().err
        assert main([*args, "--trust", server.fingerprint()]) == 0
        assert f"Added six: {ROOT_ALIAS}@[::1]:{server.port}." in capsys.readouterr().out
        text = (tmp_path / "home" / "known_hosts").read_text()
        assert text.startswith(f"[::1]:{server.port} ssh-ed25519 ")
    finally:
        server.stop()
