"""The service catalog: the shipped manifests, the loader's checks, and `roost catalog`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from roost.catalog import Catalog, ManifestError, load, load_from, parse_manifest
from roost.catalog.loader import ENV_CATALOG_DIR, builtin_dir
from roost.cli.main import main

ROOST = Path(sys.executable).with_name("roost")

SEED = {
    "airsonic", "navidrome", "minidlna", "funkwhale", "static-blog", "wordpress", "peertube",
    "prosody", "matrix-synapse", "mail-in-a-box", "mastodon", "diaspora", "friendica",
    "gnu-social", "pleroma", "akkoma", "gotosocial", "ssb-oasis", "ssb-pub",
}
# The services roost deploys, by recipe id (the deploy layer owns the recipes themselves).
RECIPES = {
    "prosody", "ssb-pub", "ssb-oasis", "matrix-synapse", "minidlna", "static-blog", "wordpress",
    "navidrome", "gotosocial", "akkoma", "pleroma", "mail-in-a-box", "bovine",
    "friendica",
}
# Services with no public instance to join: personal media servers, a LAN-only server, a
# program that runs on the person's own computer, mail (Mail-in-a-Box is a box you run), and
# bovine (an experimental server for people who write their own tools: nobody runs one open).
NO_PUBLIC = {"airsonic", "navidrome", "minidlna", "wordpress", "mail-in-a-box", "ssb-oasis",
             "bovine"}

# Summaries are read aloud: plain words and light punctuation, no symbols, no emoji, and none
# of the abbreviations a speech synthesizer spells out or mangles.
SPEAKABLE = re.compile(r"^[A-Za-z0-9 ,.;:'()-]+$")
MANGLED = re.compile(r"\b(MB|GB|KB|TB|VPS|RAM|e\.g|i\.e|etc|approx|w/|vs)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_from(builtin_dir() / "manifests", builtin_dir() / "platforms.toml")


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real data folder, and start from the built-in catalog."""
    monkeypatch.setenv("ROOST_HOME", str(tmp_path / "roost-home"))
    monkeypatch.delenv(ENV_CATALOG_DIR, raising=False)


# ---------------------------------------------------------------- the shipped catalog


def test_builtin_catalog_loads_without_problems(catalog: Catalog) -> None:
    assert catalog.problems == ()
    assert load() == catalog  # load() is the built-in catalog when ROOST_CATALOG_DIR is unset
    files = sorted(p.name for p in (builtin_dir() / "manifests").glob("*.toml"))
    assert len(catalog.services) == len(files)


def test_every_seed_service_is_present(catalog: Catalog) -> None:
    assert set(catalog.ids) >= SEED, sorted(SEED - set(catalog.ids))
    assert len(set(catalog.ids)) == len(catalog.ids)


def test_recipes_exactly_for_the_services_roost_deploys(catalog: Catalog) -> None:
    with_recipe = {s.id: s.recipe for s in catalog.services if s.recipe is not None}
    assert set(with_recipe) == RECIPES
    assert all(with_recipe[sid] == sid for sid in RECIPES)


def test_mail_is_never_offered_at_home(catalog: Catalog) -> None:
    mail = [s for s in catalog.services if s.category == "email"]
    assert mail, "the catalog must offer e-mail"
    for s in mail:
        assert s.way("home") is None, s.id
        assert s.requirements.residential_ok is False, s.id
        assert "25/tcp" in s.requirements.inbound_ports
    miab = catalog.get("mail-in-a-box")
    assert miab is not None
    assert miab.requirements.os == ("ubuntu-22.04",)
    assert [a.kind for a in miab.adopt] == ["vps"]


def test_no_home_way_where_a_home_connection_will_not_do(catalog: Catalog) -> None:
    for s in catalog.services:
        if not s.requirements.residential_ok:
            assert s.way("home") is None, s.id


def test_lan_only_services_need_no_domain_and_stay_home(catalog: Catalog) -> None:
    lan = [s for s in catalog.services if s.requirements.lan_only]
    assert [s.id for s in lan] == ["minidlna"]
    for s in lan:
        assert s.requirements.needs_domain is False
        assert {a.kind for a in s.adopt} == {"home"}
        assert s.requirements.inbound_ports  # open on the LAN only


def test_replaced_by_points_to_a_maintained_service(catalog: Catalog) -> None:
    replaced = {s.id: s.upstream.replaced_by for s in catalog.services
                if s.upstream.replaced_by is not None}
    assert replaced["airsonic"] == "navidrome"
    assert "gnu-social" in replaced
    for sid, target_id in replaced.items():
        target = catalog.get(target_id)
        assert target is not None, sid
        assert target.upstream.status == "maintained", sid
        assert target.self_hostable, sid
        assert target.category == catalog.get(sid).category  # type: ignore[union-attr]
    maintained_protocols = {s.protocol for s in catalog.services
                            if s.upstream.status == "maintained"}
    for s in catalog.services:
        if s.upstream.status == "unmaintained" and s.protocol in maintained_protocols:
            assert s.upstream.replaced_by is not None, f"{s.id}: offer the maintained one"
        if s.upstream.status != "maintained":
            assert s.upstream.note, f"{s.id}: say why upstream is {s.upstream.status}"


def test_gnu_social_says_it_is_barely_maintained(catalog: Catalog) -> None:
    s = catalog.get("gnu-social")
    assert s is not None and s.upstream.status in ("slow", "unmaintained")
    assert "maintenance" in s.summary


def test_public_ways_say_where_to_find_an_instance(catalog: Catalog) -> None:
    for s in catalog.services:
        public = s.way("public")
        if s.id in NO_PUBLIC:
            assert public is None, s.id
            continue
        assert public is not None, f"{s.id} has public instances: offer them"
        assert public.where.startswith("https://"), s.id


def test_requirements_are_plausible(catalog: Catalog) -> None:
    for s in catalog.services:
        r = s.requirements
        assert s.adopt, s.id
        assert s.replaces, s.id
        assert s.sources and all(u.startswith("https://") for u in s.sources), s.id
        if s.self_hostable:
            assert r.arch and 16 <= r.ram_mb <= 8192 and r.disk_mb >= 10, s.id
            for port in r.inbound_ports:
                assert 0 < int(port.split("/")[0]) <= 65535
        if s.category in ("social", "video") and s.identities == ("fediverse",):
            assert r.needs_domain, f"{s.id} federates, so it needs a domain"
    heavy = {s.id for s in catalog.services if s.requirements.ram_mb >= 1024}
    assert {"mastodon", "peertube", "funkwhale", "diaspora", "mail-in-a-box"} <= heavy
    light = {s.id for s in catalog.services if s.requirements.ram_mb <= 128}
    assert {"prosody", "minidlna", "navidrome", "static-blog"} <= light


def test_categories_match_the_platforms_they_replace(catalog: Catalog) -> None:
    for s in catalog.services:
        cats = {p.category for pid in s.replaces if (p := catalog.platform(pid)) is not None}
        assert s.category in cats, s.id


def test_summaries_read_well_aloud(catalog: Catalog) -> None:
    for s in catalog.services:
        assert SPEAKABLE.match(s.name) and not MANGLED.search(s.name), s.name
        for text in (s.summary, *(a.summary for a in s.adopt)):
            assert SPEAKABLE.match(text), f"{s.id}: {text!r}"
            assert not MANGLED.search(text), f"{s.id}: {text!r}"
            assert text.endswith(".") and text.count(". ") == 0, f"{s.id}: one sentence"
            assert len(text) <= 200, s.id


def test_install_tables_read_aloud_and_offer_real_services(catalog: Catalog) -> None:
    """Every [install] reason is spoken as it stands; the lighter servers it offers exist."""
    with_install = {s.id for s in catalog.services if s.install is not None}
    assert with_install >= {"mastodon", "peertube", "funkwhale", "diaspora", "friendica",
                            "gnu-social", "airsonic"}
    for s in catalog.services:
        if s.install is None:
            continue
        why = s.install.why
        assert SPEAKABLE.match(why) and not MANGLED.search(why), f"{s.id}: {why!r}"
        assert why.endswith(".") and why.count(". ") == 0 and len(why) <= 200, s.id
        assert s.install.by_roost is (s.recipe is not None), s.id
        for other in s.install.instead:
            target = catalog.get(other)
            assert target is not None and target.self_hostable, (s.id, other)
        assert not s.install.guide or s.install.guide.startswith("https://"), s.id
    # Unmaintained services point at their replacement first.
    for sid in ("airsonic", "gnu-social"):
        svc = catalog.get(sid)
        assert svc is not None and svc.install is not None
        assert svc.install.instead[0] == svc.upstream.replaced_by
    # Heavy fediverse servers offer the light one that roost deploys today.
    for sid in ("mastodon", "friendica", "gnu-social", "diaspora"):
        svc = catalog.get(sid)
        assert svc is not None and svc.install is not None and "gotosocial" in svc.install.instead
    # What the research found: only Friendica and GNU social ship an unattended installer.
    assert {s.id for s in catalog.services if s.install and s.install.unattended} == {
        "friendica", "gnu-social"}


