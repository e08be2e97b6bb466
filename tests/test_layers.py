"""The layers depend only on those below them, and only the tui imports textual.

core -> catalog -> plan; keys and deploy sit on catalog beside the plan and never import it
(deploy may use keys); app, the use cases, sits on all of them; tui and cli on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["core", "catalog", "plan", "keys", "deploy", "app"]
ALLOWED = {
    "core": {"core"},
    "catalog": {"core", "catalog"},
    "plan": {"core", "catalog", "plan"},
    "keys": {"core", "catalog", "keys"},
    "deploy": {"core", "catalog", "keys", "deploy"},
    "app": set(ORDER),
}
# tui and cli sit on top and may import any layer below; neither imports the other
# except that the cli starts the tui.
ALLOWED["tui"] = set(ORDER) | {"tui"}
ALLOWED["cli"] = set(ORDER) | {"cli", "tui"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_layers_below(layer: str) -> None:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "textual" and layer != "tui":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports textual")
            if (parts[0] == "roost" and len(parts) > 1 and parts[1] in ALLOWED
                    and parts[1] not in ALLOWED[layer]):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports roost.{parts[1]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("layer", ["catalog", "plan", "keys", "deploy", "app"])
def test_the_data_folder_is_passed_not_guessed_below_app(layer: str) -> None:
    """Only the front ends (cli/, tui/) find the data folder (roost.core.paths): the
    workspace, the hosts file, known_hosts, the journals, the vault and the download cache
    are each given their folder, so one `home` reaches every file."""
    found = [f"{path.relative_to(ROOT)}:{line}"
             for path in sorted((ROOT / layer).rglob("*.py"))
             for line, name in imports_of(path) if name == "roost.core.paths"]
    found += [str(path.relative_to(ROOT)) for path in sorted((ROOT / layer).rglob("*.py"))
              if "from roost.core import paths" in path.read_text("utf-8")]
    assert found == [], f"the data folder is guessed below app/ in {found}"
