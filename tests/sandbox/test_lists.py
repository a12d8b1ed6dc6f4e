"""List and get semantics of the sandbox follow cloudpods-api.md §3 as corrected by §8."""

from __future__ import annotations

import json

import pytest
import requests

from cpexplore.sandbox import Sandbox
from cpexplore.signing import aksk_auth_body, password_auth_body


def _token(sb: Sandbox, body: str) -> str:
    resp = requests.post(
        f"{sb.auth_url}/auth/tokens",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def admin(sandbox):
    token = _token(
        sandbox, aksk_auth_body(sandbox.auth_url, sandbox.access_key, sandbox.secret_key)
    )

    def get(path: str, params=None, **kw) -> requests.Response:
        return requests.get(
            sandbox.base_url + path,
            params=params,
            headers={"X-Auth-Token": token},
            timeout=30,
            **kw,
        )

    return get


@pytest.fixture(scope="module")
def member(sandbox):
    token = _token(
        sandbox,
        password_auth_body(
            sandbox.member_username, sandbox.member_password, project=sandbox.member_project
        ),
    )

    def get(path: str, params=None) -> requests.Response:
        return requests.get(
            sandbox.base_url + path, params=params, headers={"X-Auth-Token": token}, timeout=30
        )

    return get


def test_the_default_page_is_2048_and_limit_zero_or_negative_means_2048(admin, sandbox):
    total = sandbox.count("servers")
    for params in ({}, {"limit": 0}, {"limit": -1}):
        body = admin("/servers", {"scope": "system", **params}).json()
        assert body["limit"] == 2048 and body["total"] == total and "offset" not in body
        assert len(body["servers"]) == min(2048, total)


def test_limit_above_2048_is_clamped_only_when_the_total_exceeds_it(admin):
    assert admin("/servers", {"scope": "system", "limit": 5000}).json()["limit"] == 2048
    body = admin("/zones", {"limit": 5000}).json()
    assert body["limit"] == 5000 and len(body["zones"]) == body["total"]


def test_offset_slices_and_appears_only_when_positive(admin, sandbox):
    everything = [
        r["id"]
        for r in admin("/servers", {"scope": "system", "details": "false"}).json()["servers"]
    ]
    body = admin(
        "/servers", {"scope": "system", "limit": 10, "offset": 20, "details": "false"}
    ).json()
    assert [r["id"] for r in body["servers"]] == everything[20:30]
    assert (
        body["offset"] == 20 and body["limit"] == 10 and body["total"] == sandbox.count("servers")
    )


def test_past_the_end_keeps_limit_offset_and_total(admin):
    body = admin("/zones", {"limit": 2, "offset": 100}).json()
    assert (
        body["zones"] == [] and body["limit"] == 2 and body["offset"] == 100 and body["total"] > 0
    )


def test_an_empty_result_is_exactly_the_bare_key(admin):
    resp = admin(
        "/servers", {"scope": "system", "limit": 20, "filter": "name.contains('zzz-none')"}
    )
    assert resp.text == '{"servers":[]}'
    assert resp.headers["Content-Type"] == "application/json;charset=utf-8"


def test_limit_abc_is_a_500_unclassified_error(admin):
    resp = admin("/servers", {"limit": "abc"})
    assert resp.status_code == 500 and resp.json()["class"] == "UnclassifiedError"


def test_force_no_paging_drops_limit_but_keeps_total(admin):
    body = admin("/zones", {"force_no_paging": "true"}).json()
    assert "limit" not in body and body["total"] == len(body["zones"])


def test_details_false_drops_joined_fields(admin):
    query = {"limit": 1, "scope": "system", "filter": "host_id.isnotnull()"}
    full = admin("/servers", query).json()["servers"][0]
    bare = admin("/servers", {**query, "details": "false"}).json()["servers"][0]
    assert {"host", "zone", "ips", "can_delete", "tenant"} <= set(full)
    assert not {"host", "zone", "ips", "can_delete", "tenant"} & set(bare)
    assert bare["id"] == full["id"] and "host_id" in bare


def test_records_have_sorted_keys_no_empty_values_and_utc_microsecond_times(admin):
    resp = admin("/servers", {"limit": 50, "scope": "system"})
    for rec in resp.json()["servers"]:
        assert list(rec) == sorted(rec)
        assert all(v not in ("", None) for v in rec.values())
        assert rec["created_at"].endswith(".000000Z") and len(rec["created_at"]) == 27


def test_default_order_is_newest_first_and_order_by_name_asc_works(admin):
    recs = admin("/servers", {"scope": "system", "limit": 200}).json()["servers"]
    created = [r["created_at"] for r in recs]
    assert created == sorted(created, reverse=True)
    names = [
        r["name"]
        for r in admin("/hosts", {"order_by": "name", "order": "asc", "limit": 50}).json()["hosts"]
    ]
    assert names == sorted(names, key=str.lower)


def test_field_returns_only_the_fields_asked_for(admin):
    recs = admin(
        "/servers", [("scope", "system"), ("field", "id"), ("field", "status"), ("limit", 5)]
    ).json()
    assert all(set(r) == {"id", "status"} for r in recs["servers"])


def test_filters_are_anded_or_ored_with_filter_any_in_both_key_forms(admin):
    base = {"scope": "system", "details": "true", "limit": 2048}
    running = admin("/servers", {**base, "filter": "status.equals('running')"}).json()
    assert running["total"] > 0 and all(r["status"] == "running" for r in running["servers"])
    both = admin(
        "/servers",
        [
            *base.items(),
            ("filter", "status.equals('running')"),
            ("filter", "hypervisor.equals('kvm')"),
        ],
    ).json()
    assert all(r["status"] == "running" and r["hypervisor"] == "kvm" for r in both["servers"])
    indexed = admin(
        "/servers",
        [
            *base.items(),
            ("filter.0", "status.equals('running')"),
            ("filter.1", "hypervisor.equals('kvm')"),
        ],
    ).json()
    assert indexed["total"] == both["total"]
    anyof = admin(
        "/servers",
        [
            *base.items(),
            ("filter", "status.equals('running')"),
            ("filter", "hypervisor.equals('kvm')"),
            ("filter_any", "true"),
        ],
    ).json()
    assert anyof["total"] > both["total"]
    assert all(r["status"] == "running" or r["hypervisor"] == "kvm" for r in anyof["servers"])


def test_vcpu_and_time_comparisons(admin):
    big = admin("/servers", {"scope": "system", "filter": "vcpu_count.ge(16)"}).json()
    assert big["total"] > 0 and all(r["vcpu_count"] >= 16 for r in big["servers"])
    recent = admin("/servers", {"scope": "system", "filter": "created_at.gt('2026-01-01')"}).json()
    assert all(r["created_at"] > "2026-01-01" for r in recent["servers"])


def test_search_and_exact_filters(admin):
    some = admin(
        "/servers", {"scope": "system", "limit": 3, "filter": "host_id.isnotnull()"}
    ).json()["servers"]
    name = some[0]["name"]
    assert admin("/servers", {"scope": "system", "name": name}).json()["servers"][0]["name"] == name
    by_id = admin(
        "/servers", [("scope", "system"), ("id", some[0]["id"]), ("id", some[1]["id"])]
    ).json()
    assert by_id["total"] == 2
    hits = admin("/servers", {"scope": "system", "search": "-prod-"}).json()
    assert hits["total"] > 0 and all("-prod-" in r["name"].lower() for r in hits["servers"])
    for key, field in (
        ("status", "status"),
        ("hypervisor", "hypervisor"),
        ("zone", "zone"),
        ("host", "host"),
        ("cloudregion", "cloudregion"),
    ):
        value = some[0][field]
        recs = admin("/servers", {"scope": "system", key: value}).json()["servers"]
        assert recs and all(r[field] == value for r in recs), key
    by_zone_id = admin("/servers", {"scope": "system", "zone_id": some[0]["zone_id"]}).json()[
        "servers"
    ]
    assert all(r["zone"] == some[0]["zone"] for r in by_zone_id)


def test_summary_stats_adds_totals_over_the_whole_list(admin):
    body = admin("/servers", {"scope": "system", "summary_stats": "true", "limit": 1}).json()
    totals = body["totals"]
    assert set(totals) == {"count", "cpu_count", "disk_count", "disk_mb", "mem_mb", "status_info"}
    assert sum(s["total_count"] for s in totals["status_info"]) == body["total"]
    assert totals["count"] == 0  # as the real region answers (its disk query overwrites it)
    assert totals["cpu_count"] > body["total"]


def test_hostile_names_exist_and_survive_the_wire(admin, sandbox):
    names = {
        r["name"]
        for r in admin("/servers", {"scope": "system", "force_no_paging": "true"}).json()["servers"]
    }
    for hostile in ("+SUM(1,2)", "-2+3", "@import", "db-line1\nline2", "测试服务器-北京"):
        assert hostile in names


def test_marker_paging_on_events_and_actions(admin, sandbox):
    first = admin("/events", {"scope": "system", "limit": 3}).json()
    assert set(first) == {"events", "limit", "marker_field", "marker_order", "next_marker"}
    assert first["marker_field"] == "id" and first["marker_order"] == "DESC"
    assert isinstance(first["next_marker"], str) and isinstance(first["events"][0]["id"], int)
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True)
    second = admin(
        "/events", {"scope": "system", "limit": 3, "paging_marker": first["next_marker"]}
    ).json()
    assert second["events"][0]["id"] == int(first["next_marker"]) < ids[-1]
    assert admin("/events").json()["limit"] == 20  # log tables default to 20 rows
    seen, marker = [], None
    while True:
        page = admin(
            "/actions", {"limit": 1000, **({"paging_marker": marker} if marker else {})}
        ).json()
        seen += [a["id"] for a in page["actions"]]
        marker = page.get("next_marker")
        if not marker:
            break
    assert len(seen) == len(set(seen)) == sandbox.count("actions", project="system")


