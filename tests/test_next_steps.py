"""Every command roost tells a person to run is runnable as printed.

- Commands on the host (in backticks in a recipe's next steps) go through `sudo` (or, when
  roost logs in as root, need none: `runuser` for a service user), and name their program by
  its full path unless a Debian package puts it on the PATH: one the recipe installs, or one the
  same sentence installs first. The two commands Synapse and Prosody print are run for real on
  a booted host in tests/test_service_matrix_synapse.py and tests/test_service_prosody.py.
- Commands for roost itself (`roost ...` in backticks, anywhere in roost's code or the catalog)
  are accepted by roost's own parser.
- The catalog's next steps (shown before roost knows the host) name no host command.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from roost.catalog import load as load_catalog
from roost.cli.main import build_parser
from roost.core.errors import RoostError
from roost.deploy.facts import Facts
from roost.deploy.recipe import Recipe, TargetHost
from roost.deploy.recipes import RECIPES
from roost.deploy.steps import InstallPackages
from roost.keys import create

ROOT = Path(__file__).resolve().parent.parent
BACKTICKED = re.compile(r"`([^`]+)`")

# Programs a next step may name without a path, and the Debian package that puts each on the
# PATH (None: every Debian host has it).
ON_PATH = {"apt-get": None, "systemctl": None, "prosodyctl": "prosody", "node": "nodejs",
           "certbot": "certbot", "w3m": "w3m"}
# Commands a person runs on their own computer, not on the host.
ON_THIS_COMPUTER = ("roost ", "ssh ")
# Commands a person runs on the host as themselves (no root needed).
AS_THEMSELVES = ("w3m",)


def identities() -> dict[str, Any]:
    made = {
        "matrix": create("matrix", server_name="example.org"),
        "alice": create("xmpp", "alice", jid="alice@chat.example.org"),
        "social": create("fediverse", "social", handle="robin", domain="social.example.org",
                         email="robin@example.org", software="gotosocial"),
        "ssb": create("ssb", profile_name="Robin"),
        "wordpress": create("login", "wordpress"),
        "friendica": create("login", "friendica", user="robin", email="robin@example.org"),
        "mail": create("login", "mail", email="me@example.org"),
    }
    return {k: v.info() for k, v in made.items()}


OPTIONS = {"akkoma": {"domain": "social.example.org"}, "pleroma": {"domain": "social.example.org"},
           "bovine": {"domain": "social.example.org"}, "friendica": {"domain": "f.example.org"},
           "gotosocial": {"domain": "social.example.org"},
           "wordpress": {"domain": "blog.example.org"}}


def target(recipe: str, sudo: str) -> TargetHost:
    ubuntu = recipe == "mail-in-a-box"
    facts = Facts(hostname="box", os_id="ubuntu" if ubuntu else "debian",
                  os_version="22.04" if ubuntu else "12",
                  os_codename="jammy" if ubuntu else "bookworm", arch="x86_64", ram_mb=4096,
                  root_free_mb=20000, var_free_mb=20000, pi_model=None, init="systemd",
                  sudo=sudo)
    return TargetHost("vps", "box.example.org" if ubuntu else "10.0.0.5", facts)


def built(recipe: str, host: Any) -> Recipe:
    return RECIPES[recipe](host, dict(OPTIONS.get(recipe, {})), identities())


def commands(recipe: Recipe) -> list[tuple[str, str]]:
    """(the sentence, a command in it) for every backticked command in the next steps."""
    return [(step, cmd) for step in recipe.next_steps for cmd in BACKTICKED.findall(step)]


def program(words: list[str]) -> tuple[list[str], str]:
    """(the words before the program: sudo, runuser, env..., the program)."""
    i = 0
    if words[i] == "sudo":
        i += 1
        if words[i] == "-u":
            i += 2
    elif words[i] == "runuser":
        assert words[i + 1] == "-u" and words[i + 3] == "--", words
        i += 4
    if words[i] == "env":
        i += 1
        if words[i] == "-C":
            i += 2
        while "=" in words[i]:
            i += 1
    return words[:i], words[i]


@pytest.mark.parametrize("sudo", ["nopasswd", "root", None])
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_host_commands_in_next_steps_run_as_printed(recipe: str, sudo: str | None) -> None:
    host = None if sudo is None else target(recipe, sudo)
    try:
        made = built(recipe, host)
    except RoostError as exc:  # only Mail-in-a-Box needs the host's facts
        assert recipe == "mail-in-a-box" and host is None, exc
        return
    installed = {p for s in made.steps if isinstance(s, InstallPackages) for p in s.packages}
    for sentence, cmd in commands(made):
        if cmd.startswith(ON_THIS_COMPUTER):
            continue
        words = shlex.split(cmd)
        before, prog = program(words)
        assert prog.startswith("/") or prog in ON_PATH, \
            f"{recipe}: {prog} is not on the PATH: name it by its full path in `{cmd}`"
        package = ON_PATH.get(prog)
        if package is not None and not prog.startswith("/"):
            earlier = sentence[:sentence.index(cmd)]
            assert package in installed or f"apt-get install {package}" in earlier, \
                f"{recipe}: nothing installs {package} before `{cmd}`"
        if prog in AS_THEMSELVES:
            assert before == [], cmd
        elif sudo == "root":
            assert "sudo" not in before, f"{recipe}: a root login may have no sudo: `{cmd}`"
            assert before[:1] in ([], ["runuser"], ["env"]), cmd
        else:
            assert before[:1] == ["sudo"], f"{recipe}: `{cmd}` needs root or a service user"


def test_service_users_are_reached_with_their_own_name() -> None:
    """The Synapse command runs as synapse (it reads the 0600 homeserver.yaml), through sudo,
    or runuser on a root login: the exact forms the container test runs."""
    register = ("/opt/synapse/venv/bin/register_new_matrix_user -c /etc/synapse/homeserver.yaml "
                "http://127.0.0.1:8008")
    for sudo, form in ((None, f"sudo -u synapse {register}"),
                       ("nopasswd", f"sudo -u synapse {register}"),
                       ("root", f"runuser -u synapse -- {register}")):
        made = built("matrix-synapse", None if sudo is None else target("matrix-synapse", sudo))
        assert form in [c for _, c in commands(made)], commands(made)


def _strings(path: Path) -> list[str]:
    """The text of every string a person may be shown: a .py file's literals (f-string fields
    as {x}, adjacent literals joined as Python joins them; docstrings left out), a .toml
    file's values."""
    text = path.read_text("utf-8")
    if path.suffix == ".toml":
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(tomllib.loads(text))
        return found
    tree = ast.parse(text)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a docstring, for the people who read the code
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{x}"
                               for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip:
            out.append(node.value)
    return out


