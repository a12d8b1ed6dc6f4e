"""The sandbox answers as the real region of cloudpods-api.md §10 did (3 200 servers, 2026-12-07).

Each test names the recorded exchange of
``tests/data/reference/real-transcripts/region-trust-and-refresh.json`` it follows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from cpexplore.sandbox import Sandbox
from cpexplore.signing import aksk_auth_body, password_auth_body

JSON = {"Content-Type": "application/json"}
REAL = Path(__file__).resolve().parents[1] / "data" / "reference" / "real-transcripts"

# The recorded exchanges these tests follow, and the status the real region gave each.
CITED = {
    "b_admin_scope_sytem": 200,
    "b_admin_scope_system_upper": 200,
    "b_admin_scope_max_capitalised": 200,
    "b_admin_scope_user": 200,
    "b_alice_scope_user": 200,
    "b_alice_hosts_scope_absent": 403,
    "b_alice_hosts_scope_user": 200,
    "c_order_by_name_order_ASC_upper": 200,
    "d_alice_get_dup_name": 500,
    "d_alice_get_dup_name_scope_system": 403,
    "d_admin_get_dup_name": 500,
    "d_admin_get_dup_name_scope_project": 200,
    "d_alice_get_unique_name_other_project": 403,
    "e_list_normal": 200,
    "e_list_pending_delete_true": 200,
    "e_list_pending_delete_all": 200,
    "e_list_pending_delete_any": 200,
    "e_get_pending1": 200,
    "e_get_pending1_details_false": 404,
    "e_get_pending1_scope_system": 404,
    "e_host_after": 200,
    "f_login_user_domain_nope": 404,
    "f_login_project_nope": 401,
    "f_rescope_bad_token": 401,
}


def test_the_exchanges_cited_here_were_recorded_with_those_answers():
    recorded = json.loads((REAL / "region-trust-and-refresh.json").read_text())["exchanges"]
    status = {e["name"]: e["response"]["status"] for e in recorded}
    assert {name: status.get(name) for name in CITED} == CITED


def _token(sb: Sandbox, body: str) -> str:
    resp = requests.post(f"{sb.auth_url}/auth/tokens", data=body, headers=JSON, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Subject-Token"]


def _client(sb: Sandbox, token: str):
    def get(path: str, params=None) -> requests.Response:
        return requests.get(
            sb.base_url + path, params=params, headers={"X-Auth-Token": token}, timeout=60
        )

    return get


@pytest.fixture(scope="module")
def sb():
    """A private sandbox: these tests mark servers pending-deleted."""
    with Sandbox(servers=600, seed=5) as box:
        yield box


@pytest.fixture(scope="module")
def admin(sb):
    return _client(sb, _token(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key)))


@pytest.fixture(scope="module")
def member(sb):
    body = password_auth_body(sb.member_username, sb.member_password, project=sb.member_project)
    return _client(sb, _token(sb, body))


def _total(get, path: str = "/servers", **params) -> int:
    resp = get(path, {"limit": 1, "details": "false", **params})
    assert resp.status_code == 200, resp.text
    return resp.json().get("total", 0)


# -- scope words (b_*) ----------------------------------------------------------------------------
def test_scope_words(admin, member, sb):
    everything = _total(admin, scope="system")
    own = _total(admin)
    assert own < everything
    assert _total(admin, scope="sytem") == own  # b_admin_scope_sytem: unknown → project
    assert _total(admin, scope="SYSTEM") == everything  # b_admin_scope_system_upper
    assert _total(admin, scope="") == own  # b_admin_scope_empty
    assert _total(admin, scope="Max") == own  # b_admin_scope_max_capitalised: case matters
    assert _total(admin, scope="max") == everything
    assert _total(admin, scope="user") == everything  # b_admin_scope_user


def test_only_a_lower_case_asc_sorts_ascending(admin):
    """c_order_by_name_order_ASC_upper: ASC is taken as desc."""

    def names(order):
        q = {"scope": "system", "order_by": "name", "order": order, "limit": 3, "details": "false"}
        return [r["name"] for r in admin("/servers", q).json()["servers"]]

    assert names("ASC") == names("desc") != names("asc")


def test_scope_user_shows_a_member_every_row(member, admin):
    """b_alice_scope_user, b_alice_hosts_scope_user: no owner filter at all."""
    everything = _total(admin, scope="system")
    assert _total(member) < everything
    assert _total(member, scope="user") == everything
    assert _total(member, scope="USER") == everything
    assert member("/hosts", {"limit": 1}).status_code == 403
    assert _total(member, "/hosts", scope="user") == _total(admin, "/hosts", scope="system")


# -- gets by a shared name (d_*) -----------------------------------------------------------------
def test_a_shared_name_is_a_500_even_for_a_member_who_sees_neither(member, admin, sb):
    named = admin("/servers", {"scope": "system", "filter": "name.equals('dup-name')"}).json()
    owners = {r["tenant"] for r in named["servers"]}
    assert len(named["servers"]) == 2 and sb.member_project not in owners
    assert member("/servers/dup-name").status_code == 500  # d_alice_get_dup_name
    assert member("/servers/dup-name", {"scope": "system"}).status_code == 403
    assert admin("/servers/dup-name").status_code == 500  # d_admin_get_dup_name
    mine = admin("/servers/dup-name", {"scope": "project"})  # d_admin_get_dup_name_scope_project
    assert mine.status_code in (200, 404)  # 200 when one of the two is the admin project's


# -- pending deletes (e_*) -----------------------------------------------------------------------
def test_pending_deleted_servers_are_hidden_from_lists_and_listed_on_request(admin, sb):
    before = _total(admin, scope="system")
    running = admin(
        "/servers",
        {"scope": "system", "filter": "status.equals('running')", "limit": 2, "details": "false"},
    ).json()["servers"]
    for rec in running:
        sb.update("servers", rec["id"], pending_deleted=True, pending_deleted_at=rec["created_at"])
    ids = "','".join(r["id"] for r in running)
    assert _total(admin, scope="system") == before - 2  # e_list_normal
    assert _total(admin, scope="system", pending_delete="true") == 2  # e_list_pending_delete_true
    assert _total(admin, scope="system", pending_delete="all") == before  # ..._all
    assert _total(admin, scope="system", pending_delete="any") == before  # ..._any
    assert _total(admin, scope="system", pending_delete="false") == before - 2
    hidden = admin("/servers", {"scope": "system", "filter": f"id.in('{ids}')"}).json()
    assert hidden == {"servers": []}  # e_list_normal_filter_ids: an empty answer, no total

    one = running[0]["id"]
    assert admin(f"/servers/{one}").status_code == 200  # e_get_pending1: no query at all
    assert admin(f"/servers/{one}", {"details": "false"}).status_code == 404
    assert admin(f"/servers/{one}", {"scope": "system"}).status_code == 404
    assert admin(f"/servers/{one}", {"pending_delete": "all"}).status_code == 200


def test_a_pending_deleted_running_guest_still_holds_its_host(admin, sb):
    """e_host_after: cpu_commit keeps it, running_guests does not, pending_deleted_guests does."""
    rec = admin(
        "/servers",
        {"scope": "system", "filter": "status.equals('running')", "limit": 1, "offset": 5},
    ).json()["servers"][0]
    before = admin(f"/hosts/{rec['host_id']}").json()["host"]
    sb.update("servers", rec["id"], pending_deleted=True)
    after = admin(f"/hosts/{rec['host_id']}").json()["host"]
    assert after["cpu_commit"] == before["cpu_commit"]
    assert after["running_guests"] == before["running_guests"] - 1
    assert after.get("pending_deleted_guests", 0) == before.get("pending_deleted_guests", 0) + 1


# -- logins (f_*) --------------------------------------------------------------------------------
def test_login_errors_of_the_real_keystone(sb):
    def login(body: str) -> dict:
        resp = requests.post(f"{sb.auth_url}/auth/tokens", data=body, headers=JSON, timeout=10)
        return {"status": resp.status_code, **resp.json()}

    got = login(password_auth_body(sb.username, sb.password, domain="nope"))
    assert (got["status"], got["details"]) == (404, "domain nope: UserNotFound")
    got = login(password_auth_body(sb.username, sb.password, project="nope"))
    assert got["details"] == "unauthorized ProjectManager.FetchProject: sql: no rows in result set"
    from cpexplore.signing import token_auth_body

    got = login(token_auth_body("ab" * 32, project="system"))
    assert got["status"] == 401 and f'token "{"ab" * 32}" not found' in got["details"]
