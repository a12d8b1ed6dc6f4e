"""A value the server would silently drop is an error, and typos cost no request.

A real region converts a filter's value to its column's type and reads what it cannot parse
as the type's zero value, answering 200 with the wrong rows (cloudpods-api.md §10):
``vcpu_count.ge(abc)`` every row, ``vcpu_count.lt(eight)`` none. cpexplore checks every value
against its field's type (``schema.FIELD_KINDS``) before the first request, whoever applies
the filter, and refuses unknown fields, sort keys and columns before it too.
"""

from __future__ import annotations

import pytest

from cpexplore.errors import ConfigError, UnknownField
from cpexplore.lists.filters import parse_filter, read_value
from cpexplore.lists.plan import plan_for
from cpexplore.lists.request import list_request
from cpexplore.resources import custom_resource, resource_spec


def build_list_query(spec, *, params=None, raw_params=None, **kwargs):
    """What the server is asked and what is done here, for a list of ``spec`` (``params``:
    the resource's own query parameters, ``raw_params``: sent unchecked)."""
    request = list_request(
        spec, region=None, interface="public", query=params, params=raw_params, **kwargs
    )
    return plan_for(request)


SERVERS = resource_spec("servers")


# Each row: the filter, and what the real region did with it (§10) that cpexplore refuses.
UNPARSABLE = [
    ("vcpu_count.ge(abc)", "every row"),
    ("vcpu_count.gt(abc)", "every row"),
    ("vcpu_count.lt(eight)", "no rows"),
    ("vcpu_count.le(eight)", "rows with 0"),
    ("vcpu_count.equals(abc)", "no rows"),
    ("vcpu_count.notequals(abc)", "every row"),
    ("vcpu_count.in(1,two)", "the bad member dropped"),
    ("vcpu_count.notin(1,two)", "the bad member read as 0"),
    ("vcpu_count.between(1,abc)", "no rows"),
    ("vcpu_count.ge(8abc)", "rows of 8 or more (MySQL reads the prefix)"),
    ("vcpu_count.ge(inf)", "every row"),
    ("created_at.gt('yesterday')", "every row"),
    ("created_at.lt('yesterday')", "no rows"),
    ("created_at.ge('2026-12-07 18:00')", "every row (no seconds, no zone: not a form)"),
    ("created_at.equals('2026/12/07')", "no rows"),
    ("disable_delete.equals(maybe)", "rows with false"),
    ("host_enabled.equals(maybe)", "filtered here; the same check"),
    ("vmem_size.between(1024, 4g)", "no rows"),
]


@pytest.mark.parametrize(("expr", "real"), UNPARSABLE)
def test_a_value_the_field_cannot_hold_is_refused_before_any_request(expr: str, real: str) -> None:
    flt = parse_filter(expr)
    with pytest.raises(ConfigError) as exc:
        build_list_query(SERVERS, filters=expr)
    message = str(exc.value)
    assert f"the field {flt.field!r} of servers" in message
    assert repr(next(a for a in flt.args if _bad(flt.field, a))) in message
    assert "e.g." in message


def _bad(field: str, arg: str) -> bool:
    try:
        read_value(SERVERS.kind_of(field) or "text", arg)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize(
    "expr",
    [
        "vcpu_count.ge(8)",
        "vcpu_count.ge(8.5)",
        "vcpu_count.in(1, 2, +4)",
        "vcpu_count.contains(abc)",  # LIKE on the number's text: any text is fine
        "created_at.gt('2026-12-07')",
        "created_at.gt('2026-12-07T18:00:28Z')",
        "created_at.gt('2026-12-07 18:00:28')",
        "created_at.gt('2026-12-07T18:00+08:00')",
        "created_at.between('2026-01-01', '2026-12-31T23:59:59.999999')",
        "disable_delete.equals(true)",
        "disable_delete.equals(No)",
        "name.ge(abc)",  # text holds anything
        "metadata.contains(env)",
        "created_at.isnull()",
    ],
)
def test_values_the_server_reads_pass(expr: str) -> None:
    build_list_query(SERVERS, filters=expr)


def test_equality_on_a_column_of_four_byte_floats_is_refused_unless_exact() -> None:
    """The real mem_cmtbound.equals(1.2) answered none of the 8 hosts set to 1.2 (§10)."""
    hosts = resource_spec("hosts")
    with pytest.raises(ConfigError, match="4-byte floats, which never equal 1.2"):
        build_list_query(hosts, filters="mem_cmtbound.equals(1.2)")
    with pytest.raises(ConfigError, match="between"):
        build_list_query(hosts, filters="cpu_cmtbound.in(8, 1.1)")
    build_list_query(hosts, filters="cpu_cmtbound.equals(8)")
    build_list_query(hosts, filters="mem_cmtbound.in(0.5, 1.5)")
    build_list_query(hosts, filters="mem_cmtbound.ge(1.2)")  # a range is fine
    build_list_query(hosts, filters="cpu_commit_rate.equals(1.2)")  # a double, joined here


def test_a_custom_resource_is_checked_once_its_rows_are_in() -> None:
    spec = custom_resource("kubeclusters", "k8s")
    build_list_query(spec, filters="vcpu_count.ge(abc)")  # nothing is known before the fetch


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"filters": "nmae.contains('web')"}, "filter field"),
        ({"order_by": "crated_at"}, "order_by field"),
        ({"columns": ["name", "stauts"]}, "column"),
        ({"fields": ["id", "vcpu_cout"]}, "field"),
    ],
)
def test_unknown_names_are_refused_by_the_plan(kwargs: dict, what: str) -> None:
    with pytest.raises(UnknownField, match=f"asked as {what}.*did you mean"):
        build_list_query(SERVERS, **kwargs)


def test_typos_and_bad_values_cost_no_request(sandbox, session) -> None:
    cases = [
        {"filters": "nmae.contains('web')"},
        {"order_by": "crated_at"},
        {"columns": ["name", "stauts"]},
        {"filters": "vcpu_count.ge(abc)"},
        {"filters": "zone.equals('a')", "order_by": "hots"},
    ]
    for kwargs in cases:
        before = sandbox.requests
        with pytest.raises(ConfigError):
            session.list("servers", scope="system", refresh=True, **kwargs)
        assert sandbox.requests == before, kwargs


def test_a_joined_bool_field_is_checked_before_the_fetch_too(sandbox, session) -> None:
    before = sandbox.requests
    with pytest.raises(ConfigError, match="'maybe' is not true or false.*host_enabled"):
        session.list("servers", scope="system", filters="host_enabled.equals(maybe)")
    assert sandbox.requests == before


def test_the_cli_says_which_value_and_exits_2(sandbox, capsys, monkeypatch) -> None:
    from cpexplore.cli import main

    for k, v in sandbox.settings().items():
        if v is not None and k in ("auth_url", "access_key", "secret_key", "region"):
            monkeypatch.setenv(f"OS_{k.upper()}" if k != "region" else "OS_REGION_NAME", v)
    monkeypatch.setenv("OS_AUTH_URL", sandbox.auth_url)
    code = main(["list", "servers", "--scope", "system", "--filter", "vcpu_count.ge(abc)"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'abc' is not a number" in err and "vcpu_count" in err


def test_scope_user_is_refused_because_a_real_region_answers_every_row() -> None:
    """b_alice_scope_user (cloudpods-api.md §10): a member asking scope=user got all 3 200."""
    with pytest.raises(ConfigError, match="scope 'user' does not narrow a list"):
        build_list_query(SERVERS, scope="user")
    assert (
        build_list_query(SERVERS, scope="Max").query["scope"] == "max"
    )  # sent as the server reads it
