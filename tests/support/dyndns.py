"""A dynamic-DNS provider for tests: a local HTTP server speaking the dyndns2 protocol
(`GET /nic/update?hostname=NAME&myip=ADDRESS` with HTTP Basic auth, answering `good ADDRESS`,
`nochg ADDRESS` or `badauth`), and an address-check page (`GET /ip`: "Current IP Address: A",
A the address the request came from), as checkip.dyndns.org answers.

    with DynDnsServer("10.231.3.1", login="home", token="t0ken") as s:
        ...  # ddclient on the test host: server=f"{s.host}:{s.port}", web=s.check_url
        s.records  # {"home.example.org": "10.231.3.2"}

Nothing leaves this machine: it binds the address given (the test host's gateway).
"""

from __future__ import annotations

import base64
import http.server
import threading
import urllib.parse
from typing import Any


class DynDnsServer:
    def __init__(self, host: str, *, login: str, token: str) -> None:
        self.host = host
        self.records: dict[str, str] = {}
        self.refused: list[str] = []
        """The Authorization headers of refused updates (wrong login or token)."""
        self.updates: list[str] = []
        """Every update request's path, in order."""
        expected = "Basic " + base64.b64encode(f"{login}:{token}".encode()).decode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/ip":
                    self._send(200, f"<html><body>Current IP Address: "
                                    f"{self.client_address[0]}</body></html>")
                    return
                if url.path != "/nic/update":
                    self._send(404, "no")
                    return
                server.updates.append(self.path)
                if self.headers.get("Authorization", "") != expected:
                    server.refused.append(self.headers.get("Authorization", ""))
                    self._send(401, "badauth")
                    return
                query = urllib.parse.parse_qs(url.query)
                ip = query.get("myip", [""])[0]
                answers = []
                for name in query.get("hostname", [""])[0].split(","):
                    answers.append(("nochg " if server.records.get(name) == ip else "good ")
                                   + ip)
                    server.records[name] = ip
                self._send(200, "\n".join(answers))

            def _send(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.server = f"{host}:{self.port}"
        self.check_url = f"http://{host}:{self.port}/ip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> DynDnsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
