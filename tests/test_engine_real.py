"""The engine on real transports: this machine (LocalTransport, in temp folders) and a real
OpenSSH sshd on loopback (SSHTransport). Fault injection: the runner process is SIGKILLed,
or its SSH connection is killed, in the middle of a 50-step recipe; the resumed deploy
completes, applies no step twice, and leaves the same files as a run never cut off."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support.counter import counter_recipe
from support.programs import STANDINS

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.events import Event, StepSkipped
from roost.deploy.hosts import HOSTS_FILE
from roost.deploy.journal import Journal
from roost.deploy.local import LocalTransport
from roost.deploy.recipes import RECIPES
from roost.deploy.transport import Transport

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]

N = 50
TEMP = re.compile(r"^\..*\.roost-")  # a transport's temp file (left only if killed mid-write)


@pytest.fixture(autouse=True)
def _home(home: Path, host_state: Path) -> Path:
    """Every test here: the shared `home` and `host_state` (tests/conftest.py)."""
    return home


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root: relative path -> (mode, contents); temp files left out."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not TEMP.match(p.name):
            out[p.relative_to(root).as_posix()] = (p.stat().st_mode & 0o7777, p.read_bytes())
    return out


def expected_log() -> list[str]:
    return [f"step{i}" for i in range(1, N) if i % 10 != 5]


def reference_tree(tmp_path: Path) -> dict[str, tuple[int, bytes]]:
    root = tmp_path / "reference"
    engine.run(counter_recipe(str(root), N), LocalTransport(),
               journal=Journal(tmp_path / "ref-journal.toml", "counter", "ref"),
               state_dir=str(tmp_path / "ref-state"))
    return tree(root)


def check_complete(root: Path, journal: Journal, want: dict[str, tuple[int, bytes]]) -> None:
    log = (root / "applied.log").read_text().split()
    assert log == expected_log(), "a step was applied twice or skipped"
    assert tree(root) == want
    st = journal.load()
    assert st is not None and st.status == "finished"
    assert set(journal.applied_counts().values()) == {1}
    assert len(journal.applied_counts()) == N


def test_local_run_twice_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "site"
    j = Journal.for_host("local", "counter", data_dir())
    state = str(tmp_path / "state")
    first = engine.run(counter_recipe(str(root), N), LocalTransport(), journal=j,
                       state_dir=state)
    assert first.applied == N
    before = {p: (s, p_stat) for p, s, p_stat in
              ((p, v, (root / p).stat().st_mtime_ns) for p, v in tree(root).items())}
    events: list[Event] = []
    second = engine.run(counter_recipe(str(root), N), LocalTransport(), journal=j,
                        state_dir=state, on_event=events.append)
    assert second.applied == 0 and second.skipped == N
    assert all(e.reason == "already done" for e in events if isinstance(e, StepSkipped))
    after = {p: (s, (root / p).stat().st_mtime_ns) for p, s in tree(root).items()}
    assert after == before  # not even rewritten




def runner(tmp_path: Path, root: Path, host: str, ssh: dict[str, Any] | None = None,
           delay: float = 0.01) -> subprocess.Popen[str]:
    cfg = {"root": str(root), "n": N, "delay": delay, "host": host, "ssh": ssh,
           "state": str(tmp_path / "state")}
    env = os.environ.copy()  # the runner imports support.counter from tests/
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(STANDINS.parent.parent), env.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, str(STANDINS / "engine_runner.py"),
                             json.dumps(cfg)], stdout=subprocess.PIPE, text=True, env=env)


def wait_for_line(proc: subprocess.Popen[str], pattern: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(pattern):
            return
    raise AssertionError(f"the runner ended before {pattern!r}")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [2, 7, 16, 33, 49])
def test_sigkill_mid_recipe_then_resume_locally(tmp_path: Path, kill_at: int) -> None:
    want = reference_tree(tmp_path)
    root = tmp_path / "site"
    proc = runner(tmp_path, root, "local")
    wait_for_line(proc, f"step {kill_at} of {N}:")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    cut = (root / "applied.log").read_text().split() if (root / "applied.log").exists() else []
    assert len(cut) < len(expected_log()), "the runner finished before it was killed"
    # resume in this process (the CLI would say "continuing the deploy ... that stopped")
    j = Journal.for_host("local", "counter", data_dir())
    st = j.load()
    assert st is not None and st.unfinished
    res = engine.run(counter_recipe(str(root), N, delay=0.01), LocalTransport(), journal=j,
                     resume=True, state_dir=str(tmp_path / "state"))
    assert res.resumed and res.applied < N
    check_complete(root, j, want)


@pytest.mark.slow
def test_ctrl_c_mid_recipe_saves_progress_then_resume(tmp_path: Path) -> None:
    want = reference_tree(tmp_path)
    root = tmp_path / "site"
    proc = runner(tmp_path, root, "local")
    wait_for_line(proc, f"step 20 of {N}:")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) != 0
    j = Journal.for_host("local", "counter", data_dir())
    st = j.load()
    assert st is not None and st.status == "stopped"  # written on the way out
    res = engine.run(counter_recipe(str(root), N, delay=0.01), LocalTransport(), journal=j,
                     resume=True, state_dir=str(tmp_path / "state"))
    assert res.resumed
    check_complete(root, j, want)


def ssh_args(server: Sshd, tmp_path: Path) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "user": server.user,
            "key": str(server.key), "known": str(tmp_path / "known_hosts"),
            "fp": server.fingerprint(), "no_config": str(tmp_path / "no-ssh-config")}


def ssh_transport(server: Sshd, tmp_path: Path) -> Transport:
    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts

    a = ssh_args(server, tmp_path)
    t = SSHTransport("testhost", a["host"], user=a["user"], port=a["port"], key_path=a["key"],
                     known_hosts=KnownHosts(Path(a["known"])), trust=a["fp"],
                     allow_agent=False, ssh_config=Path(a["no_config"]),
                     sudo_password=server.password)
    t.connect()  # type: ignore[attr-defined]
    return t


def resume_over_ssh(server: Sshd, tmp_path: Path, root: Path, j: Journal) -> engine.DeployResult:
    """Run the counter recipe again with --resume over a fresh SSH connection."""
    t = ssh_transport(server, tmp_path)
    try:
        return engine.run(counter_recipe(str(root), N, delay=0.01), t, journal=j, resume=True,
                          state_dir=str(tmp_path / "state"))
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [5, 26, 40])
def test_ssh_connection_killed_mid_recipe_then_resume(sshd: Sshd, tmp_path: Path,
                                                      kill_at: int) -> None:
    want = reference_tree(tmp_path)
    root = tmp_path / "site"
    before = set(sshd.session_pids())
    t = ssh_transport(sshd, tmp_path)
    ours = [p for p in sshd.session_pids() if p not in before]
    assert ours, "no sshd session for this connection"
    log = root / "applied.log"

    def killer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().split()) >= kill_at:
                for pid in ours:
                    os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.002)

    th = threading.Thread(target=killer)
    th.start()
    j = Journal.for_host("testhost", "counter", data_dir())
    events: list[Event] = []
    with pytest.raises(engine.DeployFailed) as err:
        engine.run(counter_recipe(str(root), N, delay=0.01), t, journal=j,
                   state_dir=str(tmp_path / "state"), on_event=events.append)
    th.join()
    t.close()
    said = str(err.value)
    assert "run the same command again" in said and "finished steps are not redone" in said
    assert said.count("again") == 1
    st = j.load()
    assert st is not None and st.status == "stopped"
    res = resume_over_ssh(sshd, tmp_path, root, j)
    assert res.resumed and 0 < res.applied < N
    check_complete(root, j, want)


@pytest.mark.slow
def test_sigkill_runner_over_ssh_then_resume(sshd: Sshd, tmp_path: Path) -> None:
    want = reference_tree(tmp_path)
    root = tmp_path / "site"
    proc = runner(tmp_path, root, "testhost", ssh_args(sshd, tmp_path))
    wait_for_line(proc, f"step 21 of {N}:")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    j = Journal.for_host("testhost", "counter", data_dir())
    res = resume_over_ssh(sshd, tmp_path, root, j)
    assert res.resumed
    check_complete(root, j, want)


# -- the CLI on this machine ----------------------------------------------------------------

def snapshot(*roots: Path) -> dict[str, tuple[int, bytes, int]]:
    out = {}
    for r in roots:
        if r.exists():
            for p in sorted(r.rglob("*")):
                st = p.lstat()
                out[str(p)] = (st.st_mode, p.read_bytes() if p.is_file() else b"",
                               st.st_mtime_ns)
    return out


def test_cli_dry_run_touches_nothing(tmp_path: Path, _home: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    main(["deploy", "hello", "--host", "local", "--option", f"root={site}"])
    (site / "greeting.txt").write_text("edited by hand\n")
    capsys.readouterr()
    before = snapshot(tmp_path)
    assert main(["deploy", "hello", "--dry-run", "--option", f"root={site}",
                 "--option", "name=dry"]) == 0
    assert main(["undeploy", "hello", "--dry-run", "--purge-data",
                 "--option", f"root={site}"]) == 0
    out = capsys.readouterr().out
    assert snapshot(tmp_path) == before
    assert f"write file {site}/greeting.txt" in out and "Hello, dry!" in out
    assert f"rm -rf -- {site}" in out


def test_cli_deploy_twice_then_undeploy(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 0
    first = capsys.readouterr().out
    assert "step 1 of 4: create the folder" in first and "hello: done, 3 steps applied" in first
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 0
    second = capsys.readouterr().out
    assert "hello: already done, nothing changed" in second
    assert main(["undeploy", "hello", "--option", f"root={site}", "--purge-data"]) == 0
    assert not site.exists()
    assert not (tmp_path / "state" / "hello.done-steps").exists()


def test_cli_undeploy_says_what_it_keeps_and_where(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Before (the deploy's last next step, the dry run) and after an undeploy, roost names
    the folders it keeps on the host; --purge-data names what it deleted."""
    site = tmp_path / "site"
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 0
    said = capsys.readouterr().out
    assert (f"  - `roost undeploy hello --host local` removes it again and keeps its data and "
            f"settings on the host: {site}. Adding --purge-data deletes those too.\n") in said
    assert main(["undeploy", "hello", "--dry-run", "--option", f"root={site}"]) == 0
    assert (f"Would keep on local, with your data and settings: {site}.\n"
            "To delete those too: roost undeploy hello --host local --purge-data (this cannot "
            "be undone).\n") in capsys.readouterr().out
    assert main(["undeploy", "hello", "--option", f"root={site}"]) == 0
    said = capsys.readouterr().out
    assert (f"Kept on local, with your data and settings: {site}.\n"
            "To delete those too: roost undeploy hello --host local --purge-data (this cannot "
            "be undone).\n") in said
    assert site.is_dir() and not (site / "greeting.txt").exists()  # its greeting is gone
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 0
    capsys.readouterr()
    assert main(["undeploy", "hello", "--option", f"root={site}", "--purge-data"]) == 0
    assert f"Deleted from local, with its data: {site}.\n" in capsys.readouterr().out
    assert not site.exists()


