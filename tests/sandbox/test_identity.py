"""The sandbox's keystone accepts and refuses logins exactly as real keystone does."""

from __future__ import annotations

import json
import re

import pytest
import requests

from cpexplore.sandbox import Sandbox
from cpexplore.signing import aksk_auth_body, password_auth_body, token_auth_body

JSON = {"Content-Type": "application/json"}


def login(sb: Sandbox, body: str) -> requests.Response:
    return requests.post(f"{sb.auth_url}/auth/tokens", data=body.encode(), headers=JSON, timeout=10)


def error(resp: requests.Response) -> tuple[int, str, str]:
    body = resp.json()
    assert set(body) == {"class", "code", "details", "time"}
    assert body["code"] == resp.status_code
    assert resp.headers["Content-Type"] == "application/json"
    return resp.status_code, body["class"], body["details"]


# -- AK/SK vectors produced by Cloudpods' own code -------------------------------------------
def _aksk_cases(vectors: dict) -> list[tuple[str, dict]]:
    return [(v["name"], v) for v in vectors["authenticate_by_access_key"]]


def _variant(body: dict, what: str, secret: str) -> tuple[dict, str]:
    """Build the tampered variant ``what`` of a final POST body, and the secret to verify with."""
    blob = json.loads(body["auth"]["identity"]["access_key_secret"])
    out = json.loads(json.dumps(body))
    if what.startswith("as sent, wrong secret"):
        secret = secret + "x"
    elif what.startswith("signature last hex digit"):
        blob["signature"] = blob["signature"][:-1] + ("0" if blob["signature"][-1] != "0" else "1")
    elif what.startswith("request (string-to-sign) altered"):
        blob["request"] = blob["request"] + "0"
    elif what.startswith("sign_date moved one day later"):
        d = blob["sign_date"]
        day = int(d[8:10])
        blob["sign_date"] = d[:8] + f"{day + 1:02d}" + d[10:] if day < 28 else d[:8] + "01" + d[10:]
    elif what.startswith("sign_date changed to 12:34:56"):
        blob["sign_date"] = blob["sign_date"][:11] + "12:34:56.000000Z"
    elif what.startswith("sign_date as RFC3339"):
        blob["sign_date"] = blob["sign_date"][:19] + "Z"
    elif what.startswith("sign_date key removed"):
        del blob["sign_date"]
    elif what.startswith("signed_headers key removed"):
        del blob["signed_headers"]
    elif what.startswith("access_key changed"):
        blob["access_key"] = "0" * 32
    elif what.startswith("location changed"):
        blob["location"] = "us-east-1"
    elif what.startswith("signed_headers changed"):
        blob["signed_headers"] = ["host"]
    elif what.startswith("context.source changed"):
        out["auth"]["context"] = {"source": "web"}
    elif what != "as sent, correct secret":
        raise AssertionError(f"unknown variant {what!r}")
    out["auth"]["identity"]["access_key_secret"] = json.dumps(blob, separators=(",", ":"))
    return out, secret


def test_every_aksk_vector_body_and_tampered_variant_gets_keystones_verdict(vectors):
    for name, vec in _aksk_cases(vectors):
        body = json.loads(vec["final_post_body"])
        for outcome in vec["server_side_verification"]:
            variant, secret = _variant(body, outcome["what"], vec["secret"])
            access_key = vec["access_key"]
            # the credential the server knows; "access_key changed" keeps the known key registered under
            # the changed id, as the vector's harness did (the key id only selects the secret)
            if outcome["what"].startswith("access_key changed"):
                access_key = "0" * 32
            with Sandbox(servers=5, access_key=access_key, secret_key=secret) as sb:
                resp = login(sb, json.dumps(variant, separators=(",", ":")))
            label = f"{name}: {outcome['what']}"
            if outcome["accepted"]:
                assert resp.status_code == 200, label
            else:
                assert error(resp) == (
                    401,
                    "UnauthorizedError",
                    "unauthorized authUserByAccessKeyV3: Verify: signature mismatch",
                ), label


def test_the_final_post_body_of_each_vector_is_accepted_byte_for_byte(vectors):
    for _name, vec in _aksk_cases(vectors):
        with Sandbox(servers=5, access_key=vec["access_key"], secret_key=vec["secret"]) as sb:
            resp = login(sb, vec["final_post_body"])
            assert resp.status_code == 200
            token = resp.json()["token"]
            assert token["methods"] == ["aksk"]
            assert token["access_key"]["access_key"] == vec["access_key"]
            assert token["project"]["name"] == "system"
            assert token["context"]["source"] == (vec["source"] or "api")


