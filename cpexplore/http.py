"""Transport: one ``requests.Session`` with TLS, timeouts, retries, masking and errors.

Every request cpexplore makes goes through :class:`Transport`. It verifies TLS unless told
otherwise (then it warns once, and only its own pools skip urllib3's per-request warning:
no process-wide filter); always sets timeouts; retries GETs on 429/502/503/504 and
connection errors, honouring ``Retry-After`` (capped); sends logins with no retry and no
redirect, so a wrong host or port fails at once; never forwards ``X-Auth-Token`` to another
host; logs one curl-like DEBUG line per request on ``cpexplore.http``, tokens only as
``{SHA256}<hash>`` and no auth body; and turns failures, by exception type (never by
text), into one-line :mod:`cpexplore.errors` exceptions caused by the original.

>>> t = Transport(timeout=(2, 10))
>>> t.timeout
(2.0, 10.0)
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import orjson
import requests
import requests.exceptions as rx
import urllib3.exceptions as u3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from ._version import __version__
from .errors import (
    ApiError,
    ConnectError,
    Forbidden,
    InsecureTransportWarning,
    NotFound,
    ProtocolError,
    TransportError,
)

log = logging.getLogger("cpexplore.http")

RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = 30.0  # seconds; a server asking for longer is not waited for
SECRET_HEADERS = ("x-auth-token", "x-subject-token")

# OpenSSL's reasons for a handshake whose answer is not TLS at all: the first bytes back
# were not a TLS record, as when an https:// URL points at a plain-HTTP port.
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"})

# The policy of requests that must fail fast (logins): no retry of any kind.
_NO_RETRY_POLICY = Retry(
    total=0,
    connect=0,
    read=0,
    status=0,
    other=0,
    redirect=0,
    raise_on_status=False,
    raise_on_redirect=False,
)
# Set for the duration of one no-retry request, in its own thread (or task) only.
_no_retry: ContextVar[bool] = ContextVar("cpexplore_http_no_retry", default=False)


def mask_token(token: str | None) -> str:
    """How a token appears in logs: ``{SHA256}`` and a short hash, as keystoneauth1 does.

    >>> mask_token("abc")
    '{SHA256}ba7816bf8f01cfea'
    """
    if not token:
        return "<none>"
    return "{SHA256}" + hashlib.sha256(token.encode()).hexdigest()[:16]


class _CappedRetry(Retry):
    """urllib3 ``Retry`` that never sleeps longer than ``MAX_RETRY_AFTER`` for ``Retry-After``."""

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


class _UnwarnedHTTPSConnectionPool(HTTPSConnectionPool):
    """An HTTPS pool that does not warn on every request, for ``verify=False`` (warned once)."""

    def _validate_conn(self, conn: Any) -> None:
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:  # connect now, as urllib3 does, to find TLS errors early
            conn.connect()


class _Adapter(HTTPAdapter):
    """``HTTPAdapter`` with a per-call retry switch (a context variable, so other threads keep
    their policy) and, when insecure, unwarned pools."""

    def __init__(self, *, retry: Retry, unwarned: bool, **kwargs: Any) -> None:
        self._unwarned = unwarned
        super().__init__(max_retries=retry, **kwargs)

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        return _NO_RETRY_POLICY if _no_retry.get() else self._max_retries

    @max_retries.setter
    def max_retries(self, value: Retry) -> None:
        self._max_retries = value

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self._quiet(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        self._quiet(manager)
        return manager

    def _quiet(self, manager: Any) -> None:
        if self._unwarned:
            manager.pool_classes_by_scheme = {
                **manager.pool_classes_by_scheme,
                "https": _UnwarnedHTTPSConnectionPool,
            }


class _SafeSession(requests.Session):
    """A ``requests.Session`` that drops token headers when a redirect leaves the host."""

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        old, new = urlsplit(response.request.url), urlsplit(prepared_request.url)
        if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
            for name in list(prepared_request.headers):
                if name.lower() in SECRET_HEADERS:
                    del prepared_request.headers[name]


class Transport:
    """HTTP for cpexplore: ``verify`` is True, False or a CA bundle path."""

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: tuple[float, float] | float = (5.0, 60.0),
        retries: int = 5,
        backoff: float = 0.25,
        pool_size: int = 16,
    ) -> None:
        if isinstance(timeout, int | float):
            timeout = (float(timeout), float(timeout))
        self.timeout = (float(timeout[0]), float(timeout[1]))
        self.verify = verify
        self.retry = _CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=10.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = _SafeSession()
        self.session.verify = verify
        self.session.headers["User-Agent"] = (
            f"cpexplore/{__version__} python-requests/{requests.__version__}"
        )
        adapter = _Adapter(
            retry=self.retry, unwarned=verify is False, pool_connections=4, pool_maxsize=pool_size
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if verify is False:
            warnings.warn(
                "TLS certificate verification is OFF (insecure=True or YUNION_INSECURE=true): "
                "anyone on the path can read your token; pass ca_bundle= instead",
                InsecureTransportWarning,
                stacklevel=3,
            )

    def close(self) -> None:
        self.session.close()

    def login_request(
        self,
        method: str,
        url: str,
        *,
        data: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send a keystone login: no retries, no redirects followed, no body logged."""
        return self.request(
            method,
            url,
            data=data,
            headers=headers,
            log_body=False,
            allow_redirects=False,
            retry=False,
            service="keystone",
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        data: str | None = None,
        headers: Mapping[str, str] | None = None,
        log_body: bool = True,
        allow_redirects: bool = True,
        retry: bool = True,
        service: str | None = None,
    ) -> requests.Response:
        """Send one request; connection problems become :class:`TransportError` (a connection
        not opened: :class:`~cpexplore.errors.ConnectError`), caused by the original.

        ``retry=False`` sends once, whatever the retry policy; ``service`` names the server in
        errors. A login must never follow a redirect with its password or signed AK/SK blob.
        """
        hdrs = {"Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["X-Auth-Token"] = token
        hdrs.update(headers or {})
        start = time.monotonic()
        switch = _no_retry.set(not retry)
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                data=data.encode() if data is not None else None,
                headers=hdrs,
                timeout=self.timeout,
                # explicit: requests lets REQUESTS_CA_BUNDLE override a session's verify
                verify=self.verify,
                allow_redirects=allow_redirects,
            )
        except rx.RequestException as e:
            error = _Failure(self, e, method, url, retried=retry, service=service).error()
            log.debug(
                "%s %s failed after %.0fms: %s",
                method,
                _strip_query(url),
                (time.monotonic() - start) * 1000,
                error.message,
            )
            raise error from e
        finally:
            _no_retry.reset(switch)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", self._curl(method, hdrs, data if log_body else None, resp, start))
        return resp

    @staticmethod
    def _curl(
        method: str,
        headers: Mapping[str, str],
        data: str | None,
        resp: requests.Response,
        start: float,
    ) -> str:
        elapsed = time.monotonic() - start
        parts = [f"curl -X {method}"]
        for k, v in headers.items():
            shown = mask_token(v) if k.lower() in SECRET_HEADERS else v
            parts.append(f"-H '{k}: {shown}'")
        if data is not None:
            parts.append(f"-d '{data[:2000]}'")
        subject = resp.headers.get("X-Subject-Token")
        tail = f" X-Subject-Token: {mask_token(subject)}" if subject else ""
        parts.append(f"'{resp.request.url}'")
        return (
            f"{' '.join(parts)} -> {resp.status_code} {len(resp.content)}B {elapsed * 1000:.0f}ms "
            f"X-Request-Id: {resp.headers.get('X-Request-Id', '-')}{tail}"
        )


