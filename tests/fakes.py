"""Tiny HTTP servers on 127.0.0.1 that misbehave on purpose (HTML, 405, redirects, drops,
and lists that page the way real regions can)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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


class FakeRegion:
    """A keystone and a compute region on 127.0.0.1 whose lists misbehave as real ones can.

    ``rows`` are the servers (dicts with at least ``id``); ``events`` the marker-paged
    operation log (their ``id`` may be an int or a string). ``max_page`` caps the rows of an
    answer whatever ``limit`` asks (short pages); ``before_page(n, params, region)`` runs
    before the n-th list answer (0-based), so a test can insert or delete rows while a list
    is paged; ``fail_pages`` are the answers (by number) that are a 500. ``requests`` records
    the query of every list request, in order.

    >>> with FakeRegion([{"id": "a"}]) as region:
    ...     region.auth_url.endswith("/v3")
    True
    """

    def __init__(
        self,
        rows: list[dict],
        *,
        events: list[dict] | None = None,
        max_page: int | None = None,
        before_page: Callable[[int, dict, FakeRegion], None] | None = None,
        fail_pages: frozenset[int] = frozenset(),
    ) -> None:
        self.rows = list(rows)
        self.events = list(events or [])
        self.max_page = max_page
        self.before_page = before_page
        self.fail_pages = fail_pages
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._serving = serve(self._respond)

    def __enter__(self) -> FakeRegion:
        self.base_url = self._serving.__enter__()
        self.auth_url = f"{self.base_url}/v3"
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(*exc)

    def settings(self) -> dict:
        return {"auth_url": self.auth_url, "access_key": "ak", "secret_key": "sk"}

    # -- the wire ---------------------------------------------------------------------------
    def _respond(self, h: BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(h.path)
        if h.command == "POST" and parts.path == "/v3/auth/tokens":
            body = json.dumps({"token": self._token()})
            return reply(200, body, headers={"X-Subject-Token": "fake-token"})(h)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path not in ("/servers", "/events"):
            return reply(404, json.dumps({"class": "NotFoundError", "code": 404, "details": "x"}))(
                h
            )
        with self._lock:
            n = len(self.requests)
            self.requests.append({"path": parts.path, **params})
            if self.before_page is not None:
                self.before_page(n, params, self)
            if n in self.fail_pages:
                error = {"class": "InternalServerError", "code": 500, "details": "boom"}
                return reply(500, json.dumps(error))(h)
            body = self._events(params) if parts.path == "/events" else self._servers(params)
        return reply(200, json.dumps(body))(h)

    def _servers(self, params: dict) -> dict:
        limit = int(params.get("limit") or 2048) or 2048
        offset = int(params.get("offset") or 0)
        if self.max_page is not None:
            limit = min(limit, self.max_page)
        page = self.rows[offset : offset + limit]
        if not self.rows:
            return {"servers": []}
        return {"servers": page, "total": len(self.rows), "limit": limit, "offset": offset}

    def _events(self, params: dict) -> dict:
        limit = int(params.get("limit") or 20) or 20
        if self.max_page is not None:
            limit = min(limit, self.max_page)
        rows = sorted(self.events, key=lambda r: r["id"], reverse=True)
        marker = params.get("paging_marker")
        if marker:
            kind = type(rows[0]["id"]) if rows else str
            rows = [r for r in rows if r["id"] <= kind(marker)]
        page, rest = rows[:limit], rows[limit:]
        body: dict = {"events": page, "limit": limit, "marker_field": "id", "marker_order": "DESC"}
        if rest:
            body["next_marker"] = rest[0]["id"]
        return body

    def _token(self) -> dict:
        now = datetime.now(UTC)
        endpoint = {
            "id": "e1",
            "interface": "public",
            "region": "region0",
            "region_id": "region0",
            "url": self.base_url,
        }
        return {
            "expires_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "methods": ["aksk"],
            "user": {
                "id": "u1",
                "name": "sysadmin",
                "domain": {"id": "default", "name": "Default"},
            },
            "project": {"id": "p1", "name": "system"},
            "roles": [{"name": "admin"}],
            "policies": {"system": ["sysadmin"]},
            "catalog": [
                {"id": "s1", "name": "region2", "type": "compute_v2", "endpoints": [endpoint]}
            ],
        }
