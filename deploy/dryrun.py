"""A dry run: every command and file a recipe would run or write, as text, touching nothing.

No connection is opened: the plan comes from the steps' definitions alone, with secrets shown
as `<secret: name field>` and never resolved. The steps are numbered from `Recipe.numbered()`,
the list the engine runs, so a dry run shows the same steps as the real run, health check
included ("step 8 of 8"), always.
"""

from __future__ import annotations

from roost.core.text import count
from roost.deploy.ports import dry_run_lines
from roost.deploy.recipe import Recipe


def plan_lines(recipe: Recipe, host: str = "the host") -> list[str]:
    total = recipe.total
    out = [f"dry run: {recipe.title} on {host}, {count(total, 'step')}; nothing is changed.",
           "Each step is checked first and skipped when it is already done."]
    out += dry_run_lines(recipe)
    for n, step in recipe.numbered():
        once = "" if step.has_check or not step.changes_host else " (runs once)"
        out.append(f"step {n} of {total}: {step.describe()}{once}")
        out += [f"  {line}" for line in step.commands()]
    return out


def removal_lines(recipe: Recipe, purge_data: bool, host: str = "the host") -> list[str]:
    return plan_lines(recipe.removal(purge_data), host)
