"""Which vault identity becomes a recipe's admin login (deploy/recipes/logins.pick_login).

Before the fix an identity called `wordpress` (or `mail`) was taken whatever its kind: a
fediverse or XMPP identity with that name had its own account's password made the WordPress
admin's (or the first mailbox's), silently, and the admin's user name fell back to `admin`.
"""

from __future__ import annotations

import pytest

from roost.core.errors import RoostError
from roost.deploy.recipes.logins import pick_login
from roost.deploy.recipes.wordpress import build_wordpress
from roost.deploy.steps import CreateAccount
from roost.keys.model import IdentityInfo

WHEN = "2026-11-25T00:00:00Z"
SOCIAL = IdentityInfo("wordpress", "fediverse", {"handle": "robin", "domain": "example.org"},
                      WHEN)
LOGIN = IdentityInfo("me", "login", {"user": "sam"}, WHEN)


def test_an_identity_of_another_kind_named_like_the_login_is_not_taken() -> None:
    with pytest.raises(RoostError, match="is a fediverse identity, not a login") as err:
        build_wordpress(None, {"domain": "blog.example.org"}, {"wordpress": SOCIAL})
    assert "\n" not in err.value.line()


def test_one_login_of_another_name_still_wins_over_a_non_login_default() -> None:
    r = build_wordpress(None, {"domain": "blog.example.org"}, {"wordpress": SOCIAL, "me": LOGIN})
    acct = next(s for s in r.steps if isinstance(s, CreateAccount))
    assert acct.secret.name == "me" and acct.argv[-2] == "sam"


def test_a_named_identity_must_be_a_login() -> None:
    with pytest.raises(RoostError, match="not a login"):
        pick_login({"wordpress": SOCIAL, "me": LOGIN}, "wordpress", "wordpress")
    assert pick_login({"me": LOGIN}, "me", "wordpress") == ("me", {"user": "sam"})
    # Not in the vault (yet): the deploy says so when it needs the password.
    assert pick_login({}, "later", "wordpress") == ("later", {})
