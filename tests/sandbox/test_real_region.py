"""The sandbox is never kinder than a real Cloudpods region with data (cloudpods-api.md §9).

Each test documents one behaviour of the real region, as recorded in
``tests/data/reference/real-transcripts/region-with-data.json`` and described in
``tests/data/reference/cloudpods-api.md`` §9, and checks that the sandbox behaves the same.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from cpexplore.sandbox import DIFFERENCES, Sandbox
from cpexplore.sandbox.inventory import SERVER_COLUMNS
from cpexplore.signing import aksk_auth_body, password_auth_body

JSON = {"Content-Type": "application/json"}


def _login(sb: Sandbox, body: str) -> str:
    resp = requests.post(f"{sb.auth_url}/auth/tokens", data=body, headers=JSON, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Subject-Token"]


def _admin_token(sb: Sandbox) -> str:
    return _login(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key))


def _member_token(sb: Sandbox) -> str:
    body = password_auth_body(sb.member_username, sb.member_password, project=sb.member_project)
    return _login(sb, body)


def _client(sb: Sandbox, token: str):
    def get(path: str, params=None, **kw) -> requests.Response:
        headers = {"X-Auth-Token": token, **kw.pop("headers", {})}
        return requests.get(sb.base_url + path, params=params, headers=headers, timeout=60, **kw)

    return get


@pytest.fixture(scope="module")
def admin(sandbox):
    return _client(sandbox, _admin_token(sandbox))


@pytest.fixture(scope="module")
def member(sandbox):
    return _client(sandbox, _member_token(sandbox))


def _total(admin, path: str = "/servers", **params) -> int:
    resp = admin(path, {"scope": "system", "limit": 1, "details": "false", **params})
    assert resp.status_code == 200, resp.text
    return resp.json().get("total", 0)


@pytest.fixture(scope="module")
def unfiltered(admin) -> int:
    return _total(admin)


# -- filter= acts on the table's columns only -------------------------------------------------
def test_a_filter_on_a_column_narrows_the_list(admin, unfiltered):
    running = _total(admin, filter="status.equals('running')")
    assert 0 < running < unfiltered


@pytest.mark.parametrize(
    "expr",
    [
        "zone.equals('zone0')",  # joined fields: not columns of the guests table
        "host.equals('host-zone0-00000')",
        "cloudregion.equals('Default')",
        "tenant.equals('web')",
        "project.equals('web')",
        "zone_id.equals('whatever')",
        "host_sn.equals('SN0700000000')",
        "nmae.contains('web')",  # an unknown field
        "status.nosuchop('x')",  # an unknown op
        "status.equals(",  # malformed: no closing parenthesis
        "vcpu_count.ge(abc)",  # values the column cannot hold
        "created_at.gt('soon')",
    ],
)
def test_a_filter_the_region_cannot_apply_is_silently_ignored(admin, unfiltered, expr):
    resp = admin("/servers", {"scope": "system", "limit": 1, "filter": expr})
    assert resp.status_code == 200
    assert resp.json()["total"] == unfiltered


def test_unquoted_values_work_and_text_compares_case_insensitively(admin):
    """The real ``hypervisor.equals('ESXi')`` matched the 234 ``esxi`` rows (MySQL collation)."""
    quoted = _total(admin, filter="status.equals('running')")
    assert _total(admin, filter="status.equals(running)") == quoted
    assert _total(admin, filter="status.equals('RUNNING')") == quoted
    assert _total(admin, filter="status.in('Running')") == quoted
    assert _total(admin, filter="hypervisor.equals('KVM')") == _total(admin, hypervisor="kvm")


def test_two_filters_are_anded_and_filter_any_ors_them(admin):
    running = _total(admin, filter="status.equals('running')")
    kvm = _total(admin, filter="hypervisor.equals('kvm')")
    both = admin(
        "/servers",
        [
            ("scope", "system"),
            ("filter", "status.equals('running')"),
            ("filter", "hypervisor.equals('kvm')"),
        ],
    ).json()["total"]
    either = admin(
        "/servers",
        [
            ("scope", "system"),
            ("filter", "status.equals('running')"),
            ("filter", "hypervisor.equals('kvm')"),
            ("filter_any", "true"),
        ],
    ).json()["total"]
    assert both < min(running, kvm) and either == running + kvm - both


def test_unsplittable_filter_arguments_are_a_500_as_in_the_go_source(admin):
    """``FindWords`` panics on ``equals(a b)`` (vendor/yunion.io/x/pkg/utils/tags.go); the
    worker recovers with a 500. A filter that is not ``field.op(...)`` at all is ignored."""
    resp = admin("/servers", {"scope": "system", "filter": "status.equals(a b)"})
    assert resp.status_code == 500 and resp.json()["class"] == "InternalServerError"


# -- the parameter forms filter, by name or id, and check their value ------------------------
def test_parameter_forms_filter_by_name_or_id(admin, unfiltered, sandbox):
    zone = admin("/zones/zone0").json()["zone"]
    by_name, by_id = _total(admin, zone="zone0"), _total(admin, zone=zone["id"])
    assert 0 < by_name == by_id < unfiltered
    assert _total(admin, zone_id=zone["id"]) == by_name
    host = admin("/hosts", {"limit": 1, "order_by": "name"}).json()["hosts"][0]
    assert _total(admin, host=host["name"]) == _total(admin, host=host["id"]) == host["guests"]
    assert 0 < _total(admin, cloudregion="Default") == _total(admin, cloudregion="default")
    web = sandbox.count("servers", project="web")
    assert _total(admin, project="web") == _total(admin, tenant="web") == web
    assert 0 < _total(admin, hypervisor="kvm") < unfiltered
    assert _total(admin, status="running") == _total(admin, filter="status.equals(running)")


def test_a_zone_parameter_leaves_out_unscheduled_servers(admin):
    zone_ids = {z["id"] for z in admin("/zones").json()["zones"]}
    every_zone = sum(_total(admin, zone=z) for z in zone_ids)
    unscheduled = _total(admin, filter="host_id.isnull()")
    assert unscheduled > 0
    assert every_zone + unscheduled == _total(admin)


@pytest.mark.parametrize(
    ("param", "details"),
    [
        (
            "zone",
            "ListItems: listItemQueryFiltersRaw: ListItemFilter: SHostResourceBaseManager."
            "ListItemFilter: SZoneResourceBaseManager.ListItemFilter: managedResourceFilterByZone: "
            "ValidateZoneResourceInput: zone nosuch: ResourceNotFoundError",
        ),
        (
            "host",
            "ListItems: listItemQueryFiltersRaw: ListItemFilter: SHostResourceBaseManager."
            "ListItemFilter: ValidateHostResourceInput: host nosuch: ResourceNotFoundError",
        ),
        (
            "cloudregion",
            "ListItems: listItemQueryFiltersRaw: ListItemFilter: SHostResourceBaseManager."
            "ListItemFilter: SZoneResourceBaseManager.ListItemFilter: SCloudregionResourceBase"
            "Manager.ListItemFilter: ValidateCloudregionResourceInput: cloudregion nosuch: "
            "ResourceNotFoundError",
        ),
    ],
)
def test_an_unknown_name_in_a_parameter_is_a_404(admin, param, details):
    resp = admin("/servers", {"scope": "system", param: "nosuch"})
    assert resp.status_code == 404
    body = resp.json()
    assert body["class"] == "ResourceNotFoundError" and body["details"] == details


def test_an_unknown_project_is_a_404_wrapping_fetch_owner_id(admin):
    body = admin("/servers", {"scope": "system", "project": "nosuchproj"}).json()
    assert body["code"] == 404 and body["class"] == "ResourceNotFoundError"
    assert body["details"].startswith("ListItems: listItemQueryFiltersRaw: {")
    assert "FetchOwnerId:" in body["details"] and "project nosuchproj not found" in body["details"]


# -- order_by ------------------------------------------------------------------------------
def _rows(admin, **params) -> list[dict]:
    return admin("/servers", {"scope": "system", "limit": 50, **params}).json()["servers"]


def _is_sorted(values: list, desc: bool) -> bool:
    keyed = [(v is not None, v.lower() if isinstance(v, str) else v) for v in values]
    return keyed == sorted(keyed, reverse=desc)


@pytest.mark.parametrize(
    ("key", "order"), [("name", "asc"), ("vcpu_count", "desc"), ("status", "asc"), ("name", "")]
)
def test_order_by_a_column_sorts(admin, key, order):
    rows = _rows(admin, order_by=key, **({"order": order} if order else {}))
    assert _is_sorted([r[key] for r in rows], desc=order != "asc")


@pytest.mark.parametrize(("key", "order"), [("zone", "asc"), ("host", "desc"), ("nosuch", "asc")])
def test_order_by_a_joined_field_falls_back_to_created_at_in_the_given_direction(admin, key, order):
    rows = _rows(admin, order_by=key, order=order)
    assert _is_sorted([r["created_at"] for r in rows], desc=order == "desc")


def test_an_unknown_order_word_means_desc(admin):
    names = [r["name"] for r in _rows(admin, order_by="name", order="sideways")]
    assert names == [r["name"] for r in _rows(admin, order_by="name", order="desc")]


def test_hosts_sort_by_their_commit_rates(admin):
    rates = [
        h["cpu_commit_rate"]
        for h in admin("/hosts", {"order_by": "cpu_commit_rate", "order": "desc"}).json()["hosts"]
    ]
    assert rates == sorted(rates, reverse=True)


# -- sparse records with the real field sets ------------------------------------------------
@pytest.mark.parametrize("plural", ["servers", "hosts", "zones", "cloudregions", "networks",
                                    "disks", "storages", "eips", "secgroups", "vpcs", "wires",
                                    "serverskus", "events", "cloudaccounts", "v1/images",
                                    "v3/users", "v3/projects", "v3/credentials", "v3/endpoints"])  # fmt: skip
def test_no_record_carries_an_empty_value(admin, plural):
    for details in ("true", "false"):
        body = admin(f"/{plural}", {"scope": "system", "limit": 300, "details": details}).json()
        key = plural.rsplit("/", 1)[-1]
        for rec in body[key]:
            assert not [k for k, v in rec.items() if v is None or v == ""], rec


def test_the_newest_server_is_unscheduled_and_has_no_placement_keys(admin):
    newest = admin("/servers", {"scope": "system", "limit": 1}).json()["servers"][0]
    assert newest["status"] in ("sched_fail", "init")
    placement = {"host", "host_id", "zone", "zone_id", "cloudregion", "cloudregion_id"}
    assert not placement & set(newest)
    for rec in _rows(admin, filter="host_id.isnull()"):
        assert not placement & set(rec) and rec["status"] in ("sched_fail", "init")


def test_description_and_expired_at_come_and_go(admin):
    rows = admin("/servers", {"scope": "system", "limit": 400, "details": "false"}).json()[
        "servers"
    ]
    described = [r for r in rows if "description" in r]
    assert 0 < len(described) < len(rows)
    for rec in rows:
        assert ("expired_at" in rec) == (rec["billing_type"] == "prepaid")
    assert any(r["billing_type"] == "prepaid" for r in rows)


def test_metadata_comes_with_details_whatever_with_meta_says(admin):
    rows = _rows(admin, limit=200)
    tagged = [r for r in rows if "metadata" in r]
    assert 0 < len(tagged) < len(rows) and all(r["metadata"] for r in tagged)
    assert [r.get("metadata") for r in _rows(admin, limit=200, with_meta="true")] == [
        r.get("metadata") for r in rows
    ]
    for with_meta in ("true", "false"):
        bare = _rows(admin, limit=200, details="false", with_meta=with_meta)
        assert not any("metadata" in r for r in bare)
    one = admin(f"/servers/{tagged[0]['id']}").json()["server"]
    assert one["metadata"] == tagged[0]["metadata"]


def test_details_false_returns_the_guests_table_columns_only(admin):
    rows = _rows(admin, details="false", limit=200)
    for rec in rows:
        assert set(rec) <= SERVER_COLUMNS
        assert 39 <= len(rec) <= 48  # the real records had 39-44
    full = _rows(admin, limit=200, filter="host_id.isnotnull()")
    assert min(len(r) for r in full) >= 79  # the real placed servers had 78-79 with details


def test_hosts_carry_the_real_capacity_fields(admin):
    host = admin("/hosts", {"limit": 1}).json()["hosts"][0]
    for key in (
        "cpu_commit", "cpu_commit_rate", "cpu_commit_bound", "mem_commit", "mem_commit_rate",
        "mem_commit_bound", "storage_commit_rate", "guests", "running_guests", "ready_guests",
        "other_guests", "pending_deleted_guests", "nonsystem_guests", "spec",
    ):  # fmt: skip
        assert key in host, key
    assert set(host["spec"]) == {"cpu", "mem", "nic_count"}
    assert "cpu_mhz" not in host  # a field only GET /hosts/<id> shows, as on the real region
    assert "cpu_mhz" in admin(f"/hosts/{host['id']}").json()["host"]
    assert len(host) == 84


# -- host capacity as the region computes it ------------------------------------------------
def _servers_on_hosts(admin) -> list[dict]:
    return admin(
        "/servers", {"scope": "system", "details": "false", "force_no_paging": "true"}
    ).json()["servers"]


def test_commit_counts_running_guests_only(admin):
    servers = _servers_on_hosts(admin)
    for host in admin("/hosts", {"limit": 10}).json()["hosts"]:
        mine = [s for s in servers if s.get("host_id") == host["id"]]
        running = [s for s in mine if s["status"] == "running"]
        assert host["cpu_commit"] == sum(s["vcpu_count"] for s in running)
        assert host["mem_commit"] == sum(s["vmem_size"] for s in running)
        assert host["guests"] == len(mine) and host["running_guests"] == len(running)
        assert host["ready_guests"] == sum(s["status"] == "ready" for s in mine)
        assert host["other_guests"] == len(mine) - len(running) - host["ready_guests"]
        assert host["pending_deleted_guests"] == 0 and host["nonsystem_guests"] == len(mine)


def test_commit_rates_divide_by_cpu_count_and_memory_less_reserved(admin):
    for host in admin("/hosts", {"limit": 100}).json()["hosts"]:
        assert host["cpu_commit_rate"] == pytest.approx(host["cpu_commit"] / host["cpu_count"])
        usable = host["mem_size"] - host["mem_reserved"]
        assert host["mem_commit_rate"] == pytest.approx(host["mem_commit"] / usable)
        assert host["cpu_commit_bound"] == host["cpu_cmtbound"]
        assert host["mem_commit_bound"] == host["mem_cmtbound"]
        assert host["spec"] == {"cpu": host["cpu_count"], "mem": host["mem_size"], "nic_count": 0}


def test_some_hosts_are_over_committed(admin):
    hosts = admin("/hosts").json()["hosts"]
    over_cpu = [h for h in hosts if h["cpu_commit_rate"] > h["cpu_commit_bound"]]
    over_mem = [h for h in hosts if h["mem_commit_rate"] > h["mem_commit_bound"]]
    assert over_cpu and over_mem and len(over_mem) < len(hosts)


def test_capacity_follows_changes_to_the_servers(fresh_sandbox):
    get = _client(fresh_sandbox, _admin_token(fresh_sandbox))
    server = get(
        "/servers", {"scope": "system", "limit": 1, "status": "running", "details": "false"}
    ).json()["servers"][0]
    before = get(f"/hosts/{server['host_id']}").json()["host"]
    fresh_sandbox.update("servers", server["id"], status="ready")
    after = get(f"/hosts/{server['host_id']}").json()["host"]
    assert after["cpu_commit"] == before["cpu_commit"] - server["vcpu_count"]
    assert after["running_guests"] == before["running_guests"] - 1
    assert after["ready_guests"] == before["ready_guests"] + 1
    listed = get("/hosts", {"limit": 2048}).json()["hosts"]
    assert next(h for h in listed if h["id"] == server["host_id"]) == {
        k: v for k, v in after.items() if k not in ("cpu_mhz", "cpu_cache")
    }


# -- errors as real -------------------------------------------------------------------------
def test_validating_a_bad_token_with_itself_is_403_guest_and_with_an_admin_401(sandbox):
    admin_token = _admin_token(sandbox)
    victim = _admin_token(sandbox)
    url = f"{sandbox.auth_url}/auth/tokens"
    gone = requests.delete(
        url, headers={"X-Auth-Token": admin_token, "X-Subject-Token": victim}, timeout=10
    )
    assert gone.status_code == 204
    for bad, details in (
        (victim, "invalid token: [auth] invalid token"),
        ("ab" * 32, f'invalid token: token "{"ab" * 32}" not found: [auth] token not found'),
    ):
        itself = requests.get(
            url, headers={"X-Auth-Token": bad, "X-Subject-Token": bad}, timeout=10
        )
        assert itself.status_code == 403
        assert (itself.json()["class"], itself.json()["details"]) == (
            "ForbiddenError",
            "guest not allow to auth",
        )
        checked = requests.get(
            url, headers={"X-Auth-Token": admin_token, "X-Subject-Token": bad}, timeout=10
        )
        assert checked.status_code == 401
        assert (checked.json()["class"], checked.json()["details"]) == (
            "InvalidCredentialError",
            details,
        )


def test_the_region_answers_a_random_token_403_allow_none(sandbox):
    resp = _client(sandbox, "cd" * 32)("/servers", {"scope": "system"})
    assert resp.status_code == 403 and "allow:none" in resp.json()["details"]


def test_a_name_two_servers_share_is_a_500_unless_the_scope_narrows_it(admin):
    resp = admin("/servers/dup-name")
    assert resp.status_code == 500
    body = resp.json()
    assert (body["class"], body["code"], body["details"]) == (
        "duplicate entry",
        500,
        "fetchItem: duplicate entry",
    )
    mine = admin("/servers/dup-name", {"scope": "project"})
    assert mine.status_code == 200 and mine.json()["server"]["tenant"] == "system"


def test_keystone_hides_system_accounts_unless_system_true(admin, sandbox):
    names = {u["name"] for u in admin("/v3/users").json()["users"]}
    assert sandbox.username not in names and sandbox.member_username in names
    everyone = {u["name"] for u in admin("/v3/users", {"system": "true"}).json()["users"]}
    assert sandbox.username in everyone


def test_a_member_lists_hosts_only_with_a_project_scope(member):
    refused = member("/hosts")
    assert refused.status_code == 403
    assert "require:domain,allow:project,query:domain" in refused.json()["details"]
    for scope in ("project", "max"):
        resp = member("/hosts", {"scope": scope, "limit": 2})
        assert resp.status_code == 200 and resp.json()["total"] > 0


def test_a_member_getting_another_projects_server_is_refused(member, admin, sandbox):
    other = admin("/servers", {"scope": "system", "project": "ops", "limit": 1}).json()["servers"]
    resp = member(f"/servers/{other[0]['id']}")
    assert resp.status_code == 403
    assert resp.json()["details"] == (
        "not enough privilege (require:domain,allow:project:resource:project) "
        "[tags:[allow] domain:[] project:[] object:[]]"
    )
    # by name the region searches every project, then refuses (cloudpods-api.md §10)
    assert member(f"/servers/{other[0]['name']}").status_code == 403
    assert member("/servers/no-such-name-anywhere").status_code == 404


def test_a_login_body_not_declared_json_is_400(sandbox):
    body = aksk_auth_body(sandbox.auth_url, sandbox.access_key, sandbox.secret_key)
    resp = requests.post(f"{sandbox.auth_url}/auth/tokens", data=body, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["details"] == "fail to decode request body"


def test_a_bad_or_repeated_limit_is_a_500(admin):
    abc = admin("/servers", {"scope": "system", "limit": "abc"}).json()
    assert abc["class"] == "UnclassifiedError" and abc["code"] == 500
    assert 'strconv.ParseInt: parsing \\"abc\\": invalid syntax' in abc["details"]
    twice = admin("/servers", [("scope", "system"), ("limit", "5"), ("limit", "10")]).json()
    assert twice["class"] == "unmarshal type mismatch" and twice["code"] == 500
    assert "setStructFieldAt limit" in twice["details"]


def test_the_2048_cap_applies_only_when_the_total_exceeds_it(admin):
    many = admin("/servers", {"scope": "system", "limit": 5000, "details": "false"}).json()
    assert many["total"] > 2048 and many["limit"] == 2048 and len(many["servers"]) == 2048
    few = admin("/servers", {"scope": "system", "limit": 5000, "status": "ready"}).json()
    assert few["total"] <= 2048 and few["limit"] == 5000


def test_a_misspelled_scope_is_no_scope_and_upper_case_works(admin, sandbox):
    assert _total(admin, scope="sytem") == sandbox.count("servers", project="system")
    assert _total(admin, scope="SYSTEM") == sandbox.count("servers")


def test_a_cors_preflight_is_answered_without_a_token(sandbox):
    resp = requests.options(
        f"{sandbox.base_url}/servers",
        headers={
            "Origin": "http://notebook.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-auth-token",
        },
        timeout=10,
    )
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["Access-Control-Allow-Origin"] == "http://notebook.example"
    assert resp.headers["Access-Control-Allow-Headers"] == "X-Auth-Token"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


# -- the cost of a page ----------------------------------------------------------------------
def test_row_costs_are_spent_per_row_one_page_at_a_time():
    """A page of N rows costs N × details_row_cost (details=true) or N × row_cost; with one
    server core, parallel pages do not finish sooner (the default of two cores is tested in
    test_refresh_protocol.py)."""
    with Sandbox(servers=400, seed=2, row_cost=0.002, details_row_cost=0.01, server_cores=1) as sb:
        get = _client(sb, _admin_token(sb))
        get("/servers", {"scope": "system", "limit": 20})  # warm the query cache

        def timed(**params) -> float:
            start = time.monotonic()
            assert get("/servers", {"scope": "system", "limit": 20, **params}).status_code == 200
            return time.monotonic() - start

        assert timed() >= 0.2  # 20 rows × 10 ms
        assert 0.04 <= timed(details="false") < 0.2  # 20 rows × 2 ms
        start = time.monotonic()
        threads = [threading.Thread(target=timed) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - start >= 0.8  # four pages, one after the other
        sb.details_row_cost = 0
        assert timed() < 0.2


def test_rows_cost_nothing_by_default(sandbox):
    assert sandbox.row_cost == 0 and sandbox.details_row_cost == 0


# -- the documented differences ---------------------------------------------------------------
def test_differences_are_documented_and_current():
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in DIFFERENCES.items())
    assert {"token cache", "speed", "writes", "one port"} <= set(DIFFERENCES)
    # no longer differences: text matching follows MySQL, limit=abc answers the real text
    assert not {"text matching", "limit=abc"} & set(DIFFERENCES)
