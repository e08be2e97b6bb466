"""roost's one clock: fixed by ROOST_NOW or in code, else the system's; a bad value is one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.clock import TEST_NOW

from roost.cli.main import main
from roost.core.clock import fixed, from_environment, parse, stamp, system
from roost.core.errors import RoostError
from roost.plan.answers import Answers
from roost.plan.workspace import Workspace


def test_roost_now_fixes_every_clock_made_from_the_environment() -> None:
    assert from_environment()() == TEST_NOW  # set for every test by tests/conftest.py
    assert from_environment({"ROOST_NOW": "2030-01-02T03:04:05Z"})() == datetime(
        2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_without_roost_now_the_clock_is_the_systems() -> None:
    assert from_environment({}) is system
    assert system().tzinfo is UTC and system().microsecond == 0


def test_times_are_utc_to_the_second_whatever_was_given() -> None:
    paris = timezone(timedelta(hours=1))
    assert fixed(datetime(2026, 11, 25, 13, 0, 0, 999, tzinfo=paris))() == TEST_NOW
    assert fixed(datetime(2026, 11, 25, 12, 0))() == TEST_NOW  # naive is taken as UTC
    assert parse("2026-11-25T13:00:00+01:00") == TEST_NOW
    assert stamp(fixed(TEST_NOW)) == "20261125-120000"


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "12:00"])
def test_a_bad_roost_now_is_one_clear_line(bad: str) -> None:
    with pytest.raises(RoostError, match="ROOST_NOW is not a time roost can read"):
        from_environment({"ROOST_NOW": bad})


def test_the_workspace_stamps_what_happens_with_its_clock(tmp_path: Path) -> None:
    later = TEST_NOW + timedelta(days=3)
    ws = Workspace.open(tmp_path, detect=False, clock=fixed(later))
    ws.save_answers(Answers(("twitter",), ("pi",), True, "example.org", "some", "days", 4096,
                            "aarch64", None))
    assert ws.today() == later.date()
    step = ws.next_step()
    assert step is not None
    ws.done(step.service_id)
    assert [e.at for e in ws.history()][-1:] == [later]


def test_the_cli_refuses_a_bad_roost_now_with_exit_2(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ROOST_HOME", str(tmp_path))
    monkeypatch.setenv("ROOST_NOW", "not a time")
    assert main(["plan"]) == 2
    err = capsys.readouterr().err
    assert "ROOST_NOW is not a time roost can read" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_deploy_run_id_is_stamped_by_the_clock_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ids start with the UTC time by roost's clock, never the machine's local time."""
    from roost.deploy.engine import new_run_id

    monkeypatch.setenv("ROOST_NOW", "2030-01-02T03:04:05Z")
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: local time is another day
    run_id = new_run_id()
    assert run_id.startswith("20300102T030405-") and len(run_id) == len("20300102T030405-") + 8
    assert new_run_id() != run_id
