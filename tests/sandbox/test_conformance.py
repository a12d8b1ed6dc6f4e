"""Replay the real Cloudpods exchanges against the sandbox and compare the answers.

``tests/data/reference/real-transcripts/`` holds every request asked of a real keystone and
region (``tests/data/reference/cloudpods-api.md`` §8, §9) with the real answer: four files
from an empty region and ``region-with-data.json`` from a region with 2 600 servers. Each applicable exchange is sent
again to one sandbox started with the transcript's throwaway credentials, so AK/SK login
bodies replay byte for byte. Tokens are replaced by fresh sandbox tokens of the same kind;
the demo user and project become the sandbox's member user and project.

What must match (ids, times and data may differ):

* the status;
* errors: the flat body ``{class, code, details, time}``, the same ``class`` and, for 403,
  ``allow:none`` in ``details`` exactly when the real one has it (the sign of a bad token, D1);
* lists: the same envelope keys when both lists are equally empty or non-empty, otherwise the
  envelope rules of §3.2/§8.2 (D4, D5); marker envelopes for log tables;
* other 200 answers: the same top-level keys (and the same keys in a token body);
* headers a client may rely on: ``Server``, ``X-Request-Id``, ``X-Subject-Token``,
  ``Content-Type`` (exact) and ``Content-Length``.

For the region with data (§9) the replay also checks what the query did:

* filters, parameters and searches: if the real total equals the real unfiltered total (the
  filter was ignored), the sandbox's total equals its own unfiltered total for the same
  scope; if the real list was narrowed, the sandbox's is narrowed too (and non-empty when the
  real one was);
* ``order_by``: the sandbox's rows are sorted by the key when the real rows were, and by
  ``created_at`` (the default key) in the asked direction when the real region ignored it;
* record shapes: servers and hosts carry the real key sets (sparse keys may be missing, a
  documented few added), ``details=false`` only table columns, ``metadata`` only with details.

Names, ids and values of the real data are mapped to sandbox ones of the same kind
(``SANDBOX_VALUES``).

Exchanges that cannot apply are listed with a reason in ``NOT_REPLAYED``; real differences
found in the sandbox are strict xfails in ``SANDBOX_DIFFERENCES``.
"""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

import pytest
import requests

from cpexplore.sandbox import Sandbox

REAL = Path(__file__).resolve().parents[1] / "data" / "reference" / "real-transcripts"
FILES = ("keystone", "region", "extras-auth-and-rbac", "extras-auth-errors", "region-with-data")
# captures whose checks live in a test of their own (they hold writes and timings, not replays)
ELSEWHERE = {"region-trust-and-refresh": "tests/sandbox/test_real_region_s10.py (§10)"}
DATA = "region-with-data"  # the §9 capture, whose query effects are checked too
TIMEOUT = 30

ERROR_KEYS = {"class", "code", "details", "time"}
JSON_OK = "application/json;charset=utf-8"
JSON_ERR = "application/json"
HEX6 = re.compile(r"[0-9a-f]{6}")
HEX64 = re.compile(r"[0-9a-f]{64}")
ERROR_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def _load() -> tuple[dict, list[tuple[str, dict]]]:
    if not (REAL / "index.json").is_file():
        return {}, []
    meta = json.loads((REAL / "index.json").read_text())["meta"]
    exchanges = []
    for stem in FILES:
        for ex in json.loads((REAL / f"{stem}.json").read_text())["exchanges"]:
            exchanges.append((f"{stem}:{ex['name']}", ex))
    return meta, exchanges


META, EXCHANGES = _load()
BY_ID = dict(EXCHANGES)

# The throwaway credentials of the capture (index.json meta).
_SECRETS = META.get("throwaway_secrets_not_redacted", {})
SYSADMIN_PASSWORD = _SECRETS.get("sysadmin password", "")
AKSK_SECRET = next(
    iter(_SECRETS.get("AK/SK secret (access key = credential id in the exchanges)", "").split()), ""
)


def _access_key() -> str:
    """The credential id used by the ``aksk_login*`` exchanges (it is the access key)."""
    ex = BY_ID.get("keystone:aksk_login")
    if ex is None:
        return ""
    blob = json.loads(ex["request"]["body_json"]["auth"]["identity"]["access_key_secret"])
    return blob["access_key"]


ACCESS_KEY = _access_key()

# -- exchanges that cannot apply to the sandbox ------------------------------------------------
_WRITE = "a write that creates {what}; the sandbox serves no writes (DIFFERENCES['writes'])"
_PROBE = (
    "policy-bootstrap loop: the capture logged in and listed /v3/regions every 10 s until "
    "keystone loaded the policy it had just created (403 three times, then 200 on an empty "
    "region list); the sandbox starts with its policies in place"
)

