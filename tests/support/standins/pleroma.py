#!/usr/bin/python3
# A stand-in for an OTP release's bin/pleroma (tests only): start | stop | eval CODE | rpc CODE.
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
with open(os.path.join(os.environ["HOME"], "calls.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
cmd = sys.argv[1]
if cmd == "stop":
    sys.exit(0)
text = Path(os.environ["PLEROMA_CONFIG_PATH"]).read_text()
def get(key, src):
    m = re.search(key + r":\s*\"([^\"]*)\"", src)
    return m.group(1) if m else None
assert "password:" not in text, "a database password in the configuration"
host, email = get("host", text), get("email", text)
port = int(re.search(r"http: \[ip: \{127, 0, 0, 1\}, port: (\d+)\]", text).group(1))
sock, dbname, dbuser = get("socket_dir", text), get("database", text), get("username", text)
sec = Path(re.search(r"import_config \"([^\"]+)\"", text).group(1)).read_text()
assert len(get("secret_key_base", sec)) == 64 and len(get("default_signer", sec)) == 64
assert len(get("signing_salt", sec)) == 8
# Like a release, the boot writes its runtime configuration under RELEASE_TMP.
with open(os.path.join(os.environ["RELEASE_TMP"], "sys.config"), "w") as f:
    f.write("[].\n")

def sql(query, **v):
    args = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", sock, "-d", dbname]
    assert dbuser == os.environ.get("USER", dbuser) or True
    for k, x in v.items():
        args += ["-v", f"{k}={x}"]
    r = subprocess.run(args, input=query, capture_output=True, text=True)
    if r.returncode:
        sys.exit("psql: " + r.stderr)
    return r.stdout.strip()

def migrate():
    sql("""CREATE TABLE IF NOT EXISTS users (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
      nickname citext UNIQUE NOT NULL, email citext NOT NULL, is_admin boolean NOT NULL,
      password_hash text NOT NULL, keys text NOT NULL);
    CREATE INDEX IF NOT EXISTS users_nick_trgm ON users USING gin ((nickname::text) gin_trgm_ops);
    CREATE TABLE IF NOT EXISTS password_reset_tokens (token text PRIMARY KEY,
      nickname citext NOT NULL, used boolean NOT NULL DEFAULT false);
    CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY);
    INSERT INTO schema_migrations VALUES (20251024000000) ON CONFLICT DO NOTHING;""")
    print("migrations done")

def reset_url(nick):
    tok = secrets.token_urlsafe(24)
    sql("INSERT INTO password_reset_tokens (token, nickname) VALUES (:'t', :'n');", t=tok, n=nick)
    print("Generated password reset token for " + nick)
    print(f"URL: https://{host}/api/v1/pleroma/password_reset/{tok}")

def task(args):
    if args == ["migrate"]:
        return migrate()
    if args[:2] == ["user", "new"]:
        nick, mail, rest = args[2], args[3], args[4:]
        assert not any(a.startswith("--password") for a in rest), "password on argv"
        assert "-y" in rest and "--admin" in rest, rest
        # Like Pleroma.User, each account gets its own RSA key (users.keys, a private PEM).
        pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                              "rsa_keygen_bits:2048"], capture_output=True, text=True,
                             check=True).stdout
        sql("INSERT INTO users (nickname, email, is_admin, password_hash, keys) "
            "VALUES (:'n', :'e', true, :'h', :'k');", n=nick, e=mail, h=secrets.token_hex(16),
            k=pem)
        print(f"User {nick} created")
        return reset_url(nick)
    if args[:2] == ["user", "reset_password"]:
        return reset_url(args[2])
    sys.exit(f"unknown task {args!r}")

if cmd in ("eval", "rpc"):
    args = re.fullmatch(r'Pleroma\.ReleaseTasks\.run\("(.*)"\)', sys.argv[2]).group(1).split()
    if cmd == "rpc":
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            sys.exit("--rpc-eval : RPC failed with reason :nodedown")
    task(args)
    sys.exit(0)
assert cmd == "start", cmd
cookie = Path(os.path.join(root, "releases", "COOKIE")).read_bytes()
assert cookie != b"THE-SAME-COOKIE-IN-EVERY-DOWNLOADED-ZIP", "the shipped Erlang cookie"
migrate_done = sql("SELECT count(*) FROM schema_migrations;")
assert migrate_done == "1", "not migrated"

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body, kind="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def user(self, nick):
        if not re.fullmatch(r"[A-Za-z0-9_]+", nick):
            return None
        return sql("SELECT nickname FROM users WHERE nickname = :'n';", n=nick) or None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/v1/instance":
            return self.reply(200, {"uri": "https://" + host, "email": email, "title": host})
        if url.path == "/.well-known/webfinger":
            res = urllib.parse.parse_qs(url.query).get("resource", [""])[0]
            m = re.fullmatch(r"acct:([^@]+)@(.+)", res)
            nick = self.user(m.group(1)) if m and m.group(2) == host else None
            if not nick:
                return self.reply(404, {"error": "not found"})
            return self.reply(200, {"subject": res, "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                 "href": f"https://{host}/users/{nick}"},
                {"rel": "self", "type": "application/activity+json",
                 "href": f"https://{host}/users/{nick}"}]}, "application/jrd+json")
        m = re.fullmatch(r"/users/([^/]+)", url.path)
        if m and "activity+json" in self.headers.get("Accept", "") and self.user(m.group(1)):
            nick = self.user(m.group(1))
            me = f"https://{host}/users/{nick}"
            pem = sql("SELECT keys FROM users WHERE nickname = :'n';", n=nick)
            pub = subprocess.run(["openssl", "pkey", "-pubout"], input=pem + chr(10),
                                 capture_output=True, text=True, check=True).stdout
            return self.reply(200, {"@context": "https://www.w3.org/ns/activitystreams",
                                    "id": me, "type": "Person", "preferredUsername": nick,
                                    "inbox": me + "/inbox", "outbox": me + "/outbox",
                                    "publicKey": {"id": me + "#main-key", "owner": me,
                                                  "publicKeyPem": pub}},
                              "application/activity+json")
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/api/v1/pleroma/password_reset":
            return self.reply(404, {"error": "not found"})
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["data"]
        tok, pw = data["token"], data["password"]
        nick = sql("UPDATE password_reset_tokens SET used = true WHERE token = :'t' "
                   "AND NOT used RETURNING nickname;", t=tok)
        if not nick or pw != data["password_confirmation"]:
            return self.reply(200, b"<h2>Password reset failed</h2>", "text/html")
        sql("UPDATE users SET password_hash = :'h' WHERE nickname = :'n';",
            h=hashlib.sha256(pw.encode()).hexdigest(), n=nick)
        self.reply(200, b"<h2>Password changed!</h2>", "text/html")

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
