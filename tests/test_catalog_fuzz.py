"""Fuzzing parse_manifest: whatever the text, it returns a Service or raises ManifestError.

The error is always one line that names the file; no other exception ever escapes, so one
odd manifest can never stop roost from starting.
"""

from __future__ import annotations

import copy
import datetime as dt
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.catalog import ManifestError, Service, load_from, parse_manifest
from roost.catalog.loader import builtin_dir, parse_platforms

PLATFORMS = [p.id for p in parse_platforms((builtin_dir() / "platforms.toml").read_text())]
MANIFESTS = {p.name: p.read_text("utf-8")
             for p in sorted((builtin_dir() / "manifests").glob("*.toml"))}
FILES = st.sampled_from(sorted(MANIFESTS))

SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Any value TOML can hold, nested a few levels.
SCALARS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "prosody", "home", "public", "vps", "xmpp", "x86_64", "80/tcp",
                     "maintained", "unmaintained", "https://example.org/", "navidrome",
                     "prosody\n", "99999/tcp", "0/tcp", "ubuntu-22.04"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.times(),
)
KEYS = st.one_of(st.text(max_size=12), st.sampled_from(
    ["id", "name", "kind", "where", "summary", "ram_mb", "arch", "lan_only", "replaced_by",
     "recipe", "adopt", "requirements", "upstream", "status"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


def _check(text: str, file: str) -> None:
    try:
        result = parse_manifest(text, file, PLATFORMS)
    except ManifestError as exc:
        line = str(exc)
        assert "\n" not in line and "\r" not in line, line
        assert line.startswith(f"{file}: "), line
        assert len(line) < 1000
        assert exc.exit_code == 2
        return
    assert isinstance(result, Service)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into the parsed manifest (table keys and list indexes)."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out += _paths(value, (*prefix, key))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A shipped manifest with a few of its values replaced, removed or added to."""
    file = draw(FILES)
    data = tomllib.loads(MANIFESTS[file])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(KEYS)] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return tomli_w.dumps(data), file


@SETTINGS
@given(mutated())
def test_mutated_manifests_give_a_service_or_one_line(case: tuple[str, str]) -> None:
    text, file = case
    _check(text, file)


@SETTINGS
@given(st.dictionaries(KEYS, VALUES, max_size=8), FILES)
def test_random_toml_documents_give_one_line(data: dict[str, Any], file: str) -> None:
    _check(tomli_w.dumps(data), file)


@st.composite
def damaged_text(draw: st.DrawFn) -> tuple[str, str]:
    """A shipped manifest's text with characters cut, inserted or swapped."""
    file = draw(FILES)
    text = MANIFESTS[file]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        text = text[:i] + draw(st.text(max_size=6)) + text[j:]
    return text, file


@SETTINGS
@given(damaged_text())
def test_damaged_text_gives_a_service_or_one_line(case: tuple[str, str]) -> None:
    text, file = case
    _check(text, file)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(min_size=1, max_size=20))
def test_any_text_and_any_file_name_give_one_line(text: str, name: str) -> None:
    try:
        parse_manifest(text, name, PLATFORMS)
    except ManifestError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)


def test_deep_nesting_is_a_manifest_error_not_a_crash() -> None:
    text = "id = " + "[" * 100_000 + "]" * 100_000
    _check(text, "deep.toml")


def test_the_shipped_manifests_survive_a_round_trip() -> None:
    """The mutation strategy starts from valid ground: each shipped manifest parses after
    being re-serialised, so a failure above is the mutation's doing."""
    for file, text in MANIFESTS.items():
        data = copy.deepcopy(tomllib.loads(text))
        assert isinstance(parse_manifest(tomli_w.dumps(data), file, PLATFORMS), Service)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated(), damaged_text()), min_size=1, max_size=5))
def test_load_from_a_folder_of_damaged_manifests_never_raises(
        cases: list[tuple[str, str]]) -> None:
    """The whole catalog: every manifest either loads or is named in exactly one problem."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = {file: text for text, file in cases}
        for file, text in written.items():
            (folder / file).write_text(text, "utf-8")
        cat = load_from(folder, builtin_dir() / "platforms.toml")
        named = [p.split(": ", 1)[0] for p in cat.problems]
        assert sorted([s.file for s in cat.services] + named) == sorted(written)
        assert all("\n" not in p for p in cat.problems)
