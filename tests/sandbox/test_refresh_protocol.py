"""What a client needs to refresh a listing, as the real region of cloudpods-api.md §10 did it.

``updated_at``/``update_version`` (G1–G3), soft deletes and ``delete=all`` (G4), ``field=`` and
the cheap count (G5, G6), ``joint_filter`` (H) and the cost of concurrent pages (I). Each test
names the exchanges of ``tests/data/reference/real-transcripts/region-trust-and-refresh.json``
it follows; every test runs against a fresh private sandbox, most with the sandbox's clock
pinned to the times of the real capture.

Deviations the sandbox cannot avoid, and where they are checked:

* ``deleted_at`` is always one second after ``updated_at`` (the real row showed that; the real
  region rounds deleted_at to the nearest second, so about half the time it is the same second):
  ``test_a_soft_delete_is_listed_only_by_an_admins_delete_all``.
* ``Sandbox.delete`` is a delete made in the database: the status stays, and the row is not
  also pending-deleted (the real API marked an unplaced server both, status ``start_delete``).
* Ids, names and counts are the sandbox's own; each test compares with the real answer's shape
  and, where the wording carries no data, its exact text.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from cpexplore.sandbox import Sandbox, inventory
from cpexplore.signing import aksk_auth_body, password_auth_body

JSON = {"Content-Type": "application/json"}
REAL = Path(__file__).resolve().parents[1] / "data" / "reference" / "real-transcripts"

# The recorded exchanges these tests follow, and the status the real region gave each.
CITED = {
    "g1_updated_ge_max_space_details_false": 200,
    "g1_updated_ge_max_iso_z_details_false": 200,
    "g1_updated_ge_max_space_details_true": 200,
    "g1_updated_ge_max_iso_z_details_true": 200,
    "g2_server_after_put": 200,
    "g2_server_after_same_put": 200,
    "g2_server_after_status": 200,
    "g2_updated_ge_new_max_space": 200,
    "g2_updated_ge_new_max_iso_z": 200,
    "g2_updated_gt_new_max": 200,
    "g3_put_host_rename": 200,
    "g3_servers_on_renamed_host_details_true": 200,
    "g3_updated_ge_rename_time": 200,
    "g3_param_host_new_name": 200,
    "e2_refresh_updated_ge_normal": 200,
    "e2_refresh_updated_ge_pending_delete_all": 200,
    "e2_refresh_updated_ge_delete_all": 200,
    "g4_delete_override_pending_unplaced": 200,
    "g4_list_normal_filter_ids": 200,
    "g4_list_delete_all": 200,
    "g4_list_delete_all_filter_ids_details_false": 200,
    "g4_list_delete_all_filter_ids_details_true": 200,
    "g4_list_delete_all_updated_ge": 200,
    "g4_list_delete_all_updated_ge_iso": 200,
    "g4_list_delete_all_no_scope_admin": 200,
    "g4_list_delete_all_scope_project_admin": 200,
    "g4_list_delete_true": 200,
    "g4_alice_delete_all": 200,
    "g4_alice_delete_all_filter_ids": 200,
    "g4_alice_delete_all_scope_system": 403,
    "g4_get_deleted_placed": 404,
    "g4_get_deleted_placed_delete_all": 200,
    "g4_get_deleted_unplaced_delete_all": 404,
    "g4x_get_deleted_app-prod-00049_delete_all_scope_system": 200,
    "g4x_get_deleted_db-test-00431_delete_all_scope_system": 404,
    "g4x_get_deleted_db-test-00431_delete_all_pending_delete_all": 200,
    "g4x_list_delete_all_filter_deleted_true": 200,
    "g4x_list_filter_deleted_true_without_delete_all": 200,
    "g4x_list_delete_all_pending_delete_true": 200,
    "g4x_list_delete_all_pending_delete_false": 200,
    "g4x_list_delete_all_filter_pending_deleted_true": 200,
    "g4x_list_delete_ALL_upper": 200,
    "g4x_bob_delete_all": 200,
    "g5_field_id_updated_at_details_false": 200,
    "g5_details_true_field_id": 200,
    "g5_field_only_details_absent": 200,
    "g5_field_joined_details_false": 200,
    "g5_empty_answer_details_false": 200,
    "g5_empty_answer_details_true": 200,
    "g5_empty_answer_offset_past_end": 200,
    "g6_limit1_field_id": 200,
    "g6_limit0_field_id_offset_near_end": 200,
    "g6_limit0_field_id_full": 200,
    "g6_limit_minus1": 200,
    "g6_limit0_small_total": 200,
    "h_param_host_name_details_false": 200,
    "h_param_host_unknown_details_false": 404,
    "h_joint_hosts_zone_id_equals": 200,
    "h_joint_hosts_singular": 200,
    "h_joint_hosts_zone_id_in_two": 200,
    "h_joint_hosts_name_startswith": 200,
    "h_joint_hosts_name_startswith_host_000": 200,
    "h_joint_hosts_zone_name_not_column": 200,
    "h_joint_zones_two_hop_attempt": 400,
    "h_joint_zones_via_host_id": 200,
    "h_joint_unknown_model": 404,
    "h_joint_with_filter_any": 200,
    "h_param_host_shared_name_details_false": 500,
    "h_param_host_shared_name_details_true": 500,
    "h_get_host_shared_name": 500,
    "h_joint_hosts_name_equals_shared": 200,
    "i_timing_twin_details_false": 200,
    "i_timing_twin_details_false_field_id": 200,
    "i_timing_twin_4_pages_of_800": 200,
}
RECORDED = {
    e["name"]: e
    for e in json.loads((REAL / "region-trust-and-refresh.json").read_text())["exchanges"]
}


def test_the_exchanges_cited_here_were_recorded_with_those_answers():
    status = {name: e["response"]["status"] for name, e in RECORDED.items()}
    assert {name: status.get(name) for name in CITED} == CITED


def _real(name: str) -> dict:
    assert name in CITED
    return json.loads(RECORDED[name]["response"]["body_text"])


# -- a private sandbox per test, logins, the clock ------------------------------------------------
@pytest.fixture
def sb():
    with Sandbox(servers=600, seed=7) as box:
        yield box


def _client(sb: Sandbox, body: str):
    resp = requests.post(f"{sb.auth_url}/auth/tokens", data=body, headers=JSON, timeout=10)
    assert resp.status_code == 200, resp.text
    token = resp.headers["X-Subject-Token"]

    def get(path: str, **params) -> requests.Response:
        """``path`` may carry a recorded query string (``/servers?scope=system&…``)."""
        headers = {"X-Auth-Token": token}
        return requests.get(sb.base_url + path, params=params, headers=headers, timeout=60)

    return get


@pytest.fixture
def admin(sb):
    return _client(sb, aksk_auth_body(sb.auth_url, sb.access_key, sb.secret_key))


@pytest.fixture
def member(sb):
    body = password_auth_body(sb.member_username, sb.member_password, project=sb.member_project)
    return _client(sb, body)


@pytest.fixture
def clock(monkeypatch):
    """``clock("2026-12-07 23:11:21.4")`` sets the sandbox's time (UTC)."""
    now = [0.0]
    monkeypatch.setattr(inventory, "utc_now", lambda: now[0])

    def set_to(text: str) -> None:
        now[0] = datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()

    return set_to


