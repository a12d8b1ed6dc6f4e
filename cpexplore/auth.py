"""Auth methods, the token they yield, and the small manager that keeps a token current.

An auth method knows how to log in (``login(transport, settings)`` → :class:`Token`) and
whether it can log in again (``can_renew``); :class:`TokenManager` keeps the token current,
as a keystoneauth plugin does: renewed before it expires, and once when it is refused.
Adding an auth method touches this file only.

>>> m = PasswordAuth("alice", "pw", project="demo")
>>> m.describe()
"user 'alice'"
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .catalog import Catalog
from .config import Settings, auth_url_hint, settings_summary
from .errors import AuthError, CpExploreError, ProtocolError
from .lists.info import duration
from .signing import aksk_auth_body, join_url, password_auth_body, token_auth_body

if TYPE_CHECKING:
    import requests

    from .http import Transport

log = logging.getLogger("cpexplore.auth")

REFRESH_MARGIN = 120.0  # seconds before expires_at at which the token is renewed


@dataclass(frozen=True)
class Token:
    """A keystone token: its id (never shown in repr), expiry, who and which project."""

    id: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime | None
    methods: tuple[str, ...]
    user: str
    user_id: str
    domain: str
    project: str | None
    project_id: str | None
    roles: tuple[str, ...]
    policies: dict[str, list[str]]
    catalog: Catalog = field(repr=False)

    def expires_in(self, now: datetime | None = None) -> float:
        """Seconds until expiry (negative once expired)."""
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()

    @property
    def is_admin(self) -> bool:
        return bool(self.policies.get("system"))


class _BodyLogin:
    """Log in by POSTing ``self.body(auth_url)`` to ``<auth_url>/auth/tokens``."""

    can_renew = True  # the credentials can log in again when the token runs out

    def body(self, auth_url: str) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def login(self, transport: Transport, settings: Settings) -> Token:
        """Log in once and return the token (``AuthError`` saying what to fix if refused)."""
        url = join_url(settings.auth_url, "/auth/tokens")
        resp = transport.login_request("POST", url, data=self.body(settings.auth_url))
        return _token_from(resp, self, settings)


@dataclass(frozen=True)
class AkskAuth(_BodyLogin):
    """AK/SK login: a body signed with Cloudpods' AWS4-HMAC-SHA256 scheme (``signing.py``)."""

    access_key: str
    secret_key: str = field(repr=False)
    source: str = "cli"
    project: str | None = None  # what the settings expect the key to be bound to
    project_id: str | None = None

    def body(self, auth_url: str) -> str:
        return aksk_auth_body(auth_url, self.access_key, self.secret_key, source=self.source)

    def describe(self) -> str:
        return f"access key {self.access_key!r}"

    def login(self, transport: Transport, settings: Settings) -> Token:
        """Log in; keystone scopes an AK/SK token to the key's own project, so a project the
        settings name that is not the key's is an error, never a silent switch."""
        token = super().login(transport, settings)
        asked = self.project_id or self.project
        got = token.project_id if self.project_id else token.project
        # names compare as keystone's database does, without regard to case
        if asked and asked.casefold() != str(got or "").casefold():
            raise AuthError(
                f"{self.describe()} is bound to project {token.project!r}, not {asked!r}",
                hint="an AK/SK login always uses its key's project: unset OS_PROJECT_NAME "
                "(project=), or use an access key of that project",
            )
        return token


@dataclass(frozen=True)
class PasswordAuth(_BodyLogin):
    """Password login, optionally scoped to a project (by name, with its domain, or by id)."""

    username: str
    password: str = field(repr=False)
    domain: str | None = None
    project: str | None = None
    project_domain: str | None = None
    project_id: str | None = None
    source: str = "cli"
    domain_id: str | None = None
    project_domain_id: str | None = None

    def body(self, auth_url: str) -> str:
        return password_auth_body(**vars(self))  # the fields are its keyword arguments

    def describe(self) -> str:
        return f"user {self.username!r}"


