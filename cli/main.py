"""The `roost` command: the TUI by default, and a subcommand for everything it can do.

Each group of subcommands lives in its own module with a `register(subparsers)` function.
A RoostError becomes one line on stderr and exit code 2; nothing a user can cause prints a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from roost import __version__
from roost.core.errors import RoostError

# Modules under roost.cli that add subcommands, in the order `roost --help` lists them.
COMMAND_MODULES = (
    "catalog_cmd",
    "plan_cmd",
    "keys_cmd",
    "host_cmd",
    "deploy_cmd",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"roost: {message}. Try 'roost --help'.\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"roost.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"roost.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            from roost.cli.app_cmd import run_app

            return run_app(args)
        result: int = handler(args)
        return result
    except RoostError as exc:
        sys.stderr.write(f"roost: {exc.line()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("roost: stopped. Your progress is saved.\n")
        return 130
    except BrokenPipeError:
        return 0