def _roost_commands() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    files = [p for d in ("catalog", "cli", "core", "deploy", "keys", "plan", "tui")
             for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".toml")
             and "templates" not in p.parts]
    for path in files:
        for text in _strings(path):
            for cmd in BACKTICKED.findall(text):
                if cmd.startswith("roost "):
                    found.append((str(path.relative_to(ROOT)), cmd))
    return found


def test_every_roost_command_roost_names_parses() -> None:
    found = _roost_commands()
    assert len(found) > 15, found
    parser = build_parser()
    for where, cmd in found:
        # f-string fields and placeholders stand for a value the person or the code fills in.
        words = shlex.split(cmd.replace("{x}", "x1"))[1:]
        words = [w.replace("FILE", "x1") for w in words]
        try:
            parser.parse_args(words)
        except SystemExit as exc:
            if exc.code != 0:  # --help exits 0
                pytest.fail(f"{where}: `{cmd}` is not a roost command")


def test_catalog_next_steps_name_no_host_command() -> None:
    for service in load_catalog().services:
        for step in service.next_steps:
            assert "`" not in step, (service.id, step)
            for word in ("invite.create", "tootctl accounts", "funkwhale-manage",
                         "install_cli.php", "register_new_matrix_user"):
                assert word not in step, (service.id, step)
