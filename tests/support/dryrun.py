"""A recipe's dry run as a person reads it, with every step in it."""

from __future__ import annotations

from roost.deploy.dryrun import plan_lines
from roost.deploy.recipe import Recipe


def dry_run_text(recipe: Recipe, host: str) -> str:
    """The dry run of `recipe` on `host` as one text; every step's description is in it."""
    text = "\n".join(plan_lines(recipe, host))
    for step in recipe.steps:
        assert step.describe() in text
    return text