def test_the_seed_documents_captured_climc_body_is_accepted(shared):
    text = (shared / "reference" / "api-call-process.md").read_text()
    body = re.search(r"curl -X 'POST' -d '(\{.*?\})' -H", text).group(1)
    with Sandbox(
        servers=5,
        access_key="ba92f912922044268d4ad1dc70aafe57",
        secret_key="OGVmTXNKQWpBWHpUejZTWDNKcndSdXlHQUNFeXhLVWI=",
    ) as sb:
        assert login(sb, body).status_code == 200
    with Sandbox(
        servers=5, access_key="ba92f912922044268d4ad1dc70aafe57", secret_key="other"
    ) as sb:
        assert error(login(sb, body))[0] == 401


def test_an_unknown_access_key_is_401_with_keystones_details():
    with Sandbox(servers=5) as sb:
        resp = login(sb, aksk_auth_body(sb.auth_url, "f" * 32, sb.secret_key))
        assert error(resp) == (
            401,
            "UnauthorizedError",
            "unauthorized authUserByAccessKeyV3: [auth] invalid access key id",
        )


# -- password and token logins ----------------------------------------------------------------
def test_password_login_scoped_gives_a_64_hex_token_with_catalog_and_access_key(sandbox):
    resp = login(
        sandbox,
        password_auth_body(
            sandbox.username,
            sandbox.password,
            domain="Default",
            project="system",
            project_domain="Default",
        ),
    )
    assert resp.status_code == 200
    token_id = resp.headers["X-Subject-Token"]
    assert re.fullmatch(r"[0-9a-f]{64}", token_id)
    body = resp.json()
    assert body["id"] == token_id
    tok = body["token"]
    assert tok["access_key"] == {"expire": 0}  # every token carries access_key (D3)
    assert tok["methods"] == ["password"]
    assert tok["policies"] == {"system": ["sysadmin"]}
    assert tok["roles"][0]["name"] == "admin"
    assert {"expires_at", "issued_at", "is_domain", "context", "user", "project", "catalog"} <= set(
        tok
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", tok["expires_at"])
    types = {svc["type"] for svc in tok["catalog"]}
    assert {"identity", "compute_v2", "image", "log"} <= types


def test_an_unscoped_token_has_projects_but_no_catalog(sandbox):
    tok = login(sandbox, password_auth_body(sandbox.username, sandbox.password)).json()["token"]
    assert "catalog" not in tok and "roles" not in tok and "policies" not in tok
    assert [p["name"] for p in tok["projects"]] == ["system"]
    assert tok["role_assignments"]


def test_token_rescope_records_the_old_token_in_audit_ids(sandbox):
    first = login(sandbox, password_auth_body(sandbox.username, sandbox.password)).headers[
        "X-Subject-Token"
    ]
    resp = login(sandbox, token_auth_body(first, project="system"))
    assert resp.status_code == 200
    tok = resp.json()["token"]
    assert tok["methods"] == ["token"] and tok["audit_ids"] == [first] and tok["catalog"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            lambda sb: password_auth_body(sb.username, "wrong"),
            (401, "WrongPassword", "Authenticate: usrExt.VerifyPassword: WrongPassword"),
        ),
        (lambda sb: password_auth_body("nobody", "x"), (404, "UserNotFound", "UserNotFound")),
        (
            lambda sb: password_auth_body(sb.username, sb.password, domain="NoSuchDomain"),
            (404, "UserNotFound", "domain NoSuchDomain: UserNotFound"),
        ),
        (
            lambda sb: password_auth_body(sb.username, sb.password, project="nope"),
            (
                401,
                "UnauthorizedError",
                "unauthorized ProjectManager.FetchProject: sql: no rows in result set",
            ),
        ),
        (
            lambda sb: password_auth_body(sb.member_username, sb.member_password, project="system"),
            (
                401,
                "UnauthorizedError",
                'unauthorized getTokenV3: project "system": [auth] user not in project',
            ),
        ),
        (lambda sb: "{not json", (400, "InputParameterError", "fail to decode request body")),
        (lambda sb: "{}", (401, "UnauthorizedError", "unauthorized [auth] invalid auth methods")),
        (
            lambda sb: json.dumps({"auth": {"identity": {"methods": ["password", "token"]}}}),
            (401, "UnauthorizedError", "unauthorized [auth] invalid auth methods"),
        ),
        (
            lambda sb: json.dumps(
                {
                    "auth": {
                        "identity": {
                            "methods": ["password"],
                            "password": {"user": {"name": sb.username, "password": sb.password}},
                        },
                        "scope": {"domain": {"id": "default"}},
                    }
                }
            ),
            (
                401,
                "UnauthorizedError",
                'unauthorized getTokenV3: domain "Default": [auth] user not in project',
            ),
        ),
        (
            lambda sb: token_auth_body("0" * 64, project="system"),
            (  # the real keystone quotes the unknown token back (cloudpods-api.md §10)
                401,
                "UnauthorizedError",
                'unauthorized authUserByTokenV3: token.TokenStrDecode: token "'
                + "0" * 64
                + '" not found: [auth] token not found',
            ),
        ),
    ],
    ids=[
        "wrong-password",
        "unknown-user",
        "unknown-domain",
        "unknown-project",
        "not-in-project",
        "malformed-json",
        "empty-body",
        "two-methods",
        "domain-scope",
        "bad-token",
    ],
)
def test_login_errors_match_keystone(sandbox, body, expected):
    assert error(login(sandbox, body(sandbox))) == expected


