"""The recipe contract: builders register with `@register(ID)`, `RECIPES` lists them, and a
builder gets a typed `TargetHost` (name, address, facts) or None."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from roost.core.errors import RoostError
from roost.deploy import recipe as recipe_mod
from roost.deploy.facts import Facts
from roost.deploy.options import declared_recipes
from roost.deploy.recipe import Identities, Recipe, TargetHost, register, registered
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.gotosocial import build_gotosocial


def test_every_declared_recipe_is_registered_once_in_order() -> None:
    assert list(RECIPES) == sorted(RECIPES)
    assert set(RECIPES) == set(declared_recipes())
    assert RECIPES["gotosocial"] is build_gotosocial
    assert registered() == RECIPES


def test_register_keeps_the_builder_and_refuses_a_second_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipe_mod, "_REGISTRY", {})

    def build(host: TargetHost | None, options: Mapping[str, str],
              identities: Identities) -> Recipe:
        raise AssertionError("not called")

    assert register("demo")(build) is build
    assert register("demo")(build) is build  # the same builder again is harmless
    with pytest.raises(RoostError, match="two recipes are registered as demo"):
        register("demo")(build_gotosocial)
    with pytest.raises(RoostError, match="is not a recipe id"):
        register("Not An Id")
    assert registered() == {"demo": build}


def test_target_host_reads_its_facts_typed() -> None:
    none = TargetHost.of(None)
    assert (none.name, none.address, none.facts, none.arch, none.sudo, none.ram_mb) == (
        "", "", None, "", "", None)
    facts = Facts(hostname="pi", os_id="debian", os_version="13", os_codename="trixie",
                  arch="aarch64", ram_mb=4096, root_free_mb=None, var_free_mb=None,
                  pi_model="Raspberry Pi 4 Model B", init="systemd", sudo="root")
    pi = TargetHost("pi", "192.168.1.20", facts)
    assert TargetHost.of(pi) is pi
    assert (pi.arch, pi.sudo, pi.ram_mb, pi.os_id, pi.pi_model) == (
        "aarch64", "root", 4096, "debian", "Raspberry Pi 4 Model B")
