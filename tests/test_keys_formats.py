"""Every identity format roost writes is read back by the reference tool that really uses it:
npm ssb-keys / ssb-validate, signedjson, ssh-keygen, wg, Debian tor, and slixmpp's SCRAM client.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from roost.core.errors import RoostError
from roost.keys import create, fediverse, matrix, ssb, ssh, tor, wireguard, xmpp

NODE_DIR = Path(__file__).parent / "node"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/test.sh, which installs it")
    return path


# --- Secure Scuttlebutt ----------------------------------------------------------------------

def _ssb_check(request: dict[str, object]) -> dict[str, object]:
    _need("node")
    if not (NODE_DIR / "node_modules" / "ssb-keys").is_dir():
        pytest.fail("tests/node has no node_modules: run scripts/test.sh (npm install)")
    result = subprocess.run(["node", str(NODE_DIR / "ssb_check.js")], input=json.dumps(request),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


def test_ssb_secret_file_loads_in_ssb_keys_and_messages_validate(tmp_path: Path) -> None:
    ident = create("ssb", "me", profile_name="Zoë 🐦 at home")
    secret = tmp_path / ".ssb" / "secret"
    assert ssb.write_ssb_secret(secret, ident) is None
    assert stat.S_IMODE(secret.stat().st_mode) == 0o400

    about = json.loads(ident.public["about_message"])
    assert about["content"] == {"type": "about", "about": ident.public["ssb_id"],
                                "name": "Zoë 🐦 at home"}
    # A second message chained to the first, with text that exercises the JSON and
    # latin1-hash corner cases: non-ASCII, a character outside the BMP, controls, quotes.
    post = ssb.sign_message(ident, ssb.message_id(about), 2,
                            {"type": "post", "text": "héllo ✓ 𝄞 \u0001\t\"q\" \\"},
                            about["timestamp"] + 1)
    out = _ssb_check({"secret_file": str(secret), "messages": [about, post]})

    assert out["loaded_id"] == ident.public["ssb_id"]
    assert out["verify"] == [True, True]
    assert out["valid"] is True, out.get("error")
    assert out["ids"] == [ssb.message_id(about), ssb.message_id(post)]
    assert out["ids"][0] == ident.public["about_message_id"]
    assert out["appended"] == out["ids"]
    # ssb-validate creating the same messages from the loaded keys gives identical bytes.
    assert out["created"] == [about, post]


def test_ssb_chain_of_awkward_texts_matches_ssb_validate_byte_for_byte(tmp_path: Path) -> None:
    """JSON.stringify and the latin1 id hash are easy to get subtly wrong: 60 messages of
    random text from every Unicode plane (and JSON's special characters) must all match."""
    import random

    rng = random.Random(5)
    specials = ["\u2028", "\u2029", "\x7f", "\x00", "\u00e9", "\ufeff", "\U0001f600", "\\",
                '"', "/", "\b", "\f", "\r", "\u0301", "\uffff", "\U0010ffff"]

    def text() -> str:
        out = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.3:
                out.append(rng.choice(specials))
            else:
                cp = rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0xd7ff),
                                 rng.randint(0xe000, 0xfffd), rng.randint(0x10000, 0x10ffff)])
                out.append(chr(cp))
        return "".join(out)

    ident = create("ssb", "me")
    secret = tmp_path / "secret"
    ssb.write_ssb_secret(secret, ident)
    msgs = [json.loads(ident.public["about_message"])]
    for n in range(2, 62):
        content = {"type": "post", "text": text(), "n": n, "nested": {"k": [text(), None, True]}}
        msgs.append(ssb.sign_message(ident, ssb.message_id(msgs[-1]), n, content,
                                     msgs[-1]["timestamp"] + 1))
    out = _ssb_check({"secret_file": str(secret), "messages": msgs})
    assert out["valid"] is True, out.get("error")
    assert out["ids"] == [ssb.message_id(m) for m in msgs]
    assert out["created"] == msgs


