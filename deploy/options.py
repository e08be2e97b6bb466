"""The options each recipe takes (`roost deploy ID --option NAME=VALUE`), declared as data.

They live in `recipes/options.toml`, one table per recipe and one sub-table per option:

    [static-blog.site]
    meaning = "the folder on this computer with your pages"
    default = ""                         # leave it out for a required option
    default_means = "a one-page placeholder"   # optional: what the default stands for

Each option has a `type` (text when left out) naming the validator `take_options` runs on a
value given, so a builder reads typed, checked values (`o.port("port")` is an int); `choice`
takes `values`, and `what` names the value in a refusal ("media folder"). A value left empty
where the default is empty stands for the default's meaning and is not checked.
`fields(ID)` gives front ends the same declarations as labelled, typed fields.

`include = ["NAME"]` in a recipe's table adds the options of `[shared.NAME]` (or of the
recipe NAME) after its own. A builder reads its declaration with `recipe_options(ID)`, which
is also the name -> default mapping `recipe.take_options` checks options against, so what
`roost deploy ID --help` lists (`help_lines`) is exactly what the builder accepts. Adding an
option is adding a sub-table there and reading it in the builder.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import textwrap
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.core import validate
from roost.core.errors import RoostError

FILE = "options.toml"

Value = str | int | bool
"""A checked option value: text, a port number or a yes/no."""


def _text(value: str, option: Option) -> Value:
    return value


def _port(value: str, option: Option) -> Value:
    return validate.port(value)


def _domain(value: str, option: Option) -> Value:
    return validate.hostname(value, option.what or "domain name")


def _server_name(value: str, option: Option) -> Value:
    """nginx's server name: a domain, or "_" for any name."""
    return "_" if value == "_" else validate.hostname(value, option.what or "domain name")


def _address(value: str, option: Option) -> Value:
    return validate.hostname(value, option.what or "address")


def _url(value: str, option: Option) -> Value:
    return validate.base_url(value, option.what or "address") if value.strip() else ""


def _email(value: str, option: Option) -> Value:
    return validate.email(value)


def _path(value: str, option: Option) -> Value:
    """An absolute path on the host."""
    return validate.abs_path(value.rstrip("/") or "/", option.what or "path")


def _local_path(value: str, option: Option) -> Value:
    """A file or folder on this computer (read when the recipe is built)."""
    return str(Path(value).expanduser())


def _choice(value: str, option: Option) -> Value:
    v = value.strip().lower()
    if v not in option.values:
        said = (f"a {option.what} for {option.recipe}" if option.what
                else " or ".join(option.values))
        raise RoostError(f"{value[:30]!r} is not {said}",
                         hint="use " + " or ".join(f"--option {option.name}={c}"
                                                   for c in option.values))
    return v


def _bool(value: str, option: Option) -> Value:
    v = value.strip().lower()
    if v in ("yes", "true", "on", "1"):
        return True
    if v in ("no", "false", "off", "0"):
        return False
    raise RoostError(f"{value[:30]!r} is not yes or no",
                     hint=f"use --option {option.name}=yes or --option {option.name}=no")


TYPES: dict[str, Callable[[str, Option], Value]] = {
    "text": _text,
    "identity": _text,
    "port": _port,
    "domain": _domain,
    "server-name": _server_name,
    "address": _address,
    "email": _email,
    "url": _url,
    "path": _path,
    "local-path": _local_path,
    "choice": _choice,
    "bool": _bool,
}
"""Option type -> its validator (value as typed, the option) -> the checked value. `identity`
is an identity id of the key vault (the recipe picks and checks it); `local-path` a file or
folder on this computer; `path` an absolute path on the host; `url` an http(s) address of a
server ("" allowed)."""


@dataclass(frozen=True)
class Option:
    name: str
    meaning: str
    default: str | None
    """The value used when the option is not given; None when it must be given."""
    default_means: str = ""
    """What the default stands for in words, when the bare value would not say it ("" = the
    only identity of the kind)."""
    type: str = "text"
    """A key of TYPES: which validator checks a value given."""
    values: tuple[str, ...] = ()
    """The choices of a `choice` option."""
    what: str = ""
    """What a refusal calls the value ("media folder"); "" = the type's word."""
    recipe: str = ""

    @property
    def required(self) -> bool:
        return self.default is None

    @property
    def label(self) -> str:
        """A form field's label: the name in words ("Ssb port")."""
        return self.name.replace("_", " ").capitalize()

    def check(self, value: str) -> Value:
        """`value` checked and typed by the option's validator. Empty, where the default is
        empty, stays "" (it stands for the default's meaning)."""
        if value == "" and self.default == "":
            return ""
        return TYPES[self.type](value, self)

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
        kind = str(spec.get("type", "text"))
        if kind not in TYPES:
            raise RoostError(f"{FILE}: {where}.{name} has the unknown type {kind!r}")
        values = spec.get("values", [])
        if kind == "choice" and (not values or not all(isinstance(v, str) for v in values)):
            raise RoostError(f"{FILE}: {where}.{name} is a choice without values")
        out.append(Option(str(name), spec["meaning"], default,
                          str(spec.get("default_means", "")), kind, tuple(values),
                          str(spec.get("what", ""))))
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
    options = [dataclasses.replace(o, recipe=recipe)
               for o in _options_of(table, recipe, (recipe,))]
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise RoostError(f"{FILE}: {recipe} declares an option twice")
    return RecipeOptions(recipe, tuple(options))


def declared_recipes() -> list[str]:
    return [k for k in _table() if k != "shared"]


def fields(recipe: str) -> tuple[Option, ...]:
    """The fields a front end shows for `recipe`'s options, in order: each with its `label`,
    `meaning`, `type` (and `values` for a choice), `default` and `default_text()`, and
    `required`; `Option.check(text)` says in one line what is wrong with a value typed."""
    return recipe_options(recipe).options


class Values(dict[str, str]):
    """A recipe's options as given, defaults filled in (the mapping, name -> text), and each
    one's checked, typed value (`port`, `text`, `flag`)."""

    def __init__(self, given: Mapping[str, str], typed: Mapping[str, Value]) -> None:
        super().__init__(given)
        self.typed = dict(typed)

    def port(self, name: str) -> int:
        v = self.typed[name]
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"the option {name} is not a port")
        return v

    def text(self, name: str) -> str:
        v = self.typed[name]
        if not isinstance(v, str):
            raise TypeError(f"the option {name} is not text")
        return v

    def flag(self, name: str) -> bool:
        v = self.typed[name]
        if not isinstance(v, bool):
            raise TypeError(f"the option {name} is not yes or no")
        return v
