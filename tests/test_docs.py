"""The README and docs/ say what the program does.

- docs/answers.md: its example file is accepted by `roost assess --answers` and gives the
  answers it describes; every key the answers reader accepts, every value of the choices and
  every platform id of the catalog is documented there.
- README.md: the vault's file names, every environment variable roost reads, and every command
  in its tables, checked against roost's own parser and its list of commands.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from roost.catalog import load as load_catalog
from roost.cli.main import COMMAND_MODULES, build_parser
from roost.core.errors import RoostError
from roost.keys.vault import INDEX_FILE, VAULT_FILE
from roost.plan import answers as answers_mod

ROOT = Path(__file__).resolve().parent.parent
ANSWERS_DOC = ROOT / "docs" / "answers.md"
README = ROOT / "README.md"


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def table_keys(text: str) -> set[str]:
    """The first cell of every table row, when it is `code`."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, re.M))


def run_roost(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["ROOST_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_the_documented_example_is_what_roost_assess_reads(tmp_path: Path) -> None:
    (example,) = toml_blocks(ANSWERS_DOC.read_text("utf-8"))
    path = tmp_path / "answers.toml"
    path.write_text(example)
    home = tmp_path / "home"
    done = run_roost(home, "assess", "--answers", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Saved your answers. Your plan has ")
    status = run_roost(home, "status", "--json")
    assert status.returncode == 0, status.stderr
    saved = json.loads(status.stdout)["answers"]
    assert saved["uses"] == ["facebook", "gmail", "hosted-blog"]
    assert saved["hardware"][:1] == ["pi"] and saved["pi_ram_mb"] == 4096
    assert saved["pi_arch"] == "aarch64" and saved["has_domain"] is True
    assert saved["domain"] == "example.org"
    assert (saved["skill"], saved["pace"]) == ("some", "weekly")


def accepted_keys() -> set[str]:
    """Every key the answers reader takes, as it says itself when given an unknown one."""
    with pytest.raises(RoostError) as refused:
        answers_mod.answers_from_responses({"no_such_key": 1}, None)
    assert refused.value.hint.startswith("the questions are ")
    keys = set(refused.value.hint.removeprefix("the questions are ").split(", "))
    return keys | {"schema"}  # the file reader drops `schema` (files roost writes carry it)


def test_every_key_and_value_of_the_answers_file_is_documented() -> None:
    text = ANSWERS_DOC.read_text("utf-8")
    documented = table_keys(text)
    keys = accepted_keys()
    assert len(keys) >= 10, keys
    assert keys <= documented, f"not documented: {sorted(keys - documented)}"
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", text, re.M)}
    for key, values in (("skill", answers_mod.SKILL), ("pace", answers_mod.PACE),
                        ("hardware", answers_mod.HARDWARE), ("pi_arch", answers_mod.PI_ARCHES)):
        for value in values:
            assert f"`{value}`" in rows[key], (key, value)
    for key in ("has_domain", "skill", "pace"):  # the ones it insists on
        assert rows[key].split(" | ")[1] == "yes", key
    platform_ids = {p.id for p in load_catalog().platforms}
    assert platform_ids <= documented, f"platforms not listed: {platform_ids - documented}"


def test_an_answer_the_doc_calls_wrong_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('has_domain = false\nskill = "expert"\npace = "fast"\n')
    said = run_roost(tmp_path / "home", "assess", "--answers", str(path))
    assert said.returncode == 2 and said.stderr.count("\n") == 1
    assert "skill" in said.stderr and "beginner, some, comfortable" in said.stderr


def test_readme_names_the_files_and_variables_roost_uses() -> None:
    text = README.read_text("utf-8")
    assert f"`{VAULT_FILE}`" in text and f"`{INDEX_FILE}`" in text
    assert "vault.roost" not in text
    used: set[str] = set()
    for folder in ("catalog", "cli", "core", "deploy", "keys", "plan", "tui"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"\bROOST_[A-Z_]+\b", path.read_text("utf-8")))
    test_only = {"ROOST_HOST_STATE_DIR"}  # tests point the host's step records elsewhere
    assert {"ROOST_PASSPHRASE_FILE", "ROOST_NEW_PASSPHRASE_FILE", "ROOST_HOME"} <= used
    for name in sorted(used - test_only):
        assert f"`{name}" in text, f"README does not mention {name}"


def readme_commands() -> list[str]:
    """Every `roost ...` in the README's tables (rows starting with |)."""
    rows = [line for line in README.read_text("utf-8").splitlines() if line.startswith("|")]
    return [c for row in rows for c in re.findall(r"`(roost [^`]*)`", row)]


def test_every_command_in_the_readme_tables_is_one_roost_runs() -> None:
    parser = build_parser()
    commands = readme_commands()
    assert len(commands) > 25
    for cmd in commands:
        # Optional parts, [--json], are left out; placeholders become values.
        bare = re.sub(r"\s*\[[^\]]*\]", "", cmd)
        words = [w if not w.isupper() and w not in ("FILE.toml",) else "x1"
                 for w in shlex.split(bare)[1:]]
        words = [re.sub(r"user@host\[:port\]", "robin@example.org", w) for w in words]
        try:
            parser.parse_args(words)
        except SystemExit as exc:
            if exc.code != 0:
                pytest.fail(f"README: `{cmd}` is not a roost command")
        # the optional parts too
        for part in re.findall(r"\[([^\]]*)\]", cmd):
            if part.startswith("-"):
                flag = part.split()[0]
                assert any(flag in a.option_strings for a in _actions(parser, words)), \
                    f"README: {cmd}: {flag}"


def _actions(parser: object, words: list[str]) -> list[object]:
    """The arguments of the (sub)command `words` names."""
    import argparse

    p = parser
    for w in words:
        sub = [a for a in getattr(p, "_actions", []) if isinstance(a, argparse._SubParsersAction)]
        if not sub or w not in sub[0].choices:
            break
        p = sub[0].choices[w]
    return list(getattr(p, "_actions", []))


def test_the_readme_tables_name_every_command() -> None:
    text = " ".join(readme_commands())
    for commands in COMMAND_MODULES.values():
        for command in commands:
            assert f"roost {command}" in text, command
    parser = build_parser()
    for group in ("keys", "host"):
        for action in _subcommands(parser, group):
            assert f"roost {group} {action}" in text, f"{group} {action}"


def _subcommands(parser: object, group: str) -> list[str]:
    import argparse

    for a in getattr(parser, "_actions", []):
        if isinstance(a, argparse._SubParsersAction):
            sub = a.choices[group]
            for b in sub._actions:
                if isinstance(b, argparse._SubParsersAction):
                    names = {n for n, p in b.choices.items()}
                    primary = {p.prog.split()[-1] for p in b.choices.values()}
                    return sorted(names & primary)
    return []