NOT_REPLAYED: dict[str, str] = {
    # keystone bootstrap (policies, catalog objects, projects, users, credentials)
    "keystone:policy_create_sysadmin": _WRITE.format(what="a policy"),
    "keystone:policy_bind_role_admin_system": _WRITE.format(what="a policy binding"),
    **{f"keystone:password_login_after_policy_{i}": _PROBE for i in range(4)},
    **{f"keystone:regions_list_probe_{i}": _PROBE for i in range(4)},
    "keystone:region_create": _WRITE.format(what="a region"),
    "keystone:service_create_identity": _WRITE.format(what="a service"),
    "keystone:service_create_compute_v2": _WRITE.format(what="a service"),
    "keystone:endpoint_create_identity_public": _WRITE.format(what="an endpoint"),
    "keystone:endpoint_create_identity_internal": _WRITE.format(what="an endpoint"),
    "keystone:endpoint_create_identity_admin": _WRITE.format(what="an endpoint"),
    "keystone:endpoint_create_compute_public": _WRITE.format(what="an endpoint"),
    "keystone:endpoint_create_compute_internal": _WRITE.format(what="an endpoint"),
    "keystone:endpoint_create_missing_interface": _WRITE.format(what="an endpoint")
    + " (the 400 is create-input validation)",
    "keystone:project_create_1": _WRITE.format(what="a project"),
    "keystone:project_create_2": _WRITE.format(what="a project"),
    "keystone:project_create_3": _WRITE.format(what="a project"),
    "keystone:project_create_duplicate": _WRITE.format(what="a project") + " (409 duplicate)",
    "keystone:user_create_1": _WRITE.format(what="a user"),
    "keystone:user_create_2": _WRITE.format(what="a user"),
    "keystone:credential_create_aksk": _WRITE.format(what="an AK/SK credential"),
    "keystone:credential_create_aksk_unscoped_user": _WRITE.format(what="an AK/SK credential"),
    # region: writes, and the second AK/SK credential
    "region:zone_create_1": _WRITE.format(what="a zone"),
    "region:zone_create_2": _WRITE.format(what="a zone"),
    "region:zone_create_3": _WRITE.format(what="a zone"),
    "region:zone_create_duplicate": _WRITE.format(what="a zone") + " (409 duplicate)",
    "region:wire_create": _WRITE.format(what="a wire"),
    "region:network_create": _WRITE.format(what="a network"),
    "region:network_create_bad_range": _WRITE.format(what="a network"),
    "region:host_create": _WRITE.format(what="a host"),
    "region:role_assign_member": _WRITE.format(what="a role assignment")
    + " (404: role not yet created)",
    "region:aksk_login_for_region": "login with the second AK/SK credential (secret + 'x'); the "
    "sandbox holds one credential",
    # extras: RBAC bootstrap for the project user, and refused creates
    "extras-auth-and-rbac:role_create_member": _WRITE.format(what="a role"),
    "extras-auth-and-rbac:policy_create_project_member": _WRITE.format(what="a policy"),
    "extras-auth-and-rbac:policy_bind_role_member": _WRITE.format(what="a policy binding"),
    "extras-auth-and-rbac:role_assign_member": _WRITE.format(what="a role assignment"),
    "extras-auth-and-rbac:rg_zone_create_no_token": "POST /zones (a create, refused with 403 "
    "isClassRbacAllowed); the sandbox answers every write 404 (DIFFERENCES['writes'])",
    "extras-auth-and-rbac:rg_zone_create_project_user": "POST /zones (a create, refused with 403 "
    "isClassRbacAllowed); the sandbox answers every write 404 (DIFFERENCES['writes'])",
    # the keystone v2.0 API
    "extras-auth-errors:v2_tokens_password": "the keystone v2.0 API (/v2.0/tokens) is not part "
    "of the sandbox; clients use /v3",
}

# -- real differences: replayed exchanges the sandbox answers differently ---------------------
# Each entry is a strict xfail: once the sandbox is fixed, the entry must go.
SANDBOX_DIFFERENCES: dict[str, str] = {
    f"{DATA}:region_servers_revoked_cached_token": "the real region caches tokens it has seen "
    "and accepted token C after keystone revoked it; the sandbox refuses a revoked token at "
    "once (DIFFERENCES['token cache'], stricter than real)",
}

# Requests with a method other than GET that are replayed: they write nothing.
NOT_WRITES = {
    f"{DATA}:servers_wrong_method_delete",  # 404 "Handler /servers not found", as every write
    f"{DATA}:servers_wrong_method_put",
    f"{DATA}:servers_options_cors_preflight",
    f"{DATA}:keystone_options_cors_preflight",
}

# -- how to rewrite a request for the sandbox ------------------------------------------------
PATH_SUBSTITUTIONS = {"/networks/net1": "/networks/net-zone0-0"}
# The capture asked before demo-user-1 had any role in demo-proj-1; "ops" is a project the
# sandbox's member has no role in, which is the same situation.
PROJECT_OVERRIDES = {"region:password_login_demo_user": "ops"}


def auth_kind(exchange_id: str, ex: dict) -> str | None:
    """Which X-Auth-Token the replay sends: None, garbage, revoked, member, aksk or admin."""
    headers = ex["request"]["headers"]
    if "X-Auth-Token" not in headers:
        return None
    name = ex["name"]
    if headers["X-Auth-Token"] == headers.get("X-Subject-Token"):
        return "same"  # a token checking or revoking itself: the subject's kind, both headers
    if "X-Subject-Token" in headers and HEX64.fullmatch(headers["X-Auth-Token"]):
        return "admin"  # an admin checks or revokes another token (named by the subject)
    if "bad_token" in name or "garbage_token" in name:
        return "garbage"
    if "random_token" in name:
        return "random"
    if "revoked" in name:
        return "revoked"
    if "project_user" in name or "demo_user" in name or name.startswith("member_"):
        return "member"
    if "aksk_token" in name:
        return "aksk"
    if HEX64.fullmatch(headers["X-Auth-Token"]):
        return "admin"
    raise AssertionError(f"{exchange_id}: cannot tell which token {headers['X-Auth-Token']!r} is")


def header_value(kind: str, original: str, client: Client) -> str:
    """The sandbox token of ``kind``; garbage and random tokens are sent as captured."""
    if kind == "garbage":
        assert not HEX64.fullmatch(original), "a token that looks real is not garbage"
        return original
    if kind == "random":  # 64 hex digits keystone never issued
        assert HEX64.fullmatch(original)
        return original
    return client.token(kind)