class _Failure:
    """A failed request: its one-line error, and what that may name (``{f.<attribute>}``)."""

    def __init__(
        self,
        transport: Transport,
        exc: rx.RequestException,
        method: str,
        url: str,
        *,
        retried: bool,
        service: str | None,
    ) -> None:
        self.chain = chain = _chain(exc)
        self.url = url
        self.what = f"{method} {_strip_query(url)}"
        self.where = _host_port(chain, url)
        self.origin = _origin(url)
        self.host = urlsplit(url).hostname or self.where
        self.name = service or "the service"
        keystone = service == "keystone"
        self.check = (
            "check the auth URL's host and port"
            if keystone
            else "check the URL, or whether the service is up"
        )
        self.tail = "" if keystone else "; an internal endpoint may resolve only in the cluster"
        self.connect_timeout, self.read_timeout = transport.timeout
        # connect errors are retried for every method, read errors only for GET and HEAD
        retry = transport.retry
        self.after = f" after {retry.total} retries" if retried and retry.total else ""
        self.read_after = self.after if method.upper() in (retry.allowed_methods or ()) else ""

    def error(self) -> TransportError:
        """The error of the first of :data:`_RULES` whose exception types are in the chain."""
        for rule in _RULES:
            found = _find(self.chain, *rule.types)
            if found is not None and rule.applies(found, self.chain):
                return rule.error(rule.message.format(f=self), hint=rule.hint.format(f=self))
        detail = self.os_detail(type(self.chain[-1]).__name__)
        return TransportError(f"{self.what} failed ({detail})", hint=f"{self.check}; retry later")

    @property
    def plain_url(self) -> str:
        plain = urlsplit(self.url)._replace(scheme="http", query="", fragment="").geturl()
        return plain.removesuffix("/auth/tokens")

    @property
    def cert_problem(self) -> str:
        cert = _find(self.chain, ssl.SSLCertVerificationError)
        return getattr(cert, "verify_message", "") or "the certificate is not trusted"

    @property
    def tls_problem(self) -> str:
        tls = _find(self.chain, ssl.SSLError)
        reason = getattr(tls, "reason", None)
        if isinstance(reason, str):
            return reason.lower().replace("_", " ")
        return type(tls).__name__ if tls is not None else "no detail"

    @property
    def connect_problem(self) -> str:
        return self.os_detail("no connection")

    def os_detail(self, default: str) -> str:
        """The first operating system error's ``strerror`` in the chain, or ``default``."""
        found = next((e for e in self.chain if isinstance(e, OSError) and e.strerror), None)
        return found.strerror.lower() if found is not None else default


