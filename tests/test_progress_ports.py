"""The plan records which host runs what on which port: the `deployed` event carries the ports,
`roost status` and `plan --json` / `status --json` show them, and a progress file an older
roost wrote (no ports) still loads and reads the same."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from support.answers import answers_toml

from roost.app.deploying import note_deployed, roost_ports
from roost.cli.main import main
from roost.core.errors import RoostError
from roost.deploy import engine
from roost.plan.progress import ports_words
from roost.plan.workspace import Workspace

ANSWERS = answers_toml(["whatsapp", "hosted-blog"])

# A progress file as roost wrote it before deploys recorded ports (schema 1, same as now).
OLD_FILE = '''schema = 1

[[event]]
kind = "deployed"
at = 2026-11-20T10:00:00Z
service = "prosody"

[event.detail]
host = "pi"
version = "0.12.3-1"

[[event]]
kind = "done"
at = 2026-11-20T10:00:00Z
service = "prosody"
'''


def assessed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = home.parent / "answers.toml"
    f.write_text(ANSWERS)
    assert main(["assess", "--answers", str(f)]) == 0
    capsys.readouterr()


def out_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_a_progress_file_without_ports_still_loads(home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    home.mkdir(parents=True)
    (home / "progress.toml").write_text(OLD_FILE)
    ws = Workspace.open(home, detect=False)
    [rec] = ws.progress.running()
    assert rec.detail == {"host": "pi", "version": "0.12.3-1"} and rec.ports() == ()
    assert ws.progress.ports_on("pi") == {} and roost_ports("pi", home) == {}
    assert rec.describe() == "2026-11-20 10:00: deployed prosody to pi."
    assessed(home, capsys)  # the old events stay, new ones are added after them
    status = out_of(capsys, "status")
    assert "Running: Prosody (XMPP chat) on pi, version 0.12.3-1." in status
    data = json.loads(out_of(capsys, "status", "--json"))
    assert data["running"] == [{"service": "prosody", "host": "pi", "version": "0.12.3-1",
                                "ports": [], "since": "2026-11-20T10:00:00+00:00"}]


def test_a_deploy_records_its_ports_and_status_shows_them(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    result = engine.DeployResult(True, "r", 3, 0, None, False, "1.22.1-9", ("80/tcp",))
    lines = note_deployed("static-blog", "pi", result, home=home)
    assert lines[0] == ("Noted in your progress: Static blog (your own site, served by nginx) "
                        "runs on pi, port 80, version 1.22.1-9. Its step in your plan is done.")
    dlna = engine.DeployResult(True, "r", 3, 0, None, False, "1.3.3", ("8300/tcp", "1900/udp"))
    assert "runs on pi, port 8300 and UDP port 1900, version" in note_deployed(
        "minidlna", "pi", dlna, home=home)[0]

    again = Workspace.open(home, detect=False)  # read back from the file
    assert again.progress.ports_on("pi") == {"80/tcp": "static-blog", "8300/tcp": "minidlna",
                                             "1900/udp": "minidlna"}
    assert again.progress.ports_on("vps") == {}
    assert roost_ports("pi", home) == again.progress.ports_on("pi")
    saved = tomllib.loads((home / "progress.toml").read_text())
    assert [e["detail"]["ports"] for e in saved["event"] if e["kind"] == "deployed"] == [
        ["80/tcp"], ["8300/tcp", "1900/udp"]] and saved["schema"] == 1
    assert again.progress.running()[0].describe().endswith(
        "deployed static-blog to pi on port 80.")

    status = out_of(capsys, "status")
    assert ("Running: Static blog (your own site, served by nginx) on pi, port 80, version "
            "1.22.1-9.") in status
    assert ("Running: MiniDLNA (media for your home network) on pi, port 8300 and UDP port "
            "1900, version 1.3.3.") in status
    for cmd in ("status", "plan"):
        data = json.loads(out_of(capsys, cmd, "--json"))
        assert [(r["service"], r["host"], r["ports"]) for r in data["running"]] == [
            ("static-blog", "pi", ["80/tcp"]), ("minidlna", "pi", ["8300/tcp", "1900/udp"])]

    # Moved to another port, then removed: the latest deploy counts, a removal clears it.
    again.deployed("static-blog", "pi", "1.22.1-9", ports=("8081/tcp",))
    assert again.progress.ports_on("pi")["8081/tcp"] == "static-blog"
    assert "80/tcp" not in again.progress.ports_on("pi")
    again.record_removed("static-blog", "pi")
    assert set(again.progress.ports_on("pi")) == {"8300/tcp", "1900/udp"}


def test_ports_that_cannot_be_read_are_left_out_not_fatal(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "progress.toml").write_text(OLD_FILE.replace(
        'version = "0.12.3-1"', 'version = "0.12.3-1"\nports = ["5222/tcp", "x", 80, '
                                '"70000/tcp", "5269/sctp", "0/tcp"]'))
    ws = Workspace.open(home, detect=False)
    assert ws.progress.running()[0].ports() == ("5222/tcp",)
    bad = OLD_FILE.replace('version = "0.12.3-1"', 'version = "0.12.3-1"\nports = "5222/tcp"')
    (home / "progress.toml").write_text(bad)
    assert Workspace.open(home, detect=False).progress.running()[0].ports() == ()


def test_only_ports_are_recorded_as_ports(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False)
    with pytest.raises(RoostError, match="is not a port to record"):
        ws.deployed("prosody", "pi", "1", ports=("5222",))
    ws.deployed("prosody", "pi", "1", ports=("5222/tcp", "5269/tcp", "5222/tcp"))
    assert ws.progress.running()[0].detail["ports"] == ["5222/tcp", "5269/tcp"]
    ws.deployed("prosody", "vps", "1")
    assert "ports" not in ws.progress.running()[-1].detail  # none bound: none written


def test_ports_read_aloud() -> None:
    assert ports_words(()) == ""
    assert ports_words(("80/tcp",), " on ") == " on port 80"
    assert ports_words(("5222/tcp", "5269/tcp", "1900/udp")) == (
        "port 5222, port 5269 and UDP port 1900")
