"""Start the full-screen app, or the plain line mode."""

from __future__ import annotations

import argparse
import os


def screen_reader_wanted(args: argparse.Namespace) -> bool:
    env = os.environ.get("ROOST_SCREEN_READER", "").strip().lower()
    return bool(args.screen_reader) or env in ("1", "yes", "true", "on")


def run_app(args: argparse.Namespace) -> int:
    if args.plain:
        from roost.cli.plain import run_plain

        return run_plain(screen_reader_wanted(args))
    from roost.tui.app import run

    return run(screen_reader=screen_reader_wanted(args))