class _Rule(NamedTuple):
    """A failure whose chain holds one of ``types`` (and that ``applies``) raises ``error``;
    ``message`` and ``hint`` are formatted with the :class:`_Failure` as ``f``."""

    types: tuple[type[BaseException], ...]
    error: type[TransportError]
    message: str
    hint: str
    applies: Callable[[BaseException, list[BaseException]], bool] = lambda found, chain: True


_TIMED_OUT = "timed out connecting to {f.where} after {f.connect_timeout:g}s{f.after}"
_TIMED_OUT_HINT = "check the host and port, VPN or firewall{f.tail}"
_PROXY_FAILING = "retry later; the server or a proxy is failing"

# The first rule that matches describes the failure, so the order matters.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        (rx.InvalidURL, rx.MissingSchema, rx.InvalidSchema, u3.LocationParseError),
        TransportError,
        "cannot send {f.what}: the URL is malformed",
        "check the URL",
    ),
    _Rule(
        (rx.TooManyRedirects,),
        TransportError,
        "{f.what} redirects too many times",
        "check the URL; a proxy may loop",
    ),
    _Rule(
        (u3.ResponseError, rx.RetryError),
        TransportError,
        "{f.what} kept failing{f.read_after}",
        "the server is overloaded; retry later",
    ),
    _Rule(
        (ssl.SSLCertVerificationError,),
        TransportError,
        "TLS verification failed for {f.origin}: {f.cert_problem}",
        "pass ca_bundle='/path/to/ca.pem' for a private CA, or insecure=True to skip the check",
    ),
    _Rule(
        (ssl.SSLError,),
        TransportError,
        "the server at {f.where} speaks plain HTTP, not HTTPS",
        "use http://, e.g. {f.plain_url}",
        lambda found, chain: getattr(found, "reason", None) in _NOT_TLS_REASONS,
    ),
    _Rule(
        (ssl.SSLError, rx.SSLError, u3.SSLError),
        TransportError,
        "TLS handshake with {f.where} failed ({f.tls_problem})",
        "check that the port serves HTTPS, and the proxy settings",
    ),
    _Rule(
        (u3.NameResolutionError, socket.gaierror),
        ConnectError,
        "the host name {f.host!r} does not resolve{f.after}",
        "check its spelling in the URL, and your DNS or VPN{f.tail}",
    ),
    _Rule((rx.ConnectTimeout,), ConnectError, _TIMED_OUT, _TIMED_OUT_HINT),
    _Rule(  # urllib3's NewConnectionError is a ConnectTimeoutError, but no timeout
        (u3.ConnectTimeoutError,),
        ConnectError,
        _TIMED_OUT,
        _TIMED_OUT_HINT,
        lambda found, chain: _find(chain, u3.NewConnectionError) is None,
    ),
    _Rule(
        (ConnectionRefusedError,),
        ConnectError,
        "connection refused at {f.where}{f.after} \N{EM DASH} is {f.name} running there?",
        "{f.check}",
    ),
    _Rule(
        (u3.NewConnectionError,),
        ConnectError,
        "cannot connect to {f.where}{f.after}: {f.connect_problem}",
        "{f.check}",
    ),
    _Rule(
        (rx.ReadTimeout, u3.ReadTimeoutError, TimeoutError),
        TransportError,
        "{f.origin} did not answer within {f.read_timeout:g}s{f.read_after}",
        "the server is overloaded; retry later or raise timeout=",
    ),
    _Rule(
        (rx.ChunkedEncodingError, u3.IncompleteRead, http.client.IncompleteRead),
        TransportError,
        "{f.origin} closed the connection in the middle of its answer to {f.what}",
        _PROXY_FAILING,
    ),
    _Rule(
        (
            http.client.RemoteDisconnected,
            ConnectionResetError,
            ConnectionAbortedError,
            BrokenPipeError,
            u3.ProtocolError,
        ),
        TransportError,
        "{f.origin} closed the connection without answering {f.what}{f.read_after}",
        _PROXY_FAILING,
    ),
    _Rule(
        (rx.ContentDecodingError, u3.DecodeError),
        TransportError,
        "the answer to {f.what} could not be decoded",
        "the server or a proxy sent a broken answer; retry, and check the URL",
    ),
)


