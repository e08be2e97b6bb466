"""Meta's "Download your information" export of a Facebook account, JSON format, read from its
zip: posts in `posts/your_posts_1.json` (newer exports:
`your_activity_across_facebook/posts/your_posts__check_ins__photos_and_videos_1.json`; more
files `_2`, `_3`... for large accounts), photos where each post's `uri` says, the name in
`profile_information/profile_information.json`. See docs/import-formats.md.

Each post: `timestamp` (Unix seconds), `data: [{"post": TEXT}, {"update_timestamp": N}]`,
`attachments: [{"data": [{"media": {"uri": ..., "description": ...}}, {"external_context":
{"url": ...}}]}]`, `title`. Meta writes every string's UTF-8 bytes as \\u00XX escapes, one
per byte ("Café" arrives as "CafÃ©"): `fix_text` turns them back into the characters meant.

`read_archive(zip)` gives the same `XArchive` the X import renders (roost.deploy.imports.x).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from roost.core.errors import RoostError
from roost.core.text import printable
from roost.deploy.imports.x import Media, Post, XArchive
from roost.deploy.imports.zipped import SafeZip

POSTS = re.compile(r"^(?:.*/)?(?:posts/your_posts_[0-9]+|your_posts__check_ins__photos_and_"
                   r"videos_[0-9]+)\.json$")
PROFILE = ("profile_information/profile_information.json",
           "personal_information/profile_information/profile_information.json")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PHOTO = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def fix_text(value: str) -> str:
    """Meta's double encoding undone: a string whose characters are all below 256 and whose
    bytes are valid UTF-8 meant those UTF-8 characters; anything else is kept as it is."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def fixed(obj: Any) -> Any:
    """`fix_text` on every string of a JSON value."""
    if isinstance(obj, str):
        return fix_text(obj)
    if isinstance(obj, list):
        return [fixed(v) for v in obj]
    if isinstance(obj, dict):
        return {fix_text(k): fixed(v) for k, v in obj.items()}
    return obj


def _json(z: SafeZip, name: str) -> Any:
    try:
        return fixed(json.loads(z.read(name)))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RoostError(f"{printable(name, 80)} is broken{where}: the archive is truncated "
                         "or damaged", hint="download it again from Meta") from None


def media_name(uri: str) -> str:
    """The name a photo gets in the site's media/ folder: stable, short, safe."""
    base = _SAFE.sub("_", uri.rsplit("/", 1)[-1])[-80:].lstrip("._-") or "file"
    return f"{hashlib.sha256(uri.encode()).hexdigest()[:10]}-{base}"


def _post(row: Any, entries: dict[str, str]) -> Post:
    at = datetime.fromtimestamp(int(row["timestamp"]), UTC)
    texts = [str(d["post"]) for d in row.get("data") or [] if isinstance(d, dict) and "post" in d]
    text = "\n\n".join(texts) or str(row.get("title") or "")
    links: dict[str, str] = {}
    media: list[Media] = []
    for att in row.get("attachments") or []:
        for d in att.get("data") or []:
            if "media" in d and d["media"].get("uri"):
                uri = str(d["media"]["uri"])
                kind = "photo" if uri.lower().endswith(_PHOTO) else "video"
                media.append(Media(media_name(uri), "", kind))
                entries.setdefault(media_name(uri), uri)
            elif "external_context" in d and d["external_context"].get("url"):
                url = str(d["external_context"]["url"])
                if url.startswith(("https://", "http://")):
                    links[url] = url
                    if url not in text:
                        text += f"\n{url}"
    pid = hashlib.sha256(f"{row['timestamp']}:{text}".encode()).hexdigest()[:16]
    return Post(str(int(pid, 16)), text, at, links, media)


def read_archive(z: SafeZip) -> XArchive:
    names = sorted(n for n in z.entries if POSTS.match(n))
    if not names:
        raise RoostError(f"{z.name} has no posts/your_posts_1.json: it is not a Facebook "
                         "export in JSON", hint="in Meta's Accounts Centre, Download your "
                         "information, choose the JSON format")
    posts: list[Post] = []
    skipped: list[str] = []
    wanted: dict[str, str] = {}
    for name in names:
        rows = _json(z, name)
        if not isinstance(rows, list):
            raise RoostError(f"{printable(name, 80)} does not hold a list of posts",
                             hint="download it again from Meta")
        for i, row in enumerate(rows):
            try:
                posts.append(_post(row, wanted))
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError):
                skipped.append(f"{printable(name.rsplit('/', 1)[-1], 60)}, post {i + 1}: "
                               "not a post roost can read")
    user = ""
    profile = z.find(*PROFILE)
    if profile is not None:
        try:
            info = _json(z, profile)
            user = str(info["profile_v2"]["name"]["full_name"])
        except (RoostError, KeyError, TypeError):
            skipped.append("profile_information.json: unreadable, the pages name no one")
    media_files = {}
    for name, uri in wanted.items():
        entry = z.find(uri)
        if entry is not None:
            media_files[name] = entry
    return XArchive(printable(user, 60), posts, media_files, skipped, platform="Facebook",
                    handle=False)
