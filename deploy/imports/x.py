"""The X (Twitter) account archive, read from its zip: posts in `data/tweets.js` (older
archives: `data/tweet.js`), media in `data/tweets_media/` (`data/tweet_media/`), the account
in `data/account.js`. See docs/import-formats.md.

Each `.js` file is JavaScript assigning JSON to a global:
`window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]`. A post has `id_str`, `full_text`,
`created_at` (`Wed Mar 01 10:00:00 +0000 2023`), `entities.urls` (each t.co `url` with its
`expanded_url`), `extended_entities.media` (each with its t.co `url` and `media_url_https`;
the file is `data/tweets_media/<post id>-<last part of media_url_https>`) and, for a reply,
`in_reply_to_status_id_str` and `in_reply_to_screen_name`.

`read_archive(zip)` returns the posts and which media files exist; `site(...)` renders the
pages (pure: posts in, `(path, bytes)` out): one page per month, newest month first in an
index, original dates, t.co links expanded, images shown from `media/`, a reply to one's own
post shown under it.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from roost.core.errors import RoostError
from roost.core.text import count, printable
from roost.deploy.imports.zipped import SafeZip

TWEETS = ("data/tweets.js", "data/tweet.js")
"""The first file of posts; more follow as `tweets-part1.js`, `tweets-part2.js`..."""
MEDIA_DIRS = ("data/tweets_media/", "data/tweet_media/")
ACCOUNT = "data/account.js"
_ASSIGN = re.compile(rb"^\s*window\.YTD\.[A-Za-z_]+\.part[0-9]+\s*=\s*")
_MEDIA_NAME = re.compile(r"^[0-9]{1,25}-[A-Za-z0-9_-]{1,80}\.(jpg|jpeg|png|gif|mp4|webp)$")


@dataclass(frozen=True)
class Media:
    file: str
    """The file's name in the archive's media folder (and in the site's media/)."""
    tco: str
    kind: str


@dataclass
class Post:
    id: str
    text: str
    at: datetime
    links: dict[str, str]
    media: list[Media]
    reply_to: str = ""
    reply_to_name: str = ""
    replies: list[Post] = field(default_factory=list)


@dataclass
class XArchive:
    user: str
    posts: list[Post]
    media_files: dict[str, str]
    """media file name -> its entry in the zip"""
    skipped: list[str]
    platform: str = "X"
    handle: bool = True
    """The user is a handle (@name), not a display name."""


def js_json(data: bytes, name: str) -> Any:
    """The JSON a `window.YTD.x.partN = ...` file assigns; one RoostError line otherwise."""
    m = _ASSIGN.match(data[:200])
    if m is None:
        raise RoostError(f"{name} is not an X archive's data file (no window.YTD assignment)",
                         hint="give the zip X sent you, unchanged")
    try:
        return json.loads(data[m.end():].decode("utf-8").rstrip().rstrip(";"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RoostError(f"{name} is broken{where}: the archive is truncated or damaged",
                         hint="download the archive again") from None


def _post(obj: Any) -> Post:
    t = obj["tweet"] if isinstance(obj, dict) and "tweet" in obj else obj
    pid = str(t["id_str"])
    if not pid.isdigit() or len(pid) > 25:
        raise ValueError("id")
    at = datetime.strptime(str(t["created_at"]), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    ents = t.get("entities") or {}
    links = {str(u["url"]): str(u.get("expanded_url") or u["url"])
             for u in ents.get("urls") or [] if isinstance(u, dict) and "url" in u}
    media: list[Media] = []
    for m in ((t.get("extended_entities") or {}).get("media") or ents.get("media") or []):
        url = str(m.get("media_url_https") or m.get("media_url") or "")
        media.append(Media(f"{pid}-{url.rsplit('/', 1)[-1]}", str(m.get("url") or ""),
                           str(m.get("type") or "photo")))
    return Post(pid, str(t.get("full_text") or t.get("text") or ""), at, links, media,
                str(t.get("in_reply_to_status_id_str") or ""),
                str(t.get("in_reply_to_screen_name") or ""))


def read_archive(z: SafeZip) -> XArchive:
    name = z.find(*TWEETS)
    if name is None:
        raise RoostError(f"{z.name} has no data/tweets.js: it is not an X account archive",
                         hint="request it under Settings, Your account, Download an archive "
                              "of your data")
    stem = name[:-3]  # large accounts go on in data/tweets-part1.js, -part2.js...
    parts = [name, *sorted((e for e in z.entries if re.fullmatch(
        re.escape(stem) + r"-part[0-9]{1,3}\.js", e)), key=lambda e: int(e[len(stem) + 5:-3]))]
    posts: list[Post] = []
    skipped: list[str] = []
    seen = 0
    for part in parts:
        rows = js_json(z.read(part), part)
        if not isinstance(rows, list):
            raise RoostError(f"{part} does not hold a list of posts", hint="download it again")
        for row in rows:
            seen += 1
            try:
                posts.append(_post(row))
            except (KeyError, TypeError, ValueError, AttributeError):
                skipped.append(f"post {seen}: not a post roost can read")
    user = ""
    account = z.find(ACCOUNT)
    if account is not None:
        try:
            acc = js_json(z.read(account), account)
            user = str(acc[0]["account"]["username"])
        except (RoostError, KeyError, TypeError, IndexError):
            skipped.append("data/account.js: unreadable, the pages name no account")
    media_files: dict[str, str] = {}
    for entry in z.entries:
        base = entry.rsplit("/", 1)[-1]
        if any(f"/{d}" in f"/{entry}" for d in MEDIA_DIRS) and _MEDIA_NAME.match(base):
            media_files[base] = entry
    return XArchive(printable(user, 40), posts, media_files, skipped)


def threaded(posts: list[Post]) -> list[Post]:
    """The posts that start a thread, each with its replies (to one's own posts) under it,
    oldest first; a reply to someone else starts its own."""
    by_id = {p.id: p for p in posts}
    roots: list[Post] = []
    for p in sorted(posts, key=lambda p: (p.at, p.id)):
        p.replies = []
    for p in sorted(posts, key=lambda p: (p.at, p.id)):
        parent = by_id.get(p.reply_to)
        if parent is not None and parent is not p:
            parent.replies.append(p)
        else:
            roots.append(p)
    return roots


def _text_html(p: Post, media_names: set[str]) -> str:
    out = html.escape(p.text)
    for tco, full in p.links.items():
        link = f'<a href="{html.escape(full, quote=True)}">{html.escape(full)}</a>'
        out = out.replace(html.escape(tco), link)
    for m in p.media:
        out = out.replace(html.escape(m.tco), "").rstrip()
    out = out.replace("\n", "<br>\n")
    for m in p.media:
        if m.file in media_names and m.kind == "photo":
            out += (f'\n<img src="media/{html.escape(m.file)}" alt="an image from this post" '
                    'loading="lazy">')
        elif m.file in media_names:
            out += f'\n<a href="media/{html.escape(m.file)}">the {html.escape(m.kind)}</a>'
    return out


def _article(p: Post, media_names: set[str], depth: int = 0) -> Iterator[str]:
    when = p.at.strftime("%-d %B %Y, %H:%M UTC")
    to = (f'<p class="to">In reply to @{html.escape(p.reply_to_name)}</p>\n'
          if p.reply_to_name and depth == 0 else "")
    yield (f'<article id="p{p.id}">\n{to}<p>{_text_html(p, media_names)}</p>\n'
           f'<p class="when"><a href="#p{p.id}"><time datetime="{p.at.isoformat()}">{when}'
           "</time></a></p>\n")
    for r in p.replies:
        yield from _article(r, media_names, depth + 1)
    yield "</article>\n"


def _page(title: str, body: str) -> bytes:
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title></head>\n<body>\n{body}</body></html>\n"
            ).encode()


def site(archive: XArchive) -> list[tuple[str, bytes]]:
    """The pages: `index.html` and `YYYY-MM.html` for each month with posts."""
    names = set(archive.media_files)
    who = (f"@{archive.user}" if archive.handle else archive.user) if archive.user else (
        "my account")
    months: dict[str, list[Post]] = defaultdict(list)
    for root in threaded(archive.posts):
        months[root.at.strftime("%Y-%m")].append(root)
    out: list[tuple[str, bytes]] = []
    items = []
    for month in sorted(months, reverse=True):
        title = datetime.strptime(month, "%Y-%m").strftime("%B %Y")
        roots = months[month]
        n = sum(1 + _count_replies(r) for r in roots)
        body = (f'<h1>Posts of {html.escape(who)}, {title}</h1>\n'
                '<p><a href="index.html">Every month</a></p>\n'
                + "".join(line for r in roots for line in _article(r, names)))
        out.append((f"{month}.html", _page(f"{title}: posts of {who}", body)))
        items.append(f'<li><a href="{month}.html">{title}</a>: {count(n, "post")}</li>\n')
    index = (f"<h1>Posts of {html.escape(who)} on {html.escape(archive.platform)}</h1>\n"
             f"<p>{count(len(archive.posts), 'post')}, brought home by roost.</p>\n"
             f"<ul>\n{''.join(items)}</ul>\n")
    out.append(("index.html", _page(f"Posts of {who}", index)))
    return out


def _count_replies(p: Post) -> int:
    return sum(1 + _count_replies(r) for r in p.replies)
