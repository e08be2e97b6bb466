#!/usr/bin/python3
# A stand-in for the gotosocial binary (tests only). Like the real one it reads every setting,
# the admin command's username/email/password included, from the --config-path file. Its
# WebFinger, /users/NAME and /users/NAME/main-key answer as GoToSocial's code does
# (internal/api/wellknown/webfinger/webfingerget.go, internal/processing/fedi/wellknown.go and
# user.go, internal/api/util/negotiate.go): an unsigned actor GET gets 401, an unknown account
# 404, the key path a minimal actor (id, preferredUsername, publicKey) without a signature.
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

args = sys.argv[1:]
assert args[0] == "--config-path", args
cfg = {}
for line in Path(args[1]).read_text().splitlines(keepends=True):
    if ":" in line and not line.startswith((" ", "#")):
        k, _, v = line.partition(":")
        v = v.strip()
        # A double-quoted value read with json (what roost writes for printable ASCII is both
        # a YAML and a JSON string); others as they are, without single quotes.
        cfg[k.strip()] = json.loads(v) if v.startswith(chr(34)) else v.strip(chr(39))
accounts, keys = cfg["db-address"] + ".accounts", cfg["db-address"] + ".keys"
if args[2:5] == ["admin", "account", "create"]:
    # Like GoToSocial, a second account with a name already in use is refused.
    try:
        made = Path(accounts).read_text().split()
    except FileNotFoundError:
        made = []
    if any(w == "create" and made[i + 1] == cfg["username"] for i, w in enumerate(made)):
        sys.exit("username {} already in use".format(cfg["username"]))
    # Each account gets its own RSA key, as GoToSocial makes one at account creation.
    os.makedirs(keys, mode=0o700, exist_ok=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", os.path.join(keys, cfg["username"])],
                   check=True)
    with open(accounts, "a") as f:
        f.write("create {} {} {}\n".format(cfg["username"], cfg["email"],
                hashlib.sha256(cfg["password"].encode()).hexdigest()))
    sys.exit(0)
if args[2:5] == ["admin", "account", "promote"]:
    with open(accounts, "a") as f:
        f.write("promote {}\n".format(args[args.index("--username") + 1]))
    sys.exit(0)
assert args[2:] == ["server", "start"], args
host, proto = cfg["host"], cfg.get("protocol", "https")

def account(name):
    try:
        lines = Path(accounts).read_text().split()
    except FileNotFoundError:
        return None
    made = [lines[i + 1] for i, w in enumerate(lines) if w == "create"]
    return name if name in made else None

def accept(header, offers):
    # NegotiateAccept, simplified: the first offer the Accept header names, or None (406).
    wanted = [p.split(";")[0].strip() for p in header.split(",")]
    if not header or "*/*" in wanted:
        return offers[0]
    return next((o for o in offers if o.split(";")[0] in wanted), None)

AP = ['application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
      "application/activity+json", "text/html"]

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body, kind="application/json", extra=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        asks = self.headers.get("Accept", "")
        if url.path == "/api/v1/instance":
            return self.reply(200, {"uri": host, "title": "fake gotosocial",
                                    "db": cfg["db-address"]})
        if url.path == "/.well-known/webfinger":
            kind = accept(asks, ["application/jrd+json", "application/json"])
            if kind is None:
                return self.reply(406, {"error": "Not Acceptable"})
            res = urllib.parse.parse_qs(url.query).get("resource", [""])[0]
            m = re.fullmatch(r"(?:acct:)?@?([^@]+)@(.+)", res)
            if not m:
                return self.reply(400, {"error": "Bad Request: bad webfinger request"})
            if m.group(2) != host:
                return self.reply(400, {"error": f"Bad Request: requested host {m.group(2)} "
                                        "does not belong to this instance"})
            name = account(m.group(1))
            if not name:
                return self.reply(404, {"error": "Not Found"})
            uri = f"{proto}://{host}/users/{name}"
            page = f"{proto}://{host}/@{name}"
            return self.reply(200, {
                "subject": f"acct:{name}@{host}", "aliases": [uri, page],
                "links": [{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                           "href": page},
                          {"rel": "self", "type": "application/activity+json", "href": uri}]},
                kind)
        m = re.fullmatch(r"/users/([^/]+)(/main-key)?", url.path)
        if m:
            name = m.group(1).lower()
            kind = accept(asks, AP)
            if kind is None:
                return self.reply(406, {"error": "Not Acceptable"})
            if kind == "text/html":
                return self.reply(303, {}, extra=[("Location", "/@" + name)])
            if not account(name):
                return self.reply(404, {"error": "Not Found"})
            uri = f"{proto}://{host}/users/{name}"
            if not m.group(2):
                # UserGet: no HTTP signature (or one it cannot verify) is a 401.
                return self.reply(401, {"error": "Unauthorized: http request wasn't signed or "
                                        "http signature was invalid: (verifier)"})
            pem = subprocess.run(["openssl", "pkey", "-pubout", "-in",
                                  os.path.join(keys, name)],
                                 capture_output=True, text=True, check=True).stdout
            return self.reply(200, {"@context": ["https://w3id.org/security/v1",
                                                 "https://www.w3.org/ns/activitystreams"],
                                    "id": uri, "preferredUsername": name, "type": "Person",
                                    "publicKey": {"id": uri + "/main-key", "owner": uri,
                                                  "publicKeyPem": pem}}, kind)
        self.reply(404, {"error": "Not Found"})

    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer((cfg["bind-address"], int(cfg["port"])), H).serve_forever()