def test_ssb_validate_rejects_a_tampered_message(tmp_path: Path) -> None:
    ident = create("ssb", "me")
    about = json.loads(ident.public["about_message"])
    about["content"]["name"] = "someone else"
    out = _ssb_check({"messages": [about]})
    assert out["verify"] == [False]
    assert out["valid"] is False
    assert not ssb.verify_message(about)


def test_ssb_secret_is_never_overwritten_unless_asked_and_then_backed_up(tmp_path: Path) -> None:
    first, second = create("ssb", "one"), create("ssb", "two")
    path = tmp_path / "secret"
    ssb.write_ssb_secret(path, first)
    with pytest.raises(RoostError, match="already holds an SSB identity"):
        ssb.write_ssb_secret(path, second)
    assert first.public["ssb_id"] in path.read_text()
    backup = ssb.write_ssb_secret(path, second, overwrite=True)
    assert backup is not None
    assert first.public["ssb_id"] in backup.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o400
    assert second.public["ssb_id"] in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o400


def test_ssb_sequence_rules() -> None:
    ident = create("ssb", "me")
    with pytest.raises(RoostError):
        ssb.sign_message(ident, None, 2, {"type": "post", "text": "x"}, 1)
    with pytest.raises(RoostError):
        ssb.sign_message(ident, "%x.sha256", 1, {"type": "post", "text": "x"}, 1)
    with pytest.raises(RoostError):
        create("ssb", "me", profile_name="   ")


# --- Matrix ----------------------------------------------------------------------------------

def test_matrix_signing_key_file_is_read_by_signedjson(tmp_path: Path) -> None:
    from signedjson.key import get_verify_key, read_signing_keys
    from signedjson.sign import sign_json, verify_signed_json

    ident = create("matrix", "hs", server_name="example.org")
    line = matrix.signing_key_file_text(ident)
    assert line.startswith(f"ed25519 {ident.public['key_version']} ")
    assert "=" not in line.split()[2]
    (key,) = read_signing_keys(io.StringIO(line))
    assert key.version == ident.public["key_version"]
    signed = sign_json({"server_name": "example.org"}, "example.org", key)
    verify = get_verify_key(key)
    verify_signed_json(signed, "example.org", verify)
    assert base64.b64encode(bytes(verify)).decode().rstrip("=") == ident.public["verify_key"]
    signed["server_name"] = "evil.example"
    with pytest.raises(Exception, match="Unable to verify"):
        verify_signed_json(signed, "example.org", verify)
    secrets_ = {ident.secret[k] for k in ("registration_shared_secret", "macaroon_secret_key",
                                          "form_secret")}
    assert len(secrets_) == 3 and all(len(s) >= 32 for s in secrets_)
    # What the deploy recipe for Synapse reads from the vault.
    assert {"signing_key_seed", "admin_password"} <= set(ident.secret)


# --- SSH -------------------------------------------------------------------------------------

def test_ssh_keygen_agrees_on_fingerprint_and_public_key(tmp_path: Path) -> None:
    _need("ssh-keygen")
    ident = create("ssh", "host", comment="me@laptop")
    priv, pub = tmp_path / "id_ed25519", tmp_path / "id_ed25519.pub"
    priv.write_text(ssh.private_key_file_text(ident))
    priv.chmod(0o600)
    pub.write_text(ssh.public_key_file_text(ident))
    listed = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                            check=True).stdout.split()
    assert listed[1] == ident.public["fingerprint"]
    assert listed[-1] == "(ED25519)"
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(priv)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert derived[:2] == ident.public["public_key"].split()[:2]
    listed_priv = subprocess.run(["ssh-keygen", "-lf", str(priv)], capture_output=True,
                                 text=True, check=True).stdout.split()
    assert listed_priv[1] == ident.public["fingerprint"]


# --- WireGuard -------------------------------------------------------------------------------

