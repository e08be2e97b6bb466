"""`roost --plain`: numbered choices, line by line, no escape sequences, progress kept."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from support.clock import TEST_CLOCK as CLOCK
from support.clock import TEST_TODAY as TODAY

from roost.catalog import load as load_catalog
from roost.cli.plain import run_plain
from roost.core.paths import data_dir
from roost.deploy.hosts import HOSTS_FILE
from roost.plan.answers import questions
from roost.plan.detect import HostFacts
from roost.plan.workspace import Workspace

FACTS = HostFacts("x86_64", 4096, 50000, "debian", "12", "bookworm", None, "testbox")
"""The time every test here runs at: nothing below reads the wall clock."""
SCRIPT: dict[str, object] = {
    "uses": ["facebook", "whatsapp"], "this_machine": "", "hardware": ["pi"],
    "pi_ram_mb": "4096", "pi_arch": "aarch64", "vps_ram_mb": "1024", "has_domain": "no",
    "domain": "", "skill": "beginner", "pace": "weekly",
}


def assess_lines(script: dict[str, object], skip: tuple[str, ...] = ()) -> list[str]:
    """What a person types to answer the planner's questions with `script` (by question id);
    questions in `skip` are not asked."""
    responses: dict[str, object] = {}
    lines: list[str] = []
    for q in questions(load_catalog(), FACTS):
        if not q.applies(responses) or q.id in skip:
            continue
        value = script[q.id]
        responses[q.id] = value
        values = [v for v, _ in q.choices]
        if q.kind == "many":
            assert isinstance(value, list)
            lines.append(" ".join(str(values.index(v) + 1) for v in value) or "none")
        elif q.kind in ("one", "yesno"):
            lines.append(str(values.index(str(value)) + 1))
        else:
            lines.append(str(value))
    return ["1", *lines]


ASSESS = assess_lines(SCRIPT)


def run(home: Path, lines: list[str]) -> str:
    out = io.StringIO()
    code = run_plain(False, home=home, facts=FACTS, clock=CLOCK,
                     stdin=io.StringIO("".join(x + "\n" for x in lines)), stdout=out)
    assert code == 0
    return out.getvalue()


def test_assess_then_mark_done_then_come_back(home: Path) -> None:
    text = run(home, [*ASSESS, "1", "1", "0"])
    assert "Question 1 of" in text and "Your answers are saved" in text
    assert "  1. Start with: " in text
    assert "Marked " in text and " done. Next: " in text
    assert text.rstrip().endswith("Bye. Your progress is saved.")
    ws = Workspace.open(home, facts=FACTS, clock=CLOCK)
    done = [s for s in ws.plan(TODAY).steps if s.state == "done"]
    assert len(done) == 1
    again = run(home, ["2", "0", "0"])
    nxt = ws.next_step(TODAY)
    assert nxt is not None
    assert f"1. Continue where you left off: {nxt.name}" in again
    assert f"See your plan: 1 of {len(ws.plan(TODAY).steps)} done" in again
    assert f"{done[0].name}: done." in again
    assert "waiting until 2026-12-02" in again, "weekly pace: next one a week after the last"


def test_wrong_input_is_answered_in_words_and_asked_again(home: Path) -> None:
    text = run(home, ["7", "banana", "1", "x y", "1", "0"])
    assert "'7' is not one of the numbers." in text
    assert "'banana' is not one of the numbers." in text
    assert "Please type only numbers from the list" in text
    assert Workspace.open(home, facts=FACTS, clock=CLOCK).answers is None


def test_end_of_input_quits_cleanly_and_saves_nothing_half_done(home: Path) -> None:
    text = run(home, ["1", "1"])
    assert text.rstrip().endswith("Bye. Your progress is saved.")
    assert Workspace.open(home, facts=FACTS, clock=CLOCK).answers is None


def test_skip_with_reason_and_undo(home: Path) -> None:
    text = run(home, [*ASSESS, "1", "2", "2", "2", "0", "1", "3", "0", "0"])
    assert "Why skip" in text and "Skipped " in text
    assert "skipped: I do not need it" in text
    assert "Undone: skipping" in text


def test_subprocess_writes_no_escape_sequences(home: Path) -> None:
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1", "ROOST_HOME": str(home)}
    feed = "".join(x + "\n" for x in [*ASSESS, "2", "1", "0", "0", "0"])
    proc = subprocess.run([sys.executable, "-m", "roost", "--plain"], input=feed.encode(),
                          env=env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    out = proc.stdout
    assert b"Your plan, the suggested next step first" in out
    bad = [b for b in out if b < 0x20 and b not in (0x0A, 0x09)]
    assert not bad, f"control bytes in plain output: {set(bad)}"
    assert b"\x1b" not in out


def test_identities_and_hosts_are_listed(home: Path) -> None:
    from roost.keys import Vault, create
    from roost.keys.vault import FAST_LIMITS_FOR_TESTS

    Vault.create(home, "correct horse battery staple",
                 limits=FAST_LIMITS_FOR_TESTS).add(create("ssh", "laptop"))
    text = run(home, ["2", "0", "3", "0", "0"])  # Identities, back, Hosts, back, quit
    assert "1. SSH key named laptop. Public id: SHA256:" in text
    assert "1. local: this computer, no SSH needed." in text


def test_full_screen_app_on_a_dumb_terminal_points_to_plain(home: Path) -> None:
    env = {**os.environ, "TERM": "dumb", "ROOST_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "roost"], input=b"", env=env,
                          capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode().strip() == ("roost: this terminal cannot show the full-screen "
                                            "app. Run roost --plain for the line-by-line mode.")


def test_plain_assess_says_what_host_facts_measured_instead_of_asking(home: Path) -> None:
    from roost.deploy.facts import Facts
    from roost.deploy.hosts import Host, HostStore

    HostStore(data_dir() / HOSTS_FILE).add(Host("pi", address="192.168.1.20"))
    HostStore(data_dir() / HOSTS_FILE).save_facts("pi", Facts(
        hostname="pi", os_id="debian", os_version="12", os_codename="bookworm",
        arch="armv7l", ram_mb=926, root_free_mb=9000, var_free_mb=9000,
        pi_model="Raspberry Pi 3 Model B Rev 1.2", init="systemd", sudo="password",
    ).to_dict(), "2026-01-01T00:00:00+00:00")
    text = run(home, [*assess_lines(SCRIPT, skip=("pi_ram_mb", "pi_arch")), "0"])
    assert "Your answers are saved" in text
    assert "How much memory does your Raspberry Pi have?" not in text
    assert "Your Raspberry Pi's memory: 926 MB, as roost measured on pi." in text
    assert "Your Pi runs a 32-bit system, as roost measured on pi." in text
    a = Workspace.open(home, detect=False).answers
    assert a is not None and (a.pi_ram_mb, a.pi_arch) == (926, "armv7l")
