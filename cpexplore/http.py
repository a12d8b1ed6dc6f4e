"""Transport: one ``requests.Session`` with TLS, timeouts, retries, masking and errors.

Every request cpexplore makes goes through :class:`Transport`. It

* verifies TLS unless told otherwise (and then warns once),
* always sets connect and read timeouts,
* retries GETs on 429/502/503/504 and connection errors with urllib3 ``Retry``,
  honouring ``Retry-After`` (capped) within a bounded total,
* never forwards ``X-Auth-Token`` to another host on a redirect,
* logs one curl-like line per request at DEBUG on ``cpexplore.http``, with tokens shown
  only as ``{SHA256}<hash>`` and no auth request body,
* turns error answers into :mod:`cpexplore.errors` exceptions.

>>> t = Transport(timeout=(2, 10))
>>> t.timeout
(2.0, 10.0)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util.retry import Retry

from . import __version__
from ._gc import gc_guard
from .errors import ApiError, Forbidden, NotFound, ProtocolError, TransportError

log = logging.getLogger("cpexplore.http")

RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER = 30.0  # seconds; a server asking for longer is not waited for
SECRET_HEADERS = ("x-auth-token", "x-subject-token")


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification is off for this session."""


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
        adapter = HTTPAdapter(max_retries=self.retry, pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if verify is False:
            # the user opted out and is warned once here, not by urllib3 on every request
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
            warnings.warn(
                "TLS certificate verification is OFF (insecure=True or YUNION_INSECURE=true): "
                "anyone on the path can read your token; pass ca_bundle= instead",
                InsecureTransportWarning,
                stacklevel=3,
            )

    def close(self) -> None:
        self.session.close()

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
    ) -> requests.Response:
        """Send one request; connection problems become :class:`TransportError`.

        Logins pass ``allow_redirects=False``: a redirect must never carry a password or a
        signed AK/SK blob to another place.
        """
        hdrs = {"Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["X-Auth-Token"] = token
        hdrs.update(headers or {})
        start = time.monotonic()
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
        except requests.exceptions.SSLError as e:
            reason = re.search(r"certificate verify failed: ([^(']+)", str(e))
            raise TransportError(
                f"TLS verification failed for {_origin(url)}: "
                f"{reason.group(1).strip() if reason else _short(e)}",
                hint="pass ca_bundle='/path/to/ca.pem' for a private CA, or insecure=True to skip the check",
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise TransportError(
                f"timed out connecting to {_origin(url)} after {self.timeout[0]:g}s",
                hint="check the host and port, VPN or firewall",
            ) from None
        except requests.exceptions.ReadTimeout:
            raise TransportError(
                f"{_origin(url)} did not answer within {self.timeout[1]:g}s",
                hint="the server is overloaded; retry later or raise timeout=",
            ) from None
        except requests.exceptions.RetryError as e:
            raise TransportError(
                f"{method} {_strip_query(url)} kept failing after {self.retry.total} retries: "
                f"{_short(e)}",
                hint="the server is overloaded; retry later",
            ) from None
        except requests.exceptions.ConnectionError as e:
            text = _short(e)
            if "Read timed out" in text:
                raise TransportError(
                    f"{_origin(url)} did not answer within {self.timeout[1]:g}s",
                    hint="the server is overloaded; retry later or raise timeout=",
                ) from None
            if (
                "RemoteDisconnected" in text
                or "Connection aborted" in text
                or "reset" in text.lower()
            ):
                raise TransportError(
                    f"{_origin(url)} closed the connection without answering ({method} "
                    f"{_strip_query(url)})",
                    hint="retry later; the server or a proxy is failing",
                ) from None
            raise TransportError(
                f"cannot reach {_origin(url)}: {text}",
                hint="check the auth URL's host and port and that the service is up",
            ) from None
        except requests.exceptions.InvalidURL as e:
            raise TransportError(
                f"invalid URL {url!r}: {_short(e)}", hint="check the auth URL"
            ) from None
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s",
                self._curl(
                    method,
                    resp.request.url or url,
                    hdrs,
                    data if log_body else None,
                    resp,
                    time.monotonic() - start,
                ),
            )
        return resp

    @staticmethod
    def _curl(
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: str | None,
        resp: requests.Response,
        elapsed: float,
    ) -> str:
        parts = [f"curl -X {method}"]
        for k, v in headers.items():
            shown = mask_token(v) if k.lower() in SECRET_HEADERS else v
            parts.append(f"-H '{k}: {shown}'")
        if data is not None:
            parts.append(f"-d '{data[:2000]}'")
        subject = resp.headers.get("X-Subject-Token")
        tail = f" X-Subject-Token: {mask_token(subject)}" if subject else ""
        parts.append(f"'{url}'")
        return (
            f"{' '.join(parts)} -> {resp.status_code} {len(resp.content)}B {elapsed * 1000:.0f}ms "
            f"X-Request-Id: {resp.headers.get('X-Request-Id', '-')}{tail}"
        )


def decode_json(resp: requests.Response, *, what: str = "answer") -> Any:
    """The JSON body of a successful answer, or the right exception for a bad one."""
    if resp.status_code >= 400:
        raise error_from(resp)
    try:
        with gc_guard.paused():
            data = orjson.loads(resp.content)
    except ValueError:
        raise ProtocolError(
            f"{_describe_body(resp)} instead of JSON in the {what} from {_strip_query(resp.url)}",
            hint=_protocol_hint(resp),
        ) from None
    gc_guard.settle()
    return data


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
        status = resp.status_code
        kind = Forbidden if status == 403 else NotFound if status == 404 else ApiError
        hint = None
        if status in RETRY_STATUSES:
            hint = (
                f"the server still answered {status} after the retries; try again later, or pass "
                "on_error='partial' to keep the pages that did arrive"
            )
        return kind(
            status,
            cls,
            details if isinstance(details, str) else json.dumps(details),
            method=method or "GET",
            url=url,
            hint=hint,
        )
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # OpenStack-style wrapper
        err = body["error"]
        return ApiError(
            resp.status_code,
            str(err.get("title") or err.get("type") or "Error"),
            str(err.get("message") or err.get("details") or ""),
            method=method or "GET",
            url=url,
        )
    return ProtocolError(
        f"{method} {url} answered {resp.status_code} {resp.reason or ''} with {_describe_body(resp)}".rstrip(),
        hint=_protocol_hint(resp),
    )


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
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.netloc else url


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Caused by ", "(Caused by"):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip(" ()'\"")[:300]
