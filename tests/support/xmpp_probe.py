"""A real XMPP client (slixmpp) run as its own process, so a test can run it inside a network
namespace (`ip netns exec NS python xmpp_probe.py`). It reads one JSON object on stdin, so the
passwords never appear in a command line:

    {"accounts": [{"jid", "password", "address", "port", "cafile"}, ...],
     "send": "text"}          # optional: the first account sends it to the last

It logs every account in, then (with "send") waits until the last one receives the message,
and prints one JSON line: {"ok": true, "got": "from: body"} or {"ok": false, "error": "..."};
the exit code is 0 or 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


async def _run(spec: dict[str, Any]) -> str:
    import slixmpp

    loop = asyncio.get_running_loop()
    got: asyncio.Future[str] = loop.create_future()
    clients = []
    online = []
    attempts: list[str] = []
    for acc in spec["accounts"]:
        c = slixmpp.ClientXMPP(acc["jid"], acc["password"])
        c.ca_certs = acc["cafile"]
        c.enable_plaintext = False
        ready: asyncio.Future[bool] = loop.create_future()

        def start(_: object, c: Any = c, ready: asyncio.Future[bool] = ready) -> None:
            c.send_presence()
            if not ready.done():
                ready.set_result(True)

        def failed(why: object, jid: str = acc["jid"],
                   ready: asyncio.Future[bool] = ready, what: str = "log in") -> None:
            if not ready.done():
                ready.set_exception(RuntimeError(f"{jid} could not {what}: {why}"))

        c.add_event_handler("session_start", start)
        c.add_event_handler("failed_auth", failed)
        # slixmpp tries direct TLS, then STARTTLS: a failed attempt is not the end; the
        # attempts that failed are told when the wait runs out.
        c.add_event_handler("connection_failed",
                            lambda why, jid=acc["jid"]: attempts.append(f"{jid}: {why}"))
        clients.append(c)
        online.append(ready)

    def on_message(msg: Any) -> None:
        if msg["type"] in ("chat", "normal") and not got.done():
            got.set_result(f"{msg['from'].bare}: {msg['body']}")

    clients[-1].add_event_handler("message", on_message)
    try:
        for c, acc in zip(clients, spec["accounts"], strict=True):
            c.connect(host=acc["address"], port=int(acc.get("port", 5222)))
        try:
            await asyncio.wait_for(asyncio.gather(*online), spec.get("timeout", 30))
        except TimeoutError:
            raise TimeoutError(f"not logged in in time; failed attempts: {attempts}") from None
        if "send" not in spec:
            return ""
        clients[0].send_message(mto=spec["accounts"][-1]["jid"], mbody=spec["send"],
                                mtype="chat")
        return await asyncio.wait_for(got, spec.get("timeout", 30))
    finally:
        for c in clients:
            c.disconnect()
        await asyncio.sleep(0.2)


def main() -> int:
    spec = json.loads(sys.stdin.read())
    try:
        got = asyncio.run(_run(spec))
    except Exception as exc:  # reported as data (a timeout too)
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"ok": True, "got": got}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
