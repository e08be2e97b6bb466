"""Typed recipe options: each option in recipes/options.toml has a type whose validator checks
a value given, builders read the checked, typed value, and `options.fields(ID)` describes the
options to a front end as labelled, typed fields."""

from __future__ import annotations

import pytest

from roost.core.errors import RoostError
from roost.deploy.options import TYPES, declared_recipes, fields, recipe_options
from roost.deploy.recipe import take_options


def test_fields_describe_each_option_for_a_form() -> None:
    by_name = {f.name: f for f in fields("prosody")}
    assert list(by_name) == list(recipe_options("prosody"))
    tls = by_name["tls"]
    assert (tls.label, tls.type, tls.values, tls.required) == (
        "Tls", "choice", ("self-signed", "letsencrypt"), False)
    assert tls.default == "self-signed" and tls.meaning.startswith("self-signed, or")
    assert by_name["email"].type == "email"
    assert by_name["acme_ca_bundle"].label == "Acme ca bundle"
    domain = {f.name: f for f in fields("gotosocial")}["domain"]
    assert domain.required and domain.type == "domain"
    assert domain.default_text() == "none, it must be given"
    # Options a recipe includes (the shared upstream ones) come with their own types.
    assert {f.name: f.type for f in fields("gotosocial")}["artifact"] == "local-path"


def test_every_declared_option_has_a_known_type_and_its_default_passes() -> None:
    for recipe in declared_recipes():
        for f in fields(recipe):
            assert f.type in TYPES, (recipe, f.name)
            assert f.recipe == recipe
            if f.type == "choice":
                assert f.values and f.default in f.values
            if f.default is not None:
                f.check(f.default)  # a declared default is always accepted


def test_a_field_checks_what_is_typed_in_one_line() -> None:
    port = {f.name: f for f in fields("navidrome")}["port"]
    assert port.check("4533") == 4533
    with pytest.raises(RoostError, match=r"is not a port number\. Use 1 to 65535"):
        port.check("70000")
    tls = {f.name: f for f in fields("prosody")}["tls"]
    assert tls.check(" LetsEncrypt ") == "letsencrypt"
    with pytest.raises(RoostError) as refused:
        tls.check("acme")
    assert str(refused.value) == ("'acme' is not a TLS choice for prosody. Use --option "
                                  "tls=self-signed or --option tls=letsencrypt.")
    music = {f.name: f for f in fields("navidrome")}["music"]
    with pytest.raises(RoostError, match="'music' is not a usable music folder"):
        music.check("music")
    email = {f.name: f for f in fields("wordpress")}["email"]
    assert email.check("Me@Example.ORG") == "Me@example.org"
    assert email.check("") == ""  # empty: the default's meaning (the login's e-mail)
    with pytest.raises(RoostError, match="not an e-mail address"):
        email.check("me@@example.org")
    server = {f.name: f for f in fields("navidrome")}["domain"]
    assert server.check("_") == "_" and server.check("Music.Example.org") == "music.example.org"


def test_bool_type() -> None:
    from roost.deploy.options import Option

    flag = Option("tls", "use TLS", "no", type="bool")
    assert (flag.check("yes"), flag.check("Off")) == (True, False)
    with pytest.raises(RoostError, match="'maybe' is not yes or no"):
        flag.check("maybe")


def test_take_options_gives_builders_typed_values() -> None:
    o = take_options({"domain": "social.example.org", "listen": "8080"},
                     recipe_options("gotosocial"), "gotosocial")
    assert o.port("listen") == 8080 and o.port("port") == 8080
    assert o.text("domain") == "social.example.org" and o["listen"] == "8080"
    with pytest.raises(TypeError):
        o.port("domain")
    with pytest.raises(RoostError, match="'x' is not a port number"):
        take_options({"domain": "social.example.org", "port": "x"},
                     recipe_options("gotosocial"), "gotosocial")
