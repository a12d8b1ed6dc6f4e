"""The sandbox's keystone: ``/v3/auth/tokens`` (aksk, password, token), tokens and catalog.

Logins are verified as real keystone verifies them (cloudpods-api.md §1.3, §2.2, §8): AK/SK blobs go
through :func:`cpexplore.signing.verify_access_key_secret`, so the sandbox accepts exactly
the bodies Cloudpods' own code produces and rejects what keystone rejects.

>>> from cpexplore.sandbox.inventory import Inventory
>>> idy = Identity(Inventory(servers=1), "http://127.0.0.1:1", access_key="a" * 32,
...                secret_key="s", username="sysadmin", password="pw")
>>> [s["type"] for s in idy.catalog()][:2]
['identity', 'compute_v2']
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cpexplore.signing import decode_access_key_secret, verify_access_key_secret

from .errors import Fault
from .inventory import (
    CATALOG_REGIONS,
    DOMAIN_DEFAULT,
    ZONE_REGION,
    Inventory,
    Table,
    User,
    fmt_time,
    make_id,
)
from .lists import Caller

# (type, name, {region: public path suffix}, internal host) — layout of a real deployment (cloudpods-api.md §2.4)
_SERVICES = (
    ("identity", "keystone", {"region0": "/v3"}, "https://default-keystone:30500/v3"),
    (
        "compute_v2",
        "region2",
        {"region0": "", "region1": "/region1", ZONE_REGION: "/region1"},
        "https://default-region:30888",
    ),
    ("image", "glance", {"region0": "/v1"}, "https://default-glance:30292/v1"),
    ("log", "log", {"region0": ""}, "https://default-logger:30999"),
    ("scheduler", "scheduler", {"region0": "/scheduler"}, "https://default-scheduler:30887"),
    ("notify", "notify", {"region0": "/notify"}, "https://default-notify:30777"),
    ("monitor", "monitor", {"region0": "/monitor"}, "https://default-monitor:30093"),
)
PREFIX_REGIONS = {
    "/region1": "region1"
}  # path prefix under which a second catalog region is served


def _now() -> datetime:
    return datetime.now(UTC)


def _fmt_token_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Token:
    id: str = field(repr=False)
    user: User
    project: int | None
    methods: list[str]
    issued: datetime
    expires: datetime
    audit_ids: list[str]
    context: dict
    access_key: dict = field(default_factory=lambda: {"expire": 0})

    def valid(self) -> bool:
        return _now() < self.expires


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret: str = field(repr=False)
    user: User
    project: int | None
    expire: int = 0
    enabled: bool = True


class Identity:
    """Users, AK/SK credentials, tokens and the service catalog of one sandbox."""

    def __init__(
        self,
        inventory: Inventory,
        base_url: str,
        *,
        access_key: str,
        secret_key: str,
        username: str,
        password: str,
        member_username: str = "demo-user",
        member_password: str | None = None,
        member_project: str = "web",
        token_ttl: float = 86400,
    ) -> None:
        self.inv = inventory
        self.base_url = base_url.rstrip("/")
        self.token_ttl = float(token_ttl)
        self.admin = inventory.add_user(username, password, [("system", "admin")])
        self.member = inventory.add_user(
            member_username,
            member_password or secrets.token_urlsafe(12),
            [(member_project, "member")],
        )
        self.credentials = {
            access_key: Credential(
                access_key, secret_key, self.admin, inventory.project_index("system")
            ),
        }
        self.tokens: dict[str, Token] = {}
        self.revoked: set[str] = set()
        self.logins = 0
        self._lock = threading.Lock()
        self._register_tables()

    # -- catalog -----------------------------------------------------------------------
    def endpoint_rows(self) -> list[dict]:
        rows = []
        for si, (stype, sname, regions, internal) in enumerate(_SERVICES):
            for region, suffix in regions.items():
                urls = [("public", self.base_url + suffix)]
                if region != ZONE_REGION:
                    host = (
                        internal
                        if region == "region0"
                        else internal.replace("default-", f"{region}-")
                    )
                    urls.append(("internal", host))
                if stype == "identity":
                    urls.append(("admin", self.base_url + suffix))
                for iface, url in urls:
                    rows.append(
                        {
                            "id": make_id(
                                self.inv.seed,
                                f"endpoint/{stype}/{region}",
                                len(iface),
                                dashed=False,
                            ),
                            "interface": iface,
                            "name": f"{stype}-{iface}",
                            "region": region,
                            "region_id": region,
                            "url": url,
                            "service_id": make_id(self.inv.seed, "service", si, dashed=False),
                            "service_name": sname,
                            "service_type": stype,
                        }
                    )
        return rows

    def catalog(self) -> list[dict]:
        services: dict[str, dict] = {}
        for row in self.endpoint_rows():
            svc = services.setdefault(
                row["service_id"],
                {
                    "endpoints": [],
                    "id": row["service_id"],
                    "name": row["service_name"],
                    "type": row["service_type"],
                },
            )
            svc["endpoints"].append(
                {k: row[k] for k in ("id", "interface", "name", "region", "region_id", "url")}
            )
        return list(services.values())

    def _register_tables(self) -> None:
        inv = self.inv
        t0 = int(datetime(2022, 9, 1, tzinfo=UTC).timestamp())

        def rows_table(
            plural: str, keyword: str, rows: list[dict], owner_kind: str, detail: set[str]
        ) -> None:
            created = [t0 + i for i in range(len(rows))]
            for i, r in enumerate(rows):
                r.setdefault("created_at", fmt_time(created[i]))
                r.setdefault("updated_at", fmt_time(created[i]))
                r.setdefault("deleted", False)
                r.setdefault("can_delete", False)
                r.setdefault("can_update", True)
            inv.tables[plural] = Table(
                keyword,
                plural,
                len(rows),
                lambda i, rows=rows: dict(rows[i]),
                created,
                owner_kind=owner_kind,
                detail_fields=frozenset(detail | {"can_delete", "can_update"}),
            )

        projects = [
            {
                "id": p.id,
                "name": p.name,
                "domain_id": p.domain_id,
                "project_domain": inv.domain_name(p.domain_id),
                "parent_id": p.domain_id,
                "enabled": True,
                "is_domain": False,
                "description": f"{p.name} project",
                "user_count": sum(1 for u in inv.users for pi, _r in u.project_roles if pi == i),
                "group_count": 0,
            }
            for i, p in enumerate(inv.projects)
        ]
        rows_table(
            "projects",
            "project",
            projects,
            "domain",
            {"project_domain", "user_count", "group_count"},
        )
        users = [
            {
                "id": u.id,
                "name": u.name,
                "domain_id": u.domain_id,
                "project_domain": inv.domain_name(u.domain_id),
                "enabled": True,
                "is_system_account": u is self.admin,
                "allow_web_console": True,
                "credential_count": sum(1 for c in self.credentials.values() if c.user is u),
                "enable_mfa": False,
            }
            for u in inv.users
        ]
        rows_table("users", "user", users, "domain", {"project_domain", "credential_count"})
        # keystone hides system accounts (sysadmin) unless the list asks for system=true
        inv.tables["users"].system_row = lambda i, users=users: bool(users[i]["is_system_account"])
        domains = [dict(d, enabled=True, is_domain=True) for d in inv.domains]
        rows_table("domains", "domain", domains, "system", set())
        regions = [
            {"id": r, "name": r, "endpoint_count": 0} for r in (*CATALOG_REGIONS, ZONE_REGION)
        ]
        eps = self.endpoint_rows()
        for r in regions:
            r["endpoint_count"] = sum(1 for e in eps if e["region_id"] == r["id"])
        rows_table("regions", "region", regions, "system", {"endpoint_count"})
        services = [
            {
                "id": make_id(inv.seed, "service", si, dashed=False),
                "name": sname,
                "type": stype,
                "enabled": True,
                "endpoint_count": sum(1 for e in eps if e["service_type"] == stype),
            }
            for si, (stype, sname, _r, _i) in enumerate(_SERVICES)
        ]
        rows_table("services", "service", services, "system", {"endpoint_count"})
        endpoints = [dict(e, enabled=True) for e in eps]
        rows_table("endpoints", "endpoint", endpoints, "system", {"service_name", "service_type"})
        roles = [
            dict(r, domain_id=DOMAIN_DEFAULT, _i18n={"description": r["name"]}, is_public=True)
            for r in inv.roles
        ]
        rows_table("roles", "role", roles, "domain", set())
        assignments = [self._assignment(u, p, r) for u in inv.users for p, r in u.project_roles]
        rows_table("role_assignments", "role_assignment", assignments, "domain", set())
        inv.tables["role_assignments"].always_counts = True
        credentials = [
            {
                "id": c.access_key,
                "name": f"aksk-{c.user.name}",
                "type": "aksk",
                "enabled": c.enabled,
                "blob": json.dumps({"expire": c.expire, "secret": c.secret}, separators=(",", ":")),
                "user_id": c.user.id,
                "user": c.user.name,
                "domain_id": DOMAIN_DEFAULT,
                "domain": "Default",
                "project_id": inv.projects[c.project].id if c.project is not None else None,
                "is_emulated": False,
            }
            for c in self.credentials.values()
        ]
        rows_table("credentials", "credential", credentials, "domain", set())

    # -- who is calling --------------------------------------------------------------------
    def caller(self, token_id: str | None) -> Caller:
        tok = self.lookup(token_id)
        if tok is None or tok.project is None:
            return Caller(0)
        role = dict(tok.user.project_roles).get(tok.project)
        allowed = 3 if role == "admin" else 1
        return Caller(allowed, tok.project, self.inv.projects[tok.project].domain_id)

    def lookup(self, token_id: str | None) -> Token | None:
        if not token_id:
            return None
        with self._lock:
            tok = self.tokens.get(token_id)
        if tok is None or token_id in self.revoked or not tok.valid():
            return None
        return tok

    def state(self, token_id: str | None) -> str:
        """``valid``, ``revoked``, ``expired`` or ``unknown``: what keystone knows of a token."""
        if not token_id:
            return "unknown"
        with self._lock:
            tok = self.tokens.get(token_id)
            revoked = token_id in self.revoked
        if tok is None:
            return "unknown"
        if revoked:
            return "revoked"
        return "valid" if tok.valid() else "expired"

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            if token_id not in self.tokens:
                return False
            self.revoked.add(token_id)
            return True

    def expire_all(self) -> None:
        """Make every token issued so far expire now (for tests of re-authentication)."""
        with self._lock:
            for tok in self.tokens.values():
                tok.expires = _now() - timedelta(seconds=1)

    # -- login -------------------------------------------------------------------------
    def authenticate(self, raw: bytes, client_ip: str) -> tuple[str, dict]:
        """``POST /v3/auth/tokens`` → (token id, response body) or :class:`Fault`."""
        try:
            body = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError):
            raise Fault(400, "InputParameterError", "fail to decode request body") from None
        auth = body.get("auth") if isinstance(body, dict) else None
        auth = auth if isinstance(auth, dict) else {}
        identity = auth.get("identity") if isinstance(auth.get("identity"), dict) else {}
        methods = identity.get("methods") if isinstance(identity.get("methods"), list) else []
        if len(methods) != 1:
            raise _unauthorized("[auth] invalid auth methods")
        ctx = auth.get("context") if isinstance(auth.get("context"), dict) else {}
        context = {
            "ip": ctx.get("ip") if ctx.get("ip") not in (None, "", "0.0.0.0") else client_ip,
            "source": ctx.get("source") or "api",
        }
        method = methods[0]
        access_key = {"expire": 0}
        audit: list[str] | None = None
        if method == "password":
            user = self._password_user(identity.get("password"))
            project = self._scope(user, auth.get("scope"))
        elif method == "token":
            old = self._token_user(identity.get("token"))
            user, audit = old.user, [old.id]
            project = self._scope(user, auth.get("scope"))
        elif method == "aksk":
            cred = self._aksk_credential(identity.get("access_key_secret"))
            user, project = cred.user, cred.project
            access_key = {
                "access_key": cred.access_key,
                "expire": cred.expire,
                "secret": cred.secret,
            }
            audit = [cred.access_key]
        else:
            raise _unauthorized("[auth] invalid auth methods")
        tok = self._issue(user, project, method, context, access_key, audit)
        return tok.id, {"id": tok.id, "token": self.token_body(tok)}

    def _password_user(self, spec: object) -> User:
        user_spec = spec.get("user") if isinstance(spec, dict) else None
        if not isinstance(user_spec, dict):
            raise _unauthorized("[auth] invalid auth methods")
        dom = user_spec.get("domain") if isinstance(user_spec.get("domain"), dict) else None
        domain_id = None
        if dom:
            d = next((d for d in self.inv.domains if _same_domain(d["id"], d["name"], dom)), None)
            if d is None:
                raise Fault(
                    404, "UserNotFound", f"domain {dom.get('name') or dom.get('id')}: UserNotFound"
                )
            domain_id = d["id"]
        users = [
            u
            for u in self.inv.users
            if (u.id == user_spec.get("id") or u.name == user_spec.get("name"))
            and (domain_id is None or u.domain_id == domain_id)
        ]
        if not users:
            raise Fault(404, "UserNotFound", "UserNotFound")
        if len(users) > 1:
            raise Fault(409, "ConflictError", "duplicate username")
        if not secrets.compare_digest(str(user_spec.get("password", "")), users[0].password):
            raise Fault(401, "WrongPassword", "Authenticate: usrExt.VerifyPassword: WrongPassword")
        return users[0]

    def _token_user(self, spec: object) -> Token:
        tid = spec.get("id") if isinstance(spec, dict) else None
        tok = self.lookup(tid if isinstance(tid, str) else None)
        if tok is None and self.state(tid if isinstance(tid, str) else None) == "unknown":
            # the real keystone quotes an unknown token back (cloudpods-api.md §10)
            raise _unauthorized(
                f'authUserByTokenV3: token.TokenStrDecode: token "{tid}" not found: '
                "[auth] token not found"
            )
        if tok is None:
            raise _unauthorized("authUserByTokenV3: [auth] invalid token")
        return tok

    def _aksk_credential(self, blob_text: object) -> Credential:
        try:
            blob = decode_access_key_secret(blob_text if isinstance(blob_text, str) else "")
        except ValueError as e:
            raise _unauthorized(f"authUserByAccessKeyV3: {e}") from None
        cred = self.credentials.get(str(blob.get("access_key", "")))
        if cred is None or not cred.enabled:
            raise _unauthorized("authUserByAccessKeyV3: [auth] invalid access key id")
        if cred.expire > 0 and cred.expire <= _now().timestamp():
            raise _unauthorized("authUserByAccessKeyV3: [auth] expired access key")
        if not verify_access_key_secret(blob, cred.secret):
            raise _unauthorized("authUserByAccessKeyV3: Verify: signature mismatch")
        return cred

    def _scope(self, user: User, scope: object) -> int | None:
        if not isinstance(scope, dict) or not scope:
            return None
        if isinstance(scope.get("domain"), dict):
            d = scope["domain"]
            name = next(
                (
                    x["name"]
                    for x in self.inv.domains
                    if x["id"] == d.get("id") or x["name"] == d.get("name")
                ),
                d.get("name") or d.get("id"),
            )
            raise _unauthorized(f'getTokenV3: domain "{name}": [auth] user not in project')
        proj = scope.get("project") if isinstance(scope.get("project"), dict) else {}
        dom = proj.get("domain") if isinstance(proj.get("domain"), dict) else None
        matches = [
            i
            for i, p in enumerate(self.inv.projects)
            if (p.id == proj.get("id") if proj.get("id") else p.name == proj.get("name"))
            and (dom is None or _same_domain(p.domain_id, self.inv.domain_name(p.domain_id), dom))
        ]
        if not matches:
            raise _unauthorized("ProjectManager.FetchProject: sql: no rows in result set")
        if len(matches) > 1:
            raise Fault(409, "ConflictError", "duplicate username")
        p = matches[0]
        if p not in dict(user.project_roles):
            raise _unauthorized(
                f'getTokenV3: project "{self.inv.projects[p].name}": [auth] user not in project'
            )
        return p

    def _issue(
        self,
        user: User,
        project: int | None,
        method: str,
        context: dict,
        access_key: dict,
        audit: list[str] | None,
    ) -> Token:
        now = _now()
        tok = Token(
            secrets.token_hex(32),
            user,
            project,
            [method],
            now,
            now + timedelta(seconds=self.token_ttl),
            audit or [user.audit_id],
            context,
            access_key,
        )
        with self._lock:
            if (
                len(self.tokens) > 10_000
            ):  # forget long-expired tokens, as keystone's table is pruned
                old = now - timedelta(hours=1)
                for tid in [t for t, x in self.tokens.items() if x.expires < old]:
                    del self.tokens[tid]
                    self.revoked.discard(tid)
            self.tokens[tok.id] = tok
            self.logins += 1
        return tok

    def token_body(self, tok: Token) -> dict:
        """The ``token`` object of cloudpods-api.md §2.3 as corrected by §8.1/§8.2."""
        inv = self.inv
        user = {
            "domain": {"id": tok.user.domain_id, "name": inv.domain_name(tok.user.domain_id)},
            "id": tok.user.id,
            "name": tok.user.name,
        }
        user["is_system_account"] = tok.user is self.admin
        body = {
            "access_key": tok.access_key,
            "audit_ids": tok.audit_ids,
            "context": tok.context,
            "expires_at": _fmt_token_time(tok.expires),
            "is_domain": False,
            "issued_at": _fmt_token_time(tok.issued),
            "methods": tok.methods,
            "user": user,
        }
        if tok.project is None:
            body["projects"] = [
                {
                    "domain": {
                        "id": inv.projects[p].domain_id,
                        "name": inv.domain_name(inv.projects[p].domain_id),
                    },
                    "id": inv.projects[p].id,
                    "name": inv.projects[p].name,
                }
                for p, _r in tok.user.project_roles
            ]
            body["role_assignments"] = [
                self._assignment(tok.user, p, r) for p, r in tok.user.project_roles
            ]
            return body
        p = inv.projects[tok.project]
        role = dict(tok.user.project_roles)[tok.project]
        body.update(
            catalog=self.catalog(),
            policies={"system": ["sysadmin"]}
            if role == "admin"
            else {"project": ["project-viewer"]},
            project={
                "domain": {"id": p.domain_id, "name": inv.domain_name(p.domain_id)},
                "id": p.id,
                "name": p.name,
            },
            roles=[{"id": self._role(role)["id"], "name": role}],
        )
        return body

    def _assignment(self, user: User, p: int, role: str) -> dict:
        inv = self.inv
        proj = inv.projects[p]

        def dom(domain_id: str) -> dict:
            return {"id": domain_id, "name": inv.domain_name(domain_id)}

        return {
            "role": {"domain": dom(DOMAIN_DEFAULT), "id": self._role(role)["id"], "name": role},
            "scope": {"project": {"domain": dom(proj.domain_id), "id": proj.id, "name": proj.name}},
            "user": {"domain": dom(user.domain_id), "id": user.id, "name": user.name},
        }

    def _role(self, name: str) -> dict:
        return next(r for r in self.inv.roles if r["name"] == name)


def _same_domain(domain_id: str, name: str, spec: dict) -> bool:
    """A domain given by id, or by name as MySQL compares it (case-insensitive); keystone also
    tries a name as an id, which is how ``OS_PROJECT_DOMAIN=default`` works."""
    if spec.get("id"):
        return spec["id"] == domain_id
    wanted = str(spec.get("name") or "")
    return wanted == domain_id or wanted.casefold() == name.casefold()


def _unauthorized(details: str) -> Fault:
    return Fault(401, "UnauthorizedError", f"unauthorized {details}")