def test_wg_pubkey_agrees(tmp_path: Path) -> None:
    _need("wg")
    ident = create("wireguard", "wg")
    out = subprocess.run(["wg", "pubkey"], input=wireguard.private_key_file_text(ident),
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == ident.public["public_key"]
    assert len(base64.b64decode(ident.secret["private_key"])) == 32


# --- Tor -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_tor_starts_with_the_key_and_names_the_same_onion(tmp_path: Path) -> None:
    tor_bin = _need("tor")
    ident = create("tor", "onion")
    hs, data = tmp_path / "hs", tmp_path / "data"
    for d in (hs, data):
        d.mkdir(mode=0o700)
    secret = hs / "hs_ed25519_secret_key"
    secret.write_bytes(tor.secret_key_file(ident))
    secret.chmod(0o600)
    assert len(secret.read_bytes()) == 96
    proc = subprocess.Popen(
        [tor_bin, "--DataDirectory", str(data), "--HiddenServiceDir", str(hs),
         "--HiddenServicePort", "80 127.0.0.1:9", "--SocksPort", "0", "--ControlPort", "0",
         "--DisableNetwork", "1", "--Log", "notice stdout", "--RunAsDaemon", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        hostname = hs / "hostname"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not hostname.exists():
            assert proc.poll() is None, "tor exited"
            time.sleep(0.2)
        assert hostname.exists(), "tor did not write the hostname file"
        time.sleep(0.5)
        assert proc.poll() is None, "tor did not keep running with the key"
        assert hostname.read_text().strip() == ident.public["hostname"]
        assert (hs / "hs_ed25519_public_key").read_bytes() == tor.public_key_file(ident)
        assert secret.read_bytes() == tor.secret_key_file(ident)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_onion_address_shape() -> None:
    ident = create("tor", "onion")
    host = ident.public["hostname"]
    assert host.endswith(".onion") and len(host) == 62
    assert tor.onion_address(base64.b64decode(ident.public["public_key"])) == host


# --- XMPP ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["", "a b@example.org", "a@b@example.org", "al'ce@example.org",
                                 "<x>@example.org", "alice@", "alice@exa mple.org",
                                 "alice@example.org/phone", "a:b@example.org", "al&c@x.org"])
def test_xmpp_rejects_bad_addresses(bad: str) -> None:
    with pytest.raises(RoostError) as err:
        create("xmpp", "chat", jid=bad)
    assert "\n" not in str(err.value)


def test_xmpp_address_is_normalised() -> None:
    ident = create("xmpp", "chat", jid=" Alice@Example.ORG ")
    assert ident.public["jid"] == "alice@example.org"
    assert len(ident.secret["password"]) >= 32


def _server_verify(creds: xmpp.ScramCredentials, client_first: bytes,
                   client_final: bytes, server_first: bytes) -> bytes | None:
    """The server's half of SCRAM-SHA-1 (RFC 5802), using only StoredKey and ServerKey."""
    first_bare = client_first.split(b",", 2)[2]
    without_proof, _, proof_b64 = client_final.rpartition(b",p=")
    auth = first_bare + b"," + server_first + b"," + without_proof
    signature = hmac.new(creds.stored_key, auth, hashlib.sha1).digest()
    client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof_b64), signature,
                                             strict=True))
    if hashlib.sha1(client_key).digest() != creds.stored_key:
        return None
    return b"v=" + base64.b64encode(hmac.new(creds.server_key, auth, hashlib.sha1).digest())


@pytest.mark.parametrize("typed_right", [True, False])
def test_xmpp_scram_keys_work_with_slixmpp_client(typed_right: bool) -> None:
    """slixmpp's own SCRAM-SHA-1 client logs in against the keys roost stores."""
    from slixmpp.util.sasl.mechanisms import SCRAM

    ident = create("xmpp", "chat", jid="alice@example.org")
    creds = xmpp.credentials(ident)
    typed = ident.secret["password"] if typed_right else ident.secret["password"] + "x"
    client = SCRAM("SCRAM-SHA-1", {"username": b"alice", "password": typed.encode(),
                                   "authzid": b"", "channel_binding": b""},
                   {"encrypted": True, "unencrypted_scram": True, "binding_proposed": False,
                    "tls_version": None})
    client_first = client.process(b"")
    cnonce = client_first.split(b"r=", 1)[1]
    server_first = (b"r=" + cnonce + b"servernonce,s=" + base64.b64encode(creds.salt)
                    + b",i=" + str(creds.iterations).encode())
    client_final = client.process(server_first)
    verdict = _server_verify(creds, client_first, client_final, server_first)
    if not typed_right:
        assert verdict is None
        return
    assert verdict is not None
    client.process(verdict)  # raises if the server signature is wrong
    assert client._mutual_auth


