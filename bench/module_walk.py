"""How the code hangs together: import cycles, imports that reach up the layers, and the walk
one CLI deploy takes between modules.

    .venv/bin/python bench/module_walk.py            # all three
    .venv/bin/python bench/module_walk.py --walk     # only the deploy walk, with its moves

Import cycles: strongly connected components of the graph of every `roost.*` import that runs,
at the top of a module or inside a function (not those under `if TYPE_CHECKING:`). Upward
imports: keys/ or deploy/ importing plan/ (the layers are core -> catalog -> plan; keys and
deploy are siblings that never import plan).

The deploy walk: `roost deploy hello --host local --option root=TMP` run under a profiler.
A move is a call from one roost module into another (roost.core's utilities and callbacks
handed down, like the progress printer, are not moves). The walk lists the distinct moves the
command's handler makes, and every move anywhere in the run that goes back up the layers
(core, catalog < keys, deploy < plan < app < cli, tui) through an import; a call up through a
callback the caller was handed (a bound method given as `on_event`) is how a lower layer
reports, not a dependency, and is left out.
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "catalog", "plan", "keys", "deploy", "app", "tui", "cli"]
RANK = {"core": 0, "catalog": 1, "keys": 2, "deploy": 2, "plan": 3, "app": 4, "cli": 5,
        "tui": 5}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["roost", *parts])


def _type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` blocks: read by mypy only, never imported when roost runs."""
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def import_graph() -> dict[str, set[str]]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            mods[module_name(path)] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text("utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if _type_checking(block)
                       for stmt in block.body for n in ast.walk(stmt)}  # type: ignore[attr-defined]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                while name and name not in mods:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    graph[mod].add(name)
    # a package's __init__ is imported by anything under it; the edge to a parent package
    # alone is not a cycle of the code, so ignore child -> own-parent edges
    for mod in graph:
        graph[mod] = {d for d in graph[mod] if not mod.startswith(d + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} -> {d}" for m in sorted(graph) for d in sorted(graph[m])
            if m.split(".")[1] in ("keys", "deploy") and d.split(".")[1] == "plan"]


def layer(mod: str) -> str:
    return mod.split(".")[1] if mod.count(".") else "roost"


def deploy_walk() -> list[tuple[str, str, bool]]:
    """The distinct moves of one CLI deploy, in the order first made."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ROOST_HOME"] = f"{tmp}/home"
        os.environ["ROOST_HOST_STATE_DIR"] = f"{tmp}/state"
        from roost.cli.main import main

        graph = import_graph()
        moves: list[tuple[str, str, bool]] = []
        seen: set[tuple[str, str]] = set()
        handler = "roost.cli.deploy_cmd"

        def prof(frame, event, arg):  # type: ignore[no-untyped-def]
            if event != "call":
                return
            callee = frame.f_globals.get("__name__", "")
            back = frame.f_back
            caller = back.f_globals.get("__name__", "") if back is not None else ""
            if not (callee.startswith("roost.") and caller.startswith("roost.")):
                return
            if callee == caller or layer(callee) == "core":
                return
            if "<locals>" in frame.f_code.co_qualname:
                return  # a callback handed down (progress printer, password prompt)
            up = (RANK.get(layer(callee), 0) > RANK.get(layer(caller), 0)
                  and callee in graph.get(caller, ()))
            if caller == handler or up:
                edge = (caller, callee)
                if edge not in seen:
                    seen.add(edge)
                    moves.append((caller, callee, up))

        def run(argv: list[str]) -> None:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            sys.setprofile(prof)
            try:
                rc = main(argv)
            finally:
                sys.setprofile(None)
                sys.stdout = sys.__stdout__
            assert rc == 0, rc

        run(["deploy", "hello", "--host", "local", "--option", f"root={tmp}/hello"])
        return moves


def main() -> None:
    only_walk = "--walk" in sys.argv
    if not only_walk:
        graph = import_graph()
        cyc = cycles(graph)
        print(f"import cycles: {len(cyc)}")
        for c in cyc:
            print("  " + " <-> ".join(c))
        up = upward(graph)
        print(f"imports of roost.plan from keys/ and deploy/: {len(up)}")
        for u in up:
            print("  " + u)
    moves = deploy_walk()
    print(f"CLI deploy walk: {len(moves)} moves, {sum(u for *_, u in moves)} back up")
    for a, b, up in moves:
        print(f"  {a} -> {b}" + ("   (back up)" if up else ""))


if __name__ == "__main__":
    main()
