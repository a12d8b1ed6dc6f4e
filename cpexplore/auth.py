"""Auth methods and the token they yield; no HTTP in here.

An auth method is a small object that knows the JSON body to POST to
``<auth_url>/auth/tokens``; :func:`parse_token` turns the answer into a :class:`Token`;
:func:`auth_error` turns a refusal into a one-line :class:`~cpexplore.errors.AuthError`.

>>> m = PasswordAuth("alice", "pw", project="demo")
>>> m.describe()
"user 'alice'"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .catalog import Catalog
from .config import Settings
from .errors import AuthError, CpExploreError, ProtocolError
from .signing import aksk_auth_body, password_auth_body, token_auth_body


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
        return (self.expires_at - (now or datetime.now(timezone.utc))).total_seconds()

    @property
    def is_admin(self) -> bool:
        return bool(self.policies.get("system"))


@dataclass(frozen=True)
class AkskAuth:
    """AK/SK login: a body signed with Cloudpods' AWS4-HMAC-SHA256 scheme (spec §1.2)."""

    access_key: str
    secret_key: str = field(repr=False)
    source: str = "cli"

    def body(self, auth_url: str) -> str:
        return aksk_auth_body(auth_url, self.access_key, self.secret_key, source=self.source)

    def describe(self) -> str:
        return f"access key {self.access_key!r}"


@dataclass(frozen=True)
class PasswordAuth:
    """Password login, optionally scoped to a project (by name, with its domain, or by id)."""

    username: str
    password: str = field(repr=False)
    domain: str | None = None
    project: str | None = None
    project_domain: str | None = None
    project_id: str | None = None
    source: str = "cli"

    def body(self, auth_url: str) -> str:
        return password_auth_body(
            self.username,
            self.password,
            domain=self.domain,
            project=self.project,
            project_domain=self.project_domain,
            project_id=self.project_id,
            source=self.source,
        )

    def describe(self) -> str:
        return f"user {self.username!r}"


@dataclass(frozen=True)
class TokenAuth:
    """An existing token; re-scoped to a project when one is given, else validated as is."""

    token: str = field(repr=False)
    project: str | None = None
    project_domain: str | None = None
    project_id: str | None = None
    source: str = "cli"

    @property
    def rescopes(self) -> bool:
        return bool(self.project or self.project_id)

    def body(self, auth_url: str) -> str:
        return token_auth_body(
            self.token,
            project=self.project,
            project_domain=self.project_domain,
            project_id=self.project_id,
            source=self.source,
        )

    def describe(self) -> str:
        return "the given token"


AuthMethod = AkskAuth | PasswordAuth | TokenAuth


def method_from_settings(s: Settings) -> AuthMethod:
    """Pick the auth method settings allow; AK/SK wins over password, password over token."""
    kind = s.auth_method
    if kind == "aksk":
        return AkskAuth(s.access_key or "", s.secret_key or "", s.source)
    if kind == "password":
        return PasswordAuth(
            s.username or "",
            s.password or "",
            s.domain,
            s.project,
            s.project_domain,
            s.project_id,
            s.source,
        )
    return TokenAuth(s.token or "", s.project, s.project_domain, s.project_id, s.source)


def parse_time(text: str) -> datetime:
    """Parse a keystone time (``2026-11-27T23:54:23.135181Z``) as an aware UTC datetime."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


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
        ) from None


def auth_error(exc: CpExploreError, method: AuthMethod, settings: Settings) -> CpExploreError:
    """Rewrite a refused login as a one-line :class:`AuthError` that says what to fix."""
    status = getattr(exc, "status", None)
    cls = getattr(exc, "error_class", "") or ""
    details = getattr(exc, "details", "") or ""
    who = method.describe()
    where = settings.auth_url
    if status is None:
        return exc
    if cls == "WrongPassword":
        msg, hint = f"wrong password for {who} at {where}", "check OS_PASSWORD"
    elif cls == "UserNotFound":
        dom = f" in domain {settings.domain!r}" if settings.domain else ""
        msg, hint = (
            f"{who} does not exist{dom} at {where}",
            "check OS_USERNAME (and OS_DOMAIN_NAME)",
        )
    elif "signature mismatch" in details:
        msg, hint = f"the secret key does not match {who} at {where}", "check OS_SECRET_KEY"
    elif "invalid access key" in details or "expired access key" in details:
        state = "expired" if "expired" in details else "unknown"
        msg, hint = (
            f"{who} is {state} at {where}",
            "check OS_ACCESS_KEY, or create one with climc credential-create-aksk",
        )
    elif "FetchProject" in details or "not in project" in details:
        proj = settings.project or settings.project_id
        msg = f"{who} cannot log in to project {proj!r}: {details.removeprefix('unauthorized ')}"
        hint = "check OS_PROJECT_NAME / OS_PROJECT_DOMAIN, or leave them out to use the credential's own project"
    elif "invalid token" in details or cls == "InvalidCredentialError":
        msg, hint = (
            "the given token is expired, revoked or unknown",
            "log in again, or unset OS_AUTH_TOKEN",
        )
    elif status == 409:
        msg, hint = (
            f"{who}: the name is ambiguous ({details})",
            "give OS_DOMAIN_NAME / OS_PROJECT_DOMAIN",
        )
    elif status in (423, 429):
        msg, hint = (
            f"{who} is locked or has too many failed attempts ({cls})",
            "wait, or ask an admin to unlock",
        )
    elif status in (400, 401):
        msg, hint = f"login refused for {who} at {where}: {details}", "check the credentials"
    else:
        return exc
    return AuthError(msg, hint=hint, status=status, error_class=cls)
