"""A person's XMPP app that stays online and reads its messages, from wherever this runs:
`python xmpp_inbox.py ADDRESS JID CAFILE`, the password on stdin. Prints "online" once logged
in, then one line "message FROM: BODY" per chat message received (newlines in the body shown
as spaces), until it is ended; "refused" or "no connection: ..." and exit 1 when it cannot log
in.
"""

from __future__ import annotations

import asyncio
import sys


async def inbox(address: str, jid: str, password: str, cafile: str) -> int:
    import slixmpp

    loop = asyncio.get_running_loop()
    failed: asyncio.Future[str] = loop.create_future()
    c = slixmpp.ClientXMPP(jid, password)
    c.ca_certs = cafile
    c.enable_plaintext = False
    c.enable_direct_tls = False

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def started(_: object) -> None:
        c.send_presence()
        say("online")

    def message(msg: slixmpp.Message) -> None:
        if msg["type"] in ("chat", "normal") and msg["body"]:
            say(f"message {msg['from'].bare}: {' '.join(str(msg['body']).split())}")

    def fail(what: str) -> None:
        if not failed.done():
            failed.set_result(what)

    c.add_event_handler("session_start", started)
    c.add_event_handler("message", message)
    c.add_event_handler("failed_auth", lambda _: fail("refused"))
    c.add_event_handler("connection_failed", lambda e: fail(f"no connection: {e}"))
    c.connect(host=address, port=5222)
    say(await failed)
    return 1


def main() -> int:
    address, jid, cafile = sys.argv[1:4]
    return asyncio.run(inbox(address, jid, sys.stdin.readline().rstrip("\n"), cafile))


if __name__ == "__main__":
    sys.exit(main())
