"""The plan commands end to end through roost's real entry point, and the Workspace facade."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support.answers import ANSWERS_TOML

from roost.cli.main import main
from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy.hosts import HOSTS_FILE
from roost.plan.answers import Answers
from roost.plan.detect import detect_local
from roost.plan.workspace import Workspace


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assessed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = home.parent / "answers.toml"
    f.write_text(ANSWERS_TOML)
    rc, out, _ = run(capsys, "assess", "--answers", str(f))
    assert rc == 0 and "Saved your answers" in out


def test_assess_line_by_line(home: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    # uses: WhatsApp (7) and a wrong number first; [this machine: no, another one (3)];
    # hardware: Pi (1); Pi RAM 2 GB (3); 64-bit (1); no domain (the domain question is then
    # not asked); beginner; weekly.
    if detect_local().is_pi:
        pytest.skip("on a Pi, roost measures the Pi instead of asking")
    typed = "7 99\n7\n3\n1\n3\n1\nn\n1\n2\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    rc, out, err = run(capsys, "assess")
    assert (rc, err) == (0, "")
    assert "That answer does not fit." in out
    assert "What is your domain name?" not in out
    assert "How much memory does your rented server have?" not in out
    assert "1. Facebook\n" in out
    assert "Will your services run on this computer?" in out
    a = Workspace.open(home, detect=False).answers
    assert a == Answers(("whatsapp",), ("pi",), False, None, "beginner", "weekly", 2048,
                        "aarch64", None)


def test_assess_stops_cleanly_when_input_ends(home: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n"))
    rc, _, err = run(capsys, "assess")
    assert rc == 2
    assert err.lower() == "roost: the questions were not all answered, so nothing was " \
                          "saved. run roost assess again.\n"
    assert Workspace.open(home, detect=False).answers is None


@pytest.mark.parametrize(("body", "words"), [
    ("this is = = not toml", "is not valid TOML"),
    ('skill = "some"\npace = "days"\n', "'has_domain' is missing"),
    (ANSWERS_TOML.replace('"some"', '"wizard"'), "answer 'skill'"),
    (ANSWERS_TOML.replace('"gmail"', '"myspace"'), "'myspace' is not a platform"),
    (ANSWERS_TOML + "colour = 1\n", "no question called 'colour'"),
])
def test_bad_answers_file_is_one_line_exit_2(home: Path, capsys: pytest.CaptureFixture[str],
                                             body: str, words: str) -> None:
    f = home.parent / "bad.toml"
    f.write_text(body)
    rc, out, err = run(capsys, "assess", "--answers", str(f))
    assert rc == 2 and out == ""
    assert err.startswith("roost: ") and err.count("\n") == 1 and words in err


def test_missing_answers_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "assess", "--answers", str(home.parent / "nope.toml"))
    assert rc == 2 and "there is no file" in err


def test_commands_before_assessment_say_what_to_do(home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("plan", "next", "status"):
        rc, out, err = run(capsys, cmd)
        assert rc == 2 and out == ""
        assert err.lower() == "roost: roost does not know your situation yet. " \
                              "run roost assess first.\n"


def test_plan_next_status_done_skip_undo(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    rc, out, _ = run(capsys, "plan")
    lines = out.splitlines()
    total = len(Workspace.open(home, detect=False).plan().steps)
    assert lines[0].startswith(f"1 of {total}: ")
    assert ", next." in lines[0] and "Replaces WhatsApp" in lines[0]
    nxt = Workspace.open(home, detect=False).next_step()
    assert nxt is not None
    rc, out, _ = run(capsys, "next")
    assert rc == 0 and out.startswith(nxt.line(total))
    assert "Suggested way:" in out and f"roost done {nxt.service_id}" in out
    assert "It takes about" in out

    rc, out, _ = run(capsys, "next", "--json")
    data = json.loads(out)
    assert data["next"]["service_id"] == nxt.service_id and data["total"] == total
    assert any(w["kind"] == "public" for w in data["next"]["ways"])

    rc, out, _ = run(capsys, "done", nxt.service_id)
    assert rc == 0 and out.startswith(f"Done: {nxt.name}.")
    assert "Suggested from" in out and "or go ahead now" in out
    rc, out, _ = run(capsys, "done", nxt.service_id)
    assert "already done" in out

    second = Workspace.open(home, detect=False).next_step()
    assert second is not None and second.not_before is not None
    rc, out, _ = run(capsys, "skip", second.service_id, "--reason", "my friends are elsewhere")
    assert rc == 0 and out.startswith(f"Skipped: {second.name}.")

    rc, out, _ = run(capsys, "status", "--json")
    st = json.loads(out)
    assert st["counts"]["done"] == 1 and st["counts"]["skipped"] == 1
    assert st["steps"][nxt.service_id] == "done"
    rc, out, _ = run(capsys, "status")
    assert out.startswith(f"1 of {total} done, 1 skipped.")
    assert "You have a Pi with 1 GB and the domain example.org" in out

    ws = Workspace.open(home, detect=False)
    ws.record_deployed(nxt.service_id, "pi.local", "0.12.3")
    ws.record_identity("ssh", "SHA256:abc")
    rc, out, _ = run(capsys, "status")
    assert f"Running: {nxt.name} on pi.local, version 0.12.3." in out
    assert "Identities roost keeps for you: ssh." in out
    rc, out, _ = run(capsys, "undo")
    assert out == "Undone: the record of the ssh identity.\n"
    rc, out, _ = run(capsys, "undo")
    assert out == f"Undone: the record of deploying {nxt.service_id}.\n"
    rc, out, _ = run(capsys, "undo")
    assert out == f"Undone: skipping {second.service_id}.\n"
    rc, out, _ = run(capsys, "plan", "--json")
    states = {s["service_id"]: s["state"] for s in json.loads(out)["steps"]}
    assert states[nxt.service_id] == "done" and states[second.service_id] == "next"

    rc, out, _ = run(capsys, "history")
    assert "answered the questions" in out and f"finished {nxt.service_id}" in out

    f = home.parent / "answers.toml"
    rc, out, _ = run(capsys, "assess", "--answers", str(f))
    assert "Your progress is kept" in out
    assert Workspace.open(home, detect=False).progress.state_of(nxt.service_id) == "done"


def test_unknown_ids_one_line_exit_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    for argv in (("done", "nope"), ("skip", "nope", "--reason", "x")):
        rc, out, err = run(capsys, *argv)
        assert (rc, out) == (2, "")
        assert err.lower() == "roost: no service called 'nope'. run roost plan to see the ids.\n"
    with pytest.raises(SystemExit) as exit_:
        main(["skip", "prosody"])
    assert exit_.value.code == 2 and "--reason" in capsys.readouterr().err


def test_reset_needs_yes(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    rc, _, err = run(capsys, "reset")
    assert rc == 2 and "roost reset --yes" in err
    assert Workspace.open(home, detect=False).answers is not None
    rc, _, _ = run(capsys, "reset", "--yes")
    assert rc == 0
    assert Workspace.open(home, detect=False).answers is None
    assert list(home.glob("progress.toml.reset-*"))  # the old file is kept
    rc, _, _ = run(capsys, "undo")
    assert rc == 2


def test_export_import_moves_progress_never_secrets(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a_home, b_home = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("ROOST_HOME", str(a_home))
    assessed(a_home, capsys)
    ws = Workspace.open(a_home, detect=False)
    ws.done("prosody")
    ws.record_deployed("prosody", "pi.local", "0.12.3")
    ws.record_identity("ssh", "SHA256:uV4xIhH0p2mWxRrJ8cJcC7rM2rkw8YbN2wC6Vd3Ju0A")
    # Even if a secret had slipped into the history, export drops it.
    ws._append(ws.history()[-1].__class__("identity", ws.history()[-1].at, None,
                                          {"kind": "xmpp", "password": "hunter2-secret"}))
    export = tmp_path / "moved.toml"
    rc, out, _ = run(capsys, "progress", "export", str(export))
    assert rc == 0 and "no secrets" in out
    text = export.read_text()
    assert "hunter2" not in text and "password" not in text
    assert tomllib.loads(text)["kind"] == "roost-progress"

    monkeypatch.setenv("ROOST_HOME", str(b_home))
    rc, out, _ = run(capsys, "progress", "import", str(export))
    assert rc == 0
    wb = Workspace.open(b_home, detect=False)
    assert wb.answers == ws.answers
    assert wb.plan() == Workspace.open(a_home, detect=False).plan()
    assert wb.progress.state_of("prosody") == "done"

    # Importing over existing progress keeps a backup.
    rc, _, _ = run(capsys, "progress", "import", str(export))
    assert (b_home / "progress.toml.before-import").exists()

    not_export = tmp_path / "answers.toml"
    not_export.write_text(f"schema = 1\n{ANSWERS_TOML}")
    rc, _, err = run(capsys, "progress", "import", str(not_export))
    assert rc == 2 and "is not a roost progress export" in err
    # A broken or newer export is refused and left exactly where it was.
    before = (b_home / "progress.toml").read_bytes()
    for body, words in (("garbage [[[", "is not a roost progress export"),
                        ('schema = 9\nkind = "roost-progress"\n', "newer roost"),
                        ('schema = 1\nkind = "roost-progress"\n[[event]]\nkind = "assessed"\n'
                         'at = 2026-01-01T00:00:00Z\n[event.detail.answers]\nskill = "x"\n',
                         "cannot be imported")):
        bad = tmp_path / "bad-export.toml"
        bad.write_text(body)
        rc, _, err = run(capsys, "progress", "import", str(bad))
        assert rc == 2 and words in err and err.count("\n") == 1
        assert bad.read_text() == body
        assert (b_home / "progress.toml").read_bytes() == before
    assert not list(tmp_path.glob("bad-export.toml.corrupt-*"))


def test_corrupt_and_newer_progress_through_the_cli(home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home.mkdir(parents=True)
    (home / "progress.toml").write_text("schema = 7\n")
    rc, _, err = run(capsys, "status")
    assert rc == 2 and err.count("\n") == 1 and "newer roost" in err
    assert (home / "progress.toml").read_text() == "schema = 7\n"
    (home / "progress.toml").write_text("garbage [[[")
    rc, _, err = run(capsys, "status")
    assert rc == 2 and "could not be read" in err and "kept as" in err
    assert list(home.glob("progress.toml.corrupt-*"))


def test_workspace_api(home: Path) -> None:
    ws = Workspace.open(data_dir(), detect=False)
    assert ws.home == home and ws.answers is None and ws.facts is None
    with pytest.raises(RoostError, match="nothing to undo"):
        ws.undo()
    a = Answers(("whatsapp",), (), False, None, "beginner", "fast")
    ws.save_answers(a)
    assert ws.answers == a
    with pytest.raises(RoostError, match="no service called 'x'"):
        ws.start("x")
    ws.start("prosody")
    assert ws.plan().get("prosody").state == "started"  # type: ignore[union-attr]
    ws.fail("prosody", "the port was closed")
    step = ws.plan().get("prosody")
    assert step is not None and step.reason == "the port was closed"
    with pytest.raises(RoostError, match="a reason is needed"):
        ws.skip("prosody", "   ")
    # Changing the answers re-plans without losing progress.
    ws.done("prosody")
    ws.save_answers(Answers(("whatsapp", "gmail"), ("vps",), True, "example.org", "some",
                            "weekly", vps_ram_mb=2048))
    assert ws.plan().get("prosody").state == "done"  # type: ignore[union-attr]
    assert ws.undo() == "Undone: your latest answers."
    assert ws.answers == a
    assert [e.kind for e in ws.history()] == ["assessed", "planned", "started", "failed",
                                             "done", "assessed", "planned", "undone"]
    planned = ws.history()[1]
    assert planned.detail["order"] == [s.service_id for s in ws.plan().steps]
    with pytest.raises(RoostError, match="platform roost knows"):
        ws.save_answers(Answers(("myspace",), (), False, None, "some", "fast"))


def test_roost_command_runs_as_a_process(home: Path) -> None:
    env = {**os.environ, "ROOST_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "roost", "done", "prosody"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.lower() == "roost: roost does not know your situation yet. " \
                               "run roost assess first.\n"


def test_a_long_lived_workspace_sees_changes_made_by_another_roost(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    tui = Workspace.open(home, detect=False)  # like the TUI, open for the whole session
    first = tui.next_step()
    assert first is not None
    rc, _, _ = run(capsys, "done", first.service_id)  # the CLI, beside it
    assert rc == 0
    assert tui.plan().get(first.service_id).state == "done"  # type: ignore[union-attr]
    rc, _, _ = run(capsys, "reset", "--yes")
    assert tui.answers is None


def test_hostile_text_never_reaches_the_terminal_raw(home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assessed(home, capsys)
    rc, _, _ = run(capsys, "skip", "prosody", "--reason", "\x1b[2J\x1b]0;pwned\x07 busy\nnow")
    assert rc == 0
    Workspace.open(home, detect=False).record_deployed("prosody", "pi\x1b[31m.local", "1")
    rc, out, _ = run(capsys, "history")
    assert "\x1b" not in out and "\x07" not in out
    assert "skipped prosody ([2J ]0;pwned busy now)." in out
    assert "pi\\x1b[31m.local" in out
    for argv in (("progress", "import", "A" * 5000),
                 ("progress", "export", str(tmp_path / ("B" * 5000))),
                 ("progress", "import", "x\ntouch y"), ("import", "A" * 5000),
                 ("export", "x"), ("import", "mbox", "x\ntouch y", "--dry-run"),
                 ("assess", "--answers", "x\rtouch y"),
                 ("assess", "--answers", "C" * 5000)):
        rc, out, err = run(capsys, *argv)
        assert rc == 2 and out == "" and err.count("\n") == 1, argv
        assert "\r" not in err and len(err) < 400


def _pi_with_facts(ram_mb: int = 1848) -> None:
    from roost.deploy.facts import Facts
    from roost.deploy.hosts import Host, HostStore

    store = HostStore(data_dir() / HOSTS_FILE)
    store.add(Host("pi", address="192.168.1.20", user="pi"))
    store.save_facts("pi", Facts(
        hostname="pi", os_id="debian", os_version="12", os_codename="bookworm",
        arch="aarch64", ram_mb=ram_mb, root_free_mb=20000, var_free_mb=20000,
        pi_model="Raspberry Pi 4 Model B Rev 1.4", init="systemd", sudo="nopasswd",
    ).to_dict(), "2026-01-01T00:00:00+00:00")


def test_assess_does_not_ask_what_host_facts_measured(
        home: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`roost host facts pi` measured the Pi's memory and system: assess says the values it
    uses instead of asking for them."""
    if detect_local().is_pi:
        pytest.skip("on a Pi, roost measures the Pi instead of asking")
    _pi_with_facts()
    # uses: WhatsApp (7); this machine: no (3); hardware: Pi (1); no domain; beginner; weekly.
    monkeypatch.setattr(sys, "stdin", io.StringIO("7\n3\n1\nn\n1\n2\n"))
    rc, out, err = run(capsys, "assess")
    assert rc == 0, err
    assert "How much memory does your Raspberry Pi have?" not in out
    assert "Does your Pi run a 64-bit system?" not in out
    assert "Your Raspberry Pi's memory: 1.8 GB, as roost measured on pi." in out
    assert "Your Pi runs a 64-bit system, as roost measured on pi." in out
    ws = Workspace.open(data_dir(), detect=False)
    assert ws.answers is not None
    assert (ws.answers.pi_ram_mb, ws.answers.pi_arch) == (1848, "aarch64")


def test_answers_file_without_the_pi_memory_takes_the_measured_one(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _pi_with_facts(3796)
    f = home.parent / "answers.toml"
    f.write_text(ANSWERS_TOML.replace("pi_ram_mb = 1024\n", ""))
    assert run(capsys, "assess", "--answers", str(f))[0] == 0
    ws = Workspace.open(data_dir(), detect=False)
    assert ws.answers is not None and ws.answers.pi_ram_mb == 3796
    f.write_text(ANSWERS_TOML)  # what the file says wins
    assert run(capsys, "assess", "--answers", str(f))[0] == 0
    assert Workspace.open(data_dir(), detect=False).answers.pi_ram_mb == 1024  # type: ignore[union-attr]