def test_cli_failure_is_short_and_resumable(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be\n")
    site = blocker / "site"
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 2
    cap = capsys.readouterr()
    assert "step 1 of 4 failed: create the folder" in cap.out
    assert "what to try:" in cap.out and "Traceback" not in cap.out + cap.err
    assert "run the same deploy again to continue" in cap.out  # said once, with the step
    assert cap.err == ("roost: the deploy of hello to local stopped at step 1 of 4; what to "
                       "try is just above.\n")
    blocker.unlink()
    assert main(["deploy", "hello", "--option", f"root={site}"]) == 0
    assert "continuing the deploy of hello" in capsys.readouterr().out


HOSTILE = ["a;touch {c}", "$(touch {c})", "`touch {c}`", "x' ; touch {c}; '", 'x" ; touch {c}',
           "a b\ttab", "--help", "-rf", "x&&touch {c}", "x|touch {c}"]


def test_hostile_option_values_never_reach_a_shell_locally(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    for i, raw in enumerate(HOSTILE):
        value = raw.format(c=canary)
        root = tmp_path / f"site{i}" / value.replace("/", "_")
        code = main(["deploy", "hello", "--option", f"root={root}", "--option",
                     f"name={value}"])
        assert code == 0, value
        assert (root / "greeting.txt").read_text().startswith(f"Hello, {value}!")
        assert (root / "greeting.copy").exists()
    assert not canary.exists()
    # a line break could add lines to a config file: refused before anything runs
    assert main(["deploy", "hello", "--option", f"root={tmp_path}/nl",
                 "--option", "name=x\nadmin = true"]) == 2
    assert not (tmp_path / "nl").exists()


def test_hostile_values_as_script_arguments_stay_data(tmp_path: Path) -> None:
    """A step that is itself `sh -c SCRIPT sh ARG...` runs inside the marker wrapper with the
    same arguments: values are data there too."""
    from roost.deploy.recipe import Recipe
    from roost.deploy.steps import RunCommand

    canary = tmp_path / "canary"
    values = [raw.format(c=canary) for raw in HOSTILE] + ["multi\nline", "*", "$1 $@ $0"]
    steps = tuple(
        RunCommand(("sh", "-c", 'printf "%s" "$1" > "$2"; [ "$#" -eq 2 ]', "sh", v,
                    str(tmp_path / f"out{i}")), description=f"value {i}")
        for i, v in enumerate(values))
    recipe = Recipe("hostile", "hostile", "hostile", steps, sudo=False)
    res = engine.run(recipe, LocalTransport(), state_dir=str(tmp_path / "state"))
    assert res.applied == len(values)
    for i, v in enumerate(values):
        assert (tmp_path / f"out{i}").read_text() == v
    assert not canary.exists()


def test_wrapped_scripts_keep_exit_codes_and_record_only_success(tmp_path: Path) -> None:
    """Each form of the marker wrapper: a script that exits early, one that execs, one with
    its own trap, a plain command; the host's record lists exactly the ones that succeeded."""
    from roost.deploy.recipe import Recipe
    from roost.deploy.steps import RunCommand

    out = tmp_path / "out"
    scripts = [
        ('echo a >> "$1"; exit 0; echo never >> "$1"', True),
        ('trap "echo trapped >> $1" EXIT; echo b >> "$1"', True),
        ('echo c >> "$1"; exec true', True),
        ('echo d >> "$1"; exit 3', False),
    ]
    state = str(tmp_path / "state")
    for i, (body, ok) in enumerate(scripts):
        recipe = Recipe(f"wrap{i}", "x", "x", (
            RunCommand(("sh", "-c", body, "sh", str(out))),
            RunCommand(("touch", str(tmp_path / f"after{i}"))),
        ), sudo=False)
        if ok:
            engine.run(recipe, LocalTransport(), state_dir=state)
        else:
            with pytest.raises(engine.DeployFailed, match="exit code 3"):
                engine.run(recipe, LocalTransport(), state_dir=state)
        marker = engine.parse_marker(Path(state, f"wrap{i}.done-steps").read_bytes())
        assert (recipe.keys()[0] in marker.keys) is ok
        assert (recipe.keys()[1] in marker.keys) is ok
    assert out.read_text().split() == ["a", "b", "trapped", "c", "d"]


@pytest.mark.slow
def test_hostile_values_over_ssh_with_sudo(sudo_user: Sshd, tmp_path: Path) -> None:
    """As a non-root user whose sudo asks for its password, over real SSH."""
    canary = tmp_path / "canary"
    t = ssh_transport(sudo_user, tmp_path)
    try:
        for i, raw in enumerate(HOSTILE):
            value = raw.format(c=canary)
            root = f"{tmp_path}/ssh{i}/{value.replace('/', '_')}"
            recipe = RECIPES["hello"](None, {"root": root, "name": value}, {})
            journal = Journal.for_host("testhost", f"hello{i}", data_dir())
            res = engine.run(recipe, t, journal=journal,
                             state_dir=str(tmp_path / "state"))
            assert res.ok and res.applied == 3
            assert Path(root, "greeting.txt").read_text().startswith(f"Hello, {value}!")
            assert Path(root, "greeting.txt").stat().st_uid == 0  # written through sudo
            seen: list[Event] = []
            again = engine.run(recipe, t, journal=journal,
                               state_dir=str(tmp_path / "state"), on_event=seen.append)
            # Seen once under a loaded xdist run (applied 1): say which step and why.
            assert again.applied == 0, [e for e in seen if not isinstance(e, StepSkipped)]
    finally:
        t.close()
    assert not canary.exists()


def test_connection_failure_before_any_step_is_one_line(tmp_path: Path) -> None:
    from sshd import free_port

    from roost.deploy.ssh import SSHTransport
    from roost.deploy.trust import KnownHosts

    t = SSHTransport("nowhere", "127.0.0.1", user="root", port=free_port(),
                     known_hosts=KnownHosts(tmp_path / "kh"), allow_agent=False,
                     ssh_config=tmp_path / "none", connect_timeout=2)
    with pytest.raises(RoostError) as err:
        engine.run(counter_recipe(str(tmp_path / "x"), 3), t,
                   journal=Journal.for_host("nowhere", "counter", data_dir()),
                   state_dir=str(tmp_path / "state"))
    assert "refused" in str(err.value)


def test_cli_resolves_secrets_from_the_key_vault(tmp_path: Path, _home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A recipe's Secret(identity, field) is read from the real vault, opened with the
    passphrase file, and reaches the host only as file contents."""
    from roost.cli.deploy_cmd import vault_secrets
    from roost.deploy.recipe import Recipe
    from roost.deploy.steps import Secret, WriteFile
    from roost.keys.model import Identity
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS, Vault

    value = "pw-" + "x7" * 12
    v = Vault.create(data_dir(), "a long passphrase", limits=FAST_LIMITS_FOR_TESTS)
    v.add(Identity("alice", "xmpp", {"jid": "alice@example.org"}, {"password": value}))
    pf = tmp_path / "passphrase"
    pf.write_text("a long passphrase\n")
    pf.chmod(0o600)
    monkeypatch.setenv("ROOST_PASSPHRASE_FILE", str(pf))
    target = tmp_path / "host" / "pw"
    recipe = Recipe("secret-demo", "x", "x", (
        WriteFile(str(target), Secret("alice", "password"), mode=0o600),), sudo=False)
    events: list[Event] = []
    engine.run(recipe, LocalTransport(), journal=Journal.for_host("local", recipe.id, data_dir()),
               secrets=vault_secrets(), on_event=events.append,
               state_dir=str(tmp_path / "state"))
    assert target.read_text() == value and target.stat().st_mode & 0o777 == 0o600
    journal = (_home / "deploys" / "local" / "secret-demo.toml").read_text()
    assert value not in journal and value not in repr(events)
    with pytest.raises(RoostError, match="no identity bob"):
        vault_secrets()(Secret("bob", "password"))


@pytest.mark.slow
def test_cli_deploys_to_a_host_from_the_hosts_list_over_ssh(
        sshd: Sshd, tmp_path: Path, _home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from roost.deploy.hosts import Host, HostStore

    HostStore(data_dir() / HOSTS_FILE).add(Host("testhost", address=sshd.host, user=sshd.user,
                                                port=sshd.port, key_path=str(sshd.key)))
    site = tmp_path / "remote-site"
    args = ["deploy", "hello", "--host", "testhost", "--option", f"root={site}"]
    assert main([*args, "--trust", sshd.fingerprint()]) == 0
    out = capsys.readouterr().out
    assert "hello: done, 3 steps applied" in out
    assert (site / "greeting.txt").read_text().startswith("Hello, world!")
    host = HostStore(data_dir() / HOSTS_FILE).get("testhost")
    assert host.facts is not None and host.facts.get("sudo") == "root"  # read on first use
    assert main(args) == 0  # the key is trusted now; nothing to change
    assert "hello: already done, nothing changed" in capsys.readouterr().out
    assert main(["undeploy", "hello", "--host", "testhost", "--option", f"root={site}"]) == 0
    assert not (site / "greeting.txt").exists() and site.is_dir()  # data kept without --purge
