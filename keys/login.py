"""A login: a user name (and e-mail) with a password, for a web app or a mailbox roost sets up.

WordPress's admin and Mail-in-a-Box's first mailbox read the `password` of a login identity
from the vault (the recipes' `identity` option, by default `wordpress` and `mail`), so
`roost keys new login --name wordpress` is all `roost deploy wordpress` needs.

The password is made by roost unless the person types their own. A made one is easy to read
on a braille display and to type on a phone: lower-case letters only (no digits, which
braille writes with a number sign, and no capitals, which need a capital sign), without the
letters that look like digits (i, l, o), in groups of four joined by hyphens:
`kfpw-rtna-...`. Six groups of four letters from 23 give about 108 bits.
"""

from __future__ import annotations

import re
import secrets

from roost.core import validate
from roost.core.errors import RoostError
from roost.keys.model import Identity, check_label, now_text

KIND = "login"
LETTERS = "abcdefghjkmnpqrstuvwxyz"
"""The letters a made password uses: a-z without i, l and o."""
GROUPS = 6
GROUP_SIZE = 4
MIN_TYPED = 8
"""WordPress refuses shorter admin passwords, Mail-in-a-Box shorter mailbox passwords."""
MAX_TYPED = 200
_USER = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
DEFAULT_USER = "admin"


def readable_password(groups: int = GROUPS, size: int = GROUP_SIZE) -> str:
    """`kfpw-rtna-...`: random letters a person can read letter by letter and type anywhere."""
    return "-".join("".join(secrets.choice(LETTERS) for _ in range(size))
                    for _ in range(groups))


def check_password(value: str) -> str:
    """A typed password: long enough, one line, no control characters. Never echoed back."""
    if not isinstance(value, str) or len(value) < MIN_TYPED:
        raise RoostError(f"the password is too short: use at least {MIN_TYPED} characters",
                         hint="or leave it out, and roost makes a strong one")
    if len(value) > MAX_TYPED:
        raise RoostError(f"the password is too long: use at most {MAX_TYPED} characters")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise RoostError("the password has a control character (a tab or a line break)",
                         hint="type it on one line, without tabs")
    if value != value.strip():
        raise RoostError("the password starts or ends with a space",
                         hint="some services cut spaces off the ends; leave them out")
    return value


def check_user(value: str) -> str:
    v = str(value).strip()
    if not _USER.match(v):
        raise RoostError(f"{v[:40]!r} is not a user name roost can use",
                         hint="use letters, digits and . _ @ + -, like admin or robin")
    return v


def check_email(value: str) -> str:
    return validate.email(value, public=True,
                          hint="write it as name@domain, like robin@example.org").lower()


def create(label: str, *, user: str | None = None, email: str | None = None,
           password: str | None = None) -> Identity:
    """A login labelled `label`. Without `password`, roost makes a readable strong one.

    The user name defaults to the e-mail address when one is given (a mailbox logs in with
    it), else to `admin` (WordPress's default admin)."""
    check_label(label)
    mail = check_email(email) if email else ""
    name = check_user(user) if user else (mail or DEFAULT_USER)
    made = password is None
    pw = readable_password() if password is None else check_password(password)
    public = {"user": name, "password_made": "by roost" if made else "typed by you"}
    if mail:
        public["email"] = mail
    return Identity(label, KIND, public, {"password": pw}, now_text())


def file_text(identity: Identity) -> str:
    """What `roost keys export` writes (mode 0600): the user name, e-mail and password."""
    lines = ["# A login made by roost. Keep this file private.",
             f"user = {identity.public['user']}"]
    if identity.public.get("email"):
        lines.append(f"email = {identity.public['email']}")
    lines.append(f"password = {identity.secret['password']}")
    return "\n".join(lines) + "\n"