def test_get_by_id_or_name_and_404(admin):
    rec = admin("/servers", {"scope": "system", "limit": 1}).json()["servers"][0]
    assert admin(f"/servers/{rec['id']}").json()["server"]["id"] == rec["id"]
    assert admin("/zones/zone1").json()["zone"]["name"] == "zone1"
    resp = admin("/servers/0123456789abcdef0123456789abcdef")
    assert resp.status_code == 404
    assert resp.json()["class"] == "ResourceNotFoundError"
    assert resp.json()["details"] == "server 0123456789abcdef0123456789abcdef not found"


def test_trailing_and_double_slashes_are_accepted(admin):
    for path in ("/zones/", "//zones", "/v3//projects"):
        assert admin(path).status_code == 200, path


def test_images_live_under_v1_and_region1_compute_under_its_own_prefix(admin, sandbox):
    assert admin("/v1/images").json()["total"] > 0
    r1 = admin("/region1/servers", {"scope": "system", "limit": 1, "offset": 1}).json()
    assert r1["total"] == sandbox.count("servers", region="region1")
    assert r1["servers"][0]["cloudregion"] in ("AWS/us-east-1", "VMware/dc-shanghai")


def test_scope_absent_means_the_tokens_project_even_for_admin(admin, sandbox):
    mine = admin("/servers", {"limit": 1}).json()
    assert mine["total"] == sandbox.count("servers", project="system") < sandbox.count("servers")
    assert admin("/servers", {"scope": "max", "limit": 1}).json()["total"] == sandbox.count(
        "servers"
    )


