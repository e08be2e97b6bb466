"""`roost check` watches the watchers: each `roost watch` watcher's timer is active on its host
and its last run recent (within three times its interval), else a line in words says what is
wrong and what to do (roost.app.watcher_check, called by roost.app.checking)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.identities import vault_for_commands

from roost.app.watcher_check import WatcherCheck
from roost.cli.main import main
from roost.keys import xmpp

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]

CHAT, ALERTS = "chat.roost.test", "alerts.roost.test"
PASSPHRASE = "a long passphrase for the watched watchers"
TIMER = "roost-watch-prosody-pi.timer"


def _seen(active: str = "active", last: int | None = 60, since: int | None = 600,
          result: str = "success") -> WatcherCheck:
    return WatcherCheck("vps", "pi", "prosody", "chat (prosody)", TIMER, 5, active, last,
                        since, result)


def test_each_state_of_a_watcher_is_one_line_in_words_with_what_to_do() -> None:
    assert _seen().words() == ("the watcher on vps for chat (prosody) on pi: watching, every "
                               "5 minutes; last run 1 minute ago.")
    assert _seen().attention == ()
    # Set up a moment ago: its first run is due (the timer waits a minute after it starts).
    assert _seen(last=None, since=20).attention == ()
    assert "last run not yet" in _seen(last=None, since=20).words()
    stopped = _seen(active="inactive")
    assert stopped.words() == (
        "the watcher on vps for chat (prosody) on pi: needs attention, its timer is inactive, "
        "so nothing is watched: start it again on vps with: sudo systemctl enable --now "
        f"{TIMER}.")
    late = _seen(last=16 * 60)  # more than 3 intervals of 5 minutes
    assert "it last ran 16 minutes ago, though it should every 5 minutes: see why on vps " \
           "with: journalctl -u roost-watch-prosody-pi.service" in late.words()
    assert _seen(last=14 * 60).attention == ()
    assert "it has not run although it should" in _seen(last=None, since=3600).words()
    failed = _seen(result="exit-code")
    assert "its last run failed (exit-code; an alert that could not be sent is sent at the " \
           "next run)" in failed.words()
    assert "16 hours ago" in _seen(last=16 * 3600).words()


@pytest.mark.slow
@pytest.mark.container
def test_check_says_when_a_watcher_stopped_and_how_to_start_it(
    pi_host: TestHost, vps_host: TestHost, home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A watch set up on the vps (which runs nothing else, so the check connects to it for the
    watcher alone); its timer stopped there, then started again with the command the line
    gives."""
    from test_reach_relay import _trusted
    from testhost import record_time

    from roost.app.last_check import last_report

    vault_for_commands(home, PASSPHRASE, tmp_path, monkeypatch,
                       xmpp.create("alice", address=f"alice@{CHAT}"),
                       xmpp.create("alerts", address=f"roost-alerts@{ALERTS}"))
    _trusted(home, pi_host, vps_host)
    assert main(["deploy", "prosody", "--host", "pi", "--quiet", "--option", "accounts=alice",
                 "--option", f"address={pi_host.address}"]) == 0
    assert main(["watch", "prosody", "--host", "pi", "--from", "vps", "--to", f"me@{ALERTS}",
                 "--every", "3", "--quiet"]) == 0
    capsys.readouterr()
    line = "the watcher on vps for chat (prosody) on pi"

    def checked() -> tuple[int, list[str]]:
        start = time.monotonic()
        code = main(["check"])
        record_time("check_with_a_watcher", time.monotonic() - start)
        return code, [x for x in capsys.readouterr().out.splitlines() if x.startswith(line)]

    base, said = checked()  # (pi's own lines may need attention: not what is proven here)
    assert len(said) == 1 and re.fullmatch(
        re.escape(line) + r": watching, every 3 minutes; last run (not yet \(its first run is "
        r"due within a minute\)|less than a minute ago|\d+ minutes? ago)\.", said[0]), said

    vps_host.ssh(f"systemctl stop {TIMER}")
    code, said = checked()
    assert code == max(base, 1)
    assert said == [f"{line}: needs attention, its timer is inactive, so nothing is watched: "
                    f"start it again on vps with: sudo systemctl enable --now {TIMER}."], said
    last = last_report(home)  # what the Status screen and the plan show
    assert last is not None
    assert [(e.what, e.state) for e in last.entries if e.what.startswith("the watcher")] == [
        ("the watcher for prosody on pi", "needs attention")]

    command = said[0].rpartition("with: ")[2].rstrip(".")
    vps_host.ssh(command if vps_host.ssh("command -v sudo", check=False).returncode == 0
                 else command.removeprefix("sudo "))
    assert vps_host.active(TIMER)
    code, said = checked()
    assert code == base and said[0].startswith(f"{line}: watching"), said
