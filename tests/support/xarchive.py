"""An X (Twitter) account archive zip as X writes it (docs/import-formats.md): `data/tweets.js`
assigning the posts to `window.YTD.tweets.part0`, `data/account.js`, media in
`data/tweets_media/<post id>-<media file name>`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def tweet(pid: str, text: str, at: str, *, urls: list[tuple[str, str]] = (),  # type: ignore[assignment]
          media: list[tuple[str, str]] = (), reply_to: str = "",  # type: ignore[assignment]
          reply_name: str = "") -> dict[str, Any]:
    t: dict[str, Any] = {
        "edit_info": {"initial": {"editTweetIds": [pid], "editable": "false"}},
        "retweeted": False, "source": "<a href=\"https://mobile.twitter.com\">Twitter Web "
        "App</a>", "favorite_count": "3", "id_str": pid, "id": pid, "truncated": False,
        "retweet_count": "0", "created_at": at, "favorited": False, "full_text": text,
        "lang": "en",
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [],
                     "urls": [{"url": u, "expanded_url": e, "display_url": e[8:30],
                               "indices": ["0", "23"]} for u, e in urls]},
    }
    if media:
        items = [{"url": tco, "media_url_https": f"https://pbs.twimg.com/media/{name}",
                  "id_str": "9" + pid, "type": "photo", "display_url": "pic.twitter.com/x"}
                 for tco, name in media]
        t["entities"]["media"] = items
        t["extended_entities"] = {"media": items}
    if reply_to:
        t |= {"in_reply_to_status_id_str": reply_to, "in_reply_to_status_id": reply_to,
              "in_reply_to_screen_name": reply_name}
    return {"tweet": t}


POSTS = [
    tweet("1630000000000000001", "Moving my posts home. Details: https://t.co/AbCdEf123",
          "Wed Mar 01 10:00:00 +0000 2023",
          urls=[("https://t.co/AbCdEf123", "https://blog.example.org/moving-home")]),
    tweet("1630000000000000002", "And a picture of the roost <3 https://t.co/PiC0000001",
          "Wed Mar 01 11:30:00 +0000 2023", media=[("https://t.co/PiC0000001",
                                                    "FqRoost01.png")]),
    tweet("1630000000000000003", "Replying to myself: it took one evening.",
          "Wed Mar 01 12:00:00 +0000 2023", reply_to="1630000000000000001",
          reply_name="robin_roost"),
    tweet("1500000000000000004", "@ada Thanks, Ada! Café at ten?",
          "Sat Mar 05 08:15:00 +0000 2022", reply_to="1499999999999999999", reply_name="ada"),
    tweet("1500000000000000005", "A lost picture https://t.co/PiC0000002",
          "Sun Mar 06 09:00:00 +0000 2022", media=[("https://t.co/PiC0000002",
                                                    "FqMissing.jpg")]),
]


def js(name: str, data: Any) -> bytes:
    return f"window.YTD.{name}.part0 = {json.dumps(data, indent=2)}".encode()


def write_x_archive(path: Path, posts: list[dict[str, Any]] = POSTS,
                    extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Your archive.html", "<html>X archive browser</html>")
        z.writestr("data/account.js", js("account", [{"account": {
            "email": "robin@example.org", "createdVia": "web", "username": "robin_roost",
            "accountId": "12345", "createdAt": "2012-01-01T00:00:00.000Z",
            "accountDisplayName": "Robin"}}]))
        z.writestr("data/tweets.js", js("tweets", posts))
        z.writestr("data/tweets_media/1630000000000000002-FqRoost01.png", PNG)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path
