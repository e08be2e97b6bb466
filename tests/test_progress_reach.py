"""The progress remembers how people outside reach each service: a `reach` event per way in
(router, upnp, relay, tor), taken away by `reach_removed` or by removing the service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.core.errors import RoostError
from roost.plan.progress import Event, Progress
from roost.plan.workspace import Workspace

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(minute: int) -> datetime:
    return AT.replace(minute=minute)


def deployed(minute: int, host: str = "pi") -> Event:
    return Event("deployed", at(minute), "prosody", {"host": host, "version": "0.12"})


def reach(minute: int, way: str, host: str = "pi", **more: str) -> Event:
    return Event("reach", at(minute), "prosody", {"host": host, "way": way, **more})


def test_ways_in_are_kept_per_way_and_taken_away_one_by_one() -> None:
    p = Progress((deployed(1), reach(2, "upnp"), reach(3, "tor", address="x.onion"),
                  reach(4, "upnp")))
    assert [e.detail["way"] for e in p.ways_in("prosody", "pi")] == ["upnp", "tor"]
    p = p.with_event(Event("reach_removed", at(5), "prosody", {"host": "pi", "way": "upnp"}))
    assert [e.detail["way"] for e in p.ways_in("prosody", "pi")] == ["tor"]
    assert p.ways_in("prosody", "vps") == ()


def test_removing_the_service_takes_its_ways_in_with_it() -> None:
    p = Progress((deployed(1), reach(2, "relay", via="vps"),
                  Event("removed", at(3), "prosody", {"host": "pi"}), deployed(4)))
    assert p.ways_in("prosody", "pi") == ()  # deployed again, but nothing is open yet


def test_a_way_in_is_described_in_words() -> None:
    assert "made prosody on pi reachable through a relay on vps" in reach(
        2, "relay", via="vps").describe()
    gone = Event("reach_removed", at(2), "prosody", {"host": "pi", "way": "upnp"})
    assert "took away through ports the router opened by UPnP to prosody on pi" in (
        gone.describe())


def test_the_workspace_records_ways_in_and_refuses_unknown_ones(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path, detect=False)
    ws.deployed("prosody", "pi", "0.12", healthy=False)
    ws.record_reach("prosody", "pi", "relay", via="vps", address="203.0.113.7")
    again = Workspace.open(tmp_path, detect=False)
    (way,) = again.progress.ways_in("prosody", "pi")
    assert way.detail == {"host": "pi", "way": "relay", "via": "vps", "address": "203.0.113.7"}
    with pytest.raises(RoostError, match="'carrier-pigeon' is not a way in"):
        ws.record_reach("prosody", "pi", "carrier-pigeon")
    ws.record_reach_removed("prosody", "pi", "relay")
    assert Workspace.open(tmp_path, detect=False).progress.ways_in("prosody", "pi") == ()
    assert ws.undo().startswith("Undone: the record of taking a way in to prosody")
    assert len(ws.progress.ways_in("prosody", "pi")) == 1
