"""Messages that point somewhere and read well.

Every `roost ...` command named anywhere a person reads it (messages, hints and help text in
the Python sources, recipe next steps, catalog manifests, README.md, docs/*.md) is parsed by the
real argparse parser, with its words and flags as written: a command or a flag that does not
exist fails here. Then: a closed pipe ends roost quietly, articles and plurals come from one
helper, no Python repr reaches a person, the no-SSH-key message names the way out, and the
sudo password is asked only once the connection works.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.pty_run import pty_text

from roost.cli.main import build_parser, main
from roost.core.paths import data_dir
from roost.core.text import a, count
from roost.deploy.hosts import HOSTS_FILE
from roost.keys.model import a_kind

if TYPE_CHECKING:
    from sshd import Sshd

pytest_plugins = ["sshd"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("roost", "core", "catalog", "plan", "keys", "deploy", "tui", "cli")
PLACEHOLDER = "VALUE"
"""What an f-string's `{...}` becomes: an argument, like NAME or ID in the docs."""
SHELL_STOP = {"|", "||", "&&", ";", ">", "<", "2>", "#", "&"}
SENTENCE_END = ".,;:!?)"


# -- the parser's vocabulary ----------------------------------------------------------------

@cache
def vocabulary() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(top-level commands, every subcommand word at any depth, flags that take a value)."""
    import argparse

    top: set[str] = set()
    words: set[str] = set()
    valued: set[str] = set()

    def walk(parser: argparse.ArgumentParser, depth: int) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    words.add(name)
                    if depth == 0:
                        top.add(name)
                    walk(sub, depth + 1)
            elif action.option_strings and action.nargs != 0:
                valued.update(action.option_strings)

    walk(build_parser(), 0)
    return frozenset(top), frozenset(words), frozenset(valued)


def parse_problem(words: list[str]) -> str | None:
    """None when `roost WORDS` parses as written, else argparse's complaint."""
    def attempt(argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                build_parser().parse_args(argv)
            except SystemExit as exc:
                return (0 if exc.code in (0, None) else 2), err.getvalue().strip()
        return 0, ""

    code, message = attempt(words)
    if code == 0:
        return None
    _, subwords, _ = vocabulary()
    if "required" in message and all(w in subwords for w in words):
        # A group named on its own (`roost host`): its help is what it leads to.
        code, _ = attempt([*words, "--help"])
        if code == 0:
            return None
    return message or "does not parse"


# -- finding commands in text ---------------------------------------------------------------

_QUOTED = re.compile(r"`(roost(?:\s[^`]*)?)`|'(roost\s[^']*)'")
_BARE = re.compile(r"(?<![\w./@`'-])roost((?:[ \t]+(?!roost\b)[^\s`]+)+)")


def _tokens(text: str) -> list[str]:
    try:
        raw = shlex.split(text)
    except ValueError:
        raw = text.split()
    out: list[str] = []
    for tok in raw:
        if tok in SHELL_STOP or tok.startswith("#"):
            break
        if tok.startswith("[") and tok.endswith("]") and tok.count("[") == 1:
            tok = tok[1:-1]  # an optional part: `[--json]`
        if tok.startswith("[") and tok.count("[") > tok.count("]"):
            tok = tok[1:]
        if tok.endswith("]") and tok.count("]") > tok.count("["):
            tok = tok[:-1]
        if tok and tok not in ("...", "…"):
            out.append(tok)
    return out


def _is_command_word(word: str) -> bool:
    """Whether prose's `roost WORD` names a command (or means to: `deplyo` for `deploy`),
    rather than roost doing something (`roost does`, `roost deploys`, `roost starts`).
    In backticks every `roost ...` is a command."""
    top, _, _ = vocabulary()
    if word.startswith("-") or word in top:
        return True
    if word.endswith("s") and word.removesuffix("s").removesuffix("e") in top:
        return False  # a verb: "roost deploys to the host"
    return bool(difflib.get_close_matches(word, top, n=1, cutoff=0.85))


def _bare_command(rest: str) -> list[str] | None:
    """A command in prose, without quotes: "See it with: roost next". The words up to the
    end of the sentence, cut to the longest part that parses, but never before its last
    flag: `roost host facts NAME --trust X` must parse with --trust."""
    _, _, valued = vocabulary()
    run: list[str] = []
    for tok in rest.split():
        if tok in SHELL_STOP:
            break
        end = tok.rstrip(SENTENCE_END)
        if end:
            run.append(end)
        if end != tok and not tok.endswith(("…", "...")):
            break
    if not run or not _is_command_word(run[0]):
        return None
    need = 1
    for i, tok in enumerate(run):
        if tok.startswith("-"):
            need = i + 1 + (1 if tok.split("=")[0] in valued and "=" not in tok else 0)
    need = min(need, len(run))
    for n in range(len(run), need - 1, -1):
        if parse_problem(run[:n]) is None:
            return run[:n]
    return run[:need]


def commands_in(text: str) -> Iterator[list[str]]:
    """Every `roost ...` command named in a piece of text, as argument lists."""
    for m in _QUOTED.finditer(text):
        body = m.group(1) or m.group(2)
        words = _tokens(body)[1:]
        if words and words[0].startswith(PLACEHOLDER):
            continue  # `roost {command}`: nothing to check
        yield words
    rest = _QUOTED.sub(" ", text)
    for m in _BARE.finditer(rest):
        words = _bare_command(m.group(1))
        if words is not None and not words[0].startswith(PLACEHOLDER):
            yield words


def _python_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Every string literal of a module, f-strings with each `{...}` as a placeholder."""
    tree = ast.parse(path.read_text("utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                inside.add(id(v))
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    parts.append(v.value)
                elif isinstance(v, ast.FormattedValue):
                    parts.append(PLACEHOLDER)
                    for sub in ast.walk(v):
                        inside.add(id(sub))
            yield node.lineno, "".join(parts)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in inside):
            yield node.lineno, node.value


def _toml_texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _toml_texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _toml_texts(v)


def _markdown_texts(text: str) -> Iterator[tuple[int, str]]:
    """Code spans and the lines of fenced code blocks: where a Markdown file names commands."""
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            body = line.strip().removeprefix("$ ")
            if body.startswith("roost"):
                yield n, f"`{body}`"
        else:
            yield from ((n, m.group(0)) for m in re.finditer(r"`[^`]+`", line))


def named_commands() -> list[tuple[str, str]]:
    """(where, command) for every `roost ...` command a person can read."""
    found: list[tuple[str, str]] = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for line, text in _python_texts(path):
                found += [(f"{path.relative_to(ROOT)}:{line}", shlex.join(["roost", *w]))
                          for w in commands_in(text)]
    # Data files (templates are the host's files, not roost's words).
    for path in [*sorted((ROOT / "catalog").rglob("*.toml")),
                 *sorted((ROOT / "deploy" / "recipes").glob("*.toml"))]:
        for text in _toml_texts(tomllib.loads(path.read_text("utf-8"))):
            found += [(str(path.relative_to(ROOT)), shlex.join(["roost", *w]))
                      for w in commands_in(text)]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
                 *sorted(ROOT.glob("*/README.md"))]:
        for line, text in _markdown_texts(path.read_text("utf-8")):
            found += [(f"{path.relative_to(ROOT)}:{line}", shlex.join(["roost", *w]))
                      for w in commands_in(text)]
    return sorted(set(found))


def test_the_collector_finds_commands_in_every_kind_of_source() -> None:
    """The scan is not empty-handed: it sees commands in code, manifests and docs, in
    backticks and in prose, with placeholders."""
    found = named_commands()
    wheres = {w.split(":")[0] for w, _ in found}
    assert any(w.startswith("cli/") for w in wheres)
    assert any(w.startswith("deploy/recipes/") for w in wheres)
    assert "README.md" in wheres
    commands = {c for _, c in found}
    assert "roost next" in commands  # "See it with: roost next"
    assert "roost host forget VALUE" in commands  # an f-string
    assert len(found) > 40


@pytest.mark.parametrize(("text", "expected"), [
    ("connect once with `roost hosts check NAME`", [["hosts", "check", "NAME"]]),
    ("or pass `roost host facts pi --trust SHA256:x`", [["host", "facts", "pi", "--trust",
                                                         "SHA256:x"]]),
    ("Run roost next for the details.", [["next"]]),
    ("roost does not know your situation yet", []),
    ("`roost deploy ID --host NAME [--dry-run]`", [["deploy", "ID", "--host", "NAME",
                                                     "--dry-run"]]),
    ("To skip it: roost skip VALUE --reason TEXT.", [["skip", "VALUE", "--reason", "TEXT"]]),
    ("Run 'roost catalog' to list them", [["catalog"]]),
    ("make one with roost keys new ssh, then", [["keys", "new", "ssh"]]),
    ("When done: roost done VALUE. To skip it: roost skip VALUE --reason TEXT.",
     [["done", "VALUE"], ["skip", "VALUE", "--reason", "TEXT"]]),
])
def test_commands_are_found_as_written(text: str, expected: list[list[str]]) -> None:
    assert list(commands_in(text)) == expected


@pytest.mark.parametrize(("words", "ok"), [
    (["host", "facts", "NAME"], True),
    (["hosts", "check", "NAME"], False),
    (["deploy", "ID", "--no-such-flag"], False),
    (["host"], True),
    (["keys", "new", "KIND", "--name", "NAME"], True),
])
def test_parse_problem_tells_real_commands_from_wrong_ones(words: list[str], ok: bool) -> None:
    assert (parse_problem(words) is None) == ok


def test_every_command_a_person_reads_exists() -> None:
    """Each `roost ...` in a message, hint, help text, manifest, README or docs parses with
    its words and flags as written."""
    bad = []
    for where, command in named_commands():
        problem = parse_problem(shlex.split(command)[1:])
        if problem is not None:
            bad.append(f"{where}: `{command}`: {problem}")
    assert not bad, "commands that do not exist:\n" + "\n".join(bad)


# -- a closed pipe ---------------------------------------------------------------------------

def roost_env(home: Path) -> dict[str, str]:
    return {**os.environ, "ROOST_HOME": str(home)}


def test_a_pipe_closed_before_roost_writes_ends_it_quietly(tmp_path: Path) -> None:
    """`roost catalog --json | head -1` when head has already gone: no message, and the
    status of a program stopped by SIGPIPE, as `cat` and `git` give."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "roost", "catalog", "--json"], stdout=w,
                              stderr=subprocess.PIPE, env=roost_env(tmp_path), timeout=60)
    finally:
        os.close(w)
    assert proc.stderr.decode() == ""
    assert proc.returncode == 141