def subject_kind(ex: dict) -> str | None:
    """Which X-Subject-Token the replay sends: None, garbage, victim (to revoke) or admin."""
    headers = ex["request"]["headers"]
    if "X-Subject-Token" not in headers:
        return None
    if "bad_subject" in ex["name"]:
        return "garbage"
    if "random_token" in ex["name"]:
        return "random"
    if ex["request"]["method"] == "DELETE":
        return "victim"
    if "revoked" in ex["name"]:
        return "revoked"
    return "admin"


def _is_write(exchange_id: str, ex: dict) -> bool:
    req = ex["request"]
    return (
        req["method"] not in ("GET", "HEAD")
        and req["path"] != "/v3/auth/tokens"
        and exchange_id not in NOT_WRITES
    )


def _param(exchange_id: str) -> Any:
    reason = SANDBOX_DIFFERENCES.get(exchange_id)
    marks = (
        [pytest.mark.xfail(strict=True, reason=f"sandbox difference: {reason}")] if reason else []
    )
    return pytest.param(exchange_id, id=exchange_id, marks=marks)


REPLAYED = [eid for eid, _ex in EXCHANGES if eid not in NOT_REPLAYED]


# -- the sandbox and its tokens ----------------------------------------------------------------
class Client:
    """The module's sandbox with lazily issued tokens of each kind."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self._cache: dict[str, str] = {}
        self.values: dict[str, str] = {}

    def login(self, body: dict | bytes) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(
            f"{self.sb.auth_url}/auth/tokens",
            data=data,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )

    def password_token(self, user: str, password: str, project: str) -> str:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": user, "password": password}},
                },
                "scope": {"project": {"name": project}},
            }
        }
        r = self.login(body)
        assert r.status_code == 200, r.text
        return r.headers["X-Subject-Token"]

    def fresh_admin(self) -> str:
        return self.password_token(self.sb.username, self.sb.password, self.sb.project)

    def token(self, kind: str) -> str:
        if kind == "victim":
            return self.fresh_admin()
        if kind not in self._cache:
            if kind == "admin":
                tok = self.fresh_admin()
            elif kind == "member":
                tok = self.password_token(
                    self.sb.member_username, self.sb.member_password, self.sb.member_project
                )
            elif kind == "aksk":
                r = self.login(BY_ID["keystone:aksk_login"]["request"]["body_text"].encode())
                assert r.status_code == 200, r.text
                tok = r.headers["X-Subject-Token"]
            elif kind == "revoked":
                tok = self.fresh_admin()
                r = requests.delete(
                    f"{self.sb.auth_url}/auth/tokens",
                    headers={"X-Auth-Token": self.token("admin"), "X-Subject-Token": tok},
                    timeout=TIMEOUT,
                )
                assert r.status_code == 204, r.text
            else:
                raise AssertionError(f"unknown token kind {kind}")
            self._cache[kind] = tok
        return self._cache[kind]

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": token} if token else {}
        headers.update(kw.pop("headers", {}))
        return requests.get(self.sb.base_url + path, headers=headers, timeout=TIMEOUT, **kw)


@pytest.fixture(scope="module")
def client(shared):
    if not EXCHANGES:
        pytest.skip("the real transcripts are not beside the repository")
    assert ACCESS_KEY and AKSK_SECRET and SYSADMIN_PASSWORD
    with Sandbox(
        servers=3000,  # region0 then holds more than 2048 servers, as the real region did
        seed=5,
        access_key=ACCESS_KEY,
        secret_key=AKSK_SECRET,
        username="sysadmin",
        password=SYSADMIN_PASSWORD,
    ) as sb:
        client = Client(sb)
        client.values = sandbox_values(sb)
        yield client


# -- building and sending a replay ----------------------------------------------------------
def rewrite_text(exchange_id: str, text: str, sb: Sandbox) -> str:
    """Put the sandbox's member user, password and project in place of the capture's."""
    project = PROJECT_OVERRIDES.get(exchange_id, sb.member_project)
    pairs = [
        ("Demo-Throwaway-1", sb.member_password),
        ("demo-user-1", sb.member_username),
        ("demo-proj-1", project),
    ]
    if exchange_id.startswith(f"{DATA}:") and '"alice"' in text:  # the §9 member's login
        pairs += [
            ("Alice-Throwaway-2", sb.member_password),
            ('"alice"', f'"{sb.member_username}"'),
            ('"proj-a"', f'"{sb.member_project}"'),
        ]
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def rewrite_body(exchange_id: str, ex: dict, client: Client) -> bytes | None:
    text = ex["request"].get("body_text")
    if text is None:
        return None
    text = rewrite_text(exchange_id, text, client.sb)
    body = ex["request"].get("body_json")
    identity = body.get("auth", {}).get("identity", {}) if isinstance(body, dict) else {}
    old_token = (
        identity.get("token", {}).get("id") if isinstance(identity.get("token"), dict) else None
    )
    if old_token:  # re-scoping: log in with a live sandbox token
        text = text.replace(old_token, client.token("admin"))
    return text.encode()


def sandbox_query(exchange_id: str, ex: dict, client: Client) -> str:
    """The exchange's query with the real data's names and values mapped to the sandbox's."""
    query = ex["request"].get("query") or ""
    if not exchange_id.startswith(f"{DATA}:") or not query:
        return query
    pairs = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        for old in sorted(client.values, key=len, reverse=True):
            if not old.startswith("/"):
                value = value.replace(old, client.values[old])
        pairs.append((key, value))
    return urlencode(pairs, quote_via=quote)