@dataclass(frozen=True)
class TokenAuth(_BodyLogin):
    """An existing token; re-scoped to a project when one is given, else validated as is.

    A token validated as is cannot be renewed: once it expires, the user must log in again.
    """

    token: str = field(repr=False)
    project: str | None = None
    project_domain: str | None = None
    project_id: str | None = None
    source: str = "cli"
    project_domain_id: str | None = None

    @property
    def can_renew(self) -> bool:  # type: ignore[override]
        return bool(self.project or self.project_id)  # re-scoping it is a login

    def login(self, transport: Transport, settings: Settings) -> Token:
        if self.can_renew:
            return super().login(transport, settings)
        resp = transport.login_request(
            "GET",
            join_url(settings.auth_url, "/auth/tokens"),
            headers={"X-Subject-Token": self.token, "X-Auth-Token": self.token},
        )
        return _token_from(resp, self, settings)

    def body(self, auth_url: str) -> str:
        return token_auth_body(**vars(self))  # the fields are its keyword arguments

    def describe(self) -> str:
        return "the given token"


AuthMethod = AkskAuth | PasswordAuth | TokenAuth


def method_from_settings(s: Settings) -> AuthMethod:
    """The auth method settings allow (AK/SK over password over token), from the
    :class:`~cpexplore.config.Settings` fields its fields are named after."""
    method = {"aksk": AkskAuth, "password": PasswordAuth, "token": TokenAuth}[s.auth_method]
    return method(**{f.name: getattr(s, f.name) for f in fields(method)})


