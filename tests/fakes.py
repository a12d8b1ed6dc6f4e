"""Tiny HTTP servers on 127.0.0.1 that misbehave on purpose (HTML, 405, redirects, drops)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def serve(respond: Respond, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``respond(handler)`` for every request; yield ``http://host:port``."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def handle_one(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            respond(self)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://{host}:{server.server_address[1]}"
        serve.seen = seen  # type: ignore[attr-defined]
        yield url
    finally:
        server.shutdown()
        server.server_close()


def reply(
    status: int, body: bytes | str, ctype: str = "application/json", headers: dict | None = None
) -> Respond:
    data = body.encode() if isinstance(body, str) else body

    def respond(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    return respond


def drop(h: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering."""
    h.close_connection = True
    h.connection.close()
