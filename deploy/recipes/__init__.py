"""The registry of recipes: service id -> builder(host, options, identities) -> Recipe.

Each service recipe is one module under roost/deploy/recipes/ whose builder registers itself
with `@register(ID)` (roost.deploy.recipe); importing the modules here fills `RECIPES`.
Their options are declared in recipes/options.toml, with what each means and its default
(each module's `OPTIONS`); `roost deploy ID --help` lists them.
"""

from __future__ import annotations

from roost.core.errors import RoostError
from roost.deploy.recipe import RecipeBuilder, registered
from roost.deploy.recipes import (  # noqa: F401  (each registers its builders)
    akkoma,
    bovine,
    friendica,
    gotosocial,
    hello,
    mail_archive,
    mail_in_a_box,
    matrix_synapse,
    minidlna,
    navidrome,
    prosody,
    ssb_oasis,
    ssb_pub,
    static_blog,
    wordpress,
)

RECIPES: dict[str, RecipeBuilder] = registered()


def builder(service_id: str) -> RecipeBuilder:
    try:
        return RECIPES[service_id]
    except KeyError:
        # Why not, and what to run instead, from the catalog's [install] data.
        from roost.deploy.not_installed import no_recipe_error

        err: RoostError = no_recipe_error(service_id, RECIPES)
        raise err from None