def parse_time(text: str) -> datetime:
    """Parse a keystone time (``2026-11-27T23:54:23.135181Z``) as an aware UTC datetime."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_token(body: Any, subject_token: str | None) -> Token:
    """Build a :class:`Token` from a ``/v3/auth/tokens`` answer and its ``X-Subject-Token``."""
    tok = body.get("token") if isinstance(body, dict) else None
    token_id = subject_token or (body.get("id") if isinstance(body, dict) else None)
    if not isinstance(tok, dict) or not token_id:
        raise ProtocolError(
            "the identity service answered without a token",
            hint="check that the auth URL points at Cloudpods' keystone (…:30500/v3)",
        )
    try:
        user = tok.get("user") or {}
        project = tok.get("project") or {}
        return Token(
            id=str(token_id),
            expires_at=parse_time(tok["expires_at"]),
            issued_at=parse_time(tok["issued_at"]) if tok.get("issued_at") else None,
            methods=tuple(tok.get("methods") or ()),
            user=str(user.get("name", "")),
            user_id=str(user.get("id", "")),
            domain=str((user.get("domain") or {}).get("name", "")),
            project=project.get("name"),
            project_id=project.get("id"),
            roles=tuple(r.get("name", "") for r in tok.get("roles") or ()),
            policies={k: list(v) for k, v in (tok.get("policies") or {}).items()},
            catalog=Catalog.from_token(tok.get("catalog")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError(
            f"the token answer is malformed ({e.__class__.__name__}: {e})",
            hint="check that the auth URL points at Cloudpods' keystone",
        ) from e


# What to say about a refused login, by the kind that _refusal finds; the fields are those
# of auth_error.
_REFUSALS: dict[str, tuple[str, str]] = {
    "WrongPassword": ("wrong password for {who} at {where}", "check OS_PASSWORD"),
    "UserNotFound": (
        "{who} does not exist{in_domain} at {where}",
        "check OS_USERNAME (and OS_DOMAIN_NAME)",
    ),
    "signature": ("the secret key does not match {who} at {where}", "check OS_SECRET_KEY"),
    "access key": (
        "{who} is {key_state} at {where}",
        "check OS_ACCESS_KEY, or create one with climc credential-create-aksk",
    ),
    "project": (
        "{who} cannot log in to project {project!r}: {reason}",
        "check OS_PROJECT_NAME / OS_PROJECT_DOMAIN, or leave them out to use the credential's own project",
    ),
    "token": (
        "the given token is expired, revoked or unknown",
        "log in again, or unset OS_AUTH_TOKEN",
    ),
    "ambiguous": (
        "{who}: the name is ambiguous ({details})",
        "give OS_DOMAIN_NAME / OS_PROJECT_DOMAIN",
    ),
    "locked": (
        "{who} is locked or has too many failed attempts ({cls})",
        "wait, or ask an admin to unlock",
    ),
    "refused": ("login refused for {who} at {where}: {details}", "check the credentials"),
}
# Refusals told by their details, in order, after the error classes of _REFUSALS.
_DETAILS = (
    ("signature", ("signature mismatch",)),
    ("access key", ("invalid access key", "expired access key")),
    ("project", ("FetchProject", "not in project")),
    ("token", ("invalid token",)),
)
_STATUSES = {409: "ambiguous", 423: "locked", 429: "locked", 400: "refused", 401: "refused"}


def _refusal(status: int, cls: str, details: str) -> str | None:
    """The kind of a refused login (a key of :data:`_REFUSALS`), or ``None``."""
    if cls in ("WrongPassword", "UserNotFound"):
        return cls
    for kind, phrases in _DETAILS:
        if any(phrase in details for phrase in phrases):
            return kind
    # a real keystone validating an unknown or revoked token with itself treats the caller
    # as a guest: 403 ForbiddenError "guest not allow to auth"
    if cls == "InvalidCredentialError" or (status == 403 and "guest not allow to auth" in details):
        return "token"
    return _STATUSES.get(status)


def auth_error(exc: CpExploreError, method: AuthMethod, settings: Settings) -> CpExploreError:
    """Rewrite a refused login as a one-line :class:`AuthError` that says what to fix."""
    status = getattr(exc, "status", None)
    cls = getattr(exc, "error_class", "") or ""
    details = getattr(exc, "details", "") or ""
    kind = None if status is None else _refusal(status, cls, details)
    if kind is None:
        return exc
    message, hint = _REFUSALS[kind]
    fields = {
        "who": method.describe(),
        "where": settings.auth_url,
        "in_domain": f" in domain {settings.domain!r}" if settings.domain else "",
        "key_state": "expired" if "expired" in details else "unknown",
        "project": settings.project or settings.project_id,
        "reason": details.removeprefix("unauthorized "),
        "details": details,
        "cls": cls,
    }
    return AuthError(message.format(**fields), hint=hint, status=status, error_class=cls)


def _token_from(resp: requests.Response, method: AuthMethod, settings: Settings) -> Token:
    """The token of a login answer, or the error that says what to fix."""
    from .http import decode_json, error_from

    if resp.is_redirect:
        target = urlsplit(resp.headers.get("Location", ""))
        raise ProtocolError(
            f"the auth URL {settings.auth_url} redirects to "
            f"{target.scheme}://{target.netloc}{target.path}; credentials are not sent on",
            hint="use the address keystone itself answers on, e.g. https://<host>:30500/v3",
        )
    if resp.status_code >= 400:
        refused = error_from(resp)
        error = auth_error(refused, method, settings)
        if resp.status_code == 404 and error is refused:
            # keystone always has /v3/auth/tokens (its 404s are UserNotFound): another 404
            # means the URL lacks its /v3, or the service there is not keystone
            hint = auth_url_hint(settings.auth_url)
            error = AuthError(
                f"{settings.auth_url} has no login (/auth/tokens answered 404 Not Found): "
                + ("the auth URL lacks its /v3" if hint else "the service there is not keystone"),
                hint=hint
                or "give keystone's URL, usually https://<host>:30500/v3 (a region listens on "
                "30888); 'climc endpoint-list' shows the identity endpoint",
                status=404,
                error_class=getattr(refused, "error_class", None),
            )
        raise error from (refused if error is not refused else None)
    body = decode_json(resp, what="login answer")
    token = parse_token(body, resp.headers.get("X-Subject-Token"))
    if not token.catalog:
        projects = [
            p.get("name")
            for p in (body.get("token") or {}).get("projects") or []
            if isinstance(p, dict)
        ]
        have = f" (your projects: {', '.join(map(str, projects))})" if projects else ""
        hint = "set OS_PROJECT_NAME or pass project=..."
        if isinstance(method, AkskAuth):  # keystone scopes AK/SK tokens to the key's project
            hint = (
                "this access key belongs to no project; create one bound to a project "
                "(climc credential-create-aksk --project-id ...) or log in with a password "
                "and project="
            )
        raise AuthError(
            f"logged in as {token.user or method.describe()} without a project, so there is "
            f"no service catalog{have}",
            hint=hint,
        )
    return token


class TokenManager:
    """The current token: log in, renew before expiry, renew once when refused.

    Thread-safe: pages fetched concurrently share one token and one renewal.

    >>> m = TokenManager(PasswordAuth("alice", "pw"), transport=None, settings=None)
    >>> m.logins, m.reauths
    (0, 0)
    """

    def __init__(self, method: AuthMethod, transport: Transport, settings: Settings) -> None:
        self.method = method
        self._transport = transport
        self._settings = settings
        self._lock = threading.RLock()
        self._token: Token | None = None
        self.logins = 0
        self.reauths = 0

    @property
    def token(self) -> Token | None:
        """The token held now, without any network I/O (``None`` before the first login)."""
        return self._token

    def login(self) -> Token:
        """Log in now (the one place a session talks to keystone)."""
        with self._lock:
            token = self.method.login(self._transport, self._settings)
            self._token = token
            self.logins += 1
            log.debug(
                "logged in as %s (%s) to project %s, expires %s",
                token.user,
                "+".join(token.methods),
                token.project,
                token.expires_at.isoformat(),
            )
            return token

    def current(self) -> Token:
        """A token valid for a while yet, renewing it first when it is about to expire."""
        with self._lock:
            tok = self._token
            if tok is None:
                return self.login()
            lifetime = (
                (tok.expires_at - tok.issued_at).total_seconds() if tok.issued_at else 86400.0
            )
            if tok.expires_in() >= min(REFRESH_MARGIN, lifetime / 4):
                return tok
            if not self.method.can_renew:
                if tok.expires_in() > 0:
                    return tok
                raise AuthError(
                    "the given token has expired", hint="log in again, or unset OS_AUTH_TOKEN"
                )
            log.debug("token expires in %.0fs; renewing", tok.expires_in())
            token = self.login()
            self.reauths += 1
            return token

    def summary(self) -> dict[str, str]:
        """Who logs in where, and the token's project and expiry: never a secret."""
        info = settings_summary(self._settings)
        who = {"aksk": f"access key {info['user']}", "password": f"user {info['user']}"}.get(
            str(info["method"]), "a given token"
        )
        out = {"auth_url": str(info["auth_url"]), "login": f"{who} ({info['method']})"}
        if (tok := self._token) is not None:
            left = tok.expires_in()
            out.update(user=tok.user, project=str(tok.project))
            out["token_expires"] = (
                f"{tok.expires_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({'expired' if left <= 0 else duration(left) + ' left'})"
            )
        out.update(region=str(info["region"] or "(any)"), interface=str(info["interface"]))
        if info["profile"]:
            out["profile"] = str(info["profile"])
        return out

    def renew_after_refusal(self, stale: Token) -> bool:
        """Log in again after the server refused ``stale`` (once per stale token, not per
        thread); False when the method cannot renew, so the refusal stands."""
        with self._lock:
            if self._token is not stale:
                return True  # another thread renewed it already
            if not self.method.can_renew:
                return False
            log.debug("token refused; logging in again")
            self.login()
            self.reauths += 1
            return True
