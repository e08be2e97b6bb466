"""Log in to an XMPP server as a person's app would, from wherever this runs (a test runs it
inside a network namespace): `python xmpp_login.py ADDRESS JID CAFILE`, the password on
stdin. Prints "logged in" and exits 0, or says why not and exits 1 (within TIMEOUT seconds).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

TIMEOUT = 15.0


def first_outcome() -> tuple[asyncio.Future[str], Callable[[str], None]]:
    """A future for what a client's session came to, and the function that sets it (the first
    outcome counts; later ones are ignored)."""
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def done(what: str) -> None:
        if not outcome.done():
            outcome.set_result(what)
    return outcome, done


async def login(address: str, jid: str, password: str, cafile: str) -> str:
    import slixmpp

    outcome, done = first_outcome()
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = cafile
    c.enable_plaintext = False
    c.enable_direct_tls = False  # STARTTLS on 5222, as apps do (else a failed first try)
    c.add_event_handler("session_start", lambda _: done("logged in"))
    c.add_event_handler("failed_auth", lambda _: done("refused"))
    c.add_event_handler("connection_failed", lambda e: done(f"no connection: {e}"))
    c.connect(host=address, port=5222)
    try:
        return await asyncio.wait_for(outcome, TIMEOUT)
    except TimeoutError:
        return "timed out"
    finally:
        c.disconnect()
        await asyncio.sleep(0.2)


def main() -> int:
    address, jid, cafile = sys.argv[1:4]
    said = asyncio.run(login(address, jid, sys.stdin.readline().rstrip("\n"), cafile))
    print(said)
    return 0 if said == "logged in" else 1


if __name__ == "__main__":
    sys.exit(main())