def test_install_instead_naming_an_unmaintained_service_is_left_out(tmp_path: Path) -> None:
    src = builtin_dir() / "manifests"
    for name in ("mastodon.toml", "gotosocial.toml", "akkoma.toml", "pleroma.toml"):
        shutil.copy(src / name, tmp_path)
    gts = (tmp_path / "gotosocial.toml").read_text("utf-8")
    (tmp_path / "gotosocial.toml").write_text(
        _edit(gts, 'status = "maintained"', 'status = "slow"'), "utf-8")
    cat = load_from(tmp_path, builtin_dir() / "platforms.toml")
    assert "mastodon" not in cat.ids and "gotosocial" in cat.ids
    assert cat.problems == ("mastodon.toml: field 'install.instead' names 'gotosocial', "
                            "whose upstream is not maintained",)


def test_roost_catalog_json_carries_the_install_table() -> None:
    out = _roost("catalog", "mastodon", "--json")
    assert out.returncode == 0, out.stderr
    install = json.loads(out.stdout)["install"]
    assert install["by_roost"] is False and "gotosocial" in install["instead"]
    assert install["guide"] == "https://docs.joinmastodon.org/admin/install/"


def test_deployable_services_say_what_they_ask_and_what_comes_next(catalog: Catalog) -> None:
    for s in catalog.services:
        if s.recipe is not None:
            assert s.asks, s.id
            assert len(s.next_steps) >= 2, s.id


# ---------------------------------------------------------------- roost catalog (the CLI)


def _roost(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(ROOST), *args], capture_output=True, text=True, env=full_env,
                          timeout=60, check=False)


def test_roost_catalog_lists_one_line_per_service(catalog: Catalog) -> None:
    out = _roost("catalog")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == len(catalog.services)
    assert {line.split(":", 1)[0] for line in lines} == set(catalog.ids)
    airsonic = next(line for line in lines if line.startswith("airsonic:"))
    assert "unmaintained" in airsonic and "Navidrome" in airsonic


def test_roost_catalog_json(catalog: Catalog) -> None:
    out = _roost("catalog", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, list) and len(data) == len(catalog.services)
    for entry in data:
        for key in ("id", "name", "category", "replaces", "adopt", "requirements"):
            assert key in entry, key
        assert "file" not in entry
        assert all({"kind", "summary", "where"} <= set(a) for a in entry["adopt"])
    by_id = {e["id"]: e for e in data}
    assert by_id["mail-in-a-box"]["requirements"]["residential_ok"] is False
    assert by_id["minidlna"]["requirements"]["lan_only"] is True
    assert by_id["airsonic"]["upstream"]["replaced_by"] == "navidrome"