def test_prosody_account_file_holds_no_password() -> None:
    ident = create("xmpp", "chat", jid="alice@example.org")
    text = xmpp.prosody_account_file(ident)
    assert ident.secret["password"] not in text
    assert f'["stored_key"] = "{ident.secret["scram_stored_key"]}"' in text
    assert xmpp.prosody_encode("example.org") == "example%2eorg"


# --- Fediverse -------------------------------------------------------------------------------

def test_fediverse_secrets_and_vapid_pair() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.hashes import SHA256

    ident = create("fediverse", "social", handle="@Alice", domain="social.example.org",
                   email="me@example.org")
    p, s = ident.public, ident.secret
    assert p["webfinger"] == "acct:alice@social.example.org"
    assert p["address"] == "@alice@social.example.org"
    assert len(s["secret_key_base"]) == 128 and int(s["secret_key_base"], 16) >= 0
    assert len(s["otp_secret"]) == 128 and int(s["otp_secret"], 16) >= 0
    # The VAPID pair is a real P-256 pair: sign with the private scalar, verify with the point.
    scalar = int.from_bytes(base64.urlsafe_b64decode(s["vapid_private_key"]), "big")
    point = base64.urlsafe_b64decode(p["vapid_public_key"])
    assert len(point) == 65 and point[0] == 4
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    public.verify(private.sign(b"x", ec.ECDSA(SHA256())), b"x", ec.ECDSA(SHA256()))
    env = fediverse.mastodon_env(ident)
    assert f"OTP_SECRET={s['otp_secret']}\n" in env
    assert f'secret_key_base: "{s["akkoma_secret_key_base"]}"' in fediverse.akkoma_secrets(ident)


def _elixir_value(text: str, key: str) -> str:
    """The string after `key:` in an Elixir config file, its escapes read back (a reader
    written from Elixir's rules for double-quoted strings, independent of roost's writer)."""
    import re

    m = re.search(re.escape(key) + r':\s*"((?:[^"\\]|\\.)*)"', text)
    assert m is not None, key
    return re.sub(r"\\u\{([0-9A-Fa-f]{1,6})\}|\\(.)",
                  lambda e: chr(int(e[1], 16)) if e[1] else e[2], m[1])


@pytest.mark.parametrize("value", ['plain', 'a"b', 'back\\slash', "it's", "#{System.halt()}",
                                   "line\nbreak\ttab\x7f", "é ✓ 𝄞", '\\"#{\\'])
def test_elixir_string_reads_back_and_cannot_interpolate(value: str) -> None:
    lit = fediverse.elixir_string(value)
    inner = lit[1:-1]
    assert lit[0] == lit[-1] == '"' and "\n" not in lit
    # No quote ends the string early, no `#{` starts an interpolation: each is escaped.
    import re
    assert not re.search(r'(?<!\\)(\\\\)*"', inner)
    assert not re.search(r'(?<!\\)(\\\\)*#\{', inner)
    assert _elixir_value(f"k: {lit}", "k") == value
    assert fediverse.elixir_string("a\"#b") == '"a\\\"\\#b"'


