"""Names that would run a command if a transport put them through a shell unquoted: each
`touch`es the file {c}, which the test then checks was never made."""

from __future__ import annotations

HOSTILE = [
    "; touch {c}",
    "$(touch {c})",
    "`touch {c}`",
    "' ; touch {c}; '",
    '" ; touch {c}; "',
    "a b\ntouch {c}\n",
    "|| touch {c}",
]