def test_token_validation_needs_only_the_subject_and_omits_the_top_level_id(sandbox):
    token_id = login(
        sandbox, aksk_auth_body(sandbox.auth_url, sandbox.access_key, sandbox.secret_key)
    ).headers["X-Subject-Token"]
    resp = requests.get(
        f"{sandbox.auth_url}/auth/tokens", headers={"X-Subject-Token": token_id}, timeout=10
    )
    assert resp.status_code == 200
    assert set(resp.json()) == {"token"}
    assert resp.headers["X-Subject-Token"] == token_id
    bad = requests.get(
        f"{sandbox.auth_url}/auth/tokens", headers={"X-Subject-Token": "nope"}, timeout=10
    )
    assert error(bad) == (
        401,
        "InvalidCredentialError",
        'invalid token: token "nope" not found: [auth] token not found',
    )


def test_a_revoked_token_is_refused_with_403_allow_none(fresh_sandbox):
    sb = fresh_sandbox
    token_id = login(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key)).headers[
        "X-Subject-Token"
    ]
    h = {"X-Auth-Token": token_id}
    assert requests.get(f"{sb.base_url}/servers", headers=h, timeout=10).status_code == 200
    resp = requests.delete(
        f"{sb.auth_url}/auth/tokens", headers={**h, "X-Subject-Token": token_id}, timeout=10
    )
    assert resp.status_code == 204 and resp.content == b""
    status, cls, details = error(requests.get(f"{sb.base_url}/servers", headers=h, timeout=10))
    assert (status, cls) == (403, "ForbiddenError")
    assert "allow:none" in details and details.startswith("ListItems: listItemQueryFiltersRaw: {")


def test_identity_lists_are_served_under_v3(session):
    for name in ("projects", "users", "domains", "regions", "services", "endpoints"):
        df = session.list(name)
        assert len(df) > 0, name
    regions = set(session.list("regions")["id"])
    assert {"region0", "region1", "region1-zone1"} <= regions


def test_the_catalog_has_two_regions_a_zone_endpoint_and_in_cluster_internal_urls(session, sandbox):
    cat = session.catalog
    assert {"region0", "region1", "region1-zone1"} <= set(cat["region_id"])
    assert set(cat["interface"]) == {"public", "internal", "admin"}
    internal = cat[cat["interface"] == "internal"]["url"]
    assert (
        internal.str.startswith("https://").all()
        and internal.str.contains("default-region:30888").any()
    )
    public = cat[cat["interface"] == "public"]["url"]
    assert public.str.startswith(sandbox.base_url).all()
    # every public URL answers like a Cloudpods service (a JSON body, never a hang or HTML)
    for url in public:
        resp = requests.get(url, timeout=10)
        assert resp.headers["Server"] == "Yunion AppServer/Go/2018.4"
        assert resp.json()["class"]


def test_the_sandbox_logs_no_secret(caplog):
    with caplog.at_level("DEBUG", logger="cpexplore"), Sandbox(servers=5) as sb:
        resp = login(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key))
        token = resp.headers["X-Subject-Token"]
        requests.get(f"{sb.base_url}/servers", headers={"X-Auth-Token": token}, timeout=10)
        login(sb, password_auth_body(sb.username, sb.password, project="system"))
    text = caplog.text
    assert caplog.records  # the sandbox did log the requests
    for secret in (sb.secret_key, sb.password, token):
        assert secret not in text
