"""The largest functions in roost's own code, by lines (the issue's measure: <= 80 lines).

    .venv/bin/python bench/function_sizes.py            # the 15 largest, biggest first
    .venv/bin/python bench/function_sizes.py --over 80  # every function over 80 lines

A function's length is its lines from `def` (decorators excluded) to its last line,
docstring, comments and blank lines inside it included; a nested function counts inside its
parent and is listed on its own too. Tests, benchmarks and scripts are not measured.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("roost", "core", "catalog", "plan", "keys", "deploy", "tui", "cli", "app")


def functions(path: Path) -> list[tuple[int, str, int]]:
    """(length, qualified name, first line) of every function in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[int, str, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                out.append((end - child.lineno + 1, name, child.lineno))
                walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def measure(root: Path = ROOT) -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root)
            rows += [(n, f"{rel}:{line} {name}") for n, name, line in functions(path)]
    return sorted(rows, reverse=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--over", type=int, default=None, help="list every function longer than this")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    rows = measure()
    shown = [r for r in rows if r[0] > args.over] if args.over is not None else rows[: args.top]
    for n, where in shown:
        print(f"{n:5d}  {where}")


if __name__ == "__main__":
    main()