def test_roost_catalog_one_service_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "mail-in-a-box"]) == 0
    text = capsys.readouterr().out
    assert "Fine on a home connection: no." in text
    assert "Systems: ubuntu-22.04." in text
    assert main(["catalog", "prosody", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recipe"] == "prosody"


def test_roost_catalog_unknown_service_is_one_line_exit_2() -> None:
    out = _roost("catalog", "myspace")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "myspace" in out.stderr
    assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- broken manifests

GOOD = (builtin_dir() / "manifests" / "prosody.toml").read_text("utf-8")


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


_NO_RECIPE = _edit(GOOD, 'recipe = "prosody"\n', "")
_INSTALL = """
[install]
by_roost = false
why = "It is a test."
instead = {instead}
guide = "https://prosody.im/doc/install"
"""

# (what is broken, the manifest text, the field the one-line message must name)
BROKEN = [
    ("bad TOML", _edit(GOOD, 'name = "Prosody (XMPP chat)"', 'name = "Prosody'), "not valid TOML"),
    ("missing field", _edit(GOOD, 'protocol = "XMPP"\n', ""), "field 'protocol' is missing"),
    ("unknown field", 'colour = "blue"\n' + GOOD, "unknown field 'colour'"),
    ("unknown nested field", _edit(GOOD, "ram_mb = 64", "ram_mb = 64\nram_gb = 1"),
     "unknown field 'requirements.ram_gb'"),
    ("wrong type", _edit(GOOD, "ram_mb = 64", 'ram_mb = "lots"'),
     "field 'requirements.ram_mb' must be a whole number"),
    ("wrong list type", _edit(GOOD, 'identities = ["xmpp"]', 'identities = "xmpp"'),
     "field 'identities' must be a list of text"),
    ("unknown identity kind", _edit(GOOD, 'identities = ["xmpp"]', 'identities = ["myspace"]'),
     "field 'identities' has 'myspace'"),
    ("unknown platform", _edit(GOOD, 'replaces = ["whatsapp"', 'replaces = ["myspace"'),
     "field 'replaces' has 'myspace'"),
    ("bad replaced_by", _edit(_edit(GOOD, 'status = "maintained"', 'status = "slow"'),
                              'note = "', 'replaced_by = "ejabberd"\nnote = "'),
     "field 'upstream.replaced_by' names 'ejabberd'"),
    ("bad port", _edit(GOOD, '"5269/tcp"', '"70000/tcp"'), "field 'requirements.inbound_ports'"),
    ("bad arch", _edit(GOOD, '"armv7l"]', '"sparc"]'), "field 'requirements.arch' has 'sparc'"),
    ("public way without where", _edit(GOOD, 'where = "https://providers.xmpp.net/"\n', ""),
     "field 'adopt[0].where'"),
    ("home way for a residential_ok false service",
     _edit(GOOD, "residential_ok = true", "residential_ok = false"), "field 'adopt' offers a home"),
    ("lan_only with a domain", _edit(GOOD, "residential_ok = true",
                                     "residential_ok = true\nlan_only = true"),
     "field 'requirements.needs_domain' must be false"),
    ("id with a trailing newline", _edit(GOOD, 'id = "prosody"', 'id = "prosody\\n"'),
     "field 'id' has the wrong form"),
    ("field name with a newline", '"two\\nlines" = 1\n' + GOOD,
     "unknown field 'two\\nlines'"),
    ("install instead names a missing service", _NO_RECIPE + _INSTALL.format(
        instead='["ejabberd"]'), "field 'install.instead' names 'ejabberd', which is not in"),
    ("install instead names an id of the wrong form", _NO_RECIPE + _INSTALL.format(
        instead='["Ejabberd!"]'), "field 'install.instead' has 'Ejabberd!'"),
    ("install instead names itself", _NO_RECIPE + _INSTALL.format(instead='["prosody"]'),
     "field 'install.instead' names the service itself"),
    ("install by_roost false beside a recipe", GOOD + _INSTALL.format(instead="[]"),
     "field 'install.by_roost' is false, but the service names recipe 'prosody'"),
    ("install by_roost true without a recipe",
     _NO_RECIPE + _INSTALL.format(instead="[]").replace("by_roost = false", "by_roost = true"),
     "field 'install.by_roost' is true, but the service names no recipe"),
    ("install without why", _NO_RECIPE + _INSTALL.format(instead="[]").replace(
        'why = "It is a test."\n', ""), "field 'install.why' is missing"),
    ("install unknown field", _NO_RECIPE + _INSTALL.format(instead="[]") + "colour = 1\n",
     "unknown field 'install.colour'"),
    ("install guide not a web address", _NO_RECIPE + _INSTALL.format(instead="[]").replace(
        "https://prosody.im/doc/install", "ftp://x"), "field 'install.guide' has the wrong"),
    ("install is not a table", 'install = "no"\n' + _NO_RECIPE,
     "field 'install' must be a table"),
]


@pytest.mark.parametrize(("what", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_manifest_is_left_out_with_one_line(tmp_path: Path, what: str, text: str,
                                                   expected: str) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "prosody.toml").write_text(text, "utf-8")
    shutil.copy(builtin_dir() / "manifests" / "navidrome.toml", folder)
    cat = load_from(folder, builtin_dir() / "platforms.toml")
    assert cat.ids == ("navidrome",), what
    assert len(cat.problems) == 1
    line = cat.problems[0]
    assert line.startswith("prosody.toml: "), line
    assert expected in line, line
    assert "\n" not in line and "\r" not in line and len(line) < 500


def test_parse_manifest_raises_manifest_error_naming_file_and_field() -> None:
    text = _edit(GOOD, "time_minutes = 30", "time_minutes = 30.5")
    with pytest.raises(ManifestError) as err:
        parse_manifest(text, "prosody.toml", ["whatsapp", "discord", "telegram"])
    assert str(err.value) == ("prosody.toml: field 'time_minutes' must be a whole number, "
                              "not a number.")


def test_id_must_match_file_name(tmp_path: Path) -> None:
    (tmp_path / "chat.toml").write_text(GOOD, "utf-8")
    cat = load_from(tmp_path, builtin_dir() / "platforms.toml")
    assert cat.services == ()
    assert cat.problems == ("chat.toml: field 'id' must match the file name, not 'prosody'",)


def test_replaced_by_an_unmaintained_service_is_left_out(tmp_path: Path) -> None:
    src = builtin_dir() / "manifests"
    for name in ("airsonic.toml", "navidrome.toml"):
        shutil.copy(src / name, tmp_path)
    nav = (tmp_path / "navidrome.toml").read_text("utf-8")
    (tmp_path / "navidrome.toml").write_text(
        _edit(nav, 'status = "maintained"', 'status = "slow"'), "utf-8")
    cat = load_from(tmp_path, builtin_dir() / "platforms.toml")
    assert cat.ids == ("navidrome",)
    assert cat.problems == ("airsonic.toml: field 'upstream.replaced_by' names 'navidrome', "
                            "whose upstream is not maintained either",)


def test_unreadable_manifests_are_reported_not_fatal(tmp_path: Path) -> None:
    shutil.copy(builtin_dir() / "manifests" / "prosody.toml", tmp_path)
    (tmp_path / "latin1.toml").write_bytes(b'id = "caf\xe9"\n')
    (tmp_path / "folder.toml").mkdir()
    cat = load_from(tmp_path, builtin_dir() / "platforms.toml")
    assert cat.ids == ("prosody",)
    assert sorted(p.split(":")[0] for p in cat.problems) == ["folder.toml", "latin1.toml"]


def _catalog_dir(tmp_path: Path, broken: str) -> Path:
    base = tmp_path / "catalog"
    (base / "manifests").mkdir(parents=True)
    shutil.copy(builtin_dir() / "platforms.toml", base)
    for name in ("prosody.toml", "navidrome.toml", "minidlna.toml"):
        shutil.copy(builtin_dir() / "manifests" / name, base / "manifests")
    (base / "manifests" / "navidrome.toml").write_text(broken, "utf-8")
    return base


def test_roost_catalog_still_works_with_a_broken_manifest(tmp_path: Path) -> None:
    nav = (builtin_dir() / "manifests" / "navidrome.toml").read_text("utf-8")
    base = _catalog_dir(tmp_path, _edit(nav, "ram_mb = 128", "ram_mb = -1"))
    out = _roost("catalog", env={ENV_CATALOG_DIR: str(base)})
    assert out.returncode == 0
    assert [line.split(":")[0] for line in out.stdout.splitlines()] == ["minidlna", "prosody"]
    assert out.stderr == ("roost: left out of the catalog: navidrome.toml: field "
                          "'requirements.ram_mb' must be between 0 and 1000000, not -1\n")
    js = _roost("catalog", "--json", env={ENV_CATALOG_DIR: str(base)})
    assert js.returncode == 0
    assert [e["id"] for e in json.loads(js.stdout)] == ["minidlna", "prosody"]
    assert "navidrome.toml" in js.stderr


def test_roost_catalog_through_main_with_env_override(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    base = _catalog_dir(tmp_path, "this is = not = toml")
    monkeypatch.setenv(ENV_CATALOG_DIR, str(base))
    assert main(["catalog"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert err.startswith("roost: left out of the catalog: navidrome.toml: not valid TOML (")
    assert err.count("\n") == 1


def test_missing_platform_list_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    out = _roost("catalog", env={ENV_CATALOG_DIR: str(tmp_path)})
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "platforms.toml" in out.stderr and ENV_CATALOG_DIR in out.stderr
    assert "Traceback" not in out.stderr


def test_broken_platform_list_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "platforms.toml").write_text(
        '[[platform]]\nid = "a1"\nname = "A"\ncategory = "x"\n'
        '[[platform]]\nid = "a1"\nname = "B"\ncategory = "y"\n', "utf-8")
    with pytest.raises(ManifestError, match=re.escape("field 'platform.id' repeats 'a1'")):
        load_from(tmp_path, tmp_path / "platforms.toml")
