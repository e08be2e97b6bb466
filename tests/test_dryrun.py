"""A dry run lists the steps the real run takes, numbered the same, for every recipe.

Both come from `Recipe.numbered()`. Checked here for every recipe in the registry: the dry run's
"step N of TOTAL" lines against that list, and against what the engine itself reports when it
runs the recipe (on the in-memory host, up to its first command); and one recipe end to end on
this computer, every event against the dry run's lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.fake import FakeTransport
from support.identities import one_of_each

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines, removal_lines
from roost.deploy.events import Event, StepDone, StepFailed, StepSkipped, StepStarted
from roost.deploy.facts import Facts
from roost.deploy.local import LocalTransport
from roost.deploy.recipe import Recipe, TargetHost
from roost.deploy.recipes import RECIPES

STEP = re.compile(r"^step (\d+) of (\d+): (.*?)( \(runs once\))?$")
DOMAIN = {"domain": "example.org"}
VPS = TargetHost("vps", "95.216.10.20", Facts(
    hostname="box", os_id="ubuntu", os_version="22.04", os_codename="jammy", arch="x86_64",
    ram_mb=2048, root_free_mb=20000, var_free_mb=20000, pi_model=None, init="systemd",
    sudo="root"))
# What each recipe needs to be built without a host: (host, options). Identities: PEOPLE.
INPUTS: dict[str, tuple[Any, dict[str, str]]] = {
    "akkoma": (None, DOMAIN), "bovine": (None, DOMAIN), "friendica": (None, DOMAIN),
    "gotosocial": (None, DOMAIN), "pleroma": (None, DOMAIN),
    "mail-in-a-box": (VPS, {"email": "me@example.org"}),
    "wordpress": (None, {"domain": "blog.example.org"}),
}


@pytest.fixture(scope="module")
def people() -> dict[str, Any]:
    return one_of_each()


def build(service: str, people: dict[str, Any]) -> Recipe:
    host, options = INPUTS.get(service, (None, {}))
    return RECIPES[service](host, options, people)


def listed(lines: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for line in lines:
        m = STEP.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


@pytest.mark.parametrize("service", sorted(RECIPES))
def test_dry_run_lists_the_steps_the_engine_runs(service: str, people: dict[str, Any]) -> None:
    recipe = build(service, people)
    lines = plan_lines(recipe, "vps")
    steps = listed(lines)
    total = len(recipe.steps) + (1 if recipe.health is not None else 0)
    assert [n for n, _, _ in steps] == list(range(1, total + 1))
    assert {t for _, t, _ in steps} == {total}
    assert f", {total} step" in lines[0]
    assert [d for _, _, d in steps] == [s.describe() for _, s in recipe.numbered()]
    if recipe.health is not None:
        assert steps[-1][2] == recipe.health.describe()
    # The engine's own count and numbering: run it until its first command on the host
    # after the marker (the in-memory host drops the connection there).
    events: list[Event] = []
    t = FakeTransport("vps")
    t.lose_connection_at = 2
    with pytest.raises(RoostError):
        engine.run(recipe, t, on_event=events.append)
    failed = [e for e in events if isinstance(e, StepFailed)]
    assert failed, events
    ev = failed[0]
    assert ev.total == total
    assert (ev.index, ev.total, ev.description) == steps[ev.index - 1]


@pytest.mark.parametrize("service", sorted(RECIPES))
def test_removal_dry_run_numbers_like_the_engine(service: str, people: dict[str, Any]) -> None:
    recipe = build(service, people)
    if not recipe.uninstall and not recipe.purge:
        pytest.skip(f"{service} has no removal steps")  # roost says so in one line
    removal = recipe.removal(purge_data=True)
    steps = listed(removal_lines(recipe, True, "vps"))
    assert [(n, d) for n, _, d in steps] == [(n, s.describe()) for n, s in removal.numbered()]
    assert {t for _, t, _ in steps} == {removal.total}


def test_a_real_run_shows_exactly_the_dry_runs_steps(tmp_path: Path) -> None:
    """hello on this computer: every step the engine starts, skips or finishes is a line of
    the dry run, with the same number, total and words, the health check included."""
    recipe = RECIPES["hello"](None, {"root": str(tmp_path / "site")}, {})
    expected = listed(plan_lines(recipe, "local"))
    for _ in range(2):  # the first run applies, the second finds everything done
        events: list[Event] = []
        engine.run(recipe, LocalTransport(), on_event=events.append,
                   state_dir=str(tmp_path / "state"))
        seen = [(e.index, e.total, e.description) for e in events
                if isinstance(e, StepStarted | StepSkipped)]
        assert sorted(set(seen)) == expected
        assert {e.index for e in events if isinstance(e, StepDone)} | \
            {e.index for e in events if isinstance(e, StepSkipped)} == \
            {n for n, _, _ in expected}


def test_the_catalog_says_backed_up_exactly_for_recipes_that_declare_a_backup(
        people: dict[str, Any]) -> None:
    """The plan offers "protect what you moved" from the catalog's `backed_up`; `roost backup`
    works from the recipe's BackupSpec: the two must agree."""
    from roost.catalog.loader import load as load_catalog

    catalog = load_catalog()
    # Recipes with no catalog entry (mail-archive, where `roost import mbox` puts mail) are
    # never in a plan: `roost backup` still backs them up from their BackupSpec.
    in_catalog = {s.recipe for s in catalog.services if s.recipe}
    declared = {sid for sid in RECIPES if sid in in_catalog
                and build(sid, people).backup is not None}
    assert build("mail-archive", people).backup is not None
    flagged = {s.recipe or s.id for s in catalog.services if s.backed_up}
    assert declared == flagged
    assert {"prosody", "static-blog", "ssb-pub"} <= declared
