"""The one error hierarchy: every error a user can meet is a :class:`CpExploreError`, one
line naming what was asked for, what exists, and what to do.

>>> try:
...     raise ConfigError("no auth URL", hint="set OS_AUTH_URL")
... except CpExploreError as e:
...     print(e)
no auth URL (set OS_AUTH_URL)
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable

__all__ = [
    "CpExploreError",
    "ConfigError",
    "UnknownField",
    "AuthError",
    "EndpointNotFound",
    "ServiceNotOffered",
    "UnknownResource",
    "ApiError",
    "Forbidden",
    "NotFound",
    "AmbiguousName",
    "ProtocolError",
    "TransportError",
    "ConnectError",
    "ExportError",
    "SqlError",
    "MissingColumns",
    "IgnoredSettingWarning",
    "CachedResultWarning",
    "PartialResultWarning",
    "PagingDriftWarning",
    "InsecureTransportWarning",
    "unwrap_details",
    "one_line",
    "did_you_mean",
]


class CpExploreError(Exception):
    """Base of every cpexplore error. ``hint`` says what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


# CpExploreError comes first in each subclass's MRO, so its __str__ (with the hint) wins
# over those of ValueError, KeyError (which would quote the message) and OSError.


class ConfigError(CpExploreError, ValueError):
    """Settings or arguments are missing or malformed (credentials, filter, scope…)."""


class UnknownField(ConfigError, KeyError):
    """A filter, sort, field or column names something the resource does not have."""


class AuthError(CpExploreError):
    """The identity service refused the credentials or the token."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        error_class: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_class = error_class


class EndpointNotFound(CpExploreError):
    """The catalog has no endpoint for the service, region and interface asked for."""


class ServiceNotOffered(EndpointNotFound):
    """The catalog has no service of that type at all: the cloud does not offer it."""


class UnknownResource(CpExploreError, KeyError):
    """A resource name that cpexplore does not know how to list."""


class ApiError(CpExploreError):
    """The service answered with a Cloudpods error body ``{"class","code","details"}``."""

    def __init__(
        self,
        status: int,
        error_class: str,
        details: str,
        *,
        method: str = "GET",
        url: str = "",
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.error_class = error_class
        self.details = unwrap_details(details)
        self.method = method
        self.url = url
        where = f" on {method} {url}" if url else ""
        super().__init__(f"{status} {error_class}: {self.details}{where}", hint=hint)


class Forbidden(ApiError):
    """403: the token is valid but the scope or action is not allowed."""


class NotFound(ApiError):
    """404: no such resource or record."""


class AmbiguousName(ApiError):
    """A get by name matched several records (the server's 500 "duplicate entry")."""


class ProtocolError(CpExploreError):
    """The server answered something that is not the Cloudpods protocol (HTML, broken JSON...)."""


class TransportError(CpExploreError):
    """The server could not be reached, closed the connection, or failed TLS verification."""


class ConnectError(TransportError):
    """No connection could be opened (nothing was sent, so trying again is safe)."""


class SqlError(CpExploreError):
    """DuckDB could not run a query (syntax, a missing column, a type mismatch…)."""


class ExportError(CpExploreError, OSError):
    """A report or CSV could not be written where asked."""


class MissingColumns(CpExploreError, ValueError):
    """A DataFrame lacks the columns a plot or report needs."""


class IgnoredSettingWarning(UserWarning):
    """An rc file or profile named who logs in; the environment's credentials were left out."""


class CachedResultWarning(UserWarning):
    """A list was served from the session's cache, not fetched now."""


class PartialResultWarning(UserWarning):
    """Some pages of a list failed (``on_error="partial"``): the frame is incomplete."""


class PagingDriftWarning(UserWarning):
    """Rows were created or deleted while a list was being paged."""


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification is off for this session."""


def one_line(text: object) -> str:
    """Any message on one line (an exception with no text gives its class name).

    >>> one_line(ValueError("two  words"))
    'two words'
    """
    line = " ".join(str(text).split())
    return line or (type(text).__name__ if isinstance(text, BaseException) else "")


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """``"did you mean 'x'? "`` for the closest choices, or ``""``.

    >>> did_you_mean("nmae", ["name", "status"])
    "did you mean 'name'? "
    """
    close = difflib.get_close_matches(name, list(dict.fromkeys(choices)), n=n, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""


_WRAPPED = re.compile(r"\{\s*\"error\"\s*:")


def unwrap_details(details: object) -> str:
    """The innermost message of a Cloudpods error ``details`` (real services wrap JSON errors):

    >>> unwrap_details('ListItems: {"error":{"class":"ForbiddenError","details":"no"}}')
    'no'
    """
    text = details if isinstance(details, str) else json.dumps(details, ensure_ascii=False)
    for _ in range(5):  # wrapped errors nest a few levels at most
        match = _WRAPPED.search(text)
        if not match:
            break
        try:
            inner = json.JSONDecoder().raw_decode(text, match.start())[0]
        except ValueError:
            break
        error = inner.get("error") if isinstance(inner, dict) else None
        if not isinstance(error, dict) or "details" not in error:
            break
        nxt = error["details"]
        text = nxt if isinstance(nxt, str) else json.dumps(nxt, ensure_ascii=False)
    return text
