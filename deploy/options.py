"""The options each recipe takes (`roost deploy ID --option NAME=VALUE`), declared as data.

They live in `recipes/options.toml`, one table per recipe and one sub-table per option:

    [static-blog.site]
    meaning = "the folder on this computer with your pages"
    default = ""                         # leave it out for a required option
    default_means = "a one-page placeholder"   # optional: what the default stands for

`include = ["NAME"]` in a recipe's table adds the options of `[shared.NAME]` (or of the
recipe NAME) after its own. A builder reads its declaration with `recipe_options(ID)`, which
is also the name -> default mapping `recipe.take_options` checks options against, so what
`roost deploy ID --help` lists (`help_lines`) is exactly what the builder accepts. Adding an
option is adding a sub-table there and reading it in the builder.
"""

from __future__ import annotations

import functools
import importlib.resources
import textwrap
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from roost.core.errors import RoostError

FILE = "options.toml"


@dataclass(frozen=True)
class Option:
    name: str
    meaning: str
    default: str | None
    """The value used when the option is not given; None when it must be given."""
    default_means: str = ""
    """What the default stands for in words, when the bare value would not say it ("" = the
    only identity of the kind)."""

    def default_text(self) -> str:
        if self.default is None:
            return "none, it must be given"
        if self.default_means:
            return self.default_means
        return self.default if self.default else "empty"

    def help_line(self) -> str:
        if self.default is None:
            return f"{self.name}: {self.meaning}. Required: it has no default."
        return f"{self.name}: {self.meaning}. Default: {self.default_text()}."


class RecipeOptions(Mapping[str, str | None]):
    """One recipe's declared options, in order; as a mapping, name -> default (None = must be
    given), which is what `take_options` reads."""

    def __init__(self, recipe: str, options: tuple[Option, ...]) -> None:
        self.recipe = recipe
        self.options = options
        self._by_name = {o.name: o for o in options}

    def __getitem__(self, name: str) -> str | None:
        return self._by_name[name].default

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def option(self, name: str) -> Option:
        return self._by_name[name]

    def default(self, name: str) -> str:
        """The default of an option that has one (a version pin, a port)."""
        value = self._by_name[name].default
        if value is None:
            raise RoostError(f"{self.recipe}'s option {name} has no default")
        return value

    def help_lines(self) -> list[str]:
        """What `roost deploy ID --help` says about the options: one line each."""
        if not self.options:
            return [f"{self.recipe} takes no options."]
        lines = [f"Options of {self.recipe}, given as --option NAME=VALUE:"]
        for o in self.options:
            lines += textwrap.wrap(o.help_line(), width=79, initial_indent="  ",
                                   subsequent_indent="    ", break_on_hyphens=False,
                                   break_long_words=False)
        return lines


@functools.cache
def _table() -> dict[str, Any]:
    text = (importlib.resources.files("roost.deploy.recipes") / FILE).read_text("utf-8")
    return tomllib.loads(text)


def _options_of(table: Mapping[str, Any], where: str, seen: tuple[str, ...]
                ) -> list[Option]:
    out: list[Option] = []
    for name, spec in table.items():
        if name == "include":
            continue
        if not isinstance(spec, Mapping) or not isinstance(spec.get("meaning"), str):
            raise RoostError(f"{FILE}: {where}.{name} has no meaning")
        default = spec.get("default")
        if default is not None and not isinstance(default, str):
            raise RoostError(f"{FILE}: {where}.{name}'s default is not text")
        out.append(Option(str(name), spec["meaning"], default,
                          str(spec.get("default_means", ""))))
    for other in table.get("include", []):
        if other in seen:
            raise RoostError(f"{FILE}: {where} includes {other} in a loop")
        shared = _table().get("shared", {})
        included = shared.get(other) if other in shared else _table().get(other)
        if not isinstance(included, Mapping):
            raise RoostError(f"{FILE}: {where} includes {other}, which is not there")
        out += _options_of(included, other, (*seen, other))
    return out


@functools.cache
def recipe_options(recipe: str) -> RecipeOptions:
    """The declared options of `recipe` (its table in options.toml)."""
    table = _table().get(recipe)
    if recipe == "shared" or not isinstance(table, Mapping):
        raise RoostError(f"{FILE} declares no options for {recipe}")
    options = _options_of(table, recipe, (recipe,))
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise RoostError(f"{FILE}: {recipe} declares an option twice")
    return RecipeOptions(recipe, tuple(options))


def declared_recipes() -> list[str]:
    return [k for k in _table() if k != "shared"]