def _list(get, **params) -> dict:
    resp = get("/servers", **{"scope": "system", "details": "false", **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _ids(get, **params) -> set[str]:
    return {r["id"] for r in _list(get, field="id", **params)["servers"]}


def _total(get, **params) -> int:
    return _list(get, limit=1, field="id", **params).get("total", 0)


def _pick(get, n: int = 1, **params) -> list[dict]:
    return _list(get, limit=n, **params)["servers"]


# -- G1, G2: what moves updated_at and update_version ---------------------------------------------
def test_every_change_moves_updated_at_to_the_second_and_bumps_update_version(sb, admin, clock):
    """g2_server_after_put, g2_server_after_same_put (the same value still bumps),
    g2_server_after_status; g2_updated_ge_new_max_* and g2_updated_gt_new_max."""
    sid = _pick(admin, filter="status.equals('running')")[0]["id"]

    def row() -> tuple[str, int]:
        rec = admin(f"/servers/{sid}", details="false").json()["server"]
        return rec["updated_at"], rec["update_version"]

    before = row()[1]
    clock("2026-12-07 23:11:21.4")
    sb.update("servers", sid, description="cpx refresh probe 1")
    assert row() == ("2026-12-07T23:11:21.000000Z", before + 1)
    clock("2026-12-07 23:11:22.9")  # truncated, not rounded
    sb.update("servers", sid, description="cpx refresh probe 1")
    assert row() == ("2026-12-07T23:11:22.000000Z", before + 2)
    clock("2026-12-07 23:11:23.2")
    sb.update("servers", sid, status="ready")
    assert row() == ("2026-12-07T23:11:23.000000Z", before + 3)

    for form in ("2026-12-07 23:11:23", "2026-12-07T23:11:23Z"):
        got = _list(admin, filter=f"updated_at.ge('{form}')", field=["id", "updated_at", "status"])
        real = _real("g2_updated_ge_new_max_space")
        assert got.keys() == real.keys() and got["total"] == real["total"] == 1
        assert got["servers"] == [
            {"id": sid, "status": "ready", "updated_at": "2026-12-07T23:11:23.000000Z"}
        ]
    gt = admin("/servers", scope="system", filter="updated_at.gt('2026-12-07 23:11:23')")
    assert gt.content == RECORDED["g2_updated_gt_new_max"]["response"]["body_text"].encode()


def test_updated_at_ge_finds_exactly_the_changed_rows_in_both_forms(sb, admin, clock):
    """g1_updated_ge_max_*: the space and the T…Z forms, details false and true; gt on the
    same second finds nothing (two changes in one second share their updated_at)."""
    changed = [r["id"] for r in _pick(admin, 3, filter="host_id.isnotnull()")]
    clock("2026-12-07 23:11:18.1")
    sb.update("servers", changed[0], status="ready")
    sb.update("servers", changed[1], vcpu_count=4)
    clock("2026-12-07 23:11:18.8")
    sb.update("servers", changed[2], name="renamed-in-the-same-second")
    (created,) = sb.create_servers(1)
    expected = {*changed, created}
    for form in ("2026-12-07 23:11:18", "2026-12-07T23:11:18Z", "2026-12-07T23:11:18.000000Z"):
        for details in ("false", "true"):
            got = _list(admin, filter=f"updated_at.ge('{form}')", details=details, field="id")
            assert {r["id"] for r in got["servers"]} == expected and got["total"] == 4
    assert _list(admin, filter="updated_at.gt('2026-12-07 23:11:18')") == {"servers": []}
    assert _total(admin, filter="updated_at.lt('2026-12-07 23:11:18')") == _total(admin) - 4


def test_a_refresh_that_does_not_ask_for_pending_rows_never_sees_them_go(sb, admin, clock):
    """e2_refresh_updated_ge_*: a pending delete moves updated_at, but only pending_delete=all
    or delete=all list the row."""
    sid = _pick(admin, filter="status.equals('running')")[0]["id"]
    clock("2026-12-07 23:16:37.5")
    sb.update("servers", sid, pending_deleted=True, pending_deleted_at="2026-12-07T23:16:37Z")
    sb.update("servers", sid, status="unknown")
    since = {"filter": "updated_at.ge('2026-12-07 23:16:37')"}
    assert _list(admin, **since) == _real("e2_refresh_updated_ge_normal") == {"servers": []}
    fields = ["id", "name", "status", "pending_deleted", "updated_at"]
    for extra in ({"pending_delete": "all"}, {"delete": "all"}):
        got = _list(admin, **since, **extra, field=fields)
        real = _real("e2_refresh_updated_ge_delete_all")
        assert got.keys() == real.keys() and got["total"] == 1
        assert got["servers"][0].keys() == real["servers"][0].keys()
        assert (got["servers"][0]["pending_deleted"], got["servers"][0]["status"]) == (
            True,
            "unknown",
        )


# -- G3: a host rename -------------------------------------------------------------------------
def test_a_host_rename_shows_in_details_and_host_but_not_in_updated_at(sb, admin, clock):
    """g3_put_host_rename, g3_servers_on_renamed_host_details_true, g3_param_host_new_name,
    g3_updated_ge_rename_time: the join follows the hosts table; the servers' rows do not move."""
    hid = _pick(admin, filter="host_id.isnotnull()", field="host_id")[0]["host_id"]
    old = admin(f"/hosts/{hid}", scope="system").json()["host"]
    on_host = {"filter": f"host_id.equals('{hid}')", "details": "true"}
    before = _list(admin, **on_host, field=["id", "host", "host_id", "updated_at"])
    assert {r["host"] for r in before["servers"]} == {old["name"]}
    assert _total(admin, host=old["name"]) == before["total"]  # cached, as are the records:
    assert {r["host"] for r in _list(admin, **on_host)["servers"]} == {old["name"]}

    clock("2026-12-07 23:11:25.3")
    sb.update("hosts", hid, name=f"{old['name']}-renamed")
    host = admin(f"/hosts/{hid}", scope="system").json()["host"]
    assert host["updated_at"] == "2026-12-07T23:11:25.000000Z"
    assert host["update_version"] == old["update_version"] + 1
    after = _list(admin, **on_host, field=["id", "host", "host_id", "updated_at"])
    assert {r["host"] for r in after["servers"]} == {f"{old['name']}-renamed"}
    assert {r["host"] for r in _list(admin, **on_host)["servers"]} == {f"{old['name']}-renamed"}
    assert [r["updated_at"] for r in after["servers"]] == [
        r["updated_at"] for r in before["servers"]
    ]
    assert _real("g3_servers_on_renamed_host_details_true")["servers"][0].keys() == {
        "host",
        "host_id",
        "id",
        "updated_at",
    }
    one = admin(f"/servers/{after['servers'][0]['id']}").json()["server"]
    assert one["host"] == f"{old['name']}-renamed"
    assert _total(admin, host=f"{old['name']}-renamed") == before["total"]
    gone = admin("/servers", scope="system", host=old["name"])
    real = _real("h_param_host_unknown_details_false")["details"]
    assert gone.status_code == 404
    assert gone.json()["details"] == real.replace("nonexistent", old["name"])
    assert _list(admin, filter="updated_at.ge('2026-12-07 23:11:25')") == {"servers": []}


def test_two_hosts_sharing_a_name(sb, admin):
    """h_param_host_shared_name_*, h_get_host_shared_name: 500 duplicate entry;
    h_joint_hosts_name_equals_shared: a joint filter matches both hosts' servers."""
    placed = _pick(admin, 50, filter="host_id.isnotnull()", field="host_id")
    a, b = (admin(f"/hosts/{h}").json()["host"] for h in sorted({r["host_id"] for r in placed})[:2])
    on_a, on_b = _total(admin, host=a["id"]), _total(admin, host=b["id"])
    sb.update("hosts", b["id"], name=a["name"], updated_at=b["updated_at"])  # set in the database
    for details in ("false", "true"):
        resp = admin("/servers", scope="system", host=a["name"], details=details)
        real = RECORDED["h_param_host_shared_name_details_false"]["response"]
        assert resp.status_code == 500
        assert resp.json()["details"] == json.loads(real["body_text"])["details"]
    got = admin(f"/hosts/{a['name']}", scope="system")
    assert got.status_code == 500 and got.json()["details"] == "fetchItem: duplicate entry"
    joint = f"hosts.id(host_id).name.equals('{a['name']}')"
    assert _total(admin, joint_filter=joint) == on_a + on_b


# -- G4: soft deletes and delete=all ----------------------------------------------------------------
def test_a_soft_delete_is_listed_only_by_an_admins_delete_all(sb, admin, member, clock):
    """g4_* and g4x_*: deleted rows are hidden; an admin's delete=all lists them (and every
    project's rows, pending ones too, whatever scope and pending_delete say); a member's
    delete=all is ignored; deleted_at is one second after updated_at."""
    everything = _total(admin)
    placed = _pick(admin, project="web", filter="host_id.isnotnull()")[0]["id"]  # the member's
    other = _pick(admin, project="ops")[0]["id"]
    clock("2026-12-07 23:12:26.6")
    sb.update("servers", other, pending_deleted=True, pending_deleted_at="2026-12-07T23:12:26Z")
    sb.delete("servers", placed)
    sb.delete("servers", other)  # deleted and pending-deleted, as db-test-00431
    ids = f"id.in('{placed}','{other}')"

    assert _list(admin, filter=ids) == {"servers": []}  # g4_list_normal_filter_ids
    assert _total(admin) == everything - 2
    for params in ({}, {"scope": "project"}, {"scope": "system"}):  # g4_list_delete_all*
        got = admin("/servers", delete="all", details="false", limit=3, **params).json()
        assert got["total"] == everything and got.keys() == _real("g4_list_delete_all").keys()
    for details in ("false", "true"):  # g4_list_delete_all_filter_ids_details_*
        got = _list(admin, delete="all", filter=ids, details=details)["servers"]
        assert {r["id"]: r["deleted"] for r in got} == {placed: True, other: True}
        assert {r["deleted_at"] for r in got} == {"2026-12-07T23:12:27.000000Z"}
        assert {r["updated_at"] for r in got} == {"2026-12-07T23:12:26.000000Z"}
        assert [r["pending_deleted"] for r in got if r["id"] == other] == [True]
        assert all("pending_deleted_at" in r for r in got if r["id"] == other)
    real = _real("g4_list_delete_all_filter_ids_details_false")["servers"]
    assert {r["deleted_at"] for r in real} != {r["updated_at"] for r in real}
    for form in ("2026-12-07 23:12:26", "2026-12-07T23:12:26Z"):  # g4_list_delete_all_updated_ge*
        assert _ids(admin, delete="all", filter=f"updated_at.ge('{form}')") == {placed, other}
    deleted = _list(admin, delete="all", filter="deleted.equals(true)", field="id")  # g4x
    assert {r["id"] for r in deleted["servers"]} == {placed, other}
    assert _list(admin, filter="deleted.equals(true)") == {"servers": []}
    assert _ids(admin, delete="all", filter="pending_deleted.equals(true)") == {other}
    for wanted in ("true", "false"):  # pending_delete is ignored under delete=all
        assert _total(admin, delete="all", pending_delete=wanted) == everything
    for word in ("ALL", "true"):  # g4x_list_delete_ALL_upper, g4_list_delete_true
        assert _total(admin, delete=word) == everything - 2

    mine = _total(member, scope="project")  # g4_alice_*: ignored for a member
    assert _total(member, scope="project", delete="all") == mine
    assert _list(member, scope="project", delete="all", filter=ids) == {"servers": []}
    refused = member("/servers", scope="system", delete="all")
    real = _real("g4_alice_delete_all_scope_system")
    assert refused.status_code == 403 and refused.json()["details"] == real["details"]


def test_a_deleted_row_is_got_only_with_delete_all_and_pending_rules_still_apply(sb, admin, member):
    """g4_get_deleted_*, g4x_get_deleted_*: 404; 200 with delete=all (deleted: true) unless
    the row is also pending-deleted, then only with pending_delete=all too."""
    placed, pending = (r["id"] for r in _pick(admin, 2, project="web"))
    sb.update("servers", pending, pending_deleted=True)
    sb.delete("servers", placed)
    sb.delete("servers", pending)
    assert admin(f"/servers/{placed}").status_code == 404
    for params in ({"delete": "all"}, {"delete": "all", "scope": "system"}):
        got = admin(f"/servers/{placed}", **params)
        assert got.status_code == 200 and got.json()["server"]["deleted"] is True
        assert admin(f"/servers/{pending}", **params).status_code == 404
        got = admin(f"/servers/{pending}", pending_delete="all", **params)
        assert got.status_code == 200 and got.json()["server"]["pending_deleted"] is True
    assert member(f"/servers/{placed}", delete="all").status_code == 404
    assert sb.count("servers") == len(sb.ids("servers"))


# -- G5, G6: field= and the cheap count -------------------------------------------------------------
def test_field_narrows_records_and_the_envelope_is_the_real_one(sb, admin):
    """g5_*: field= keeps the named keys (a joined one only with details); an empty answer
    has neither total nor limit; an offset past the end keeps them."""
    total = _total(admin)
    cases = {
        "g5_field_id_updated_at_details_false": {"field": ["id", "updated_at"], "details": "false"},
        "g5_details_true_field_id": {"field": "id", "details": "true"},
        "g5_field_only_details_absent": {"field": "id"},
        "g5_field_joined_details_false": {"field": ["id", "host"], "details": "false"},
    }
    for name, params in cases.items():
        got = admin("/servers", scope="system", limit=3, **params).json()
        real = _real(name)
        assert got.keys() == real.keys() and got["limit"] == 3 and got["total"] == total
        assert [r.keys() for r in got["servers"]] == [r.keys() for r in real["servers"]]
    for details in ("false", "true"):
        resp = admin("/servers", scope="system", filter="name.equals('nope')", details=details)
        assert resp.content == b'{"servers":[]}'
    past = admin("/servers", scope="system", details="false", limit=5, offset=100000).json()
    real = _real("g5_empty_answer_offset_past_end")
    assert past == {**real, "total": total}


def test_a_count_is_limit_1_and_limit_0_is_the_default_page():
    """g6_limit1_field_id, g6_limit0_*, g6_limit_minus1: limit=0 and -1 mean 2048 rows."""
    with Sandbox(servers=3200, seed=7) as big:
        get = _client(big, aksk_auth_body(big.auth_url, big.access_key, big.secret_key))
        total = _total(get)
        assert total > 2048
        one = get("/servers", scope="system", limit=1, details="false", field="id").json()
        assert one.keys() == _real("g6_limit1_field_id").keys() and len(one["servers"]) == 1
        for limit in ("0", "-1"):
            page = _list(get, limit=limit, field="id")
            assert (page["limit"], len(page["servers"]), page["total"]) == (2048, 2048, total)
            tail = _list(get, limit=limit, field="id", offset=total - 3)
            assert tail.keys() == _real("g6_limit_minus1").keys()
            assert (tail["limit"], len(tail["servers"])) == (2048, 3)
        small = _list(get, limit=0, field="id", filter="host_id.isnull()")
        assert small["limit"] == 2048 and len(small["servers"]) == small["total"] < 100


# -- H: joint_filter ------------------------------------------------------------------------------
def _zones(admin) -> list[str]:
    return [z["id"] for z in admin("/zones", scope="system").json()["zones"]]


def test_joint_filter_joins_one_hop(sb, admin):
    """h_joint_hosts_zone_id_equals, h_joint_hosts_singular, h_joint_hosts_zone_id_in_two,
    h_joint_hosts_name_startswith*: each equal to the parameter or column form."""
    zones = [z for z in _zones(admin) if _total(admin, zone=z)][:2]
    a, b = (_total(admin, zone=z) for z in zones)
    for model in ("hosts", "host"):
        assert _total(admin, joint_filter=f"{model}.id(host_id).zone_id.equals('{zones[0]}')") == a
    assert (
        _total(admin, **{"joint_filter.0": f"hosts.id(host_id).zone_id.equals('{zones[0]}')"}) == a
    )
    two = f"hosts.id(host_id).zone_id.in('{zones[0]}','{zones[1]}')"
    assert _total(admin, joint_filter=two) == a + b
    placed = _total(admin, filter="host_id.isnotnull()")
    assert _total(admin, joint_filter="hosts.id(host_id).name.startswith('host-')") == placed
    both = [two, f"hosts.id(host_id).zone_id.notequals('{zones[1]}')"]  # repeated: ANDed
    assert _total(admin, joint_filter=both) == a
    hosts = admin("/hosts", scope="system", details="false", field="id").json()["hosts"]
    sb.delete("hosts", hosts[0]["id"])  # the remote side reads live rows only
    gone = _total(admin, filter=f"host_id.equals('{hosts[0]['id']}')")
    assert _total(admin, joint_filter="hosts.id(host_id).name.startswith('host-')") == placed - gone


def test_joint_filter_errors_and_what_it_ignores(sb, admin):
    """h_joint_zones_two_hop_attempt (400), h_joint_unknown_model (404), h_joint_zones_via_host_id
    (a meaningless join: nothing), h_joint_hosts_zone_name_not_column (ignored), and
    h_joint_with_filter_any: filter_any ORs the filters, not the joint filter."""
    everything = _total(admin)
    for name in ("h_joint_zones_two_hop_attempt", "h_joint_unknown_model"):
        resp = admin(f"/servers?{RECORDED[name]['request']['query']}")  # as it was sent
        real = _real(name)
        assert resp.status_code == CITED[name] and resp.json()["details"] == real["details"]
        assert resp.json()["class"] == real["class"]
    assert _list(admin, joint_filter="zones.id(host_id).name.equals('zone0')") == {"servers": []}
    assert _total(admin, joint_filter="hosts.id(host_id).zone.equals('zone0')") == everything
    assert _total(admin, joint_filter="hosts.zone_id.equals('x')") == everything  # not the grammar
    bad = admin("/servers", scope="system", joint_filter="hosts.id(host_id).name.equals(a b)")
    assert bad.status_code == 500 and "Malformed multi value string" in bad.json()["details"]

    zone = next(z for z in _zones(admin) if _total(admin, zone=z))
    joint = f"hosts.id(host_id).zone_id.equals('{zone}')"
    either = ["status.equals('ready')", "status.equals('running')"]
    expected = _total(admin, zone=zone, status=["ready", "running"])
    got = _total(admin, filter=either, filter_any="true", joint_filter=joint)
    assert 0 < got == expected < _total(admin, filter=either, filter_any="true")


# -- I: the cost of a page -------------------------------------------------------------------------
def test_the_cost_of_a_page_is_per_row_whatever_field_keeps(sb, admin):
    """i_timing_twin_*: details=false&field=id costs what details=false costs."""
    spent: list[float] = []
    sb.lister.sleep = spent.append  # record instead of sleeping
    sb.row_cost, sb.details_row_cost = 0.001, 0.01
    for params in ({"details": "false"}, {"details": "false", "field": "id"}):
        admin("/servers", scope="system", limit=10, **params)
    admin("/servers", scope="system", limit=10, field="id")  # details by default
    assert spent == pytest.approx([0.01, 0.01, 0.1])


def test_at_most_server_cores_pages_spend_their_cost_at_once(sb, admin):
    """i_timing_twin_4_pages_of_800: concurrent pages overlap on a 2-core region. The pages
    block while they spend (no timing is measured); the sandbox counts them."""
    assert sb.server_cores == 2 and sb.peak_pages == 0
    release = threading.Event()
    lister = sb.lister
    lister.sleep = lambda seconds: release.wait(30)
    sb.row_cost = 0.001

    def wait_for(condition) -> None:
        for _ in range(3000):  # a bounded wait, not a timed assertion
            if condition():
                return
            time.sleep(0.01)
        raise AssertionError("the pages never reached that state")

    threads = [
        threading.Thread(target=admin, args=("/servers",), kwargs={"details": "false"})
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    wait_for(lambda: lister.spending == 2 and lister.waiting == 1)
    assert sb.peak_pages == 2
    sb.server_cores = 3  # the waiting page takes the new core
    wait_for(lambda: lister.spending == 3 and lister.waiting == 0)
    release.set()
    for t in threads:
        t.join(30)
    assert sb.peak_pages == 3 and lister.spending == 0
    with Sandbox(servers=10, server_cores=1) as one:
        assert one.server_cores == 1
