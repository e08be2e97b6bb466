"""The `roost` command: the TUI by default, and a subcommand for everything it can do.

Each group of subcommands lives in its own module with a `register(subparsers)` function.
A RoostError becomes one line on stderr and exit code 2; nothing a user can cause prints a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import signal
import sys
from collections.abc import Sequence

from roost import __version__
from roost.core.errors import RoostError
from roost.core.text import printable

# Modules under roost.cli that add subcommands, in the order `roost --help` lists them, with
# the commands each registers. Only the module of the command being run is imported, so a
# command (or the TUI) never pays for paramiko, cryptography or the vault unless it needs them;
# tests/test_cli_main.py keeps this table equal to what each module registers.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "catalog_cmd": ("catalog",),
    "plan_cmd": ("assess", "plan", "next", "status", "done", "skip", "undo", "reset",
                 "history", "progress"),
    "keys_cmd": ("keys",),
    "host_cmd": ("host",),
    "deploy_cmd": ("deploy", "undeploy"),
    "reach_cmd": ("reach",),
    "check_cmd": ("check",),
    "watch_cmd": ("watch",),
    "upgrade_cmd": ("updates", "upgrade"),
    "backup_cmd": ("backup", "backups", "restore", "move"),
    "playbook_cmd": ("playbook",),
    "import_cmd": ("import",),
}
# Commands that moved: the old word is answered with one line saying the new form.
MOVED = {"export": "roost export moved: save your progress with roost progress export FILE"}
_TOP_FLAGS = {"--screen-reader", "--plain"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"roost: {printable(message, 400)}. Try 'roost --help'.\n")
        raise SystemExit(2)


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules needed to parse `argv`: none for the TUI, one for a known command,
    all of them for --help or an unknown word (so argparse can list the choices)."""
    for word in argv:
        if word in _TOP_FLAGS:
            continue
        if word == "--version":
            return ()
        if word.startswith("-"):
            return tuple(COMMAND_MODULES)
        for module, commands in COMMAND_MODULES.items():
            if word in commands:
                return (module,)
        return tuple(COMMAND_MODULES)
    return ()


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="roost",
        description="Leave the big platforms one service at a time. "
        "With no command, the full-screen app starts.",
    )
    parser.add_argument("--version", action="version", version=f"roost {__version__}")
    parser.add_argument("--screen-reader", action="store_true",
                        help="screen-reader mode (also ROOST_SCREEN_READER=1)")
    parser.add_argument("--plain", action="store_true",
                        help="line-by-line mode with numbered choices, for braille displays")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES if modules is None else modules:
        importlib.import_module(f"roost.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if w not in _TOP_FLAGS), "")
    if first in MOVED:
        sys.stderr.write(f"roost: {MOVED[first]}.\n")
        return 2
    parser = build_parser(modules_for(words))
    args = parser.parse_args(words)
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            from roost.cli.app_cmd import run_app

            return run_app(args)
        result: int = handler(args)
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return result
    except RoostError as exc:
        sys.stderr.write(f"roost: {printable(exc.line(), 600)}\n")
        return exc.exit_code
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            return _reader_went_away()
        # A path the user gave that the system refuses (too long, not a folder, no
        # permission...) and that no layer turned into a RoostError yet: still one line.
        what = f" ({printable(exc.filename, 80)})" if exc.filename else ""
        sys.stderr.write(f"roost: {printable(exc.strerror or exc, 200)}{what}. "
                         "Check the path and try again.\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("roost: stopped. Your progress is saved.\n")
        return 130


def _stdout_closed() -> bool:
    """Whether the one reading roost's output has gone (a broken pipe elsewhere, say to a
    program roost runs, is an error like any other)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _reader_went_away() -> int:
    """`roost plan --json | head -1`: the reader closed the pipe. Stop quietly, as `cat` and
    `git` do (their shell status is 128 + SIGPIPE). As Python's docs on SIGPIPE advise,
    stdout is pointed at /dev/null so the flush at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE
