"""A Facebook "Download your information" export, JSON format, as Meta writes it
(docs/import-formats.md): `posts/your_posts_1.json`, photos under `posts/media/...`, the
profile in `profile_information/profile_information.json`, every string's UTF-8 bytes written
as one \\u00XX escape per byte (json.dumps of the mis-decoded text gives exactly that)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from support.xarchive import PNG


def meta(text: str) -> str:
    """The text as Meta's JSON holds it: its UTF-8 bytes read as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


def meta_json(obj: Any) -> str:
    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return meta(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        return v
    return json.dumps(walk(obj), indent=2)  # ensure_ascii: \u00XX escapes, as Meta writes


PHOTO_URI = "posts/media/Mobileuploads_1234/101_10150_n_10150.jpg"
POSTS = [
    {"timestamp": 1677664800, "data": [{"post": "Café au lait in Zürich ☕ 🐦"},
                                        {"update_timestamp": 1677664800}],
     "title": "Robin Roost updated their status."},
    {"timestamp": 1677751200, "data": [{"post": "The roost from above"}],
     "attachments": [{"data": [{"media": {"uri": PHOTO_URI, "creation_timestamp": 1677751200,
                                          "title": "Mobile uploads", "description": ""}}]}],
     "title": "Robin Roost added a new photo."},
    {"timestamp": 1646467200, "data": [{"post": "Worth reading"}],
     "attachments": [{"data": [{"external_context": {
         "url": "https://blog.example.org/leaving"}}]}],
     "title": "Robin Roost shared a link."},
    {"timestamp": "not a time", "data": []},
]


def write_fb_archive(path: Path, posts: list[Any] = POSTS) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("posts/your_posts_1.json", meta_json(posts))
        z.writestr(PHOTO_URI, PNG)
        z.writestr("profile_information/profile_information.json", meta_json(
            {"profile_v2": {"name": {"full_name": "Robin Rööst", "first_name": "Robin"}}}))
    return path
