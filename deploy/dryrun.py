"""A dry run: every command and file a recipe would run or write, as text, touching nothing.

No connection is opened: the plan comes from the steps' definitions alone, with secrets shown
as `<secret: name field>` and never resolved.
"""

from __future__ import annotations

from roost.deploy.ports import dry_run_lines
from roost.deploy.recipe import Recipe


def plan_lines(recipe: Recipe, host: str = "the host") -> list[str]:
    total = len(recipe.steps)
    out = [f"dry run: {recipe.title} on {host}, {total} steps; nothing is changed.",
           "Each step is checked first and skipped when it is already done."]
    out += dry_run_lines(recipe)
    for i, step in enumerate(recipe.steps, 1):
        once = "" if step.has_check or not step.changes_host else " (runs once)"
        out.append(f"step {i} of {total}: {step.describe()}{once}")
        out += [f"  {line}" for line in step.commands()]
    if recipe.health is not None:
        out.append(f"then: {recipe.health.describe()}")
        out += [f"  {line}" for line in recipe.health.commands()]
    return out


def removal_lines(recipe: Recipe, purge_data: bool, host: str = "the host") -> list[str]:
    return plan_lines(recipe.removal(purge_data), host)
