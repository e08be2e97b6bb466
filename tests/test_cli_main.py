"""The dispatcher: every command listed, each module imported only when its command runs."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from roost.cli.main import COMMAND_MODULES, build_parser, modules_for


def registered_by(module: str) -> tuple[str, ...]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(f"roost.cli.{module}").register(sub)
    return tuple(sub.choices)


@pytest.mark.parametrize("module", sorted(COMMAND_MODULES))
def test_table_matches_what_each_module_registers(module: str) -> None:
    assert registered_by(module) == COMMAND_MODULES[module]


def test_help_lists_every_command_with_one_line() -> None:
    text = build_parser().format_help()
    for commands in COMMAND_MODULES.values():
        for command in commands:
            assert f"    {command} " in text or f"    {command}\n" in text, command


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ()),
        (["--screen-reader"], ()),
        (["catalog", "--json"], ("catalog_cmd",)),
        (["--plain", "done", "prosody"], ("plan_cmd",)),
        (["keys", "list"], ("keys_cmd",)),
        (["nonsense"], tuple(COMMAND_MODULES)),
        (["--help"], tuple(COMMAND_MODULES)),
        (["--version"], ()),
    ],
)
def test_modules_for(argv: list[str], expected: tuple[str, ...]) -> None:
    assert modules_for(argv) == expected


def test_version_and_catalog_do_not_import_ssh_or_crypto() -> None:
    code = (
        "import sys\n"
        "from roost.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "main(['catalog'])\n"
        "heavy = [m for m in ('paramiko', 'nacl', 'cryptography', 'httpx', 'textual')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "HEAVY []" in out.stderr


def test_unknown_command_is_one_line_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "roost", "frobnicate"], capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr
