"""A tiny HTTP server on 127.0.0.1 for probe tests: it answers GETs from a table of routes.

    with RouteServer() as s:
        s.routes["/.well-known/webfinger?resource=acct:alice@x"] = (200, "application/jrd+json",
                                                                   {...})
        probe(s.base)

`answer` replaces the table when a test's server decides from more than the path (the Host
header, a query it ignores); `tls` serves https.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Callable
from typing import Any

Answer = tuple[int, str, Any]
"""(status, content type, body)"""


class RouteServer:
    """`routes` maps a path (query included) to (status, content type, body); a body is sent
    as is when bytes, UTF-8 when text, else as JSON. Unknown paths answer 404. `seen` keeps
    the path and headers of every request."""

    def __init__(self, answer: Callable[[str, dict[str, str]], Answer] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Answer] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self
        reply = answer or (lambda path, _: self.routes.get(path, (404, "text/plain", "no")))

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = dict(self.headers.items())
                server.seen.append((self.path, headers))
                status, kind, body = reply(self.path, headers)
                data = body if isinstance(body, bytes) else (
                    body.encode() if isinstance(body, str) else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> RouteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