def test_akkoma_secrets_exs_is_elixir_with_a_p256_web_push_pair(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.hashes import SHA256

    from roost.keys.export import export_identity

    ident = create("fediverse", "social", handle="alice", domain="social.example.org",
                   email="me@example.org", software="akkoma")
    s = ident.secret
    text = fediverse.akkoma_secrets(ident)
    for key, field in (("secret_key_base", "akkoma_secret_key_base"),
                       ("default_signer", "akkoma_joken_signer")):
        assert _elixir_value(text, key) == s[field] and len(s[field]) == 64
    assert _elixir_value(text, "signing_salt") == s["akkoma_signing_salt"]
    assert _elixir_value(text.split("live_view")[1], "signing_salt") == \
        s["akkoma_live_view_signing_salt"]
    # The web push pair: url-safe base64 without padding (as `instance gen` writes it) that
    # decodes to a P-256 private scalar and the matching uncompressed public point.
    priv, pub = _elixir_value(text, "private_key"), _elixir_value(text, "public_key")
    assert "=" not in priv + pub and "+" not in priv + pub and "/" not in priv + pub
    scalar = base64.urlsafe_b64decode(priv + "=" * (-len(priv) % 4))
    point = base64.urlsafe_b64decode(pub + "=" * (-len(pub) % 4))
    assert len(scalar) == 32 and len(point) == 65 and point[0] == 4
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    public.verify(key.sign(b"push", ec.ECDSA(SHA256())), b"push", ec.ECDSA(SHA256()))
    # Nothing the server does not use: no database password (peer login), no admin password.
    assert s["db_password"] not in text and s["password"] not in text
    # `roost keys export` writes exactly this file, which the recipes upload.
    out = export_identity(ident, tmp_path / "secrets.exs")
    assert out == [tmp_path / "secrets.exs"] and out[0].read_text() == text
    assert stat.S_IMODE(out[0].stat().st_mode) == 0o600


def test_cryptography_is_a_runtime_dependency_through_paramiko() -> None:
    from importlib.metadata import requires

    assert any(r.split()[0].startswith("cryptography") for r in requires("paramiko") or [])


@pytest.mark.parametrize("opts", [
    {"handle": "a b", "domain": "x.org", "email": "a@x.org"},
    {"handle": "al", "domain": "x..org", "email": "a@x.org"},
    {"handle": "al", "domain": "x.org", "email": "not-an-address"},
    {"handle": "al", "domain": "x.org", "email": "a@x.org", "software": "twitter"},
])
def test_fediverse_rejects_bad_options(opts: dict[str, str]) -> None:
    with pytest.raises(RoostError):
        create("fediverse", "social", **opts)


def test_follows_csv_reads_back_with_the_mastodon_header() -> None:
    text = fediverse.follows_csv([fediverse.Follow("@bob@example.org"),
                                  fediverse.Follow("eve@x.social", show_boosts=False,
                                                   notify=True, languages=("en", "de"))])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Account address", "Show boosts", "Notify on new posts", "Languages"]
    assert rows[1] == ["bob@example.org", "true", "false", ""]
    assert rows[2] == ["eve@x.social", "false", "true", "en,de"]


def test_move_steps_name_both_accounts_in_order() -> None:
    ident = create("fediverse", "social", handle="alice", domain="new.example",
                   email="a@new.example")
    steps = fediverse.move_steps(ident, "@alice@mastodon.social")
    alias = next(i for i, s in enumerate(steps) if "alias" in s)
    move = next(i for i, s in enumerate(steps) if "start the move" in s)
    assert alias < move
    assert "@alice@new.example" in steps[move] and "@alice@mastodon.social" in steps[move]
    with pytest.raises(RoostError):
        fediverse.move_steps(ident, "alice")


# --- Common ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ssb", "xmpp", "fediverse", "matrix", "ssh", "wireguard",
                                  "tor", "login"])
def test_repr_never_shows_secrets(kind: str) -> None:
    opts = {"xmpp": {"jid": "a@example.org"}, "matrix": {"server_name": "example.org"},
            "fediverse": {"handle": "a", "domain": "example.org", "email": "a@example.org"}}
    ident = create(kind, kind, **opts.get(kind, {}))
    assert ident.secret
    shown = repr(ident) + str(ident) + repr(ident.info())
    for value in ident.secret_values():
        assert value not in shown
    assert ident.public_id and ident.public_id in shown


