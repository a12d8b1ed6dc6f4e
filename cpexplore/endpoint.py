"""An endpoint-bound client, on the model of keystoneauth's ``Adapter``: one service at one
catalog region and interface, whose GETs carry a valid token (renewed once if refused). A
refused connection names the endpoint; a 403 says which scope would do.

>>> ep = Endpoint("compute_v2", "region0", "public", "https://10.0.0.1:30888", client=None)
>>> ep
Endpoint(service_type='compute_v2', region='region0', interface='public', url='https://10.0.0.1:30888')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .auth import Token, TokenManager
from .catalog import Catalog
from .errors import ConnectError, Forbidden
from .http import Transport, decode_json, error_from
from .signing import join_url


class TokenClient:
    """GETs with the session's token: renewed before it expires, and once when refused."""

    def __init__(self, transport: Transport, tokens: TokenManager) -> None:
        self.transport = transport
        self.tokens = tokens

    def get(self, url: str, params: Any = None) -> Any:
        """The answer to ``GET url`` (status < 400), or the error it stands for."""
        for attempt in (0, 1):
            tok = self.tokens.current()
            resp = self.transport.request("GET", url, token=tok.id, params=params)
            if attempt == 0 and _stale_token(resp) and self.tokens.renew_after_refusal(tok):
                continue
            if resp.status_code >= 400:
                error = error_from(resp)
                if isinstance(error, Forbidden):
                    error.hint = error.hint or scope_hint(error.details, self.tokens.token)
                raise error
            return resp
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Endpoint:
    """One service's URL for a catalog region and interface, and a way to GET under it."""

    service_type: str
    region: str | None
    interface: str
    url: str
    client: TokenClient | None = field(repr=False, compare=False)
    catalog: Catalog | None = field(default=None, repr=False, compare=False)

    def get(self, path: str, params: Any = None) -> bytes:
        """The body of ``GET <url><path>`` (a JSON answer), or the error it stands for."""
        return self._get(path, params).content

    def get_json(self, path: str, params: Any = None) -> Any:
        """The decoded JSON answer of ``GET <url><path>``."""
        return decode_json(self._get(path, params))

    def _get(self, path: str, params: Any) -> Any:
        assert self.client is not None, "an Endpoint needs a client to GET"
        try:
            return self.client.get(join_url(self.url, path), params)
        except ConnectError as e:  # e.g. an internal URL that resolves only in-cluster
            if self.catalog is None:
                raise
            raise self.catalog.unreachable(e, self.url, interface=self.interface) from e


def _stale_token(resp: Any) -> bool:
    """401 InvalidToken, or 403 whose details say ``allow:none`` (cloudpods-api.md §8.2 D1)."""
    return resp.status_code == 401 or (
        resp.status_code == 403 and "allow:none" in (resp.text or "")
    )


def scope_hint(details: str, token: Token | None) -> str:
    """What to do about a list refused for its scope (``require:system,allow:project``)."""
    m = re.search(r"require:(\w+),allow:(\w+)", details or "")
    proj = token.project if token else "?"
    if not m:
        return "your token is not allowed to do this; ask an admin for a role"
    require, allow = m.groups()
    if allow == "none":
        return "the server refused the token twice; check the clock, or log in again"
    return (
        f"this needs {require} scope but your token (project {proj!r}) allows {allow}; "
        f"use scope='{allow}' or scope='max', or log in with a role that has {require} rights"
    )


__all__ = ["Endpoint", "TokenClient", "scope_hint"]
