"""apt speaks only when it failed: over real SSH, on the Debian test host.

A fresh image has no package lists, so apt-get's first try says "Unable to locate package";
roost updates the lists and tries again. The person sees the step, not that first failure. When
apt really fails, its last lines are shown with the failed step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from roost.core.errors import RoostError
from roost.deploy import engine
from roost.deploy.events import Event, Output, StepFailed, as_text
from roost.deploy.recipe import Recipe
from roost.deploy.steps import InstallPackages

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


@pytest.mark.slow
@pytest.mark.container
def test_apt_noise_is_shown_only_when_apt_failed(pi_host: TestHost, tmp_path: Path) -> None:
    pi_host.ssh("rm -rf /var/lib/apt/lists/* && apt-get clean")  # a fresh image: no lists
    assert "Unable to locate package" in pi_host.ssh(
        "apt-get install -y -q --no-install-recommends tree", check=False).stderr
    t = pi_host.transport(tmp_path / "ssh")
    try:
        events: list[Event] = []
        ok = Recipe("tree", "tree", "tree", (InstallPackages(("tree",)),))
        engine.run(ok, t, on_event=events.append, state_dir="/var/lib/roost-test")
        text = "\n".join(as_text(e) for e in events)
        assert "Unable to locate" not in text and "E: " not in text, text
        assert not [e for e in events if isinstance(e, Output)], text
        assert pi_host.ssh("dpkg-query -W -f '${Status}' tree").stdout.endswith(" installed")

        events = []
        bad = Recipe("nope", "nope", "nope", (InstallPackages(("roost-no-such-package",)),))
        with pytest.raises(RoostError):
            engine.run(bad, t, on_event=events.append, state_dir="/var/lib/roost-test")
        failed = [e for e in events if isinstance(e, StepFailed)]
        assert failed and "Unable to locate package roost-no-such-package" in failed[0].tail
    finally:
        t.close()