def sandbox_path(exchange_id: str, ex: dict, client: Client) -> str:
    path = ex["request"]["path"]
    path = PATH_SUBSTITUTIONS.get(path, path)
    if exchange_id.startswith(f"{DATA}:"):
        path = client.values.get(path, path)
    return path


def replay(
    exchange_id: str, client: Client, *, query: str | None = None, token_kind: str | None = None
) -> requests.Response:
    """Send the exchange (or, with ``query``, the same request with another query)."""
    ex = BY_ID[exchange_id]
    req = ex["request"]
    path = sandbox_path(exchange_id, ex, client)
    query = sandbox_query(exchange_id, ex, client) if query is None else query
    url = client.sb.base_url + quote(path, safe="/:") + (f"?{query}" if query else "")
    headers = {
        k: v
        for k, v in req["headers"].items()
        if k not in ("Host", "Content-Length", "X-Auth-Token", "X-Subject-Token")
    }
    kind = token_kind or auth_kind(exchange_id, ex)
    skind = subject_kind(ex)
    if kind == "same":
        if skind in ("admin", "victim"):  # a live token of its own (fresh for a revocation)
            skind = "victim" if req["method"] == "DELETE" else "fresh"
        token = (
            client.fresh_admin()
            if skind in ("victim", "fresh")
            else header_value(skind, req["headers"]["X-Subject-Token"], client)
        )
        headers["X-Auth-Token"] = headers["X-Subject-Token"] = token
    else:
        if kind is not None:
            headers["X-Auth-Token"] = header_value(kind, req["headers"]["X-Auth-Token"], client)
        if skind is not None:
            original = req["headers"]["X-Subject-Token"]
            headers["X-Subject-Token"] = header_value(skind, original, client)
    return requests.request(
        req["method"],
        url,
        headers=headers,
        data=rewrite_body(exchange_id, ex, client),
        timeout=TIMEOUT,
        allow_redirects=False,
    )


# -- checks ---------------------------------------------------------------------------------
def _real_headers(ex: dict) -> dict[str, str]:
    return {k.lower(): v for k, v in ex["response"]["headers"]}


# Real keystone answers a 400 InputParameterError with the details text in a ``Location``
# header too (a quirk of its error writer; no client reads it).
_HEADERS_NOT_COMPARED = {"location"}


def check_headers(ex: dict, got: requests.Response) -> None:
    real = _real_headers(ex)
    status = ex["response"]["status"]
    assert got.headers.get("Server") == real["server"]
    assert "x-request-id" in real
    assert HEX6.fullmatch(got.headers.get("X-Request-Id", "")), got.headers.get("X-Request-Id")
    assert ("X-Subject-Token" in got.headers) == ("x-subject-token" in real)
    if "X-Subject-Token" in got.headers:
        assert HEX64.fullmatch(got.headers["X-Subject-Token"])
    assert got.headers.get("Content-Type") == real.get("content-type")
    # the same header names (values such as Date and ids differ)
    names = {k.lower() for k in got.headers} - _HEADERS_NOT_COMPARED
    assert names == set(real) - _HEADERS_NOT_COMPARED
    assert ("Content-Length" in got.headers) == ("content-length" in real) == (status != 204)
    if status != 204 and ex["request"]["method"] != "HEAD":
        assert int(got.headers["Content-Length"]) == len(got.content)


def check_error(exchange_id: str, ex: dict, got: requests.Response, sb: Sandbox) -> None:
    real = ex["response"]["body_json"]
    assert set(real) == ERROR_KEYS
    body = got.json()
    assert set(body) == ERROR_KEYS, body
    assert body["class"] == real["class"], body
    assert body["code"] == got.status_code
    assert isinstance(body["details"], str)
    assert ERROR_TIME.fullmatch(body["time"]) and ERROR_TIME.fullmatch(real["time"])
    details = body["details"]
    if got.status_code == 403:
        assert ("allow:none" in details) == ("allow:none" in real["details"]), details
    # The text itself matches too (after the request's name substitutions), including the
    # JSON error wrapped in RBAC details (D6).
    assert details == rewrite_text(exchange_id, real["details"], sb), details


def _query(ex: dict) -> dict[str, list[str]]:
    return parse_qs(ex["request"].get("query") or "", keep_blank_values=True)


def _first_int(q: dict[str, list[str]], key: str) -> int | None:
    try:
        return int(q[key][0])
    except (KeyError, IndexError, ValueError):
        return None


def check_list_rules(ex: dict, plural: str, env: dict) -> None:
    """The envelope rules of cloudpods-api.md §3.2 with the corrections D4 and D5 of §8.2."""
    q = _query(ex)
    rows = env.get(plural)
    assert isinstance(rows, list), env
    asked_limit = _first_int(q, "limit")
    if "marker_field" in ex["response"]["body_json"]:  # marker paging (log tables)
        assert {plural, "limit", "marker_field", "marker_order"} <= set(env), env.keys()
        assert set(env) <= {plural, "limit", "marker_field", "marker_order", "next_marker"}
        assert env["limit"] == (asked_limit if asked_limit and asked_limit > 0 else 20)
        assert env["marker_field"] == "id"
        assert env["marker_order"] in ("DESC", "ASC")
        assert len(rows) <= env["limit"]
        if "next_marker" in env:
            assert isinstance(env["next_marker"], str) and env["next_marker"]
            assert len(rows) == env["limit"]
        return
    if plural == "role_assignments":  # its own envelope: offset and total always (D4)
        assert set(env) == {plural, "limit", "offset", "total"}, env.keys()
        assert env["offset"] == max(_first_int(q, "offset") or 0, 0)
        assert env["total"] >= len(rows)
        return
    allowed = {plural, "total", "limit", "offset"}
    if q.get("summary_stats", ["false"])[0].lower() in ("true", "1", "yes", "on"):
        allowed.add("totals")
    assert set(env) <= allowed, env.keys()
    total = env.get("total", 0)
    if "total" in env:
        assert isinstance(total, int) and total > 0
    else:
        assert rows == [], "no total, so the list must be empty"
    no_paging = q.get("force_no_paging", ["false"])[0].lower() in ("true", "1", "yes", "on")
    limit = asked_limit if asked_limit and asked_limit > 0 else 2048
    if total > 2048 and limit > 2048:
        limit = 2048
    offset = max(_first_int(q, "offset") or 0, 0)
    if total > 0 and not no_paging:
        assert env.get("limit") == limit, env.keys()
    else:
        assert "limit" not in env
    if total > 0 and offset > 0:
        assert env.get("offset") == offset
    else:
        assert "offset" not in env
    if total > 0:
        expect = total - offset if no_paging else min(limit, total - offset)
        assert len(rows) == max(expect, 0)


