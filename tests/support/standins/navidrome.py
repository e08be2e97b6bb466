#!/usr/bin/python3
# A stand-in for the navidrome binary (tests only): serves /ping and / like Navidrome would.
import http.server
import sys
import tomllib
from pathlib import Path

cfg = tomllib.loads(Path(sys.argv[sys.argv.index("--configfile") + 1]).read_bytes().decode())

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"." if self.path == "/ping" else (
            "fake navidrome for " + cfg["MusicFolder"]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer((cfg["Address"], int(cfg["Port"])), H).serve_forever()