def decode_json(resp: requests.Response, *, what: str = "answer") -> Any:
    """The JSON body of a successful answer, or the right exception for a bad one."""
    if resp.status_code >= 400:
        raise error_from(resp)
    try:
        return orjson.loads(resp.content)
    except ValueError as e:
        raise ProtocolError(
            f"{_describe_body(resp)} instead of JSON in the {what} from {_strip_query(resp.url)}",
            hint=_protocol_hint(resp),
        ) from e


def error_from(resp: requests.Response) -> Exception:
    """Turn an error answer into :class:`ApiError` (or a subclass) or :class:`ProtocolError`."""
    url = _strip_query(resp.url)
    method = resp.request.method if resp.request is not None else "GET"
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("class" in body or "details" in body or "code" in body):
        cls = str(body.get("class") or "Error")
        details = body.get("details", "")
        details = details if isinstance(details, str) else json.dumps(details)
        details = mask_secrets(details, _sent_secrets(resp.request))
        status = resp.status_code
        kind = Forbidden if status == 403 else NotFound if status == 404 else ApiError
        hint = None
        if status in RETRY_STATUSES:
            hint = (
                f"the server still answered {status} after the retries; try again later, or pass "
                "on_error='partial' to keep the pages that did arrive"
            )
        return kind(status, cls, details, method=method or "GET", url=url, hint=hint)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # OpenStack-style wrapper
        err = body["error"]
        return ApiError(
            resp.status_code,
            str(err.get("title") or err.get("type") or "Error"),
            mask_secrets(
                str(err.get("message") or err.get("details") or ""), _sent_secrets(resp.request)
            ),
            method=method or "GET",
            url=url,
        )
    return ProtocolError(
        f"{method} {url} answered {resp.status_code} {resp.reason or ''} with {_describe_body(resp)}".rstrip(),
        hint=_protocol_hint(resp),
    )


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in it shown as the debug log shows tokens.

    A server's error text may quote what it was sent (a token it did not find, a password
    it could not parse); it reaches a message only through this.

    >>> mask_secrets('token "abc123abc123" not found', ["abc123abc123"])
    'token "{SHA256}943efed2eea155f3" not found'
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 6 and secret in text:
            text = text.replace(secret, mask_token(secret))
    return text