def test_roost_into_head_through_the_shell_prints_only_heads_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{shlex.quote(sys.executable)} -m roost catalog --json | head -1; "
        f"{shlex.quote(sys.executable)} -m roost catalog | head -c 10",
        shell=True, capture_output=True, text=True, env=roost_env(tmp_path), timeout=60)
    assert proc.stderr == ""
    assert proc.stdout.startswith("[")


# -- articles and plurals, from one helper ---------------------------------------------------

@pytest.mark.parametrize(("phrase", "expected"), [
    ("Secure Scuttlebutt identity", "a Secure Scuttlebutt identity"),
    ("SSH key", "an SSH key"),
    ("XMPP chat account", "an XMPP chat account"),
    ("URL", "a URL"),
    ("Tor onion service key", "a Tor onion service key"),
    ("easy step", "an easy step"),
    ("user", "a user"),
    ("hour", "an hour"),
])
def test_articles_follow_how_the_phrase_is_read(phrase: str, expected: str) -> None:
    assert a(phrase) == expected


def test_identity_kinds_take_the_right_article() -> None:
    assert a_kind("ssb") == "a Secure Scuttlebutt identity"
    assert a_kind("ssh") == "an SSH key"
    assert a_kind("xmpp") == "an XMPP chat account"


def test_counts_are_singular_for_one() -> None:
    assert count(1, "step") == "1 step"
    assert count(0, "step") == "0 steps"
    assert count(2, "identity", "identities") == "2 identities"


