"""How a list request is split between the server and cpexplore, and how rows are matched.

A real region applies ``filter=``/``order_by=`` to its table's columns only and silently
ignores the rest, so cpexplore sends those and applies everything else to the fetched rows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cpexplore.errors import ConfigError
from cpexplore.lists.filters import apply_filters, parse_filter, sort_frame
from cpexplore.lists.plan import plan_for
from cpexplore.lists.request import check_scope, list_request
from cpexplore.resources import resource_spec


def build_list_query(spec, *, params=None, raw_params=None, **kwargs):
    """What the server is asked and what is done here, for a list of ``spec`` (``params``:
    the resource's own query parameters, ``raw_params``: sent unchecked)."""
    request = list_request(
        spec, region=None, interface="public", query=params, params=raw_params, **kwargs
    )
    return plan_for(request)


SERVERS = resource_spec("servers")


def test_table_column_filters_go_to_the_server_and_joined_ones_stay_here():
    plan = build_list_query(
        SERVERS, filters=["status.equals('running')", "zone.equals('zone-a')", "host.in('h1')"]
    )
    assert plan.query["filter"] == ["status.equals('running')"]
    assert [f.field for f in plan.local_filters] == ["zone", "host"]


def test_a_limit_is_applied_after_local_filters_and_sorts():
    plan = build_list_query(SERVERS, order_by="zone", limit=3)
    assert plan.server_limit is None and plan.local_limit == 3
    assert plan.local_order == ("zone",) and "order_by" not in plan.query
    plan = build_list_query(SERVERS, order_by="name", order="asc", limit=3)
    assert plan.server_limit == 3 and plan.query["order_by"] == ["name"]
    assert plan.query["order"] == "asc"


def test_filter_any_with_a_joined_field_is_applied_here_entirely():
    plan = build_list_query(
        SERVERS, filters=["status.equals('running')", "zone.equals('z')"], filter_any=True
    )
    assert "filter" not in plan.query and len(plan.local_filters) == 2 and plan.filter_any


@pytest.mark.parametrize("scope", ["sytem", "projects", "all"])
def test_an_unknown_scope_is_an_error_naming_the_scopes(scope):
    with pytest.raises(ConfigError, match="unknown scope") as e:
        check_scope(scope)
    assert "system" in str(e.value) and "max" in str(e.value)


def test_scopes_are_case_insensitive_like_the_server():
    assert check_scope("SYSTEM") == "system" and check_scope(None) is None


def test_a_misspelled_list_parameter_is_an_error_with_a_did_you_mean():
    with pytest.raises(ConfigError, match="'scop'") as e:
        build_list_query(SERVERS, params={"scop": "max"})
    assert "scope" in str(e.value)


def test_known_parameters_pass_and_raw_params_pass_anything():
    plan = build_list_query(
        SERVERS, params={"zone": "zone-a", "hypervisor": "kvm"}, raw_params={"x_y": 1}
    )
    assert plan.query["zone"] == "zone-a" and plan.query["x_y"] == 1


@pytest.mark.parametrize(
    "expr, message",
    [
        ("status.equals(", "malformed"),
        ("status.nosuchop('x')", "unknown filter operator"),
        ("status.equls('x')", "did you mean 'equals'"),
        ("vcpu_count.between(1)", "between takes 2"),
        ("name.equals('a)", "unbalanced quotes"),
    ],
)
def test_malformed_filters_are_errors_not_silently_ignored(expr, message):
    with pytest.raises(ConfigError, match=message):
        parse_filter(expr)


def test_filter_arguments_split_like_the_server():
    assert parse_filter("status.in('a', 'b',c)").args == ("a", "b", "c")
    assert parse_filter("status.equals(running)").args == ("running",)
    assert parse_filter(r"name.equals('it\'s')").args == ("it's",)


FRAME = pd.DataFrame(
    {
        "name": pd.Series(["web-1", "DB-1", "web-2", None], dtype=object),
        "zone": pd.Categorical(["zone-a", "Zone-A", "zone-b", None]),
        "vcpu_count": pd.array([2, 8, 16, None], dtype="Int64"),
        "created_at": pd.to_datetime(["2024-01-01", "2025-06-01", "2026-01-01", None], utc=True),
        "enabled": pd.array([True, False, True, None], dtype="boolean"),
    }
)


@pytest.mark.parametrize(
    "expr, names",
    [
        ("zone.equals('zone-a')", ["web-1", "DB-1"]),  # text compares case-insensitively
        ("zone.notequals('zone-a')", ["web-2"]),  # a missing value never matches
        ("zone.in('zone-b','nope')", ["web-2"]),
        ("zone.notin('zone-b')", ["web-1", "DB-1"]),
        ("name.contains('EB')", ["web-1", "web-2"]),
        ("name.startswith('db')", ["DB-1"]),
        ("name.endswith('-2')", ["web-2"]),
        ("name.like('web-_')", ["web-1", "web-2"]),
        ("name.like('%1')", ["web-1", "DB-1"]),
        ("vcpu_count.ge(8)", ["DB-1", "web-2"]),
        ("vcpu_count.lt(8)", ["web-1"]),
        ("vcpu_count.between(2,8)", ["web-1", "DB-1"]),
        ("created_at.gt('2025-01-01')", ["DB-1", "web-2"]),
        ("enabled.equals(true)", ["web-1", "web-2"]),
        ("zone.isnull()", [None]),
        ("zone.isnotnull()", ["web-1", "DB-1", "web-2"]),
        ("name.isnullorempty()", [None]),
    ],
)
def test_rows_are_matched_as_the_server_matches_them(expr, names):
    got = apply_filters(FRAME, [parse_filter(expr)])
    assert got["name"].tolist() == names


def test_a_filter_on_a_column_no_row_has_matches_nothing_but_isnull():
    assert apply_filters(FRAME, [parse_filter("host.equals('h')")]).empty
    assert len(apply_filters(FRAME, [parse_filter("host.isnull()")])) == 4


def test_a_number_filter_with_a_text_value_is_an_error():
    with pytest.raises(ConfigError, match="not a number"):
        apply_filters(FRAME, [parse_filter("vcpu_count.ge('many')")])


def test_sorting_here_follows_mysql_order():
    asc = sort_frame(FRAME, ["zone"], descending=False)["name"].tolist()
    assert asc == [None, "web-1", "DB-1", "web-2"]  # NULL first, case-insensitive, stable
    desc = sort_frame(FRAME, ["vcpu_count"], descending=True)["name"].tolist()
    assert desc == ["web-2", "DB-1", "web-1", None]  # NULL last