def test_unknown_kind_and_options() -> None:
    with pytest.raises(RoostError, match="not a kind of identity"):
        create("pgp")
    with pytest.raises(RoostError, match="--jid does not apply"):
        create("ssh", "x", jid="a@b.org")
    with pytest.raises(RoostError, match="needs --server-name"):
        create("matrix", "x")
    with pytest.raises(RoostError, match="not a valid identity name"):
        create("ssh", "Bad Name")
    assert os.sep not in create("ssh").id


# --- Login ---------------------------------------------------------------------------------

def test_login_fields_and_a_readable_made_password() -> None:
    from roost.keys import login
    from roost.keys.model import KIND_NAMES, KINDS, MAIN_PUBLIC

    assert "login" in KINDS and "login" in KIND_NAMES and MAIN_PUBLIC["login"] == "user"
    ident = create("login", "wordpress")
    assert ident.id == "wordpress" and ident.kind == "login"
    assert dict(ident.public) == {"user": "admin", "password_made": "by roost"}
    assert list(ident.secret) == ["password"]
    pw = ident.secret["password"]
    groups = pw.split("-")
    assert len(groups) == 6 and all(len(g) == 4 for g in groups)
    assert set(pw) <= set(login.LETTERS) | {"-"}
    assert not set(pw) & set("ilo0O1I")  # nothing to mistake for a digit or a capital
    # No public value and no part of the index form holds the password.
    info = ident.info().to_dict()
    assert pw not in repr(info) and pw not in repr(ident)
    # Made passwords differ (24 letters from 23: about 108 bits).
    made = {create("login").secret["password"] for _ in range(200)}
    assert len(made) == 200

    mail = create("login", "mail", email="Robin@Example.org")
    assert mail.public["user"] == "robin@example.org" == mail.public["email"]
    own = create("login", "x", user="robin", password="a typed pass phrase")
    assert own.secret["password"] == "a typed pass phrase"
    assert own.public == {"user": "robin", "password_made": "typed by you"}
    assert "a typed pass phrase" not in repr(own) + repr(own.info())


@pytest.mark.parametrize(("opts", "says"), [
    ({"password": "qz7x"}, "too short"),
    ({"password": "x" * 201}, "too long"),
    ({"password": "two\nlines here"}, "control character"),
    ({"password": "tab\there ok?"}, "control character"),
    ({"password": " spaced out "}, "starts or ends with a space"),
    ({"user": "a b"}, "not a user name"),
    ({"user": "x;rm -rf /"}, "not a user name"),
    ({"email": "nobody"}, "not an e-mail address"),
    ({"comment": "x"}, "--comment does not apply"),
])
def test_login_refuses_bad_input(opts: dict[str, str], says: str) -> None:
    with pytest.raises(RoostError, match=says) as caught:
        create("login", "x", **opts)
    if "password" in opts:
        assert opts["password"] not in caught.value.line()


def test_only_a_login_takes_a_typed_password() -> None:
    with pytest.raises(RoostError, match="roost makes the password of an xmpp identity"):
        create("xmpp", "x", jid="a@example.org", password="typed password")


def test_login_export_file(tmp_path: Path) -> None:
    from roost.keys.export import export_identity

    ident = create("login", "mail", email="robin@example.org")
    (path,) = export_identity(ident, tmp_path / "mail.txt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ["user = robin@example.org", "email = robin@example.org",
                         f"password = {ident.secret['password']}"]


# --- Export ----------------------------------------------------------------------------------

EXPORT_OPTS: dict[str, dict[str, str]] = {
    "xmpp": {"jid": "a@example.org"}, "matrix": {"server_name": "example.org"},
    "fediverse": {"handle": "a", "domain": "example.org", "email": "a@example.org"},
}


@pytest.mark.parametrize("kind", ["ssb", "xmpp", "fediverse", "matrix", "ssh", "wireguard",
                                  "tor", "login"])