def _list_plural(ex: dict) -> str | None:
    """The plural key if the real answer is a list envelope, else None."""
    body = ex["response"]["body_json"]
    plural = ex["request"]["path"].rstrip("/").rsplit("/", 1)[-1]
    if isinstance(body, dict) and isinstance(body.get(plural), list):
        return plural
    return None


# Keys a token carries only when keystone has them: the first logins of the capture came
# before any catalog or policy existed, and jsonutils leaves out empty values.
_TOKEN_KEYS_OMITTED_WHEN_EMPTY = {"catalog", "policies"}


def key_paths(obj: object, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (``a.b``, ``a[].c`` for the union over list items)."""
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + k)
            out |= key_paths(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for item in obj:
            out |= key_paths(item, f"{prefix}[].")
    return out


def check_token_shape(real: dict, got: dict) -> None:
    """The token body has the same keys, nested, as the real one (values may differ)."""
    want, have = key_paths(real), key_paths(got)
    assert not want - have, (
        f"keys the real token has and the sandbox's lacks: {sorted(want - have)}"
    )
    lenient = _TOKEN_KEYS_OMITTED_WHEN_EMPTY - set(real)
    extra = {p for p in have - want if p.split(".")[0] not in lenient}
    assert not extra, f"keys the sandbox's token has and the real one lacks: {sorted(extra)}"


def check_success(ex: dict, got: requests.Response) -> None:
    real = ex["response"]["body_json"]
    if got.status_code == 204 or (real is None and ex["response"]["body_text"] == ""):
        assert got.content == b""  # 204, and the 200 of a CORS preflight
        return
    body = got.json()
    plural = _list_plural(ex)
    if plural is not None:
        assert isinstance(body.get(plural), list), body.keys() if isinstance(body, dict) else body
        real_rows, rows = real[plural], body[plural]
        if bool(real_rows) == bool(rows):
            # next_marker depends on whether more rows follow, i.e. on the data
            keys, real_keys = set(body) - {"next_marker"}, set(real) - {"next_marker"}
            assert keys == real_keys, (sorted(body), sorted(real))
        check_list_rules(ex, plural, body)
        return
    assert isinstance(body, dict)
    if ex["request"]["path"] == "/capabilities":  # not keyword-wrapped: a subset of the real keys
        assert set(body) <= set(real), set(body) - set(real)
        return
    assert set(body) == set(real), (sorted(body), sorted(real))
    if "token" in real:
        check_token_shape(real["token"], body["token"])
        if "id" in body:
            assert body["id"] == got.headers["X-Subject-Token"]
        else:  # validation (D8): no top-level id, the token comes back in the header
            assert "X-Subject-Token" in got.headers


# -- what the queries of the region with data did (§9) ---------------------------------------
def sandbox_values(sb: Sandbox) -> dict[str, str]:
    """The real capture's names and ids → sandbox objects of the same kind (region0).

    Plain values are replaced inside query values; keys starting with ``/`` are whole paths.
    """
    inv = sb.inventory
    servers = inv.tables["servers"]
    cols = inv.server_cols
    member = inv.project_index(sb.member_project)
    home = [
        i
        for i in range(servers.base_count)
        if servers.region[i] == "region0" and i not in inv.hostile and i not in inv.duplicates
    ]
    placed = [i for i in home if cols["placed"][i]]
    tagged = next(i for i in placed if inv._server_meta(i) and servers.owner[i] == member)
    untagged = next(i for i in placed if not inv._server_meta(i))
    unplaced = next(i for i in home if not cols["placed"][i])
    stranger = next(i for i in placed if servers.owner[i] != member)
    busy_host = max(
        (h for h in range(inv.tables["hosts"].count) if inv.tables["hosts"].region[h] == "region0"),
        key=lambda h: inv.host_usage()["guests"][h],
    )
    hosts = inv.tables["hosts"]
    name = servers.record
    return {
        "zone-a": "zone0",
        "host-0001": str(hosts.record(busy_host)["name"]),
        "proj-b": "ops",
        "cn-east": "Aliyun/cn-beijing",
        "ESXi": "AliYun",  # mixed case: text compares case-insensitively
        "esxi": "aliyun",  # the sandbox's region0 has no VMware; aliyun servers stand in
        "batch-0007": str(name(untagged)["name"]),
        "web-prod-00946": str(name(tagged)["name"]),
        "batch-000": "batch-prod-000",
        "batch-01": "batch-",
        "/servers/c59de4aa-b5ed-7ce8-2ddf-26751235d52e": f"/servers/{inv.server_id(placed[0])}",
        "/servers/web-prod-00946": f"/servers/{name(tagged)['name']}",
        "/servers/22222222-3333-4444-5555-666666666666": f"/servers/{inv.server_id(unplaced)}",
        "/servers/0041f5d4-9549-e631-794c-eef2f833dfa7": f"/servers/{inv.server_id(stranger)}",
        "/hosts/50f0fd0a-750c-ab75-4ccc-9bc2a53f8a28": f"/hosts/{hosts.record(busy_host)['id']}",
    }


# query keys that do not choose rows (everything else filters, or is the scope)
_NOT_EFFECTS = {
    "limit",
    "offset",
    "details",
    "field",
    "with_meta",
    "summary_stats",
    "order",
    "order_by",
    "scope",
    "paging_marker",
}


def _effects(ex: dict) -> dict[str, list[str]]:
    return {k: v for k, v in _query(ex).items() if k not in _NOT_EFFECTS}


def _token_kind(exchange_id: str) -> str | None:
    return auth_kind(exchange_id, BY_ID[exchange_id])


def real_baseline_total(exchange_id: str) -> int | None:
    """The real total of the same list with the same token and scope but no filter."""
    ex = BY_ID[exchange_id]
    scope = _query(ex).get("scope")
    for eid, other in EXCHANGES:
        if (
            eid.startswith(f"{DATA}:")
            and other["request"]["path"] == ex["request"]["path"]
            and other["response"]["status"] == 200
            and not _effects(other)
            and _query(other).get("scope") == scope
            and _token_kind(eid) == _token_kind(exchange_id)
        ):
            return other["response"]["body_json"].get("total", 0)
    return None


def check_effects(exchange_id: str, client: Client, body: dict) -> str | None:
    """Filters, parameters and searches narrow the sandbox's list exactly when they narrowed
    the real one. Returns what was checked (None: nothing to check)."""
    ex = BY_ID[exchange_id]
    if not _effects(ex):
        return None
    real_base = real_baseline_total(exchange_id)
    if real_base is None:
        return None
    real_total = ex["response"]["body_json"].get("total", 0)
    scope = _query(ex).get("scope")
    base_query = urlencode(
        [("details", "false"), ("limit", "1"), *(("scope", v) for v in scope or ())]
    )
    base = replay(exchange_id, client, query=base_query).json().get("total", 0)
    total = body.get("total", 0)
    if real_total == real_base:
        assert total == base, f"the real region ignored it ({real_total}), the sandbox did not"
        return "ignored"
    if real_total > real_base:  # system=true shows hidden rows
        assert total > base, f"the real list grew ({real_total} from {real_base})"
        return "widened"
    assert total < base, f"the real region narrowed the list ({real_total} of {real_base})"
    if real_total:
        assert total > 0, "the real list was not empty"
    return "narrowed"


def _sort_value(value: object) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value))
    return (2, str(value).lower())  # MySQL's case-insensitive collation


def _sorted_by(rows: list[dict], key: str, desc: bool) -> bool:
    values = [_sort_value(r.get(key)) for r in rows]
    return values == sorted(values, reverse=desc)


def real_columns() -> set[str]:
    """Keys of real ``details=false`` server records: the guests table's columns seen."""
    keys: set[str] = set()
    for eid, ex in EXCHANGES:
        q = _query(ex)
        body = ex["response"]["body_json"]
        if (
            eid.startswith(f"{DATA}:")
            and ex["request"]["path"] == "/servers"
            and q.get("details") == ["false"]
            and isinstance(body, dict)
        ):
            for rec in body.get("servers", []):
                keys |= set(rec)
    return keys


def check_order(exchange_id: str, body: dict) -> str | None:
    """``order_by`` sorts the sandbox's rows when it sorted the real ones; otherwise both come
    in the default order, created_at, in the asked direction (unknown words are desc)."""
    ex = BY_ID[exchange_id]
    q = _query(ex)
    if "order_by" not in q:
        return None
    key = q["order_by"][0]
    desc = q.get("order", ["desc"])[0].lower() != "asc"
    real = ex["response"]["body_json"]["servers"]
    by_key, by_created = _sorted_by(real, key, desc), _sorted_by(real, "created_at", desc)
    # rows sorted both ways are told apart by whether the key is a column of the table
    took_effect = by_key and (not by_created or key in real_columns())
    assert took_effect or by_created, "the real rows follow neither the key nor created_at"
    rows = body["servers"]
    assert len(rows) > 1
    if took_effect:
        assert _sorted_by(rows, key, desc), [r.get(key) for r in rows]
        return f"sorted by {key}"
    assert _sorted_by(rows, "created_at", desc), [r.get("created_at") for r in rows]
    return "ignored: created_at"


# Keys the sandbox's servers may have that no real record showed: the real servers had no
# NICs, disks or VPC (DIFFERENCES["record data"]); prepaid and public-cloud servers add
# expired_at and external_id, account and manager.
EXTRA_SERVER_COLUMNS = {"secgrp_id", "external_id", "expired_at"}
EXTRA_SERVER_KEYS = EXTRA_SERVER_COLUMNS | {
    "ips",
    "macs",
    "nics",
    "disks_info",
    "vpc",
    "vpc_id",
    "secgroups",
    "manager",
    "manager_id",
    "account",
    "account_id",
}
# Keys that come and go on real records (empty values are left out).
SPARSE_SERVER_KEYS = {"metadata", "description", "expired_at", "instance_type", "os_name"}
_PLACEMENT = {"host", "host_id", "zone", "zone_id", "cloudregion", "cloudregion_id"}


def _real_server_records(details: bool) -> list[dict]:
    out = []
    for eid, ex in EXCHANGES:
        body = ex["response"]["body_json"]
        q = _query(ex)
        if not eid.startswith(f"{DATA}:") or ex["response"]["status"] != 200 or "field" in q:
            continue
        if not ex["request"]["path"].startswith("/servers") or not isinstance(body, dict):
            continue
        if (q.get("details", ["true"])[0] == "true") != details:
            continue
        out += body.get("servers") or ([body["server"]] if "server" in body else [])
    return out


def check_record_shapes(exchange_id: str, body: dict) -> str | None:
    """Servers and hosts carry the real key sets (§9)."""
    ex = BY_ID[exchange_id]
    q = _query(ex)
    real = ex["response"]["body_json"]
    if "field" in q:
        return None
    path = ex["request"]["path"]
    if path.startswith("/hosts"):
        got = body.get("hosts") or ([body["host"]] if "host" in body else [])
        want = real.get("hosts") or ([real["host"]] if "host" in real else [])
        for rec in got:
            assert set(rec) == set(want[0]), set(rec) ^ set(want[0])
        return "host keys" if got else None
    if not path.startswith("/servers"):
        return None
    details = q.get("details", ["true"])[0] == "true"
    got = body.get("servers") or ([body["server"]] if "server" in body else [])
    if not got:
        return None
    reals = _real_server_records(details)
    union = set().union(*map(set, reals))
    allowed = union | (EXTRA_SERVER_KEYS if details else EXTRA_SERVER_COLUMNS)
    for placed in (True, False):
        group = [r for r in reals if ("host_id" in r) == placed]
        required = set.intersection(*map(set, group)) - SPARSE_SERVER_KEYS
        for rec in got:
            if ("host_id" in rec) != placed:
                continue
            assert set(rec) <= allowed, set(rec) - allowed
            assert required <= set(rec), required - set(rec)
            if not placed:
                assert not _PLACEMENT & set(rec), _PLACEMENT & set(rec)
    if not details:
        assert not any("metadata" in rec for rec in got), "metadata comes with details only"
    real_rows = real.get("servers") or [real.get("server")]
    if any("metadata" in r for r in real_rows if r):
        assert any("metadata" in rec for rec in got), "a tagged server shows its metadata"
    return "server keys"


# -- the tests ------------------------------------------------------------------------------
def test_every_exchange_is_replayed_or_explained(shared):
    """Nothing is skipped silently: each exchange is replayed or has a reason not to be."""
    assert EXCHANGES, "no transcripts found"
    ids = [eid for eid, _ex in EXCHANGES]
    assert len(ids) == len(set(ids)), "exchange ids must be unique"
    assert set(NOT_REPLAYED) <= set(ids), set(NOT_REPLAYED) - set(ids)
    assert set(SANDBOX_DIFFERENCES) <= set(REPLAYED), set(SANDBOX_DIFFERENCES) - set(REPLAYED)
    assert set(REPLAYED) | set(NOT_REPLAYED) == set(ids)
    assert not set(REPLAYED) & set(NOT_REPLAYED)
    # the index lists the same exchanges as the files
    index = json.loads((REAL / "index.json").read_text())["files"]
    stems = {f["file"].removesuffix(".json") for f in index}
    assert stems == set(FILES) | set(ELSEWHERE), stems
    listed = {
        f"{f['file'].removesuffix('.json')}:{e['name']}"
        for f in index
        if f["file"].removesuffix(".json") in FILES
        for e in f["exchanges"]
    }
    assert listed == set(ids)
    for eid in REPLAYED:  # every replay can be planned: no write, a known token kind
        ex = BY_ID[eid]
        assert not _is_write(eid, ex), f"{eid} is a write"
        auth_kind(eid, ex)
        subject_kind(ex)


@pytest.mark.parametrize(
    "exchange_id",
    [
        eid
        for eid, ex in EXCHANGES
        if ex["response"]["status"] == 200
        and _list_plural(ex)
        and ex["name"] != "role_assignments_list"
    ],
)
def test_envelope_rules_hold_for_the_real_answers(exchange_id):
    """The rules this module checks the sandbox against are true of every real list answer
    (except /v3/role_assignments, whose envelope always has offset and total, D4)."""
    ex = BY_ID[exchange_id]
    check_list_rules(ex, _list_plural(ex), ex["response"]["body_json"])


@pytest.mark.parametrize("exchange_id", [_param(eid) for eid in REPLAYED])
def test_replay(client, exchange_id):
    ex = BY_ID[exchange_id]
    got = replay(exchange_id, client)
    real_status = ex["response"]["status"]
    assert got.status_code == real_status, got.text[:500]
    check_headers(ex, got)
    if real_status >= 400:
        check_error(exchange_id, ex, got, client.sb)
        return
    check_success(ex, got)
    if exchange_id.startswith(f"{DATA}:") and ex["request"]["method"] == "GET" and got.content:
        body = got.json()
        check_effects(exchange_id, client, body)
        check_order(exchange_id, body)
        check_record_shapes(exchange_id, body)
        real_totals = ex["response"]["body_json"].get("totals")
        if real_totals is not None:  # summary_stats: the real shape
            assert set(body["totals"]) == set(real_totals)
            for entry in body["totals"]["status_info"]:
                assert set(entry) == set(real_totals["status_info"][0])


def test_the_query_effects_of_the_region_with_data_are_all_checked():
    """Every filter/parameter/search exchange has a real baseline and every order_by
    exchange a decidable real order, so none of their effect checks is skipped."""
    data = [eid for eid in REPLAYED if eid.startswith(f"{DATA}:")]
    effects = [
        eid for eid in data if _effects(BY_ID[eid]) and BY_ID[eid]["response"]["status"] == 200
    ]
    assert len(effects) >= 25
    assert all(real_baseline_total(eid) is not None for eid in effects)
    orders = [eid for eid in data if "order_by" in _query(BY_ID[eid])]
    assert len(orders) == 8
    outcomes = {eid: check_order(eid, BY_ID[eid]["response"]["body_json"]) for eid in orders}
    assert sorted(outcomes.values()).count("ignored: created_at") == 2, outcomes


# -- cloudpods-api.md §8.2 points not in the transcripts -------------------------------------------------
def _error(r: requests.Response, status: int, cls: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == JSON_ERR
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert (body["class"], body["code"]) == (cls, status)
    return body


def test_non_integer_limit_is_500(client):
    """D5: ``limit=abc`` is a 500 UnclassifiedError, not a 400."""
    r = client.get("/servers?limit=abc", client.token("admin"))
    _error(r, 500, "UnclassifiedError")


@pytest.mark.parametrize(
    "path",
    [
        "/servers?scope=system&status=ready&limit=5000",
        "/zones?limit=5000",
        "/v3/projects?limit=3000",
    ],
)
def test_limit_above_2048_is_echoed_when_total_fits(client, path):
    """D5: with total ≤ 2048 a larger limit is echoed as sent, not clamped."""
    r = client.get(path, client.token("admin"))
    assert r.status_code == 200 and r.headers["Content-Type"] == JSON_OK
    body = r.json()
    asked = int(parse_qs(urlsplit(path).query)["limit"][0])
    assert 0 < body["total"] <= 2048
    assert body["limit"] == asked
    assert "offset" not in body


def test_limit_above_2048_is_clamped_when_total_exceeds(sandbox):
    """§3.1: when the total exceeds 2048 a limit above 2048 is clamped to 2048."""
    c = Client(sandbox)
    r = c.get("/servers?scope=system&limit=5000", c.fresh_admin())
    body = r.json()
    assert body["total"] > 2048
    assert body["limit"] == 2048 and len(body["servers"]) == 2048


def _raw_get(client: Client, path: str, token: str) -> tuple[int, dict[str, str], bytes]:
    """Send the path exactly as written (``requests`` may normalise it)."""
    conn = http.client.HTTPConnection(client.sb.host, client.sb.port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"X-Auth-Token": token})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "canonical"),
    [("/zones/", "/zones"), ("//zones", "/zones"), ("/v3//projects", "/v3/projects")],
)
def test_trailing_and_double_slashes_are_accepted(client, path, canonical):
    """D15: ``/zones/``, ``//zones`` and ``/v3//projects`` are served like the plain path."""
    token = client.token("admin")
    status, headers, raw = _raw_get(client, path, token)
    assert status == 200, raw[:300]
    assert headers["Content-Type"] == JSON_OK
    plain = client.get(canonical, token).json()
    body = json.loads(raw)
    assert set(body) == set(plain)
    assert body["total"] == plain["total"]