def test_a_member_sees_its_project_and_is_refused_more(member, sandbox):
    assert member("/servers").json()["total"] == sandbox.count(
        "servers", project=sandbox.member_project
    )
    assert member("/servers", {"scope": "max", "limit": 1}).json()["total"] == sandbox.count(
        "servers", project=sandbox.member_project
    )
    resp = member("/servers", {"scope": "system"})
    assert resp.status_code == 403
    inner = resp.json()["details"]
    assert "require:system,allow:project,query:system" in inner
    for path in ("/hosts", "/v3/projects", "/v3/users", "/v3/endpoints"):
        assert member(path).status_code == 403, path
    for path in ("/zones", "/networks"):
        assert member(path).status_code == 200, path


def test_an_invalid_scope_is_no_scope_on_the_region_and_empty_on_keystone(admin, sandbox):
    """cloudpods-api.md §9: ``scope=sytem`` lists the token's project; keystone answered [] (D9)."""
    mine = admin("/servers", {"scope": "galaxy", "limit": 1}).json()
    assert mine["total"] == sandbox.count("servers", project="system")
    assert admin("/v3/users", {"scope": "galaxy"}).text == '{"users":[]}'


def test_no_token_gives_403_allow_none_on_lists_and_401_on_usages(sandbox):
    resp = requests.get(sandbox.base_url + "/servers", timeout=10)
    body = resp.json()
    assert (
        resp.status_code == 403
        and body["class"] == "ForbiddenError"
        and "allow:none" in body["details"]
    )
    inner = json.loads(body["details"].split(": ", 2)[2])
    assert inner["error"]["data"]["fields"] == [
        "compute",
        "servers",
        "list",
        "project",
        "none",
        "project",
    ]
    assert (
        requests.get(sandbox.base_url + "/usages", timeout=10).json()["details"] == "Unauthorized"
    )
    bad = requests.get(sandbox.base_url + "/usages", headers={"X-Auth-Token": "x"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["details"] == "InvalidToken"


def test_response_headers_match_the_real_services(admin):
    resp = admin("/zones")
    assert resp.headers["Server"] == "Yunion AppServer/Go/2018.4"
    assert len(resp.headers["X-Request-Id"]) == 6
    for h in (
        "X-Request-Host-Id",
        "Vary",
        "Strict-Transport-Security",
        "X-Frame-Options",
        "X-Content-Type-Options",
    ):
        assert h in resp.headers
    assert "Content-Encoding" not in resp.headers


def test_a_deep_page_of_100k_servers_is_the_right_slice():
    with Sandbox(servers=100_000, seed=3) as sb:
        token = _token(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key))
        h = {"X-Auth-Token": token}
        total = sb.count("servers")
        resp = requests.get(
            f"{sb.base_url}/servers",
            params={"scope": "system", "limit": 2048, "offset": 98000},
            headers=h,
            timeout=60,
        )
        body = resp.json()
        assert body["total"] == total and body["offset"] == 98000
        assert len(body["servers"]) == max(0, min(2048, total - 98000))
        # the slice is the default order: newest first
        table = sb.inventory.tables["servers"]
        live = [i for i in range(table.count) if table.region[i] == "region0"][::-1]
        expected = [table.record(i)["id"] for i in live[98000 : 98000 + 2048]]
        assert [r["id"] for r in body["servers"]] == expected
