"""The sandbox HTTP server: routing, the real services' headers and error bodies.

One port serves every service of the catalog under the real path layout: identity under
``/v3``, compute with no prefix, image under ``/v1``, the log service's ``/actions``;
the second catalog region's compute is served under ``/region1``.

Use it through :class:`cpexplore.sandbox.Sandbox`.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from .errors import Fault
from .faults import FaultPlan
from .identity import PREFIX_REGIONS, Identity
from .inventory import CATALOG_REGIONS
from .lists import SCOPES, Lister, ResourceRule, dumps

log = logging.getLogger("cpexplore.sandbox")

SERVER_NAME = "Yunion AppServer/Go/2018.4"
JSON_OK = "application/json;charset=utf-8"
JSON_ERR = "application/json"
P, D, S = SCOPES["project"], SCOPES["domain"], SCOPES["system"]

# service path prefix → resources it serves, with their RBAC rule
COMPUTE = {
    "servers": ResourceRule("compute", P, P),
    "disks": ResourceRule("compute", P, P),
    "eips": ResourceRule("compute", P, P),
    "secgroups": ResourceRule("compute", P, P),
    "networks": ResourceRule("compute", P, P),
    "events": ResourceRule("compute", P, P),
    "hosts": ResourceRule("compute", D, D),
    "storages": ResourceRule("compute", D, D),
    "wires": ResourceRule("compute", P, P),
    "vpcs": ResourceRule("compute", P, P),
    "zones": ResourceRule("compute", P, P),
    "cloudregions": ResourceRule("compute", P, P),
    "serverskus": ResourceRule("compute", P, P),
    "cloudaccounts": ResourceRule("compute", D, D),
    "cloudproviders": ResourceRule("compute", D, D),
    "snapshots": ResourceRule("compute", P, P),
    "isolated_devices": ResourceRule("compute", D, D),
    "keypairs": ResourceRule("compute", P, P),
}
IDENTITY = {
    "projects": ResourceRule("identity", D, D),
    "users": ResourceRule("identity", D, D),
    "roles": ResourceRule("identity", D, D),
    "domains": ResourceRule("identity", S, S),
    "regions": ResourceRule("identity", S, S),
    "services": ResourceRule("identity", S, S),
    "endpoints": ResourceRule("identity", S, S),
    "role_assignments": ResourceRule("identity", D, D),
    "credentials": ResourceRule("identity", D, D),
}
IMAGE = {"images": ResourceRule("image", P, P)}
LOG = {"actions": ResourceRule("log", P, P)}
_USAGE_PATHS = {"/usages", "/capabilities", "/v3/usages", "/v1/usages"}


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the sandbox state for its handlers."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        identity: Identity | None,
        lister: Lister | None,
        *,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        retry_after: int = 1,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.tls = tls
        self.identity = identity
        self.lister = lister
        self.latency = latency
        self.faults = faults or FaultPlan()
        self.retry_after = retry_after
        self.host_id = secrets.token_urlsafe(20)[:27] + "="
        self.requests = 0
        self.count_lock = threading.Lock()
        # what was asked, newest last: (method, path, query), for tests and benchmarks
        self.asked: deque[tuple[str, str, dict[str, list[str]]]] = deque(maxlen=100_000)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that fails the TLS handshake or hangs up is the client's business
        log.debug("connection from %s ended with an error", client_address[0], exc_info=True)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if (
            self.tls is not None
        ):  # the handshake happens in the handler's thread, not the accept loop
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        # The request line holds no secret (tokens travel in headers), but keep it at DEBUG.
        log.debug("%s %s", self.address_string(), format % args)

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # a failure ends this connection only (handle_error)
            self.request.settimeout(None)
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return SERVER_NAME

    # -- plumbing ---------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        *,
        ctype: str | None = JSON_OK,
        extra: dict | None = None,
        lead: list[tuple[str, str]] | None = None,
        vary: tuple[str, ...] = ("Origin",),
    ) -> None:
        self.send_response_only(status)
        headers: list[tuple[str, str]] = list(lead or ())
        if ctype == JSON_OK:
            headers.append(("Content-Length", str(len(body))))
            headers.append(("Content-Type", ctype))
        elif ctype:
            headers.append(("Content-Type", ctype))
        headers += [
            ("Server", SERVER_NAME),
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
            *(("Vary", v) for v in vary),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "SAMEORIGIN"),
            ("X-Request-Host-Id", self.server.host_id),
            ("X-Request-Id", secrets.token_hex(3)),
        ]
        headers += list((extra or {}).items())
        headers += [("X-Xss-Protection", "1; mode=block"), ("Date", formatdate(usegmt=True))]
        if ctype != JSON_OK and status != 204:
            headers.append(("Content-Length", str(len(body))))
        log.debug("%s %s -> %d (%d bytes)", self.command, raw_path_of(self.path), status, len(body))
        for k, v in headers:
            self.send_header(k, v)
        # headers and body in one write: two small writes meet the client's delayed ACK (40 ms)
        self._headers_buffer.append(b"\r\n" + (body if self.command != "HEAD" else b""))
        self.flush_headers()

    def _fault(self, fault: Fault) -> None:
        # real services echo the details of a 400 in a Location header
        extra = {"Location": fault.details} if fault.status == 400 else None
        self._send(fault.status, fault.body(), ctype=JSON_ERR, extra=extra)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _dispatch(self) -> None:
        srv = self.server
        with srv.count_lock:
            srv.requests += 1
        if srv.latency:
            time.sleep(srv.latency)
        raw_path, _, query = self.path.partition(
            "?"
        )  # not urlsplit: "//zones" is a path, not a host
        path = re.sub(r"/{2,}", "/", raw_path)
        path = path.rstrip("/") if path != "/" else path
        params = parse_qs(query, keep_blank_values=True)
        with srv.count_lock:
            srv.asked.append((self.command, path, params))
        body = self._read_body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
        if self.command == "GET" and not path.startswith("/v3/auth"):
            kind = srv.faults.next()
            if kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if kind:
                status, cls = (
                    (429, "TooManyRequests") if kind == "429" else (503, "ServiceUnavailable")
                )
                err = Fault(status, cls, "sandbox fault injection")
                self._send(
                    status, err.body(), ctype=JSON_ERR, extra={"Retry-After": str(srv.retry_after)}
                )
                return
        try:
            self._route(path, params, body)
        except Fault as f:
            self._fault(f)
        except Exception:  # a bug in the sandbox must still answer like a server, not hang
            log.exception("sandbox error on %s %s", self.command, raw_path)
            self._fault(Fault(500, "InternalServerError", "internal error"))

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _dispatch  # noqa: N815

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib naming
        """A CORS preflight: 200 with an empty body, no token needed (cloudpods-api.md §9)."""
        srv = self.server
        with srv.count_lock:
            srv.requests += 1
        self._read_body()
        lead = [("Access-Control-Allow-Credentials", "true")]
        asked = self.headers.get("Access-Control-Request-Headers")
        if asked:
            names = [_canonical_header(h) for h in asked.split(",") if h.strip()]
            lead.append(("Access-Control-Allow-Headers", ", ".join(names)))
        method = self.headers.get("Access-Control-Request-Method")
        if method:
            lead.append(("Access-Control-Allow-Methods", method.strip().upper()))
        origin = self.headers.get("Origin")
        if origin:
            lead.append(("Access-Control-Allow-Origin", origin))
        self._send(
            200,
            b"",
            ctype=None,
            lead=lead,
            vary=("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"),
        )

    # -- routing ---------------------------------------------------------------------------
    def _route(self, path: str, params: dict, body: bytes) -> None:
        idy = self.server.identity
        if idy is None:
            raise Fault(404, "NotFoundError", f"Handler {path} not found")
        token = self.headers.get("X-Auth-Token")
        if path == "/version":
            raise Fault(403, "ForbiddenError", "Forbidden")
        if path == "/v3/auth/tokens":
            return self._tokens(body)
        if path in _USAGE_PATHS:
            return self._usage(path, token)
        region = CATALOG_REGIONS[0]
        for prefix, reg in PREFIX_REGIONS.items():
            if path.startswith(prefix + "/"):
                path, region = path[len(prefix) :], reg
        service, rest = _split_service(path, region)
        if service is None or self.command != "GET":  # HEAD is 404 too, as on real services
            raise Fault(404, "NotFoundError", f"Handler {path} not found")
        parts = [unquote(p) for p in rest.split("/") if p]
        if not parts or parts[0] not in service or len(parts) > 2:
            raise Fault(404, "NotFoundError", f"Handler {path} not found")
        table = self.server.lister.inv.tables[parts[0]]
        caller = idy.caller(token)
        lister = self.server.lister
        if len(parts) == 2:
            return self._send(200, lister.get(table, region, parts[1], params, caller))
        rows = lister.select(table, region, params, caller)
        self._send(200, lister.page(table, rows, params))

    def _tokens(self, body: bytes) -> None:
        idy = self.server.identity
        if self.command == "POST":
            # keystone decodes the body only when it is declared JSON (cloudpods-api.md §9)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise Fault(400, "InputParameterError", "fail to decode request body")
            token_id, payload = idy.authenticate(body, self.client_address[0])
            return self._send(200, dumps(payload).encode(), extra={"X-Subject-Token": token_id})
        subject = self.headers.get("X-Subject-Token") or ""
        if self.command == "GET":
            auth = self.headers.get("X-Auth-Token")
            if auth and idy.lookup(auth) is None:
                # the caller is a guest: an unknown, revoked or expired X-Auth-Token
                raise Fault(403, "ForbiddenError", "guest not allow to auth")
            tok = idy.lookup(subject)
            if tok is None:
                if idy.state(subject) in ("revoked", "expired"):
                    raise Fault(
                        401, "InvalidCredentialError", "invalid token: [auth] invalid token"
                    )
                raise Fault(
                    401,
                    "InvalidCredentialError",
                    f'invalid token: token "{subject}" not found: [auth] token not found',
                )
            return self._send(
                200,
                dumps({"token": idy.token_body(tok)}).encode(),
                extra={"X-Subject-Token": tok.id},
            )
        if self.command == "DELETE":
            if not idy.revoke(subject):
                raise Fault(
                    401,
                    "InvalidCredentialError",
                    f'invalid token: token "{subject}" not found: [auth] token not found',
                )
            return self._send(204, b"", ctype=None)
        raise Fault(404, "NotFoundError", "Handler /v3/auth/tokens not found")

    def _usage(self, path: str, token: str | None) -> None:
        """Non-model handlers answer 401 for a missing or bad token (cloudpods-api.md §8.2 D1, D5)."""
        if not token:
            raise Fault(401, "UnauthorizedError", "Unauthorized")
        caller = self.server.identity.caller(token)
        if caller.allowed == 0:
            raise Fault(401, "UnauthorizedError", "InvalidToken")
        inv = self.server.lister.inv
        servers = inv.tables["servers"]
        usage = {
            "all.servers": servers.count - len(servers.deleted),
            "all.hosts": inv.tables["hosts"].count,
        }
        if path == "/capabilities":
            usage = {
                "hypervisors": sorted({c["hypervisor"] for c in inv.cloudregions}),
                "usable": True,
            }
            return self._send(200, dumps(usage).encode())
        self._send(200, dumps({"usage": usage}).encode())


def _canonical_header(name: str) -> str:
    """``x-auth-token`` → ``X-Auth-Token``, as Go's textproto writes header names."""
    return "-".join(part.capitalize() for part in name.strip().split("-"))


def raw_path_of(target: str) -> str:
    return target.partition("?")[0]


def _split_service(path: str, region: str) -> tuple[dict | None, str]:
    if path.startswith("/v3/"):
        return (IDENTITY, path[3:]) if region == CATALOG_REGIONS[0] else (None, path)
    if path.startswith("/v1/"):
        return (IMAGE, path[3:]) if region == CATALOG_REGIONS[0] else (None, path)
    head = path.split("/")[1] if path.count("/") else ""
    if head in LOG and region == CATALOG_REGIONS[0]:
        return LOG, path
    return COMPUTE, path