def _sent_secrets(request: requests.PreparedRequest | None) -> list[str]:
    """The secrets a request carried: token headers and, in a login body, the token,
    password, signed AK/SK blob and its signature."""
    if request is None:
        return []
    found = [v for k, v in request.headers.items() if k.lower() in SECRET_HEADERS and v]
    body = request.body
    if not body:
        return found
    try:
        doc = json.loads(body.decode() if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError):
        return found
    identity = _dig(doc, "auth", "identity")
    blob = _dig(identity, "access_key_secret")
    try:
        signature = _dig(json.loads(blob), "signature") if isinstance(blob, str) else None
    except ValueError:
        signature = None
    token, password = _dig(identity, "token", "id"), _dig(identity, "password", "user", "password")
    return found + [v for v in (token, password, blob, signature) if isinstance(v, str) and v]


def _dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]…``, or ``None`` where a step is missing or not a mapping."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _describe_body(resp: requests.Response) -> str:
    ctype = resp.headers.get("Content-Type", "")
    text = resp.text or ""
    if not text.strip():
        return "an empty body"
    if "html" in ctype.lower() or text.lstrip()[:1] == "<":
        return "an HTML page"
    if text.lstrip()[:1] in "{[":
        return f"truncated or invalid JSON ({len(text)} bytes)"
    return f"non-JSON text ({ctype or 'no content type'})"


def _protocol_hint(resp: requests.Response) -> str:
    if resp.status_code == 405 or "html" in resp.headers.get("Content-Type", "").lower():
        return (
            "this is not Cloudpods' API: check the URL; an auth URL needs its port, "
            "e.g. https://host:30500/v3"
        )
    return "the server or a proxy sent a broken answer; retry, and check the URL"


def _origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, never with a user name or password."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.rpartition('@')[2]}" if p.netloc else url


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception behind it: causes, contexts, wrapped errors, retry reasons."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        if isinstance(e, u3.MaxRetryError):
            todo.append(e.reason)
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend((e.__cause__, e.__context__))
    return seen


def _find(chain: list[BaseException], *types: type[BaseException]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, types)), None)


def _host_port(chain: list[BaseException], url: str) -> str:
    """``host:port`` of the connection that failed (``[v6]:port`` for IPv6).

    >>> _host_port([], "https://[::1]/v3")
    '[::1]:443'
    """
    conn = next((getattr(e, "conn", None) for e in chain if getattr(e, "conn", None)), None)
    host, port = getattr(conn, "host", None), getattr(conn, "port", None)
    if not host or not port:
        p = urlsplit(url)
        try:
            port = p.port
        except ValueError:
            port = None
        host = p.hostname or ""
        port = port or (443 if p.scheme == "https" else 80)
    host = str(host).strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
