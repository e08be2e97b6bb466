"""The registry of recipes: service id -> builder(host facts, options, identities) -> Recipe.

Service recipes add themselves here (one module each under roost/deploy/recipes/).
"""

from __future__ import annotations

from roost.core.errors import RoostError
from roost.deploy.recipe import RecipeBuilder
from roost.deploy.recipes.akkoma import build_akkoma, build_pleroma
from roost.deploy.recipes.bovine import build_bovine
from roost.deploy.recipes.friendica import build_friendica
from roost.deploy.recipes.gotosocial import build_gotosocial
from roost.deploy.recipes.hello import build_hello
from roost.deploy.recipes.mail_in_a_box import build_mail_in_a_box
from roost.deploy.recipes.matrix_synapse import build_matrix_synapse
from roost.deploy.recipes.minidlna import build_minidlna
from roost.deploy.recipes.navidrome import build_navidrome
from roost.deploy.recipes.prosody import build_prosody
from roost.deploy.recipes.ssb_oasis import build_ssb_oasis
from roost.deploy.recipes.ssb_pub import build_ssb_pub
from roost.deploy.recipes.static_blog import build_static_blog
from roost.deploy.recipes.wordpress import build_wordpress

RECIPES: dict[str, RecipeBuilder] = {
    "akkoma": build_akkoma,
    "bovine": build_bovine,
    "friendica": build_friendica,
    "gotosocial": build_gotosocial,
    "hello": build_hello,
    "mail-in-a-box": build_mail_in_a_box,
    "matrix-synapse": build_matrix_synapse,
    "minidlna": build_minidlna,
    "navidrome": build_navidrome,
    "pleroma": build_pleroma,
    "prosody": build_prosody,
    "ssb-oasis": build_ssb_oasis,
    "ssb-pub": build_ssb_pub,
    "static-blog": build_static_blog,
    "wordpress": build_wordpress,
}


def builder(service_id: str) -> RecipeBuilder:
    try:
        return RECIPES[service_id]
    except KeyError:
        # Why not, and what to run instead, from the catalog's [install] data.
        from roost.deploy.not_installed import no_recipe_error

        err: RoostError = no_recipe_error(service_id, RECIPES)
        raise err from None