@pytest.mark.parametrize(
    ("path", "details"), [("/", "Handler / not found"), ("/v3", "Handler /v3 not found")]
)
def test_root_and_v3_are_not_found(client, path, details):
    """D15: ``GET /`` and ``GET /v3`` are 404 NotFoundError (the real /v3 says "Handler /v3")."""
    body = _error(client.get(path), 404, "NotFoundError")
    assert body["details"] == details


def test_version_is_forbidden(client):
    """D15: ``GET /version`` is 403 "Forbidden", with or without a token."""
    for token in (None, client.token("admin")):
        body = _error(client.get("/version", token), 403, "ForbiddenError")
        assert body["details"] == "Forbidden"


def test_head_is_not_found(client):
    """D15: ``HEAD /servers`` is 404 (with no body, as HEAD answers have none)."""
    r = requests.head(
        client.sb.base_url + "/servers",
        headers={"X-Auth-Token": client.token("admin")},
        timeout=TIMEOUT,
    )
    assert r.status_code == 404
    assert r.headers["Content-Type"] == JSON_ERR
    assert r.content == b""


def test_validate_with_only_subject_token(client):
    """D8: ``GET /v3/auth/tokens`` needs no X-Auth-Token; no top-level id; token in the header."""
    subject = client.token("admin")
    r = client.get("/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == JSON_OK
    body = r.json()
    assert set(body) == {"token"}
    assert "id" not in body["token"]
    assert r.headers["X-Subject-Token"] == subject


def test_revoke_is_204_with_empty_body(client):
    """D8: ``DELETE /v3/auth/tokens`` is 204 with no body; the token is dead afterwards (D1)."""
    victim = client.fresh_admin()
    r = requests.delete(
        client.sb.auth_url + "/auth/tokens",
        headers={"X-Auth-Token": client.token("admin"), "X-Subject-Token": victim},
        timeout=TIMEOUT,
    )
    assert r.status_code == 204
    assert r.content == b""
    assert "Content-Type" not in r.headers and "Content-Length" not in r.headers
    gone = client.get("/v3/auth/tokens", client.token("admin"), headers={"X-Subject-Token": victim})
    _error(gone, 401, "InvalidCredentialError")
    refused = _error(client.get("/v3/projects", victim), 403, "ForbiddenError")
    assert "allow:none" in refused["details"]


def test_role_assignments_envelope(client):
    """D4: ``/v3/role_assignments`` always includes ``offset`` and ``total``, even as 0."""
    r = client.get("/v3/role_assignments?limit=5", client.token("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"role_assignments", "limit", "offset", "total"} <= set(body)
    assert body["limit"] == 5 and body["offset"] == 0
