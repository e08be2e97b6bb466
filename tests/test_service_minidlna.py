"""MiniDLNA deployed over real SSH to a Debian host with systemd, proven as a player sees it:
the status page counts the uploaded media and a UPnP ContentDirectory Browse lists them."""

from __future__ import annotations

import html
import re
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from roost.core.errors import RoostError
from roost.core.paths import data_dir
from roost.deploy import engine
from roost.deploy.dryrun import plan_lines
from roost.deploy.journal import Journal
from roost.deploy.recipes import RECIPES
from roost.deploy.recipes.minidlna import build_minidlna

if TYPE_CHECKING:
    from testhost import TestHost

pytest_plugins = ["testhost"]


def make_media(folder: Path) -> list[str]:
    """Two short WAV files (stdlib `wave`, no fixture files): their titles."""
    titles = ["roost test song", "roost second song"]
    for i, title in enumerate(titles):
        sub = folder / ("Music" if i == 0 else "More music")
        sub.mkdir(parents=True, exist_ok=True)
        with wave.open(str(sub / f"{title}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x00\x01" * 4000 * (i + 1))
    (folder / ".hidden.wav").write_bytes(b"not media")
    return titles


BROWSE = """<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>
<u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">
<ObjectID>{oid}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter>
<StartingIndex>0</StartingIndex><RequestedCount>200</RequestedCount><SortCriteria></SortCriteria>
</u:Browse></s:Body></s:Envelope>"""


def browse_titles(base: str) -> set[str]:
    """Walk the ContentDirectory as a DLNA player does and collect every item's title."""
    titles: set[str] = set()
    todo, seen = ["0"], set()
    with httpx.Client(timeout=10) as client:
        while todo and len(seen) < 100:
            oid = todo.pop()
            seen.add(oid)
            r = client.post(f"{base}ctl/ContentDir", content=BROWSE.format(oid=html.escape(oid)),
                            headers={"Content-Type": 'text/xml; charset="utf-8"',
                                     "SOAPAction": '"urn:schemas-upnp-org:service:'
                                                   'ContentDirectory:1#Browse"'})
            r.raise_for_status()
            m = re.search(r"<Result>(.*)</Result>", r.text, re.S)
            didl = html.unescape(m.group(1)) if m else ""
            for cid in re.findall(r'<container id="([^"]+)"', didl):
                if cid not in seen:
                    todo.append(html.unescape(cid))
            for item in re.findall(r"<item .*?</item>", didl, re.S):
                t = re.search(r"<dc:title>(.*?)</dc:title>", item, re.S)
                if t:
                    titles.add(html.unescape(t.group(1)))
    return titles


def test_registered_dry_run_and_lan_only(tmp_path: Path) -> None:
    assert RECIPES["minidlna"] is build_minidlna
    make_media(tmp_path / "media")
    recipe = build_minidlna(None, {"upload": str(tmp_path / "media"), "address": "192.168.1.20"},
                            {})
    text = "\n".join(plan_lines(recipe, "pi"))
    assert "apt-get install" in text and "minidlna" in text
    assert "media_dir=/srv/media" in text
    assert "/srv/media/Music/roost test song.wav" in text
    assert ".hidden" not in text
    assert "http://192.168.1.20:8200/" in text
    with pytest.raises(RoostError, match="public internet address"):
        build_minidlna(None, {"address": "8.8.8.8"}, {})
    with pytest.raises(RoostError, match="not a usable media folder"):
        build_minidlna(None, {"media": "relative/dir"}, {})
    with pytest.raises(RoostError, match="no option"):
        build_minidlna(None, {"bogus": "1"}, {})


@pytest.mark.slow
@pytest.mark.container
@pytest.mark.usefixtures("home")
def test_minidlna_serves_the_uploaded_media(
    pi_host: TestHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from testhost import record_time

    titles = make_media(tmp_path / "media")
    recipe = build_minidlna(None, {"upload": str(tmp_path / "media"), "name": "Living room",
                                   "address": pi_host.address}, {})
    journal = Journal.for_host("pi", recipe.id, data_dir())
    t = pi_host.transport(tmp_path / "ssh")
    try:
        start = time.monotonic()
        result = engine.run(recipe, t, journal=journal)
        record_time("deploy_minidlna", time.monotonic() - start)
        assert result.ok and result.health is not None and result.health.ok
        base = f"http://{pi_host.address}:8200/"
        deadline = time.monotonic() + 30
        while True:  # the scan runs in the background after the start
            status = httpx.get(base, timeout=5).text
            found = browse_titles(base)
            if set(titles) <= found or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert re.search(r"Audio files</td><td>2<", status), status
        assert set(titles) <= found, found
        desc = httpx.get(f"{base}rootDesc.xml", timeout=5).text
        assert "<friendlyName>Living room" in desc

        again = engine.run(recipe, t, journal=journal)
        assert again.ok and again.applied == 0

        engine.undeploy(recipe, t, journal=journal)
        assert pi_host.ssh("systemctl is-active minidlna", check=False).stdout.strip() \
            != "active"
        pi_host.ssh("test -f '/srv/media/Music/roost test song.wav'")  # media kept
    finally:
        t.close()