def test_a_one_step_deploy_says_1_step() -> None:
    from roost.deploy.events import Finished, as_text
    from roost.deploy.steps import InstallPackages

    assert "1 step applied" in as_text(Finished(True, "x", 1, 0))
    assert "(1 step checked)" in as_text(Finished(True, "x", 0, 1))
    assert InstallPackages(("prosody",)).describe() == "install the package prosody"


# -- over a real sshd: no key, --trust, the sudo password, host names ------------------------

def _cli_env(home: Path, user_home: Path, state: Path) -> dict[str, str]:
    env = {**os.environ, "ROOST_HOME": str(home), "HOME": str(user_home), "TERM": "dumb",
           "ROOST_HOST_STATE_DIR": str(state)}
    env.pop("SSH_AUTH_SOCK", None)
    return env


@pytest.fixture()
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "roost-home"
    monkeypatch.setenv("ROOST_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("ROOST_HOST_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (tmp_path / "user-home").mkdir()
    return home


@pytest.mark.slow
def test_no_ssh_key_says_so_and_how_to_make_or_name_one(
        sshd: Sshd, cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No key named, none in ~/.ssh, no agent: the message is about the missing key, and
    every command it names exists (the collector above checks them too)."""
    code = main(["host", "add", "box", f"{sshd.user}@{sshd.host}:{sshd.port}", "--trust",
                 sshd.fingerprint()])
    err = capsys.readouterr().err
    assert code == 2
    assert "there is no SSH key on this computer to log in to box with" in err
    assert "`roost keys new ssh`" in err and "--key PATH" in err
    assert "sshd runs there" not in err and "did not accept" not in err
    assert len(err.strip().splitlines()) == 1
    for m in re.finditer(r"`(roost [^`]*)`", err):
        assert parse_problem(shlex.split(m.group(1))[1:]) is None, m.group(1)


@pytest.mark.slow
def test_host_facts_takes_the_trust_its_hint_names(
        sshd: Sshd, cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a terminal, first contact says to pass --trust: `roost host facts` takes it."""
    from roost.deploy.hosts import Host, HostStore

    HostStore(data_dir() / HOSTS_FILE).add(Host("box", address=sshd.host, user=sshd.user,
                                                port=sshd.port, key_path=str(sshd.key)))
    assert main(["host", "facts", "box"]) == 2
    err = capsys.readouterr().err
    fp = sshd.fingerprint()
    assert f"pass --trust {fp}" in err
    assert main(["host", "facts", "box", "--trust", fp]) == 0
    assert "Sudo:" in capsys.readouterr().out


@pytest.mark.slow
def test_sudo_password_is_not_asked_when_the_connection_fails(tmp_path: Path) -> None:
    """The host's facts say sudo wants a password, but nothing listens: the person hears why
    the connection failed, and is never asked for a password first."""
    from sshd import free_port

    home, user_home = tmp_path / "home", tmp_path / "user-home"
    user_home.mkdir()
    env = _cli_env(home, user_home, tmp_path / "state")
    hosts = home / "hosts.toml"
    home.mkdir()
    hosts.write_text(f'schema = 1\n[hosts.box]\naddress = "127.0.0.1"\nuser = "someone"\n'
                     f'port = {free_port()}\n[hosts.box.facts]\nsudo = "password"\n')
    code, out = pty_text([sys.executable, "-m", "roost", "deploy", "hello", "--host", "box",
                          "--option", f"root={tmp_path / 'site'}"], env,
                         [(b"password", b"never-typed\r")], timeout=60)
    assert code == 2, out
    assert "refused the connection" in out
    assert "password" not in out.lower(), out


@pytest.mark.slow
def test_sudo_password_is_asked_after_the_host_key_is_trusted(
        sudo_user: Sshd, tmp_path: Path) -> None:
    """First contact in a terminal: the fingerprint question first, then, once connected and
    only because sudo wants it, the password; the deploy then runs."""
    home, user_home = tmp_path / "home", tmp_path / "user-home"
    user_home.mkdir()
    home.mkdir()
    env = _cli_env(home, user_home, tmp_path / "state")
    (home / "hosts.toml").write_text(
        f'schema = 1\n[hosts.box]\naddress = "{sudo_user.host}"\nuser = "{sudo_user.user}"\n'
        f'port = {sudo_user.port}\nkey = "{sudo_user.key}"\n')
    assert sudo_user.password is not None
    site = tmp_path / "site"
    code, out = pty_text(
        [sys.executable, "-m", "roost", "deploy", "hello", "--host", "box", "--option",
         f"root={site}"], env,
        [(b"Type yes or no:", b"yes\n"), (b"sudo password for", sudo_user.password.encode()
                                           + b"\r")])
    assert code == 0, out
    assert out.index("Trust this key?") < out.index("sudo password for")
    assert out.count("sudo password for") == 1
    assert sudo_user.password not in out
    assert (site / "greeting.txt").read_text().startswith("Hello")


def test_a_stopped_deploy_names_the_host_and_says_what_to_do_once(
        cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A step fails on this computer (nothing can be made under /proc), twice: the second run
    continues the first. No Python repr reaches the person, and "deploy again" is said once
    per failure, not by the step, the engine and the command each."""
    args = ["deploy", "hello", "--host", "local", "--option", "root=/proc/roost-nope"]
    assert main(args) == 2
    first = capsys.readouterr()
    assert main(args) == 2
    second = capsys.readouterr()
    for out in (first, second):
        text = out.out + out.err
        assert "Host(" not in text and "name=" not in text, text
        assert text.count("again") == 1, text
        assert "roost: the deploy of hello to local stopped at step 1 of" in out.err
        assert "what to try is just above" in out.err and "what to try:" in out.out
    assert "continuing the deploy of hello to local that stopped earlier" in second.out


def test_mail_in_a_box_before_facts_names_the_command_that_reads_them() -> None:
    from roost.core.errors import RoostError
    from roost.deploy.recipe import TargetHost
    from roost.deploy.recipes.mail_in_a_box import build_mail_in_a_box

    with pytest.raises(RoostError) as err:
        build_mail_in_a_box(TargetHost("vps", "95.216.10.20", None),
                            {"email": "me@example.org"}, {})
    assert "`roost host facts vps`" in str(err.value)
    assert parse_problem(["host", "facts", "vps"]) is None
