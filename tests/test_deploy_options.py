"""`roost deploy ID --help` lists that recipe's options (name, meaning, default), and those are
exactly the options the recipe's builder reads.

What a builder reads is found in its source, following its calls into the recipe modules:
every `o["NAME"]`, `options["NAME"]`, `.get("NAME")` and the typed `.port/.text/.flag("NAME")`
on them (the mapping `take_options`
returns, or the one a helper is given). So an option read in code but not declared in
recipes/options.toml, or declared but never read, fails here.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Any

import pytest

from roost.cli.main import main
from roost.deploy.options import declared_recipes, recipe_options
from roost.deploy.recipes import RECIPES

OPTION_MAPPINGS = {"o", "options"}


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def options_read(func: Callable[..., Any], seen: set[Any] | None = None) -> set[str]:
    """The option names `func` reads, and every recipe-module function it calls."""
    seen = set() if seen is None else seen
    if func in seen:
        return set()
    seen.add(func)
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in OPTION_MAPPINGS and _literal(node.slice):
            names.add(str(_literal(node.slice)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in OPTION_MAPPINGS \
                and node.func.attr in ("get", "port", "text", "flag") \
                and node.args and _literal(node.args[0]):
            names.add(str(_literal(node.args[0])))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name):  # Class.method(...)
            owner = func.__globals__.get(node.func.value.id)
            method = getattr(owner, node.func.attr, None) if isinstance(owner, type) else None
            method = getattr(method, "__func__", method)
            if isinstance(method, types.FunctionType) and \
                    method.__module__.startswith("roost.deploy.recipes"):
                names |= options_read(method, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = func.__globals__.get(node.func.id)
            if isinstance(called, types.FunctionType) and \
                    called.__module__.startswith("roost.deploy.recipes"):
                names |= options_read(called, seen)
    return names


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_help_lists_every_option_the_builder_reads(recipe: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    read = options_read(RECIPES[recipe])
    declared = recipe_options(recipe)
    assert read, f"found no option reads in {recipe}'s builder: the scan is broken"
    assert sorted(read) == sorted(declared), \
        f"{recipe}: read but not declared {sorted(read - set(declared))}, declared but " \
        f"never read {sorted(set(declared) - read)}"
    shown = help_text(capsys, "deploy", recipe, "--help")
    assert f"Options of {recipe}, given as --option NAME=VALUE:" in shown
    for name in read:
        option = declared.option(name)
        assert option.meaning and option.meaning[0].islower() and not option.meaning.endswith(".")
        if option.default is None:
            assert f"{name}: {option.meaning}. Required: it has no default." in shown
        else:
            assert option.default_means or option.default, f"{recipe}.{name}: say what "" means"
            assert f"{name}: {option.meaning}. Default: {option.default_text()}." in shown


def test_static_blog_help_names_site(capsys: pytest.CaptureFixture[str]) -> None:
    """The case from the issue: `site` for static-blog, with what it is and its default."""
    shown = help_text(capsys, "deploy", "static-blog", "--help")
    assert ("site: the folder on this computer with your pages (index.html at its top). "
            "Default: a one-page placeholder.") in shown
    assert "usage: roost deploy" in shown  # the command's own help comes first


def test_every_declared_recipe_exists_and_help_without_one_lists_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert sorted(declared_recipes()) == sorted(RECIPES)
    shown = help_text(capsys, "deploy", "--help")
    assert "Services roost deploys: " + ", ".join(sorted(RECIPES)) + "." in shown
    shown = help_text(capsys, "deploy", "mastodon", "--help")
    assert "roost does not install Mastodon" in shown


def test_defaults_are_what_the_builder_uses() -> None:
    """The declaration is what take_options fills in: a builder given no options for
    static-blog serves port 80 for any name."""
    recipe = RECIPES["static-blog"](None, {}, {})
    text = "\n".join(s.describe() for s in recipe.steps)
    assert recipe_options("static-blog").default("port") == "80"
    assert "nginx" in text
    from roost.core.errors import RoostError

    with pytest.raises(RoostError, match="static-blog has no option 'colour'"):
        RECIPES["static-blog"](None, {"colour": "red"}, {})