def test_export_writes_new_files_with_right_modes_and_never_overwrites(
        kind: str, tmp_path: Path) -> None:
    from roost.keys.export import export_identity

    ident = create(kind, kind, **EXPORT_OPTS.get(kind, {}))
    target = tmp_path / "out"
    written = export_identity(ident, target)
    assert written and all(p.exists() for p in written)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    expected_secret_mode = 0o400 if kind == "ssb" else 0o600
    assert modes[written[0].name] == expected_secret_mode
    if kind == "ssh":
        assert modes["out.pub"] == 0o644
    if kind == "tor":
        assert stat.S_IMODE(target.stat().st_mode) == 0o700
    if kind == "tor":  # an existing folder: Tor's own folder is made inside it
        inside = export_identity(ident, target)
        assert [p.relative_to(target).as_posix() for p in inside] == [
            f"hidden_service/{p.name}" for p in written]
        written += inside
    before = {p: p.read_bytes() for p in written}
    with pytest.raises(RoostError, match="already exists"):
        export_identity(ident, target)
    assert {p: p.read_bytes() for p in written} == before
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()], "temp files left behind"
    # A dangling symlink at the target is not followed.
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RoostError, match="already exists"):
        export_identity(ident, link)
    assert not (tmp_path / "elsewhere").exists()


def test_exported_files_are_read_by_the_reference_tools(tmp_path: Path) -> None:
    from signedjson.key import read_signing_keys

    from roost.keys.export import export_identity

    ssh_id = create("ssh", "s")
    export_identity(ssh_id, tmp_path / "id")
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(tmp_path / "id")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert derived[:2] == ssh_id.public["public_key"].split()[:2]
    wg_id = create("wireguard", "w")
    export_identity(wg_id, tmp_path / "wg")
    with (tmp_path / "wg").open() as f:
        out = subprocess.run(["wg", "pubkey"], stdin=f, capture_output=True, text=True,
                             check=True).stdout.strip()
    assert out == wg_id.public["public_key"]
    mx = create("matrix", "m", server_name="example.org")
    export_identity(mx, tmp_path / "signing.key")
    with (tmp_path / "signing.key").open() as f:
        (key,) = read_signing_keys(f)
    assert key.version == mx.public["key_version"]
    sb = create("ssb", "b")
    export_identity(sb, tmp_path / "secret")
    assert _ssb_check({"secret_file": str(tmp_path / "secret")})["loaded_id"] == \
        sb.public["ssb_id"]


def test_follows_csv_reads_what_it_writes() -> None:
    follows = [fediverse.Follow("bob@example.org"),
               fediverse.Follow("eve@x.social", show_boosts=False, notify=True,
                                languages=("en", "de"))]
    assert fediverse.read_follows_csv(fediverse.follows_csv(follows)) == follows
    with pytest.raises(RoostError, match="not a follows export"):
        fediverse.read_follows_csv("a,b\n1,2\n")


def test_recipes_take_the_admin_from_the_login_in_the_vault() -> None:
    """`roost keys new login --name wordpress --user robin` is all WordPress needs; a single
    login of another name is found too, and an explicit option still wins."""
    from roost.deploy.recipes.wordpress import build_wordpress
    from roost.deploy.steps import CreateAccount
    from roost.keys.model import IdentityInfo

    robin = IdentityInfo("wordpress", "login", {"user": "robin", "email": "robin@example.org"},
                         "2026-11-25T00:00:00Z")
    r = build_wordpress(None, {"domain": "blog.example.org"}, {"wordpress": robin})
    acct = next(s for s in r.steps if isinstance(s, CreateAccount))
    assert acct.argv[-2:] == ("robin", "robin@example.org") and acct.secret.name == "wordpress"
    other = IdentityInfo("me", "login", {"user": "sam"}, "2026-11-25T00:00:00Z")
    r = build_wordpress(None, {"domain": "blog.example.org"}, {"me": other})
    acct = next(s for s in r.steps if isinstance(s, CreateAccount))
    assert acct.argv[-2] == "sam" and acct.secret.name == "me"
    r = build_wordpress(None, {"domain": "b.example.org", "admin": "root2"}, {"me": other})
    assert next(s for s in r.steps if isinstance(s, CreateAccount)).argv[-2] == "root2"
